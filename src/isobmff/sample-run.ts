import { writeBoxHeader, writeFullBoxHeader } from './boxes.js';
import { MDAT, MFHD, MOOF, TFDT, TFHD, TRAF, TRUN } from './fourcc.js';
import { malformed } from '../errors.js';
import { isSyncSample, parseMoof, type TrackDefaults, type TrackFragment } from './fragment.js';

/**
 * Consecutive samples of one track with their bytes in one contiguous payload: the unit the
 * timeline slices at segment and part boundaries and writes back as a single-track CMAF chunk.
 */
export interface SampleRun {
  readonly trackId: number;
  readonly sequenceNumber: number;
  readonly sampleDescriptionIndex: number;
  readonly baseMediaDecodeTime: bigint;
  readonly durations: Uint32Array;
  readonly sizes: Uint32Array;
  readonly flags: Uint32Array;
  readonly ctos: Int32Array;
  readonly payload: Buffer;
}

export function runFromFragment(traf: TrackFragment, sequenceNumber: number, payload: Buffer): SampleRun {
  return {
    trackId: traf.trackId,
    sequenceNumber,
    sampleDescriptionIndex: traf.sampleDescriptionIndex,
    baseMediaDecodeTime: traf.baseMediaDecodeTime,
    durations: traf.durations,
    sizes: traf.sizes,
    flags: traf.flags,
    ctos: traf.ctos,
    payload,
  };
}

export function runDuration(run: SampleRun, from = 0, to = run.durations.length): number {
  let d = 0;
  for (let i = from; i < to; i++) d += run.durations[i]!;
  return d;
}

/**
 * Samples `[from, to)` of a run, sharing its memory. A caller walking the run passes the byte
 * offset of `from` and the ticks before it, so that slicing a run into k pieces stays linear.
 */
export function sliceRun(run: SampleRun, from: number, to: number, byteStart = byteOffsetOf(run, from), ticksBefore = runDuration(run, 0, from)): SampleRun {
  let byteEnd = byteStart;
  for (let i = from; i < to; i++) byteEnd += run.sizes[i]!;
  return {
    trackId: run.trackId,
    sequenceNumber: run.sequenceNumber,
    sampleDescriptionIndex: run.sampleDescriptionIndex,
    baseMediaDecodeTime: run.baseMediaDecodeTime + BigInt(ticksBefore),
    durations: run.durations.subarray(from, to),
    sizes: run.sizes.subarray(from, to),
    flags: run.flags.subarray(from, to),
    ctos: run.ctos.subarray(from, to),
    payload: run.payload.subarray(byteStart, byteEnd),
  };
}

function byteOffsetOf(run: SampleRun, index: number): number {
  let at = 0;
  for (let i = 0; i < index; i++) at += run.sizes[i]!;
  return at;
}

/** Index of every sync sample of the run. */
export function syncSamples(run: SampleRun): number[] {
  const out: number[] = [];
  for (let i = 0; i < run.flags.length; i++) if (isSyncSample(run.flags[i]!)) out.push(i);
  return out;
}

/** Smallest composition offset of the run (0 when it has none). */
export function minCompositionOffset(run: SampleRun): number {
  let min = Infinity;
  for (let i = 0; i < run.ctos.length; i++) {
    const c = run.ctos[i]!;
    if (c < min) min = c;
  }
  return Number.isFinite(min) ? min : 0;
}

const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_CTO = 0x000800;

/**
 * Writes `moof` + the 8-byte `mdat` header for a run, in one allocation; the payload follows
 * as its own Buffer so sample bytes are never copied.
 *
 * ```
 * |moof|mfhd|
 * |    |traf|tfhd| default-base-is-moof
 * |    |    |tfdt| version 1
 * |    |    |trun| data_offset, duration, size, flags[, cto]
 * |mdat header|
 * ```
 */
