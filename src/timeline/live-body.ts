export type LiveBodyState = 'open' | 'complete' | 'aborted';

export interface LiveBodyReader {
  /** Buffers appended since the last call (or the ones that existed when the reader joined). */
  data(buffers: readonly Buffer[]): void;
  /** The body is complete: no more data will come. */
  end(): void;
  /** The body will never be complete (its producer died): the reader must not end cleanly. */
  abort(): void;
}

/**
 * Everything that may still be growing (a segment in production, a part behind a preload hint,
 * a prefetch segment, a chunked DASH segment, a TS segment being remuxed) is one of these: an
 * append-only list of Buffers with an end state and readers. Appends are shared, never copied.
 */
export class LiveBody {
  readonly buffers: Buffer[] = [];
  private size = 0;
  private status: LiveBodyState = 'open';
  /** Made on the first reader: a window holds hundreds of complete bodies that never have one. */
  private readers: Set<LiveBodyReader> | null = null;

  static completed(buffers: readonly Buffer[]): LiveBody {
    const body = new LiveBody();
    body.append(buffers);
    body.complete();
    return body;
  }

  get byteLength(): number {
    return this.size;
  }

  get state(): LiveBodyState {
    return this.status;
  }

  get readerCount(): number {
    return this.readers?.size ?? 0;
  }

  append(buffers: readonly Buffer[]): void {
    if (this.status !== 'open') throw new Error(`append to a ${this.status} body`);
    for (const b of buffers) {
      this.buffers.push(b);
      this.size += b.length;
    }
    if (this.readers) for (const r of this.readers) this.deliver(r, () => r.data(buffers));
  }

  /** A reader that throws is dropped and aborted: it never disturbs the producer or the other readers. */
  private deliver(reader: LiveBodyReader, call: () => void): void {
    try {
      call();
    } catch {
      this.readers?.delete(reader);
      try {
        reader.abort();
      } catch {
        // The reader is gone either way.
      }
    }
  }

  complete(): void {
    if (this.status !== 'open') return;
    this.status = 'complete';
    const readers = this.readers;
    this.readers = null;
    if (readers) for (const r of readers) this.deliver(r, () => r.end());
  }

  abort(): void {
    if (this.status !== 'open') return;
    this.status = 'aborted';
    const readers = this.readers;
    this.readers = null;
    if (readers) for (const r of readers) this.deliver(r, () => r.abort());
  }

  /**
   * Joins as a reader: receives what exists now at once (synchronously), then every append, then
   * end or abort. Returns the function that leaves.
   */
  read(reader: LiveBodyReader): () => void {
    if (this.buffers.length > 0) reader.data(this.buffers.slice());
    if (this.status === 'complete') {
      reader.end();
      return noop;
    }
    if (this.status === 'aborted') {
      reader.abort();
      return noop;
    }
    const readers = (this.readers ??= new Set());
    readers.add(reader);
    return () => readers.delete(reader);
  }
}

const noop = (): void => {};
