import { readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { open, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeIndex, type IndexRecord } from './record.js';

/** `NNNNNNNN`: the number of a track's roll file pair. */
export const pad = (n: number): string => String(n).padStart(8, '0');

/** One roll file pair of a track as found on disk, cut back to its last whole record. */
export interface ScannedFile {
  readonly number: number;
  /** Without extension: `{path}.cmf` and `{path}.idx`. */
  readonly path: string;
  /** Media bytes kept (what the whole records cover). */
  readonly size: number;
  readonly records: readonly IndexRecord[];
}

/**
 * A track folder's CMAF headers and roll files, in order. A torn last record (a crash mid-write)
 * is cut off the index, with any media bytes after the last whole record; a record whose bytes
 * are not all there was written before its media and is dropped; nothing before it is touched.
 */
export function scanTrackDir(tdir: string): { inits: Map<string, Buffer>; files: ScannedFile[] } {
  const inits = new Map<string, Buffer>();
  const files: ScannedFile[] = [];
  const names = readdirSync(tdir);
  for (const name of names) {
    const m = /^init-([0-9a-f]+)\.mp4$/.exec(name);
    if (m) inits.set(m[1]!, readFileSync(join(tdir, name)));
  }
  const numbers = names
    .map((n) => /^(\d{8})\.idx$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  for (const number of numbers) {
    const path = join(tdir, pad(number));
    const idx = readFileSync(`${path}.idx`);
    const { records: rs, validBytes } = decodeIndex(idx);
    if (validBytes < idx.length) truncateSync(`${path}.idx`, validBytes);
    let end = 0;
    for (const r of rs) end = Math.max(end, r.offset + r.size);
    let size = 0;
    try {
      size = statSync(`${path}.cmf`).size;
    } catch {
      size = 0;
    }
    if (size > end) truncateSync(`${path}.cmf`, end);
    const records: IndexRecord[] = [];
    for (const r of rs) {
      if (r.size > 0 && r.offset + r.size > size) break;
      records.push(r);
    }
    files.push({ number, path, size: Math.min(size, end), records });
  }
  return { inits, files };
}

export function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}


/** Fills `out[from, to)` from the file at `position + from`. */
export async function readFully(handle: FileHandle, out: Buffer, from: number, to: number, position: number, id: string): Promise<void> {
  let done = from;
  while (done < to) {
    const { bytesRead } = await handle.read(out, done, to - done, position + done);
    if (bytesRead === 0) throw new Error(`segment ${id}: the media file ends early`);
    done += bytesRead;
  }
}

/** Appends at `position` (or at the end with −1) through a handle opened for this write. */
export async function append(path: string, bytes: Buffer, position: number): Promise<void> {
  const h = await open(path, position < 0 ? 'a' : position === 0 ? 'w' : 'r+');
  try {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await h.write(bytes, done, bytes.length - done, position < 0 ? null : position + done);
      done += bytesWritten;
    }
  } finally {
    await h.close();
  }
}

export async function writeAtomic(path: string, bytes: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}
