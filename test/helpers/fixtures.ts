import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export function fixture(path: string): Buffer {
  return readFileSync(FIXTURES + path);
}

/** Splits a buffer into pieces of random sizes (1 byte up to `max`), deterministic for a seed. */
export function randomPieces(buf: Buffer, seed: number, max = 4096): Buffer[] {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const pieces: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const n = 1 + (next() % max);
    pieces.push(buf.subarray(at, at + n));
    at += n;
  }
  return pieces;
}
