import { OriginError } from '../errors.js';
import { BoxReader } from '../isobmff/box-reader.js';
import { CmafChunker, type IngestChunk } from '../isobmff/chunker.js';
import { singleTrackInit, type InitSegment, type TrackInfo } from '../isobmff/init.js';
import { checkRun } from '../isobmff/validate.js';
import type { StreamRegistry } from '../timeline/registry.js';
import type { Stream } from '../timeline/stream.js';
import type { IngestResult, Track } from '../timeline/track.js';

/** What the edges (metrics, logs) learn from an ingest body. */
export interface IngestObserver {
  chunk(stream: Stream, track: Track, bytes: number, result: IngestResult): void;
  track(stream: Stream, track: Track, isNew: boolean): void;
}

export interface IngestSessionOptions {
  readonly maxBoxSize: number;
  readonly now: () => number;
  readonly observer?: IngestObserver;
  /** Top-level boxes allowed between two chunks (413 above). */
  readonly maxBoxesPerFragment?: number;
  /** The caps of the request behind this body (the demo source has none): each hook may throw. */
  readonly limits?: {
    /** Bytes of incomplete boxes held for this body changed by `delta`. */
    hold(delta: number): void;
    /** A chunk of `bytes` is about to reach `stream`'s timeline. */
    admitChunk(stream: Stream, bytes: number): void;
    /** This body writes to `track` (another upload may hold it). */
    claimTrack(track: Track): void;
  };
}

/** Name of a track of an ingest body: the URL's name, suffixed by kind and id when muxed. */
export function trackName(base: string, init: InitSegment, info: TrackInfo): string {
  if (init.tracks.length === 1) return base;
  return `${base}-${info.kind === 'video' ? 'v' : 'a'}${info.trackId}`;
}

/**
 * One ingest request body (or the demo source): bytes in, CMAF headers and chunks out to the
 * stream's tracks. Parsing is incremental: each chunk reaches the timeline the moment its last
 * byte is written, whatever the TCP chunking.
 */
export class IngestSession {
  private readonly reader: BoxReader;
  private readonly chunker: CmafChunker;
  private readonly tracks = new Map<number, Track>();
  private readonly fed = new Set<Track>();
  private stream: Stream | undefined;
  private carriedInit = false;
  /** An lmsg brand was seen: this body carries the last segment of its track(s). */
  private lastSegment = false;
  private closed = false;
  bytes = 0;
  chunks = 0;

  constructor(
    private readonly registry: StreamRegistry,
    readonly streamName: string,
    readonly name: string,
    private readonly options: IngestSessionOptions,
  ) {
    const limits = options.limits;
    this.reader = new BoxReader({ maxBoxSize: options.maxBoxSize, ...(limits ? { onHold: (delta: number) => limits.hold(delta) } : {}) });
    this.chunker = new CmafChunker(
      {
        init: (init) => this.onInit(init),
        chunk: (chunk) => this.onChunk(chunk),
        lastSegment: () => {
          this.lastSegment = true;
        },
        endOfFile: () => {
          for (const t of this.knownTracks()) t.end();
        },
      },
      () => this.existingStream()?.ingestInits.get(this.name),
      options.maxBoxesPerFragment,
    );
  }

  /** Tracks this body has written media to. */
  get tracksFed(): ReadonlySet<Track> {
    return this.fed;
  }

  get streamInstance(): Stream | undefined {
    return this.stream;
  }

  write(piece: Buffer): void {
    if (this.closed) return;
    this.bytes += piece.length;
    this.reader.push(piece, (box) => this.chunker.box(box));
  }

  /** The body ended cleanly. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.end((box) => this.chunker.box(box));
    for (const t of this.fed) {
      if (this.lastSegment) t.markLastSegment();
      t.requestEnded(true);
    }
  }

  /** The body will not be completed (connection lost, timeout, rejected input). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.reset();
    for (const t of this.fed) t.interrupt();
  }

  /**
   * An unexpected fault escaped while this body was being applied: nothing more is read, and every
   * track it touched is reset (its segment in production cut, a discontinuity next). Never throws.
   */
  fail(): void {
    this.closed = true;
    this.reader.reset();
    for (const t of new Set([...this.fed, ...this.tracks.values()])) t.reset();
  }

  /** Names of the tracks this body wrote to (or declared), for log lines. */
  trackNames(): string[] {
    return [...new Set([...this.fed, ...this.tracks.values()])].map((t) => t.name);
  }

  private existingStream(): Stream | undefined {
    const s = this.stream ?? this.registry.get(this.streamName);
    return s && !s.ended ? s : undefined;
  }

  private knownTracks(): Track[] {
    return this.fed.size > 0 ? [...this.fed] : [...this.tracks.values()];
  }

  private onInit(init: InitSegment): void {
    const stream = this.stream && !this.stream.ended ? this.stream : this.registry.forIngest(this.streamName);
    this.stream = stream;
    this.carriedInit = true;
    for (const info of init.tracks) {
      const name = trackName(this.name, init, info);
      const isNew = !stream.tracks.has(name);
      const existing = stream.tracks.get(name);
      if (existing) this.options.limits?.claimTrack(existing);
      const track = stream.addTrack(name, info, singleTrackInit(init, info.trackId));
      if (!existing) this.options.limits?.claimTrack(track);
      track.heard(this.options.now());
      this.tracks.set(info.trackId, track);
      this.options.observer?.track(stream, track, isNew);
    }
    // Only a header every track took: the next bodies of this URL are read against it.
    stream.ingestInits.set(this.name, init);
  }

  private onChunk(chunk: IngestChunk): void {
    let track = this.tracks.get(chunk.run.trackId);
    if (!track) {
      const stream = this.existingStream();
      const init = stream?.ingestInits.get(this.name);
      const info = init?.tracks.find((t) => t.trackId === chunk.run.trackId);
      track = stream && init && info ? stream.tracks.get(trackName(this.name, init, info)) : undefined;
      if (!stream || !track) throw new OriginError('INIT_REQUIRED', `media for '${this.name}' track ${chunk.run.trackId} before its init segment`);
      this.options.limits?.claimTrack(track);
      this.stream = stream;
      this.tracks.set(chunk.run.trackId, track);
    }
    // The chunker checked the samples against the header it read them with; the track may hold
    // another (a body that refreshed it failed half-way): its header is the one that counts.
    const info = track.info;
    if (chunk.info !== info && (chunk.info.timescale !== info.timescale || chunk.info.nalLengthSize !== info.nalLengthSize || chunk.info.sampleEntry !== info.sampleEntry)) checkRun(chunk.run, info);
    let bytes = 0;
    if (chunk.wire) for (const b of chunk.wire) bytes += b.length;
    else bytes = chunk.run.payload.length;
    this.options.limits?.admitChunk(this.stream!, bytes);
    this.fed.add(track);
    const result = track.ingest(chunk, this.options.now());
    this.chunks++;
    this.options.observer?.chunk(this.stream!, track, bytes, result);
  }

  get sawInit(): boolean {
    return this.carriedInit;
  }
}
