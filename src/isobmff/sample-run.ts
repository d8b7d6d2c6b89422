import { writeBoxHeader, writeFullBoxHeader } from './boxes.js';
import { MDAT, MFHD, MOOF, TFDT, TFHD, TRAF, TRUN } from './fourcc.js';
import { isSyncSample, type TrackFragment } from './fragment.js';

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

/** Samples `[from, to)` of a run, sharing its memory. */
export function sliceRun(run: SampleRun, from: number, to: number): SampleRun {
  let byteStart = 0;
  for (let i = 0; i < from; i++) byteStart += run.sizes[i]!;
  let byteEnd = byteStart;
  for (let i = from; i < to; i++) byteEnd += run.sizes[i]!;
  return {
    trackId: run.trackId,
    sequenceNumber: run.sequenceNumber,
    sampleDescriptionIndex: run.sampleDescriptionIndex,
    baseMediaDecodeTime: run.baseMediaDecodeTime + BigInt(runDuration(run, 0, from)),
    durations: run.durations.subarray(from, to),
    sizes: run.sizes.subarray(from, to),
    flags: run.flags.subarray(from, to),
    ctos: run.ctos.subarray(from, to),
    payload: run.payload.subarray(byteStart, byteEnd),
  };
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
