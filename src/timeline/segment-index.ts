import type { Segment } from './segment.js';
import type { SegmentStore } from './store.js';

const EPS = 1e-6;

/**
 * A track's segment records, oldest first, consecutive MSNs (gaps included; the last one may be
 * in production): lookup by MSN in O(1), the window a playlist lists, retention and removal.
 */
export class SegmentIndex {
  private readonly list: Segment[] = [];
  /** Records at the head of the list that left the live window (compacted, maybe not in memory). */
  private cooled = 0;

  constructor(private readonly store: SegmentStore) {}

  get size(): number {
    return this.list.length;
  }

  get first(): Segment | undefined {
    return this.list[0];
  }

  get last(): Segment | undefined {
    return this.list[this.list.length - 1];
  }

  /** Every record, oldest first (a copy). */
  all(): Segment[] {
    return this.list.slice();
  }

  find(msn: number): Segment | undefined {
    const first = this.list[0];
    if (!first) return undefined;
    const s = this.list[msn - first.msn];
    return s && s.msn === msn ? s : undefined;
  }

  push(segment: Segment): void {
    const last = this.last;
    if (last && segment.msn !== last.msn + 1) throw new Error(`segment ${segment.msn} does not follow ${last.msn}`);
    this.list.push(segment);
  }

  /** Records from `msn` on (inclusive), oldest first. */
  from(msn: number): Segment[] {
    const first = this.list[0];
    if (!first) return [];
    return this.list.slice(Math.max(0, msn - first.msn));
  }

  /** The newest segment that is not in production (complete or gap). */
  lastDone(): Segment | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]!.state !== 'open') return this.list[i];
    return undefined;
  }

  /** Complete (and gap) segments within `seconds` of the newest one's end, oldest first. */
  listed(seconds: number): Segment[] {
    const newest = this.lastDone();
    if (!newest) return [];
    const newestEnd = newest.endTime / newest.timescale;
    let i = this.list.length - 1;
    while (i >= 0 && this.list[i]!.state === 'open') i--;
    const end = i + 1;
    while (i >= 0 && newestEnd - this.list[i]!.endTime / this.list[i]!.timescale < seconds - EPS) i--;
    return this.list.slice(i + 1, end);
  }

  /**
   * Complete (and gap) segments that end by `until` (stream seconds), within `seconds` before the
   * newest of them: a live window whose edge is moved back (time-shift).
   */
  listedUntil(until: number, seconds: number): Segment[] {
    let end = this.firstEndingAfter(until + EPS);
    while (end > 0 && this.list[end - 1]!.state === 'open') end--;
    if (end === 0) return [];
    const last = this.list[end - 1]!;
    const newestEnd = last.endTime / last.timescale;
    let i = end - 1;
    while (i >= 0 && newestEnd - this.list[i]!.endTime / this.list[i]!.timescale < seconds - EPS) i--;
    return this.list.slice(i + 1, end);
  }

  /** Complete (and gap) segments that overlap `[start, end)` (stream seconds; end null: to the newest). */
  between(start: number, end: number | null): Segment[] {
    const from = this.firstEndingAfter(start + EPS);
    const out: Segment[] = [];
    for (let i = from; i < this.list.length; i++) {
      const s = this.list[i]!;
      if (s.state === 'open' || (end !== null && s.startTime / s.timescale >= end - EPS)) break;
      out.push(s);
    }
    return out;
  }

  /** Index of the first record that ends after `time` (stream seconds): a binary search. */
  private firstEndingAfter(time: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.list[mid]!;
      if (s.endTime / s.timescale > time) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The newest complete part: what LAST-MSN/LAST-PART report and blocking reloads wait for. */
  lastCompletePart(): { msn: number; index: number } | null {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const s = this.list[i]!;
      if (s.state === 'gap') return null;
      for (let p = s.parts.length - 1; p >= 0; p--) if (s.parts[p]!.complete) return { msn: s.msn, index: p };
    }
    return null;
  }

  /** The newest complete part that ends at or before `seconds` (stream time). */
  lastCompletePartBy(seconds: number): { msn: number; index: number } | null {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const s = this.list[i]!;
      if (s.state === 'gap') return null;
      for (let p = s.parts.length - 1; p >= 0; p--) {
        const part = s.parts[p]!;
        if (part.complete && (part.startTime + part.duration) / s.timescale <= seconds + 1e-6) return { msn: s.msn, index: p };
      }
    }
    return null;
  }

  /** Stream time where the newest complete part ends. */
  lastCompletePartEnd(): number | null {
    const last = this.lastCompletePart();
    if (!last) return null;
    const s = this.find(last.msn)!;
    const part = s.parts[last.index]!;
    return (part.startTime + part.duration) / s.timescale;
  }

  /**
   * Forgets segments that ended more than `seconds` before the newest complete one (never the one
   * in production, never the last one), and their bytes in the store.
   */
  trim(seconds: number): void {
    const newest = this.lastDone();
    if (!newest) return;
    const newestEnd = newest.endTime / newest.timescale;
    let n = 0;
    while (n < this.list.length - 1) {
      const s = this.list[n]!;
      if (s.state === 'open' || newestEnd - s.endTime / s.timescale < seconds - EPS) break;
      n++;
    }
    if (n === 0) return;
    for (const s of this.list.splice(0, n)) this.store.remove(s.key);
    this.cooled = Math.max(0, this.cooled - n);
  }

  /**
   * Records that ended more than `seconds` before the newest one left the live window: their chunk
   * and part records go, and the store may let their bytes go from memory (a DVR keeps them on
   * disk). One whose bytes the store lost (a failed write) becomes a gap. Whether any did.
   */
  cool(seconds: number): boolean {
    const newest = this.lastDone();
    if (!newest) return false;
    const newestEnd = newest.endTime / newest.timescale;
    let lost = false;
    while (this.cooled < this.list.length - 1) {
      const s = this.list[this.cooled]!;
      if (s.state === 'open' || newestEnd - s.endTime / s.timescale < seconds - EPS) break;
      if (s.state === 'complete') {
        s.compact();
        if (!this.store.cool(s.key)) {
          s.lose();
          lost = true;
        }
      }
      this.cooled++;
    }
    return lost;
  }

  /** Records restored from a DVR index, in order, already cold. */
  restore(records: readonly Segment[]): void {
    for (const s of records) this.push(s);
    this.cooled = this.list.length;
  }

  /** Drops the records up to `msn` (the store evicted their bytes: a disk quota). */
  dropThrough(msn: number): void {
    let n = 0;
    while (n < this.list.length - 1 && this.list[n]!.msn <= msn && this.list[n]!.state !== 'open') n++;
    this.list.splice(0, n);
    this.cooled = Math.max(0, this.cooled - n);
  }

  /** Every record leaves (the stream is removed): the store forgets their bytes. */
  clear(): void {
    for (const s of this.list.splice(0)) this.store.remove(s.key);
    this.cooled = 0;
  }

  /** Init ids still referenced by a record. */
  initIds(): Set<string> {
    return new Set(this.list.map((s) => s.initId));
  }
}
