import { deliveryFault, later, type Deliverable } from './notify.js';

/**
 * A list of listeners released together; removal is O(1) so a closed client costs nothing.
 * `emit` defers the calls to right after the current call stack (see notify.ts); emitting the
 * same value again before then changes nothing (a track that changed five times in one ingest
 * call wakes its waiters once).
 */
export class Signal<T> implements Deliverable {
  private readonly listeners = new Set<(value: T) => void>();
  private pending: T[] = [];

  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(value: T): void {
    if (this.pending.includes(value)) return;
    this.pending.push(value);
    if (this.pending.length === 1) later(this);
  }

  /** Calls every listener now, each isolated from the others. */
  deliver(): void {
    const values = this.pending;
    this.pending = [];
    for (const value of values) {
      for (const listener of this.listeners) {
        try {
          listener(value);
        } catch (err) {
          deliveryFault(err);
        }
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
