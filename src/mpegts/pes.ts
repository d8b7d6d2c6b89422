import type { SampleRun } from '../isobmff/sample-run.js';
import type { Chunk } from '../timeline/segment.js';
import { ADTS_HEADER, checkAdtsFrame } from './adts.js';
import { AUD, layoutAvcSample, type AvcConfig } from './avc.js';
import { AUDIO_PID, PCR_LEAD, STREAM_ID_AUDIO, STREAM_ID_VIDEO, TIMESTAMP_OFFSET, TS_WRAP, VIDEO_PID } from './constants.js';

/**
 * Converts media time to 90 kHz exactly (no precision loss for epoch-sized tfdt), mod 2^33:
 * the bigint split is made once per chunk, each sample then costs number arithmetic.
 */
export class Clock90 {
  private readonly base90: number;
  private readonly remainder: number;

  constructor(
    readonly timescale: number,
    raw: bigint,
  ) {
    const ts = BigInt(timescale);
    const q = raw / ts;
    this.remainder = Number(raw - q * ts);
    this.base90 = Number((q * 90000n) % BigInt(TS_WRAP));
  }

  /** 90 kHz ticks of `raw + rel` (rel: small signed offset in media ticks), before the offset. */
  at(rel: number): number {
    return wrap(this.base90 + Math.round(((this.remainder + rel) * 90000) / this.timescale));
  }
}

export function wrap(t: number): number {
  const m = t % TS_WRAP;
  return m < 0 ? m + TS_WRAP : m;
}

/** One planned PES packet: where its bytes come from and how it sorts in the segment. */
export interface PlannedPes {
  readonly pid: number;
  readonly streamId: number;
  /** Order in the segment: stream time of its first sample (seconds, never wraps). */
  readonly order: number;
  readonly pts: number;
  readonly dts: number;
  /** random_access_indicator: an IDR access unit (video), every audio PES. */
  readonly randomAccess: boolean;
  /** PCR to carry in the first packet (PCR PID only). */
  readonly pcr: number | null;
  /** Elementary stream bytes written first, as they are (AUD, parameter sets). */
  readonly pieces: readonly Buffer[];
  /** A video access unit as stored (NAL length fields), written after `pieces` with start codes. */
  readonly sample: { readonly data: Buffer; readonly lengthSize: number } | null;
  /** AAC frames, each written behind an ADTS header made from `adts`. */
  readonly frames: readonly Buffer[];
  readonly adts: Buffer | null;
  readonly esLength: number;
  /** Extra packets to spread the PES over, so the PID's packet count fits its CC period. */
  pad: number;
}

export interface VideoSpec {
  readonly avc: AvcConfig;
  /** The samples of a chunk of the segment (read back from its bytes). */
  readonly samples: (chunk: Chunk) => SampleRun;
  readonly timescale: number;
  /** DTS shift (media ticks) that keeps PTS ≥ DTS with negative composition offsets. */
  readonly dtsShift: number;
}

export interface AudioSpec {
  readonly adts: Buffer;
  readonly samples: (chunk: Chunk) => SampleRun;
  readonly timescale: number;
  readonly sampleRate: number;
}

const MAX_AUDIO_FRAMES_PER_PES = 4;
const NONE: readonly Buffer[] = [];
const AUD_ONLY: readonly Buffer[] = [AUD];

