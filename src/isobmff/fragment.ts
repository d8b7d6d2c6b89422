import { OriginError, malformed } from '../errors.js';
import { findBox, forEachBox, requirePayload } from './boxes.js';
import { MFHD, TFDT, TFHD, TRAF, TRUN } from './fourcc.js';
import { MAX_RUN_SAMPLES } from './validate.js';

/** `trex` defaults of one track (ISO/IEC 14496-12 8.8.3). */
export interface TrackDefaults {
  readonly trackId: number;
  readonly sampleDescriptionIndex: number;
  readonly sampleDuration: number;
  readonly sampleSize: number;
  readonly sampleFlags: number;
}

/** The samples of one track in one movie fragment, resolved against tfhd/trex defaults. */
export interface TrackFragment {
  readonly trackId: number;
  readonly sampleDescriptionIndex: number;
  /** tfdt baseMediaDecodeTime, exact. */
  readonly baseMediaDecodeTime: bigint;
  readonly sampleCount: number;
  readonly durations: Uint32Array;
  readonly sizes: Uint32Array;
  readonly flags: Uint32Array;
  /** Composition time offsets (signed; zero when the trun has none). */
  readonly ctos: Int32Array;
  readonly hasCtos: boolean;
  /** Sample data, one range per trun, as offsets from the first byte of the moof. */
  readonly dataRanges: ReadonlyArray<{ readonly start: number; readonly length: number }>;
  /** True when the traf addresses its data with a base_data_offset (absolute position). */
  readonly explicitBaseOffset: boolean;
}

export interface MovieFragment {
  readonly sequenceNumber: number;
  readonly trafs: TrackFragment[];
}

// tfhd flags (8.8.7)
const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_DURATION = 0x000008;
const TFHD_DEFAULT_SIZE = 0x000010;
const TFHD_DEFAULT_FLAGS = 0x000020;
const TFHD_DURATION_IS_EMPTY = 0x010000;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
// trun flags (8.8.8)
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_CTO = 0x000800;

/** Boxes in one moof, its trafs' children included (one trun per sample of the largest run, and room to spare). */
export const MAX_FRAGMENT_BOXES = 2 * MAX_RUN_SAMPLES + 1000;

/** sample_is_non_sync_sample (8.8.3.1) */
export const SAMPLE_NON_SYNC = 0x00010000;

export function isSyncSample(flags: number): boolean {
  return (flags & SAMPLE_NON_SYNC) === 0;
}


/**
 * Parses a complete `moof` box. `moofStreamOffset` is the moof's position in the byte stream it
 * came from, needed to resolve absolute `base_data_offset` values.
 */
export function parseMoof(moof: Buffer, headerSize: number, moofStreamOffset: number, defaultsOf: (trackId: number) => TrackDefaults | undefined): MovieFragment {
  let sequenceNumber = 0;
  const trafs: TrackFragment[] = [];
  let previousDataEnd = 0;
  // Every box of the moof and of its trafs is counted once before any is used: bounded work.
  let boxes = 0;
  const count = (): void => {
    if (++boxes > MAX_FRAGMENT_BOXES) throw new OriginError('TOO_MANY_BOXES', `a moof of more than ${MAX_FRAGMENT_BOXES} boxes`);
  };
  forEachBox(moof, headerSize, moof.length, (box) => {
    count();
    if (box.type === TRAF) forEachBox(moof, box.payload, box.end, count);
  });
  forEachBox(moof, headerSize, moof.length, (box) => {
    if (box.type === MFHD) {
      requirePayload(box, 8);
      sequenceNumber = moof.readUInt32BE(box.payload + 4);
    } else if (box.type === TRAF) {
      const traf = parseTraf(moof, box.payload, box.end, moofStreamOffset, previousDataEnd, defaultsOf);
      const last = traf.dataRanges[traf.dataRanges.length - 1];
      previousDataEnd = last ? last.start + last.length : previousDataEnd;
      trafs.push(traf);
    }
  });
  if (trafs.length === 0) throw malformed('moof without traf');
  return { sequenceNumber, trafs };
}

