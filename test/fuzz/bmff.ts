/**
 * A small ISO BMFF walker for test tools, independent of the origin's parser: it locates boxes
 * in valid fixture bytes so mutators and retimers can patch fields in place.
 */
export interface BoxAt {
  readonly type: string;
  /** Offset of the box header in the buffer. */
  readonly start: number;
  /** Offset of the payload (after size, type and any largesize). */
  readonly payload: number;
  readonly end: number;
  readonly depth: number;
}

/** Boxes whose payload is a list of boxes (the ones the origin reads). */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'moof', 'traf', 'edts', 'dinf', 'udta']);

/** Every box of `buf[start, end)`, depth first, descending into known containers (and stsd's entries' children when asked). */
export function walk(buf: Buffer, start = 0, end = buf.length, depth = 0, out: BoxAt[] = []): BoxAt[] {
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let payload = at + 8;
    if (size === 1) {
      if (at + 16 > end) break;
      size = Number(buf.readBigUInt64BE(at + 8));
      payload = at + 16;
    } else if (size === 0) size = end - at;
    if (size < payload - at || at + size > end) break;
    out.push({ type, start: at, payload, end: at + size, depth });
    if (CONTAINERS.has(type) && depth < 32) walk(buf, payload, at + size, depth + 1, out);
    at += size;
  }
  return out;
}

export function topLevel(buf: Buffer): BoxAt[] {
  return walk(buf).filter((b) => b.depth === 0);
}

/** A box from its type and payload pieces, with a 32-bit size. */
export function box(type: string, ...payload: Buffer[]): Buffer {
  const size = 8 + payload.reduce((n, p) => n + p.length, 0);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(size, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, ...payload]);
}

/** Reads a traf's tfdt (version 0 or 1) and where it is; undefined without one. */
export function tfdtOf(buf: Buffer, traf: BoxAt, all: readonly BoxAt[]): { box: BoxAt; value: bigint; version: number } | undefined {
  const b = all.find((x) => x.type === 'tfdt' && x.start >= traf.payload && x.end <= traf.end);
  if (!b) return undefined;
  const version = buf[b.payload]!;
  const value = version === 1 ? buf.readBigUInt64BE(b.payload + 4) : BigInt(buf.readUInt32BE(b.payload + 4));
  return { box: b, value, version };
}

/** Writes a tfdt value in place (a version 0 tfdt keeps 32 bits: the value wraps). */
export function setTfdt(buf: Buffer, tfdt: { box: BoxAt; version: number }, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  if (tfdt.version === 1) buf.writeBigUInt64BE(v, tfdt.box.payload + 4);
  else buf.writeUInt32BE(Number(BigInt.asUintN(32, v)), tfdt.box.payload + 4);
}
