import type { DashPeriod } from '../timeline/periods.js';
import type { Track } from '../timeline/track.js';
import { entryPoints, type EntryPoint } from './packets.js';

/** Initialization Packets per second, as value/scale (frames for video, frames of samples for audio). */
export interface Rate {
  readonly value: number;
  readonly scale: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** AAC: 1024 samples per frame; Opus in CMAF: 20 ms frames of 960 samples at 48 kHz. */
export function samplesPerFrame(track: Track): number {
  return track.info.codec === 'opus' ? 960 : 1024;
}

export function packetRate(track: Track): Rate {
  if (track.kind === 'video') {
    const d = track.sampleDuration || 1;
    const g = gcd(track.timescale, d);
    return { value: track.timescale / g, scale: d / g };
  }
  return { value: track.info.sampleRate ?? 48000, scale: samplesPerFrame(track) };
}

/** Stream time (s) → sequence slot: `floor(t × rate)` (one slot per frame, App. C.2). */
export function sequenceAt(seconds: number, rate: Rate): number {
  return Math.floor((seconds * rate.value) / rate.scale + 1e-9);
}

/** A Presentation as HESP numbers it: start on the manifest timeline (ms) and its first slot. */
export interface HespPresentation {
  readonly period: DashPeriod;
  readonly next: DashPeriod | undefined;
  /** timeBounds.startTime in ms: covered by every track's first packet (§3.1.2). */
  readonly startMs: number;
}

/**
 * Presentation start: the segment boundary plus half an audio frame, rounded up to a millisecond,
 * so the first packet of every track covers it (an audio segment starts within half a frame of
 * the video boundary; a video IDR lasts a whole frame).
 */
export function presentationStartMs(period: DashPeriod, tracks: readonly Track[]): number {
  let slack = 0;
  for (const t of tracks) if (t.kind === 'audio' && t.info.sampleRate) slack = Math.max(slack, samplesPerFrame(t) / t.info.sampleRate / 2);
  return Math.ceil((period.start + slack) * 1000);
}

export function startSequence(p: HespPresentation, rate: Rate): number {
  return sequenceAt(p.startMs / 1000, rate);
}

export type PacketLookup = { readonly kind: 'packet'; readonly entry: EntryPoint } | { readonly kind: 'future' | 'gone' };

/**
 * The Initialization Packet for sequence number `seq` (or the newest, `now`): the last valid
 * packet at or before that slot — "the last valid Initialization Packet MUST be returned if this
 * Sequence Number is queried" (draft-theo-hesp-06 App. C.2). Past the live edge: future.
 */
export function lookupPacket(track: Track, presentations: readonly HespPresentation[], seq: number | 'now'): PacketLookup {
  const entries = entryPoints(track);
  if (seq === 'now') {
    const last = entries[entries.length - 1];
    return last ? { kind: 'packet', entry: last } : { kind: 'future' };
  }
  const rate = packetRate(track);
  let p: HespPresentation | undefined;
  for (const x of presentations) if (startSequence(x, rate) <= seq) p = x;
  if (!p) return { kind: 'gone' };
  const t = p.startMs / 1000 + (seq - startSequence(p, rate)) / (rate.value / rate.scale);
  const newest = track.lastEndSeconds;
  if (newest === null || t >= newest) return { kind: 'future' };
  const within = entries.filter((e) => e.segment.msn >= p.period.startMsn && (!p.next || e.segment.msn < p.next.startMsn));
  let found: EntryPoint | undefined;
  for (const e of within) if (e.time <= t + 1e-6) found = e;
  if (found) return { kind: 'packet', entry: found };
  // Before the first retained entry of its presentation: gone if older media left the window.
  return within.length > 0 && t < within[0]!.time ? { kind: 'gone' } : { kind: 'future' };
}
