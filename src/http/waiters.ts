import type { Track } from '../timeline/track.js';

interface Waiter {
  readonly deadline: number;
  /** Returns true when the waiter is done (it answered). */
  readonly check: () => boolean;
  readonly expire: () => void;
  /** Answers now because the origin is shutting down (else `expire` does). */
  readonly release: (() => void) | undefined;
}

/**
 * The requests held on one track (blocking playlist reloads, hinted parts, the next segment):
 * woken together on the track's change event, expired by one sweep, removed in O(1) when their
 * client goes away. No timer per request. Every waiter of a track has the same hold limit, so
 * insertion order is deadline order and a sweep stops at the first live one.
 */
export class WaiterList {
  private readonly waiters = new Set<Waiter>();

  constructor(
    track: Track,
    /** A waiter that threw (its own boundary failed): it is dropped, the others are still woken. */
    private readonly onFault: (err: unknown) => void,
  ) {
    track.changed.subscribe(() => this.wake());
  }

  get size(): number {
    return this.waiters.size;
  }

  add(deadline: number, check: () => boolean, expire: () => void, release?: () => void): () => void {
    const w: Waiter = { deadline, check, expire, release };
    this.waiters.add(w);
    return () => this.waiters.delete(w);
  }

  wake(): void {
    for (const w of this.waiters) {
      try {
        if (w.check()) this.waiters.delete(w);
      } catch (err) {
        this.waiters.delete(w);
        this.onFault(err);
      }
    }
  }

  /** Answers every waiter now (the origin is shutting down): `release`, or `expire` without one. */
  releaseAll(): void {
    for (const w of this.waiters) {
      this.waiters.delete(w);
      try {
        if (!w.check()) (w.release ?? w.expire)();
      } catch (err) {
        this.onFault(err);
      }
    }
  }

  expire(nowMs: number): void {
    for (const w of this.waiters) {
      if (w.deadline > nowMs) break;
      this.waiters.delete(w);
      try {
        w.expire();
      } catch (err) {
        this.onFault(err);
      }
    }
  }
}
