import { deliveryFault, later, type Deliverable } from './notify.js';

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
 * Readers get what exists when they join at once; appends and the end reach them right after
 * the call that made them (notify.ts), each reader isolated from the others.
 */
export class LiveBody implements Deliverable {
  readonly buffers: Buffer[] = [];
  private size = 0;
  private status: LiveBodyState = 'open';
  /** Made on the first reader: a window holds hundreds of complete bodies that never have one. Value: buffers delivered. */
  private readers: Map<LiveBodyReader, number> | null = null;
  private queued = false;

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
    this.schedule();
  }

  complete(): void {
    if (this.status !== 'open') return;
    this.status = 'complete';
    this.schedule();
  }

  abort(): void {
    if (this.status !== 'open') return;
    this.status = 'aborted';
    this.schedule();
  }

  private schedule(): void {
    if (this.readers && !this.queued) {
      this.queued = true;
      later(this);
    }
  }

  /** Sends every reader what it has not had yet, then the end state. */
  deliver(): void {
    this.queued = false;
    const readers = this.readers;
    if (!readers) return;
    const total = this.buffers.length;
    let shared: { from: number; list: Buffer[] } | null = null;
    for (const [reader, had] of readers) {
      try {
        if (had < total) {
          // Readers that joined together share one list per delivery.
          if (!shared || shared.from !== had) shared = { from: had, list: this.buffers.slice(had) };
          readers.set(reader, total);
          reader.data(shared.list);
        }
        if (this.status === 'complete') reader.end();
        else if (this.status === 'aborted') reader.abort();
      } catch (err) {
        readers.delete(reader);
        deliveryFault(err);
        try {
          reader.abort();
        } catch {
          // The reader is gone either way.
        }
      }
    }
    if (this.status !== 'open') this.readers = null;
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
    const readers = (this.readers ??= new Map());
    readers.set(reader, this.buffers.length);
    return () => readers.delete(reader);
  }
}

const noop = (): void => {};
