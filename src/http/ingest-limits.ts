import { OriginError } from '../errors.js';
import type { StreamRegistry } from '../timeline/registry.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { TokenBucket } from './limits.js';

export interface IngestLimitsConfig {
  readonly maxPendingBytesPerStream: number;
  readonly maxPendingBytes: number;
  readonly maxStreamBytes: number;
  readonly maxTotalBytes: number;
  readonly chunksPerSecond: number;
  readonly chunkBurst: number;
  readonly totalChunksPerSecond: number;
  readonly totalChunkBurst: number;
}

/** Which cap refused an ingest: the label of `origin_ingest_limit_rejections_total`. */
export type IngestLimit = 'pending-bytes' | 'stream-bytes' | 'chunk-rate' | 'busy-track';

/** What one ingest request is allowed to do: the hooks its IngestSession calls. */
export interface IngestPass {
  /** Bytes of incomplete boxes held for this request grew (or shrank) by `delta`. */
  hold(delta: number): void;
  /** A chunk of `bytes` is about to reach `stream`'s timeline. */
  admitChunk(stream: Stream, bytes: number): void;
  /** This request writes to `track`. */
  claimTrack(track: Track): void;
  /** The request is over (answered, cut or failed): its holdings and claims go. */
  release(): void;
}

interface Lease {
  /** Client address of the upload that holds (or last held) the track. */
  owner: string;
  active: number;
  since: number;
  releasedAt: number;
}

const BYTES_TTL_MS = 250;

/**
 * The ingest's resource caps, per stream and for the whole origin: bytes of incomplete boxes held
 * for uploads, bytes of media held in memory, chunks per second (token buckets), and one upload
 * per track. A stream over its own cap gets 429, the origin over its total 503 (both with
 * Retry-After); a second upload of a track that another one is pushing gets 409, as does an
 * upload from another address within `idleTimeoutMs` of the last one's end.
 */
