import { malformed } from '../errors.js';
import { fourccToString } from './fourcc.js';

/** A child box located inside a complete parent buffer. */
export interface ChildBox {
  readonly type: number;
  /** Offset of the box header in the buffer. */
  readonly start: number;
  /** Offset of the first payload byte (after size/type/largesize). */
  readonly payload: number;
  /** Offset one past the last byte of the box. */
  readonly end: number;
}

/**
 * Walks the boxes in `buf[start, end)`, checking every size against the parent's bounds once,
 * and calls `visit` for each. Returning `false` from `visit` stops the walk.
 */
export function forEachBox(buf: Buffer, start: number, end: number, visit: (box: ChildBox) => boolean | void): void {
  let at = start;
  while (at < end) {
    if (end - at < 8) throw malformed(`${end - at} trailing bytes inside a box at offset ${at}`);
    const size32 = buf.readUInt32BE(at);
    const type = buf.readUInt32BE(at + 4);
    let size = size32;
    let payload = at + 8;
    if (size32 === 1) {
      if (end - at < 16) throw malformed(`truncated 64-bit box header at offset ${at}`);
      const large = buf.readBigUInt64BE(at + 8);
      if (large > BigInt(end - at)) throw malformed(`box '${fourccToString(type)}' overruns its parent`);
      size = Number(large);
      payload = at + 16;
    } else if (size32 === 0) {
      size = end - at;
    }
    if (size < payload - at || at + size > end) throw malformed(`box '${fourccToString(type)}' of size ${size} does not fit its parent`);
    if (visit({ type, start: at, payload, end: at + size }) === false) return;
    at += size;
  }
}

/** First child of the given type, or undefined. */
export function findBox(buf: Buffer, start: number, end: number, type: number): ChildBox | undefined {
  let found: ChildBox | undefined;
  forEachBox(buf, start, end, (box) => {
    if (box.type === type) {
      found = box;
      return false;
    }
    return true;
  });
  return found;
}

/** Every child of the given type. */
export function findBoxes(buf: Buffer, start: number, end: number, type: number): ChildBox[] {
  const found: ChildBox[] = [];
  forEachBox(buf, start, end, (box) => {
    if (box.type === type) found.push(box);
  });
  return found;
}

/** Requires `need` payload bytes in a full box or throws a precise error. */
export function requirePayload(box: ChildBox, need: number): void {
  if (box.end - box.payload < need) throw malformed(`box '${fourccToString(box.type)}' is too short (${box.end - box.payload} < ${need} bytes)`);
}

/** Writes a box header (32-bit size) and returns the offset after it. */
export function writeBoxHeader(buf: Buffer, at: number, size: number, type: number): number {
  buf.writeUInt32BE(size, at);
  buf.writeUInt32BE(type, at + 4);
  return at + 8;
}

/** Writes a full box header (size, type, version, flags) and returns the offset after it. */
export function writeFullBoxHeader(buf: Buffer, at: number, size: number, type: number, version: number, flags: number): number {
  buf.writeUInt32BE(size, at);
  buf.writeUInt32BE(type, at + 4);
  buf.writeUInt32BE((((version & 0xff) << 24) | (flags & 0xffffff)) >>> 0, at + 8);
  return at + 12;
}
