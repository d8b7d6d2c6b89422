import type { ProducerReferenceTime } from '../isobmff/chunker.js';
import type { TrackKind } from '../isobmff/init.js';
import type { InbandEvent } from '../scte35/inband.js';
import type { Boundary, SegmentGrid } from './grid.js';
import type { Segment } from './segment.js';
import type { SegmentStore } from './store.js';

export interface TimelineOptions {
  /** Segment target duration in seconds: the slot a segment number stands for. */
  readonly targetDuration: number;
  /** Part target duration in seconds (no part is longer); null: from the encoder's fragment cadence. */
  readonly partTarget: number | null;
  /** Seconds of media a playlist lists. */
  readonly windowSeconds: number;
  /** Seconds of media kept for catch-up (the DVR window; 0: none beyond the live window). */
  readonly dvrSeconds: number;
  readonly maxTracksPerStream: number;
}

/** How a track's raw media time (tfdt ticks) maps onto the stream timeline and segment numbers. */
export interface Anchor {
  /** Subtracted from raw ticks: the track's ticks on the stream timeline. */
  readonly offsetTicks: bigint;
  /** Added to the slot index of raw media time: segment numbers continue across encoder restarts. */
  readonly msnShift: number;
  /** The track's media continues from elsewhere than where it was (a discontinuity). */
  readonly discontinuity: boolean;
}

/** What a track is, as its stream sees it. */
export interface TrackView {
  readonly name: string;
  readonly kind: TrackKind;
  readonly timescale: number;
  readonly state: 'active' | 'idle' | 'ended';
  readonly lastMsn: number | null;
  readonly quietThrough: number;
  readonly lastEndSeconds: number | null;
  readonly segmentCount: number;
  readonly firstMsn: number | null;
  findSegment(msn: number): Segment | undefined;
  drain(mode: 'decided' | 'flush'): void;
  end(): void;
  emitChanged(): void;
}

/**
 * What a track needs from its stream: the shared grid and timeline decisions. Implemented by
 * Stream; Track depends on this interface only, so the two modules do not import each other.
 */
export interface TrackHost {
  readonly name: string;
  readonly tag: string;
  readonly options: TimelineOptions;
  readonly grid: SegmentGrid;
  readonly store: SegmentStore;
  readonly ended: boolean;
  /** EXT-X-TARGETDURATION, once the stream's first complete segment decided it. */
  readonly targetDuration: number | null;
  /** PART-TARGET in seconds, decided at the stream's first chunk (its duration and last sample's). */
  decidePartTarget(chunkSeconds: number, lastSampleSeconds: number): number;
  maxJump(): number;
  maxSegmentDuration(): number;
  retentionSeconds(): number;
  liveRetentionSeconds(): number;
  /** Saves what a restart needs (a store that persists). */
  persist(): void;
  anchorTrack(track: TrackView, raw: bigint, arrivalMs: number, durationTicks: number, prft: ProducerReferenceTime | undefined): Anchor;
  /** Segment number of raw media time `raw` (ticks) under an anchor. */
  msnAt(anchor: Anchor, raw: bigint, timescale: number): number;
  startMsnFor(track: TrackView, time: number, slotMsn: number): number;
  /** `spliceShift`: that of the boundary (carried from the previous one when not given). */
  proposeBoundary(msn: number, time: number, discontinuity: boolean, spliceShift?: number): Boundary;
  /** Wall clock (Unix ms) of a stream time. */
  wallClockMs(streamSec: number): number;
  hasActiveVideo(): boolean;
  /** Newest ingested media time over all tracks, in seconds. */
  frontier(): number | null;
  decidedUntil(): number;
  segmentCompleted(track: TrackView, segment: Segment): void;
  /** A SCTE-35 splice point inside `(from, to]` (stream seconds). */
  cueSplitsWithin(from: number, to: number): boolean;
  inbandEvents(track: TrackView, offsetTicks: bigint, events: readonly InbandEvent[], errors: readonly string[]): void;
  trackProgressed(track: TrackView): void;
  trackStateChanged(track: TrackView): void;
  touch(): void;
  compact(): void;
}