/** One PES per video access unit: AUD (unless present), SPS/PPS before an IDR (unless present). */
export function videoPes(chunk: Chunk, spec: VideoSpec, pcrPid: boolean): PlannedPes[] {
  const run = spec.samples(chunk);
  const clock = new Clock90(spec.timescale, run.baseMediaDecodeTime);
  const shift90 = Math.round((spec.dtsShift * 90000) / spec.timescale);
  const out: PlannedPes[] = [];
  let rel = 0;
  let offset = 0;
  for (let i = 0; i < run.durations.length; i++) {
    const size = run.sizes[i]!;
    const data = run.payload.subarray(offset, offset + size);
    offset += size;
    const key = (run.flags[i]! & 0x00010000) === 0;
    const layout = layoutAvcSample(data, spec.avc.lengthSize);
    const aud = !layout.startsWithAud;
    const sets = key && !layout.hasParameterSets;
    const pieces = aud ? (sets ? [AUD, spec.avc.parameterSets] : AUD_ONLY) : sets ? [spec.avc.parameterSets] : NONE;
    let esLength = 0;
    for (const piece of pieces) esLength += piece.length;
    esLength += layout.annexBSize;
    const cto = Math.max(run.ctos[i]!, -spec.dtsShift);
    const dts = wrap(clock.at(rel) + TIMESTAMP_OFFSET - shift90);
    const pts = wrap(clock.at(rel + cto) + TIMESTAMP_OFFSET);
    out.push({
      pid: VIDEO_PID,
      streamId: STREAM_ID_VIDEO,
      order: (chunk.startTime + rel) / spec.timescale,
      pts,
      dts,
      randomAccess: key,
      pcr: pcrPid ? wrap(dts - PCR_LEAD) : null,
      pieces,
      sample: { data, lengthSize: spec.avc.lengthSize },
      frames: NONE,
      adts: null,
      esLength,
      pad: 0,
    });
    rel += run.durations[i]!;
  }
  return out;
}

/** An audio PES in the making: contiguous 1024-sample frames that will share one PTS. */
export interface AudioGroup {
  readonly order: number;
  readonly pts: number;
  readonly frames: Buffer[];
  /** Stream time (ticks) where the next frame must start to join the group. */
  next: number;
}

/**
 * Groups AAC frames into PES packets: at most four contiguous 1024-sample frames each, since a
 * demuxer gives the frames after the first PTS + i·1024/fs (hls.js appendFrame). A gap or an odd
 * duration starts a new PES. Returns the PES completed by `chunk`; the open group stays in `state`.
 */
export function audioPes(chunk: Chunk, spec: AudioSpec, pcrPid: boolean, state: { group: AudioGroup | null }): PlannedPes[] {
  const run = spec.samples(chunk);
  const clock = new Clock90(spec.timescale, run.baseMediaDecodeTime);
  const out: PlannedPes[] = [];
  let rel = 0;
  let offset = 0;
  const standard = (1024 * spec.timescale) / spec.sampleRate;
  for (let i = 0; i < run.durations.length; i++) {
    const size = run.sizes[i]!;
    const frame = run.payload.subarray(offset, offset + size);
    offset += size;
    const t = chunk.startTime + rel;
    const g = state.group;
    const joins = g !== null && g.next === t && g.frames.length < MAX_AUDIO_FRAMES_PER_PES;
    if (!joins) {
      if (g) out.push(closeAudioGroup(g, spec, pcrPid));
      state.group = { order: t / spec.timescale, pts: wrap(clock.at(rel) + TIMESTAMP_OFFSET), frames: [], next: t };
    }
    const group = state.group!;
    group.frames.push(frame);
    group.next = t + run.durations[i]!;
    if (run.durations[i] !== standard) {
      // An odd duration: nothing may follow this frame in its PES.
      out.push(closeAudioGroup(group, spec, pcrPid));
      state.group = null;
    }
    rel += run.durations[i]!;
  }
  return out;
}

export function closeAudioGroup(g: AudioGroup, spec: AudioSpec, pcrPid: boolean): PlannedPes {
  let esLength = 0;
  for (const frame of g.frames) {
    checkAdtsFrame(frame.length);
    esLength += ADTS_HEADER + frame.length;
  }
  return {
    pid: AUDIO_PID,
    streamId: STREAM_ID_AUDIO,
    order: g.order,
    pts: g.pts,
    dts: g.pts,
    randomAccess: true,
    pcr: pcrPid ? wrap(g.pts - PCR_LEAD) : null,
    pieces: NONE,
    sample: null,
    frames: g.frames,
    adts: spec.adts,
    esLength,
    pad: 0,
  };
}
