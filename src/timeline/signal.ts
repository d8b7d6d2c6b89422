/** A list of listeners released together; removal is O(1) so a closed client costs nothing. */
export class Signal<T> {
  private readonly listeners = new Set<(value: T) => void>();

  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls every listener, each isolated from the others: one that throws does not keep the rest
   * from running. The first exception is rethrown once all have run, for the emitter's boundary.
   */
  emit(value: T): void {
    let failure: { err: unknown } | null = null;
    for (const listener of this.listeners) {
      try {
        listener(value);
      } catch (err) {
        failure ??= { err };
      }
    }
    if (failure) throw failure.err;
  }

  get size(): number {
    return this.listeners.size;
  }
}
