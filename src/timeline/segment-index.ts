import type { Segment } from './segment.js';
import type { SegmentStore } from './store.js';

const EPS = 1e-6;

/**
 * A track's segment records, oldest first, consecutive MSNs (gaps included; the last one may be
 * in production): lookup by MSN in O(1), the window a playlist lists, retention and removal.
 */
export class SegmentIndex {
  private readonly list: Segment[] = [];

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
    for (const s of this.list.splice(0, n)) if (s.state === 'complete') this.store.remove(s.key);
  }

  /** Every record leaves (the stream is removed): the store forgets their bytes. */
  clear(): void {
    for (const s of this.list.splice(0)) if (s.state === 'complete') this.store.remove(s.key);
  }

  /** Init ids still referenced by a record. */
  initIds(): Set<string> {
    return new Set(this.list.map((s) => s.initId));
  }
}
