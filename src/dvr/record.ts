import { crc32Mpeg } from '../mpegts/crc32.js';

/**
 * One index record of the DVR: where a segment's bytes are and what a playlist says of it. Fixed
 * size, little-endian, its CRC-32 first, so a record torn by a crash (or power loss) mid-write is
 * recognised and dropped on restart:
 *
 * ```
 * off size field
 *   0   4  CRC-32/MPEG-2 of bytes 4..RECORD_SIZE
 *   4   4  magic 'DVR1'
 *   8   8  msn (float64: integers up to 2^53)
 *  16   8  startTime, track ticks on the stream timeline (float64)
 *  24   4  duration, ticks
 *  28   4  timescale
 *  32   8  program date-time, Unix ms (float64)
 *  40   8  tfdt of the first sample (uint64)
 *  48   8  byte offset in the roll file (float64)
 *  56   4  size, bytes (0 for a gap)
 *  60   4  roll file number
 *  64   1  flags: 1 gap, 2 discontinuity, 4 cut short, 8 starts with a sync sample
 *  65  12  init id (ASCII hex, zero padded)
 *  77   3  reserved
 * ```
 */
export const RECORD_SIZE = 80;
const MAGIC = 0x31525644; // 'DVR1' little-endian

export const FLAG_GAP = 1;
export const FLAG_DISCONTINUITY = 2;
export const FLAG_TRUNCATED = 4;
export const FLAG_INDEPENDENT = 8;

export interface IndexRecord {
  readonly msn: number;
  readonly startTime: number;
  readonly duration: number;
  readonly timescale: number;
  readonly programDateTimeMs: number;
  readonly baseMediaDecodeTime: bigint;
  readonly offset: number;
  readonly size: number;
  readonly file: number;
  readonly flags: number;
  readonly initId: string;
}

export function encodeRecord(r: IndexRecord): Buffer {
  const b = Buffer.alloc(RECORD_SIZE);
  b.writeUInt32LE(MAGIC, 4);
  b.writeDoubleLE(r.msn, 8);
  b.writeDoubleLE(r.startTime, 16);
  b.writeUInt32LE(r.duration >>> 0, 24);
  b.writeUInt32LE(r.timescale >>> 0, 28);
  b.writeDoubleLE(r.programDateTimeMs, 32);
  b.writeBigUInt64LE(BigInt.asUintN(64, r.baseMediaDecodeTime), 40);
  b.writeDoubleLE(r.offset, 48);
  b.writeUInt32LE(r.size >>> 0, 56);
  b.writeUInt32LE(r.file >>> 0, 60);
  b.writeUInt8(r.flags & 0xff, 64);
  b.write(r.initId.slice(0, 12), 65, 'latin1');
  b.writeUInt32LE(crc32Mpeg(b, 4, RECORD_SIZE), 0);
  return b;
}

/** The record at `at`, or null when it is torn or corrupt (a wrong CRC or magic). */
export function decodeRecord(buf: Buffer, at: number): IndexRecord | null {
  if (buf.length - at < RECORD_SIZE) return null;
  const b = buf.subarray(at, at + RECORD_SIZE);
  if (b.readUInt32LE(4) !== MAGIC || b.readUInt32LE(0) !== crc32Mpeg(b, 4, RECORD_SIZE)) return null;
  const id = b.toString('latin1', 65, 77).replace(/\0+$/, '');
  return {
    msn: b.readDoubleLE(8),
    startTime: b.readDoubleLE(16),
    duration: b.readUInt32LE(24),
    timescale: b.readUInt32LE(28),
    programDateTimeMs: b.readDoubleLE(32),
    baseMediaDecodeTime: b.readBigUInt64LE(40),
    offset: b.readDoubleLE(48),
    size: b.readUInt32LE(56),
    file: b.readUInt32LE(60),
    flags: b.readUInt8(64),
    initId: id,
  };
}

/** Every whole record of an index file, oldest first, and how many bytes they take (the rest is torn). */
export function decodeIndex(buf: Buffer): { records: IndexRecord[]; validBytes: number } {
  const records: IndexRecord[] = [];
  let at = 0;
  for (; at + RECORD_SIZE <= buf.length; at += RECORD_SIZE) {
    const r = decodeRecord(buf, at);
    if (!r) break;
    records.push(r);
  }
  return { records, validBytes: at };
}

/** Segment flags of a record. */
export function recordFlags(r: IndexRecord): { gap: boolean; discontinuity: boolean; truncated: boolean; independent: boolean } {
  return { gap: (r.flags & FLAG_GAP) !== 0, discontinuity: (r.flags & FLAG_DISCONTINUITY) !== 0, truncated: (r.flags & FLAG_TRUNCATED) !== 0, independent: (r.flags & FLAG_INDEPENDENT) !== 0 };
}