function parseTraf(
  buf: Buffer,
  start: number,
  end: number,
  moofStreamOffset: number,
  previousDataEnd: number,
  defaultsOf: (trackId: number) => TrackDefaults | undefined,
): TrackFragment {
  const tfhd = findBox(buf, start, end, TFHD);
  if (!tfhd) throw malformed('traf without tfhd');
  requirePayload(tfhd, 8);
  const tfhdFlags = buf.readUInt32BE(tfhd.payload) & 0xffffff;
  const trackId = buf.readUInt32BE(tfhd.payload + 4);
  const trex = defaultsOf(trackId);
  if (!trex) throw malformed(`traf for track ${trackId}, which the init segment does not declare`);
  let at = tfhd.payload + 8;
  let need = 8;
  if (tfhdFlags & TFHD_BASE_DATA_OFFSET) need += 8;
  if (tfhdFlags & TFHD_SAMPLE_DESCRIPTION_INDEX) need += 4;
  if (tfhdFlags & TFHD_DEFAULT_DURATION) need += 4;
  if (tfhdFlags & TFHD_DEFAULT_SIZE) need += 4;
  if (tfhdFlags & TFHD_DEFAULT_FLAGS) need += 4;
  requirePayload(tfhd, need);
  let base: number;
  let explicitBaseOffset = false;
  if (tfhdFlags & TFHD_BASE_DATA_OFFSET) {
    const absolute = buf.readBigUInt64BE(at);
    at += 8;
    base = Number(absolute - BigInt(moofStreamOffset));
    explicitBaseOffset = true;
  } else if (tfhdFlags & TFHD_DEFAULT_BASE_IS_MOOF) {
    base = 0;
  } else {
    // "for second and subsequent track fragments, the default is the end of the data defined by
    // the preceding track fragment" (8.8.7.1)
    base = previousDataEnd;
  }
  let sampleDescriptionIndex = trex.sampleDescriptionIndex;
  if (tfhdFlags & TFHD_SAMPLE_DESCRIPTION_INDEX) {
    sampleDescriptionIndex = buf.readUInt32BE(at);
    at += 4;
  }
  let defaultDuration = trex.sampleDuration;
  if (tfhdFlags & TFHD_DEFAULT_DURATION) {
    defaultDuration = buf.readUInt32BE(at);
    at += 4;
  }
  let defaultSize = trex.sampleSize;
  if (tfhdFlags & TFHD_DEFAULT_SIZE) {
    defaultSize = buf.readUInt32BE(at);
    at += 4;
  }
  let defaultFlags = trex.sampleFlags;
  if (tfhdFlags & TFHD_DEFAULT_FLAGS) defaultFlags = buf.readUInt32BE(at);

  const tfdt = findBox(buf, start, end, TFDT);
  if (!tfdt) throw malformed(`traf for track ${trackId} without tfdt (CMAF requires it)`);
  requirePayload(tfdt, 8);
  const tfdtVersion = buf[tfdt.payload];
  let baseMediaDecodeTime: bigint;
  if (tfdtVersion === 1) {
    requirePayload(tfdt, 12);
    baseMediaDecodeTime = buf.readBigUInt64BE(tfdt.payload + 4);
  } else {
    baseMediaDecodeTime = BigInt(buf.readUInt32BE(tfdt.payload + 4));
  }

  // First pass: count samples so the arrays are allocated once.
  const truns: { payload: number; end: number; flags: number; version: number; count: number }[] = [];
  let total = 0;
  forEachBox(buf, start, end, (box) => {
    if (box.type !== TRUN) return;
    requirePayload(box, 8);
    const vf = buf.readUInt32BE(box.payload);
    const count = buf.readUInt32BE(box.payload + 4);
    if (count > MAX_RUN_SAMPLES) throw malformed(`trun of track ${trackId} declares ${count} samples (at most ${MAX_RUN_SAMPLES})`);
    truns.push({ payload: box.payload, end: box.end, flags: vf & 0xffffff, version: vf >>> 24, count });
    total += count;
  });
  if (total > MAX_RUN_SAMPLES) throw malformed(`the truns of track ${trackId} declare ${total} samples (at most ${MAX_RUN_SAMPLES})`);
  if (tfhdFlags & TFHD_DURATION_IS_EMPTY && total > 0) throw malformed('traf marked duration-is-empty carries samples');
  const durations = new Uint32Array(total);
  const sizes = new Uint32Array(total);
  const flags = new Uint32Array(total);
  const ctos = new Int32Array(total);
  let hasCtos = false;
  const dataRanges: { start: number; length: number }[] = [];
  let n = 0;
  let dataCursor = base;
  for (const trun of truns) {
    const f = trun.flags;
    let p = trun.payload + 8;
    const perSample = (f & TRUN_DURATION ? 4 : 0) + (f & TRUN_SIZE ? 4 : 0) + (f & TRUN_FLAGS ? 4 : 0) + (f & TRUN_CTO ? 4 : 0);
    const need = 8 + (f & TRUN_DATA_OFFSET ? 4 : 0) + (f & TRUN_FIRST_SAMPLE_FLAGS ? 4 : 0) + perSample * trun.count;
    if (trun.end - trun.payload < need) throw malformed(`trun of track ${trackId} is shorter than its ${trun.count} samples need`);
    let dataStart = dataCursor;
    if (f & TRUN_DATA_OFFSET) {
      dataStart = base + buf.readInt32BE(p);
      p += 4;
    }
    let firstFlags = -1;
    if (f & TRUN_FIRST_SAMPLE_FLAGS) {
      firstFlags = buf.readUInt32BE(p);
      p += 4;
    }
    let bytes = 0;
    for (let i = 0; i < trun.count; i++, n++) {
      let d = defaultDuration;
      let s = defaultSize;
      let fl = defaultFlags;
      let c = 0;
      if (f & TRUN_DURATION) {
        d = buf.readUInt32BE(p);
        p += 4;
      }
      if (f & TRUN_SIZE) {
        s = buf.readUInt32BE(p);
        p += 4;
      }
      if (f & TRUN_FLAGS) {
        fl = buf.readUInt32BE(p);
        p += 4;
      }
      if (i === 0 && firstFlags >= 0) fl = firstFlags;
      if (f & TRUN_CTO) {
        c = trun.version === 0 ? buf.readUInt32BE(p) : buf.readInt32BE(p);
        if (trun.version === 0 && c > 0x7fffffff) throw malformed(`composition offset ${c} out of range`);
        p += 4;
        if (c !== 0) hasCtos = true;
      }
      durations[n] = d;
      sizes[n] = s;
      flags[n] = fl;
      ctos[n] = c;
      bytes += s;
    }
    dataRanges.push({ start: dataStart, length: bytes });
    dataCursor = dataStart + bytes;
  }
  return {
    trackId,
    sampleDescriptionIndex,
    baseMediaDecodeTime,
    sampleCount: total,
    durations,
    sizes,
    flags,
    ctos,
    hasCtos,
    dataRanges,
    explicitBaseOffset,
  };
}