export class IngestLimits {
  private pendingTotal = 0;
  private readonly pendingByStream = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();
  /** Made on the first chunk: the clock may not run before the origin starts. */
  private total: TokenBucket | null = null;
  private readonly sizes = new WeakMap<Stream, { at: number; bytes: number }>();
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly config: IngestLimitsConfig,
    private readonly streams: StreamRegistry,
    private readonly now: () => number,
    private readonly idleTimeoutMs: number,
    private readonly onRefused: (limit: IngestLimit, scope: 'stream' | 'global') => void = () => {},
  ) {}

  /** When the last upload started (ms). */
  lastUploadAtMs = 0;

  get pendingBytes(): number {
    return this.pendingTotal;
  }

  /** The hooks of one request to `/live/{stream}/…` from `client`. */
  pass(stream: string, client: string): IngestPass {
    this.lastUploadAtMs = this.now();
    let held = 0;
    const claimed = new Set<string>();
    return {
      hold: (delta) => {
        if (delta > 0) this.reserve(stream, delta);
        else this.free(stream, -delta);
        held += delta;
      },
      admitChunk: (s, bytes) => this.admitChunk(s, bytes),
      claimTrack: (track) => {
        const key = `${stream}/${track.name}`;
        if (claimed.has(key)) return;
        this.claim(key, client, track.name, stream);
        claimed.add(key);
      },
      release: () => {
        if (held > 0) this.free(stream, held);
        held = 0;
        const now = this.now();
        for (const key of claimed) {
          const lease = this.leases.get(key);
          if (lease && lease.active > 0) {
            lease.active--;
            lease.releasedAt = now;
          }
        }
        claimed.clear();
      },
    };
  }

  private reserve(stream: string, bytes: number): void {
    const mine = this.pendingByStream.get(stream) ?? 0;
    if (mine + bytes > this.config.maxPendingBytesPerStream) {
      this.onRefused('pending-bytes', 'stream');
      throw new OriginError('RATE_LIMITED', `stream '${stream}' holds ${mine} bytes of incomplete boxes; ${bytes} more exceed its limit of ${this.config.maxPendingBytesPerStream}`);
    }
    if (this.pendingTotal + bytes > this.config.maxPendingBytes) {
      this.onRefused('pending-bytes', 'global');
      throw new OriginError('OVERLOADED', `uploads hold ${this.pendingTotal} bytes of incomplete boxes; ${bytes} more exceed the limit of ${this.config.maxPendingBytes}`);
    }
    this.pendingByStream.set(stream, mine + bytes);
    this.pendingTotal += bytes;
  }

  private free(stream: string, bytes: number): void {
    const left = (this.pendingByStream.get(stream) ?? 0) - bytes;
    if (left > 0) this.pendingByStream.set(stream, left);
    else this.pendingByStream.delete(stream);
    this.pendingTotal = Math.max(0, this.pendingTotal - bytes);
  }

  private admitChunk(stream: Stream, bytes: number): void {
    const now = this.now();
    let bucket = this.buckets.get(stream.name);
    if (!bucket) {
      bucket = new TokenBucket(this.config.chunksPerSecond, this.config.chunkBurst, now);
      this.buckets.set(stream.name, bucket);
    }
    if (!bucket.take(1, now)) {
      this.onRefused('chunk-rate', 'stream');
      throw new OriginError('RATE_LIMITED', `stream '${stream.name}' pushes more than ${this.config.chunksPerSecond} chunks per second`);
    }
    this.total ??= new TokenBucket(this.config.totalChunksPerSecond, this.config.totalChunkBurst, now);
    if (!this.total.take(1, now)) {
      this.onRefused('chunk-rate', 'global');
      throw new OriginError('OVERLOADED', `the origin takes at most ${this.config.totalChunksPerSecond} chunks per second`);
    }
    const held = this.streamBytes(stream, now);
    if (held + bytes > this.config.maxStreamBytes) {
      this.onRefused('stream-bytes', 'stream');
      throw new OriginError('RATE_LIMITED', `stream '${stream.name}' holds ${held} bytes of media (limit ${this.config.maxStreamBytes}); lower its bitrate or the window`);
    }
    if (this.streams.store.bytes + bytes > this.config.maxTotalBytes) {
      this.onRefused('stream-bytes', 'global');
      throw new OriginError('OVERLOADED', `streams hold ${this.streams.store.bytes} bytes of media (limit ${this.config.maxTotalBytes})`);
    }
    const size = this.sizes.get(stream);
    if (size) size.bytes += bytes;
  }

  /** Bytes of media a stream holds (its segments, the ones in production included), recounted every 250 ms. */
  private streamBytes(stream: Stream, now: number): number {
    let size = this.sizes.get(stream);
    if (!size || now - size.at > BYTES_TTL_MS) {
      let bytes = 0;
      for (const t of stream.tracks.values()) for (const s of t.segments()) bytes += s.byteLength;
      size = { at: now, bytes };
      this.sizes.set(stream, size);
    }
    return size.bytes;
  }

  private claim(key: string, client: string, track: string, stream: string): void {
    const now = this.now();
    const lease = this.leases.get(key);
    if (lease) {
      if (lease.active > 0) {
        this.onRefused('busy-track', 'stream');
        throw new OriginError('TRACK_BUSY', `track '${track}' of stream '${stream}' is being pushed by another upload (since ${new Date(lease.since).toISOString()})`);
      }
      if (lease.owner !== client && now - lease.releasedAt < this.idleTimeoutMs) {
        this.onRefused('busy-track', 'stream');
        throw new OriginError('TRACK_BUSY', `track '${track}' of stream '${stream}' was pushed from another address ${now - lease.releasedAt} ms ago; it is free ${this.idleTimeoutMs} ms after that upload`);
      }
      lease.owner = client;
      lease.active = 1;
      lease.since = now;
      return;
    }
    this.leases.set(key, { owner: client, active: 1, since: now, releasedAt: 0 });
  }

  /** Forgets idle leases and full token buckets; call every few seconds. */
  sweep(): void {
    const now = this.now();
    for (const [key, lease] of this.leases) if (lease.active === 0 && now - lease.releasedAt >= this.idleTimeoutMs) this.leases.delete(key);
    for (const [name, bucket] of this.buckets) if (bucket.full(now) && !this.streams.get(name)) this.buckets.delete(name);
  }
}
