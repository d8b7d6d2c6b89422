import type { Segment } from './segment.js';

/** A segment start shared by every track of a stream: same MSN, same time range. */
export interface Boundary {
  readonly msn: number;
  /** Start on the stream timeline, in seconds. */
  readonly time: number;
  /** The segments that open at this boundary follow a discontinuity (in any track). */
  readonly discontinuity: boolean;
  /** Segments that SCTE-35 splice points added since the last jump: MSNs run this far ahead of the slots. */
  readonly spliceShift: number;
}

interface MutableBoundary {
  readonly msn: number;
  readonly time: number;
  discontinuity: boolean;
  readonly spliceShift: number;
}

/** The stream's segment grid: consecutive MSNs with their start times, decided once. */
export class SegmentGrid {
  private readonly list: MutableBoundary[] = [];
  /** Discontinuities among boundaries already trimmed away. */
  private trimmedDiscontinuities = 0;

  get last(): Boundary | undefined {
    return this.list[this.list.length - 1];
  }

  get first(): Boundary | undefined {
    return this.list[0];
  }

  get(msn: number): Boundary | undefined {
    const first = this.list[0];
    return first ? this.list[msn - first.msn] : undefined;
  }

  /** The last boundary that starts at or before `time` (+ tolerance). */
  containing(time: number, tolerance: number): Boundary | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const b = this.list[i]!;
      if (b.time <= time + tolerance) return b;
    }
    return undefined;
  }

  /** A track opened a discontinuous segment at `msn`: every rendition marks it (RFC 8216bis 6.2.4). */
  markDiscontinuity(msn: number): void {
    const b = this.list[msn - (this.list[0]?.msn ?? msn)];
    if (b && b.msn === msn) b.discontinuity = true;
  }

  /** EXT-X-DISCONTINUITY-SEQUENCE of the segment `msn`: discontinuities before it. */
  discontinuitiesBefore(msn: number): number {
    let n = this.trimmedDiscontinuities;
    for (const b of this.list) {
      if (b.msn >= msn) break;
      if (b.discontinuity) n++;
    }
    return n;
  }

  add(msn: number, time: number, discontinuity: boolean, spliceShift = this.last?.spliceShift ?? 0): Boundary {
    const last = this.last;
    if (last && msn !== last.msn + 1) throw new Error(`grid: MSN ${msn} does not follow ${last.msn}`);
    if (last && time < last.time) throw new Error(`grid: boundary ${msn} at ${time}s precedes ${last.msn} at ${last.time}s`);
    const b = { msn, time, discontinuity, spliceShift };
    this.list.push(b);
    return b;
  }

  /** Forgets boundaries before `msn` (they left every track's window). */
  trimBefore(msn: number): void {
    const first = this.list[0];
    if (!first || msn <= first.msn) return;
    const removed = this.list.splice(0, Math.min(msn - first.msn, this.list.length - 1));
    for (const b of removed) if (b.discontinuity) this.trimmedDiscontinuities++;
  }

  get size(): number {
    return this.list.length;
  }

  /**
   * Boundaries from restored segment records (a DVR restart): each MSN at its earliest start over
   * the tracks, a discontinuity where any track had one; a number no track kept (its records were
   * evicted) where the previous one ends.
   */
  rebuild(segments: readonly Segment[], targetDuration: number): void {
    const boundaries = new Map<number, { time: number; discontinuity: boolean }>();
    for (const seg of segments) {
      const b = boundaries.get(seg.msn);
      const time = seg.startTime / seg.timescale;
      boundaries.set(seg.msn, { time: b ? Math.min(b.time, time) : time, discontinuity: (b?.discontinuity ?? false) || seg.discontinuity });
    }
    let last: Boundary | undefined;
    for (const msn of [...boundaries.keys()].sort((a, b) => a - b)) {
      const b = boundaries.get(msn)!;
      while (last && last.msn + 1 < msn) last = this.add(last.msn + 1, Math.min(b.time, last.time + targetDuration), false);
      last = this.add(msn, Math.max(b.time, last?.time ?? b.time), b.discontinuity);
    }
  }
}
