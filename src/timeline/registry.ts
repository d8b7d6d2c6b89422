import { LRUCache } from 'lru-cache';
import { OriginError } from '../errors.js';
import { Signal } from './signal.js';
import { MemorySegmentStore, type SegmentStore } from './store.js';
import type { StreamWarning } from './stream-time.js';
import { Stream, type TimelineOptions } from './stream.js';

export interface RegistryOptions extends TimelineOptions {
  readonly maxStreams: number;
  /** A track that receives nothing for this long ends. */
  readonly idleTimeoutMs: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** The live streams of this origin, by name. */
export class StreamRegistry {
  private readonly streams = new Map<string, Stream>();
  /** Tags of recent instances of each stream name: a new instance never takes one of them. */
  private readonly pastTags = new LRUCache<string, Set<string>>({ max: 10_000 });
  readonly added = new Signal<Stream>();
  readonly removed = new Signal<Stream>();

  constructor(
    readonly options: RegistryOptions,
    readonly now: () => number,
    private readonly warn: (w: StreamWarning) => void = () => {},
    /** Where complete segments keep their bytes. */
    readonly store: SegmentStore = new MemorySegmentStore(),
  ) {}

  get(name: string): Stream | undefined {
    return this.streams.get(name);
  }

  list(): Stream[] {
    return [...this.streams.values()];
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * The stream an ingest writes to. An ended stream whose media a DVR still holds goes on (its
   * encoder came back: the same instance, the downtime a gap); without a DVR it is replaced by a
   * new instance.
   */
  forIngest(name: string): Stream {
    const existing = this.streams.get(name);
    if (existing && !existing.ended) return existing;
    if (existing && this.store.saveState && existing.hasMedia() && existing.tag !== '') {
      existing.reopen();
      return existing;
    }
    if (existing) this.remove(existing);
    return this.create(name);
  }

  /** A stream the DVR restores at start (restore.ts fills it). */
  forRestore(name: string): Stream {
    return this.create(name);
  }

  /** A stream whose restore failed: it goes without touching the store. */
  drop(name: string): void {
    const stream = this.streams.get(name);
    if (!stream) return;
    this.streams.delete(name);
    this.rememberTag(name, stream.tag);
    this.removed.emit(stream);
  }

  /** A tag an instance of `name` used: a new instance never takes it. */
  rememberTag(name: string, tag: string): void {
    if (tag !== '') this.pastTags.set(name, new Set([...(this.pastTags.get(name) ?? []), tag]));
  }

  private create(name: string): Stream {
    if (this.streams.size >= this.options.maxStreams) {
      throw new OriginError('STREAM_LIMIT', `${this.streams.size} streams are live (limit ${this.options.maxStreams}); stream '${name}' refused`);
    }
    const past = this.pastTags.get(name);
    const stream = new Stream(name, this.options, this.store, this.now(), this.now, this.warn, (tag) => past?.has(tag) ?? false);
    this.streams.set(name, stream);
    this.added.emit(stream);
    return stream;
  }

  /** Ends idle tracks and removes ended streams once their last segments have aged out. */
  sweep(): void {
    const now = this.now();
    for (const stream of this.streams.values()) {
      if (!stream.ended) {
        for (const track of stream.tracks.values()) {
          // A track that only ever received its CMAF header ends too (an init-only PUT leaves no stream behind).
          if (track.state !== 'ended' && now - track.lastIngestAtMs > this.options.idleTimeoutMs) {
            this.warn({ stream: stream.name, track: track.name, message: `no media for ${this.options.idleTimeoutMs} ms: track ends` });
            track.end();
          }
        }
        if (stream.tracks.size === 0 && now - stream.createdAtMs > this.options.idleTimeoutMs) stream.end(now);
      }
      if (stream.ended && (!stream.hasMedia() || now - stream.endedAtMs > stream.retentionSeconds() * 1000)) this.remove(stream);
    }
  }

  remove(stream: Stream): void {
    if (this.streams.get(stream.name) !== stream) return;
    this.rememberTag(stream.name, stream.tag);
    this.streams.delete(stream.name);
    stream.release();
    this.removed.emit(stream);
  }
}
