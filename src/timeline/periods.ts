import type { Segment } from './segment.js';
import type { Stream } from './stream.js';
import type { Track } from './track.js';

export type AddressingMode = 'number' | 'timeline';

/** A DASH Period: decided once, never moved (IOP: Period@id and Period@start never change). */
export interface DashPeriod {
  readonly id: string;
  readonly startMsn: number;
  /** Period@start: seconds on the stream timeline (= since availabilityStartTime). */
  readonly start: number;
  /** The Period this one continues seamlessly (period-continuity), if any. */
  readonly continues: string | null;
}

/**
 * Splits a stream's segment grid into Periods: a new one at a timeline discontinuity (encoder
 * restart, timestamp jump, a changed CMAF header) and, with `$Number$` addressing, where a segment
 * starts more than half a nominal duration away from where `$Number$` arithmetic puts it.
 * Boundaries are judged once every live track has reached them, then never again. The first
 * Period starts at stream time 0 (its number is the slot's): every origin, whenever it joined,
 * has the same one. Kept by the timeline; renderers only read them.
 */
export class PeriodTracker {
  readonly periods: DashPeriod[] = [];
  private judged = 0;

  constructor(private readonly mode: AddressingMode) {}

  update(stream: Stream): readonly DashPeriod[] {
    const d = stream.nominalSegmentDuration;
    const grid = stream.grid;
    const first = grid.first;
    const last = grid.last;
    if (!first || !last || d === null) return this.periods;
    let settled = last.msn;
    for (const t of stream.tracks.values()) {
      if (t.state === 'active' && t.lastMsn !== null) settled = Math.min(settled, t.lastMsn);
    }
    for (let msn = Math.max(this.judged + 1, first.msn); msn <= settled; msn++) {
      const b = grid.get(msn);
      if (!b) continue;
      this.judged = msn;
      const current = this.periods[this.periods.length - 1];
      if (!current) {
        const first = stream.zeroMsn;
        this.periods.push({ id: `p${first}`, startMsn: first, start: 0, continues: null });
        if (first === msn) continue;
      }
      const period = this.periods[this.periods.length - 1]!;
      let discontinuous = b.discontinuity;
      for (const t of stream.tracks.values()) if (t.findSegment(msn)?.discontinuity) discontinuous = true;
      // IOP "simple live": a segment whose start is off its $Number$ position by more than half a
      // nominal duration needs a new Period.
      const expected = period.start + (msn - period.startMsn) * d;
      const drifted = this.mode === 'number' && Math.abs(b.time - expected) > d / 2;
      if (discontinuous || drifted) this.periods.push({ id: `p${msn}`, startMsn: msn, start: b.time, continues: discontinuous ? null : period.id });
    }
    return this.periods;
  }

  /** Periods a DVR saved: boundaries after the newest one's start are judged again (alike). */
  adopt(periods: readonly DashPeriod[]): void {
    this.periods.splice(0, this.periods.length, ...periods);
    this.judged = periods[periods.length - 1]?.startMsn ?? 0;
  }

  /** Periods that still hold media at or after `from` (seconds): expired ones are not listed. */
  live(from: number): DashPeriod[] {
    let firstLive = 0;
    for (let i = 0; i < this.periods.length; i++) if (this.periods[i]!.start <= from) firstLive = i;
    return this.periods.slice(firstLive);
  }
}

/** The segments of a track inside a Period (complete, in production, gaps included). */
export function segmentsIn(track: Track, period: DashPeriod, next: DashPeriod | undefined): Segment[] {
  return track.segmentsFrom(period.startMsn).filter((s) => !next || s.msn < next.startMsn);
}

/**
 * presentationTimeOffset of a track in a Period: the track's own media time (as in its tfdt) at
 * the Period start, from any segment of the Period that carries media. Null when the track has
 * no media in the Period.
 */
export function presentationTimeOffset(segments: readonly Segment[], periodStart: number): bigint | null {
  const seg = segments.find((s) => s.baseMediaDecodeTime !== null);
  if (!seg) return null;
  const offset = seg.baseMediaDecodeTime! - BigInt(seg.startTime);
  return offset + BigInt(Math.round(periodStart * seg.timescale));
}
