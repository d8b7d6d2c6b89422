import type { SavedCue } from '../scte35/cue.js';
import type { ClockDecision } from './clock.js';
import type { AddressingMode, DashPeriod } from './periods.js';
import type { SavedTrack } from './track-records.js';
import type { Anchor, TimelineOptions } from './host.js';
import { partTargetFromChunk } from './part-target.js';

/** How raw media time maps onto the stream timeline since the last encoder restart. */
export interface Epoch {
  /** Added to the slot index of raw media time (0 until an encoder restart). */
  readonly msnShift: number;
  /** Stream time = raw seconds + shiftSec (−origin until an encoder restart). */
  readonly shiftSec: number;
}

export interface StreamWarning {
  readonly stream: string;
  readonly track?: string;
  readonly message: string;
}

/** What a DVR keeps of a stream besides its segments (`state.json`): a restart decides nothing anew. */
export interface SavedStream {
  readonly version: 1;
  readonly name: string;
  readonly tag: string;
  readonly clock: ClockDecision;
  readonly origin: string;
  readonly epoch: Epoch;
  readonly targetDuration: number | null;
  readonly partTarget: number | null;
  readonly nominalSegmentDuration: number | null;
  readonly periods: Record<AddressingMode, readonly DashPeriod[]>;
  readonly tracks: Record<string, SavedTrack>;
  /** SCTE-35 cues within the retained window (absent in states saved before cues existed). */
  readonly cues?: { readonly cues: readonly SavedCue[]; readonly inbandTracks: readonly string[] };
}

/**
 * How one stream's media time maps to segment numbers, slots and the wall clock, and the
 * constants decided once for it (target duration, part target): arithmetic over what the first
 * media decided. Stream adds the tracks and the decisions themselves.
 */
export abstract class StreamTime {
  /** EXT-X-TARGETDURATION, decided when the first segment completes and constant after. */
  targetDuration: number | null = null;
  /** EXT-X-PART-INF:PART-TARGET in seconds, decided at the first sample and constant after. */
  partTarget: number | null = null;
  /** The segment cadence in seconds: the target, or the encoder's longer GOP; decided with the target. */
  nominalSegmentDuration: number | null = null;
  clock: ClockDecision | null = null;
  /** Whole seconds subtracted from raw media time (a multiple of 2^20 s). */
  origin: bigint | null = null;
  protected epoch: Epoch = { msnShift: 0, shiftSec: 0 };

  constructor(
    readonly name: string,
    readonly options: TimelineOptions,
  ) {}

  /**
   * The target duration, decided by the first complete segment (`first` seconds) and constant
   * after; `longest`: the longest segment listed so far on any track, cut-short and growing ones
   * included, since an EXTINF rounded "MUST be less than or equal to the target duration".
   * Returns the decided target, or null when it was decided before.
   */
  protected decideTargetDuration(first: number, longest: number): number | null {
    if (this.targetDuration !== null) return null;
    this.targetDuration = Math.max(Math.max(1, Math.round(this.options.targetDuration)), Math.round(Math.max(first, longest)));
    // The slot, unless the encoder's GOP is longer (a late joiner's first segment may be shorter).
    const measured = Math.round(first * 1000) / 1000;
    this.nominalSegmentDuration = measured > this.options.targetDuration * 1.25 ? measured : this.options.targetDuration;
    return this.targetDuration;
  }

  /**
   * The part target, decided at the stream's first chunk and constant after: the configured one,
   * else one chunk of the encoder's fragment cadence with headroom (part-target.ts), a property
   * every full chunk of every track shows, so origins that joined at different moments decide
   * alike. Parts are whole samples, never longer.
   */
  decidePartTarget(chunkSeconds: number, lastSampleSeconds: number): number {
    if (this.partTarget === null) {
      const configured = this.options.partTarget;
      this.partTarget = configured !== null ? Math.round(configured * 1e5) / 1e5 : partTargetFromChunk(chunkSeconds, lastSampleSeconds, this.options.targetDuration);
    }
    return this.partTarget;
  }

  /** Largest timestamp jump (seconds) still treated as continuous. */
  maxJump(): number {
    return Math.max(1, this.options.targetDuration);
  }

  /** Longest segment allowed: EXTINF rounded to the nearest integer MUST NOT exceed TARGETDURATION. */
  maxSegmentDuration(): number {
    if (this.targetDuration !== null) return this.targetDuration + 0.5 - 0.001;
    return Math.max(3 * this.options.targetDuration, 6);
  }

  /** Seconds of media kept: the live (or DVR) window plus the time clients may still fetch it. */
  retentionSeconds(): number {
    return Math.max(this.options.windowSeconds, this.options.dvrSeconds) + 2 * (this.targetDuration ?? Math.ceil(this.options.targetDuration));
  }

  /** Seconds of media kept in memory with their part records: the live window and its grace. */
  liveRetentionSeconds(): number {
    return this.options.windowSeconds + 2 * (this.targetDuration ?? Math.ceil(this.options.targetDuration));
  }


  /** MSN of stream time 0 in the first epoch: where the first Period starts, whatever happened since. */
  get zeroMsn(): number {
    return Math.floor(Number(this.origin ?? 0n) / this.options.targetDuration + 1e-9) + 1;
  }

  /** The target in whole milliseconds: the slot of raw media time one segment number stands for. */
  private get slotMs(): bigint {
    return BigInt(Math.round(this.options.targetDuration * 1000));
  }

  msnAt(anchor: Anchor, raw: bigint, timescale: number): number {
    return Number((raw * 1000n) / (this.slotMs * BigInt(timescale))) + anchor.msnShift + 1;
  }

  /** Stream time where the slot of segment `msn` starts, in the current epoch. */
  protected slotStart(msn: number): number {
    return (msn - 1 - this.epoch.msnShift) * this.options.targetDuration + this.epoch.shiftSec;
  }

  /** Stream time where the slot of segment `msn` ends (the next slot starts), in the current epoch. */
  slotEnd(msn: number): number {
    return this.slotStart(msn + 1);
  }

  /** The segment number whose slot holds stream time `t`, in the current epoch (the first Period starts at stream time 0). */
  msnAtTime(t: number): number {
    return Math.floor((t - this.epoch.shiftSec) / this.options.targetDuration + 1e-9) + 1 + this.epoch.msnShift;
  }

  protected anchorOf(e: Epoch, timescale: number, discontinuity: boolean): Anchor {
    const offset = BigInt(Math.round(-e.shiftSec * timescale));
    return { offsetTicks: offset, msnShift: e.msnShift, discontinuity };
  }


  /** Stream seconds minus the encoder's media seconds in the current epoch (−origin until an encoder restart). */
  get mediaShiftSeconds(): number {
    return this.epoch.shiftSec;
  }


  /** Wall clock (Unix ms) of stream time 0: the MPD's availabilityStartTime. Null before media. */
  get availabilityStartTimeMs(): number | null {
    return this.clock ? this.clock.zeroMs : null;
  }

  /** Wall clock (Unix ms) of a time on the stream timeline. */
  wallClockMs(streamSec: number): number {
    return this.clock ? Math.round(this.clock.zeroMs + streamSec * 1000) : 0;
  }
}
