import type { ProducerReferenceTime } from '../isobmff/chunker.js';

/**
 * How a stream's media time maps to UTC, decided once from its first media:
 * - `epoch`: the `tfdt` timeline counts from the Unix epoch (within a day of the arrival clock);
 * - `prft`: a producer reference time box maps media time to UTC;
 * - `arrival`: neither; the arrival time of the first chunk does (two origins cannot agree then).
 * The first two are shared by every origin fed the same bytes (DASH-IF Live Media Ingest: epoch
 * anchored timelines, or `prft`, make redundant encoders and packagers agree).
 */
export type ClockKind = 'epoch' | 'prft' | 'arrival';

/** A media time on the stream timeline is within this of the arrival clock: the tfdt counts from 1970. */
const EPOCH_TOLERANCE_S = 86_400;
/** Largest distance between a prft's media time and its fragment's before the media time is not trusted. */
const PRFT_MEDIA_TOLERANCE_S = 60;
/** Largest gap between what the arrival clock and a prft say before the prft is not trusted. */
export const PRFT_TRUST_MS = 30_000;
/**
 * Whole seconds the stream timeline is rebased by, in steps of 2^20 s (12 days): tick values stay
 * below 2^53 at 10 MHz, and every origin that sees the stream within the same 12 days agrees.
 */
const ORIGIN_STEP_S = 2 ** 20;

export interface ClockDecision {
  readonly kind: ClockKind;
  /** UTC (Unix ms) of stream time 0. */
  readonly zeroMs: number;
}

/**
 * Stream origin: the whole seconds subtracted from raw media time (tfdt / timescale), the same
 * for every origin that joins the stream: a multiple of 2^20 s at or below the first media time.
 */
export function streamOrigin(rawSeconds: number): bigint {
  return BigInt(Math.floor(rawSeconds / ORIGIN_STEP_S)) * BigInt(ORIGIN_STEP_S);
}

/**
 * Decides the clock from the first chunk of a stream: its start on the stream timeline (seconds,
 * after the origin), its end, the stream origin, its prft (if any, with the media time of the
 * prft on the stream timeline) and when its last byte arrived.
 */
export function decideClock(first: { startSec: number; endSec: number; originSec: bigint; prft?: { wallMs: number; streamSec: number }; arrivalMs: number }): ClockDecision {
  const absoluteStart = Number(first.originSec) + first.startSec;
  if (Math.abs(absoluteStart - first.arrivalMs / 1000) < EPOCH_TOLERANCE_S) {
    return { kind: 'epoch', zeroMs: Number(first.originSec) * 1000 };
  }
  if (first.prft && Math.abs(first.prft.wallMs - first.arrivalMs) < PRFT_TRUST_MS) {
    // ffmpeg 5.1's DASH muxer may write the first fragment's prft with media_time AV_NOPTS_VALUE
    // (2^63): a media time that far from the fragment's own is read as the fragment's start.
    const prftSec = Math.abs(first.prft.streamSec - first.startSec) < PRFT_MEDIA_TOLERANCE_S ? first.prft.streamSec : first.startSec;
    return { kind: 'prft', zeroMs: Math.round(first.prft.wallMs - prftSec * 1000) };
  }
  return { kind: 'arrival', zeroMs: Math.round(first.arrivalMs - first.endSec * 1000) };
}

/** Wall clock of a prft on the stream timeline: what the encoder says a media time is. */
export function prftWallMs(prft: ProducerReferenceTime, prftStreamSec: number, streamSec: number): number {
  return Math.round(prft.wallClockMs + (streamSec - prftStreamSec) * 1000);
}

/**
 * The stream instance tag in media URLs: a function of the stream name, the settings that shape
 * segment numbers and parts, and where the stream's timeline is anchored (the minute of UTC of
 * stream time 0, none for an epoch timeline). Origins fed the same media agree; a stream whose
 * encoder restarts its timestamps later (a new anchor) gets another tag, so a CDN never mixes
 * the two under one URL.
 */
export function streamTag(name: string, settings: string, clock: ClockDecision): string {
  const anchor = clock.kind === 'epoch' ? 'epoch' : `${clock.kind === 'prft' ? 'p' : 'a'}${Math.floor(clock.zeroMs / 60_000)}`;
  return fnv(`${name}|${settings}|${anchor}`).toString(36).padStart(7, '0');
}

/** FNV-1a, 32 bits, twice with different seeds: a short, stable, well-spread id. */
function fnv(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 2 ** 10 + ((b >>> 0) & 0x3ff);
}