export function writeRunHeader(run: SampleRun): Buffer {
  const n = run.durations.length;
  let hasCtos = false;
  let negativeCto = false;
  for (let i = 0; i < n; i++) {
    const c = run.ctos[i]!;
    if (c !== 0) hasCtos = true;
    if (c < 0) negativeCto = true;
  }
  const withSdi = run.sampleDescriptionIndex !== 1;
  const tfhdSize = 16 + (withSdi ? 4 : 0);
  const tfdtSize = 20;
  const trunSize = 12 + 4 + 4 + n * (hasCtos ? 16 : 12);
  const trafSize = 8 + tfhdSize + tfdtSize + trunSize;
  const moofSize = 8 + 16 + trafSize;
  const buf = Buffer.allocUnsafe(moofSize + 8);
  let at = writeBoxHeader(buf, 0, moofSize, MOOF);
  at = writeFullBoxHeader(buf, at, 16, MFHD, 0, 0);
  buf.writeUInt32BE(run.sequenceNumber >>> 0, at);
  at += 4;
  at = writeBoxHeader(buf, at, trafSize, TRAF);
  at = writeFullBoxHeader(buf, at, tfhdSize, TFHD, 0, TFHD_DEFAULT_BASE_IS_MOOF | (withSdi ? TFHD_SAMPLE_DESCRIPTION_INDEX : 0));
  buf.writeUInt32BE(run.trackId, at);
  at += 4;
  if (withSdi) {
    buf.writeUInt32BE(run.sampleDescriptionIndex, at);
    at += 4;
  }
  at = writeFullBoxHeader(buf, at, tfdtSize, TFDT, 1, 0);
  buf.writeBigUInt64BE(run.baseMediaDecodeTime, at);
  at += 8;
  const trunFlags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS | (hasCtos ? TRUN_CTO : 0);
  at = writeFullBoxHeader(buf, at, trunSize, TRUN, negativeCto ? 1 : 0, trunFlags);
  buf.writeUInt32BE(n, at);
  buf.writeInt32BE(moofSize + 8, at + 4);
  at += 8;
  for (let i = 0; i < n; i++) {
    buf.writeUInt32BE(run.durations[i]!, at);
    buf.writeUInt32BE(run.sizes[i]!, at + 4);
    buf.writeUInt32BE(run.flags[i]!, at + 8);
    at += 12;
    if (hasCtos) {
      if (negativeCto) buf.writeInt32BE(run.ctos[i]!, at);
      else buf.writeUInt32BE(run.ctos[i]!, at);
      at += 4;
    }
  }
  at = writeBoxHeader(buf, at, 8 + run.payload.length, MDAT);
  return buf;
}

/**
 * The samples of a single-track CMAF chunk, read back from its bytes as served (prefix boxes,
 * moof, mdat, in any number of Buffers, as the timeline writes them: a box header never
 * straddles two Buffers and a moof lies within one). The timeline keeps bytes, not tables.
 */
export function readRun(data: readonly Buffer[], defaults: TrackDefaults): SampleRun {
  let moof: { readonly buf: Buffer; readonly at: number; readonly headerSize: number } | null = null;
  let skip = 0;
  let base = 0;
  for (const b of data) {
    let at = Math.min(skip, b.length);
    skip -= at;
    while (at < b.length) {
      if (b.length - at < 8) throw malformed('a box header straddles two chunk buffers');
      const size32 = b.readUInt32BE(at);
      const type = b.readUInt32BE(at + 4);
      const headerSize = size32 === 1 ? 16 : 8;
      const size = size32 === 1 ? Number(b.readBigUInt64BE(at + 8)) : size32;
      if (size < headerSize) throw malformed('a box of the chunk has size 0 or is too short');
      if (type === MOOF) {
        if (at + size > b.length) throw malformed('a moof straddles two chunk buffers');
        moof = { buf: b.subarray(at, at + size), at: base + at, headerSize };
      }
      if (at + size <= b.length) at += size;
      else {
        skip = at + size - b.length;
        at = b.length;
      }
    }
    base += b.length;
  }
  if (!moof) throw malformed('the chunk has no moof');
  const fragment = parseMoof(moof.buf, moof.headerSize, moof.at, () => defaults);
  const traf = fragment.trafs[0];
  if (!traf || fragment.trafs.length !== 1) throw malformed('a timeline chunk has exactly one traf');
  return runFromFragment(traf, fragment.sequenceNumber, sliceBytes(data, traf.dataRanges.map((r) => ({ start: moof!.at + r.start, length: r.length }))));
}

/** Bytes at the given positions of a Buffer list: a view when they lie within one Buffer. */
function sliceBytes(data: readonly Buffer[], ranges: readonly { readonly start: number; readonly length: number }[]): Buffer {
  let total = 0;
  for (const r of ranges) total += r.length;
  const first = ranges[0];
  if (first) {
    let contiguous = true;
    for (let i = 1; i < ranges.length; i++) if (ranges[i]!.start !== ranges[i - 1]!.start + ranges[i - 1]!.length) contiguous = false;
    let base = 0;
    for (const b of data) {
      if (contiguous && first.start >= base && first.start + total <= base + b.length) return b.subarray(first.start - base, first.start - base + total);
      base += b.length;
    }
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const r of ranges) {
    let base = 0;
    for (const b of data) {
      const from = Math.max(r.start, base);
      const to = Math.min(r.start + r.length, base + b.length);
      if (from < to) at += b.copy(out, at, from - base, to - base);
      base += b.length;
    }
  }
  if (at !== total) throw malformed('sample data lies outside the chunk');
  return out;
}

/**
 * Joins Buffers that are adjacent views of the same memory into one view (the moof and mdat of
 * one socket read): fewer objects to keep, fewer writes per response. Always the same bytes.
 */
export function joinAdjacent(list: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const b of list) {
    const prev = out[out.length - 1];
    if (prev && prev.buffer === b.buffer && prev.byteOffset + prev.length === b.byteOffset) {
      out[out.length - 1] = Buffer.from(prev.buffer, prev.byteOffset, prev.length + b.length);
    } else if (b.length > 0) out.push(b);
  }
  return out;
}
