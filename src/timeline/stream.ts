import type { ProducerReferenceTime } from '../isobmff/chunker.js';
import { OriginError } from '../errors.js';
import type { InitSegment, TrackInfo } from '../isobmff/init.js';
import { SegmentGrid, type Boundary } from './grid.js';
import type { Segment } from './segment.js';
import { Signal } from './signal.js';
import { Track } from './track.js';

export interface TimelineOptions {
  /** Segment target duration in seconds: segments start at the first keyframe at or after it. */
  readonly targetDuration: number;
  /** Part target duration in seconds: no part is longer. */
  readonly partTarget: number;
  /** Seconds of media a playlist lists. */
  readonly windowSeconds: number;
  readonly maxTracksPerStream: number;
}

export interface StreamWarning {
  readonly stream: string;
  readonly track?: string;
  readonly message: string;
}

interface Epoch {
  /** Raw media time (seconds) that maps to streamRef. */
  readonly rawRef: number;
  readonly streamRef: number;
  /** Whole seconds subtracted from raw times on the first epoch, exact. */
  readonly origin: bigint | null;
}

/** Largest gap between what wall clock and a prft say before the prft is ignored. */
const PRFT_TRUST_MS = 30_000;

/**
 * The timeline of one live stream: its tracks, the segment grid they share (MSN ↔ time), and the
 * single mapping from media time to wall clock used for every output format.
 */
export class Stream {
  readonly tracks = new Map<string, Track>();
  readonly grid = new SegmentGrid();
  /** Emitted when any track changed (master playlist, rendition reports). */
  readonly changed = new Signal<Stream>();
  /** Init segments as the ingest received them, by ingest name (muxed inits hold several tracks). */
  readonly ingestInits = new Map<string, InitSegment>();
  version = 0;
  /** EXT-X-TARGETDURATION, decided when the first segment completes and constant after. */
  targetDuration: number | null = null;
  /** EXT-X-PART-INF:PART-TARGET in seconds, decided at the first sample and constant after. */
  partTarget: number | null = null;
  /** The encoder's segment cadence in seconds (ms precision), from the first complete segment. */
  nominalSegmentDuration: number | null = null;
  ended = false;
  endedAtMs = 0;
  private epoch: Epoch | null = null;
  private wallAnchor: { streamSec: number; wallMs: number } | null = null;
  private restartBoundaryPending = false;

  constructor(
    readonly name: string,
    /** Distinguishes this instance of the stream in media URLs (caches never mix two instances). */
    readonly tag: string,
    readonly options: TimelineOptions,
    readonly firstMsn: number,
    readonly createdAtMs: number,
    private readonly now: () => number,
    private readonly warn: (w: StreamWarning) => void = () => {},
  ) {}

  addTrack(name: string, info: TrackInfo, initBytes: Buffer): Track {
    const existing = this.tracks.get(name);
    if (existing) {
      existing.setInit(info, initBytes);
      return existing;
    }
    if (this.tracks.size >= this.options.maxTracksPerStream) {
      throw new OriginError('TRACK_LIMIT', `stream '${this.name}' already has ${this.tracks.size} tracks (limit ${this.options.maxTracksPerStream})`);
    }
    const track = new Track(this, name, info, initBytes);
    this.tracks.set(name, track);
    this.touch();
    return track;
  }

  /** Tracks in a stable order: video by descending height, then audio, then by name. */
  orderedTracks(): Track[] {
    return [...this.tracks.values()].sort((a, b) => {
      if (a.kind !== b.kind) return a.kind === 'video' ? -1 : 1;
      const h = (b.info.height ?? 0) - (a.info.height ?? 0);
      return h !== 0 ? h : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
  }

  /**
   * The part target: the configured one rounded down to whole samples of the first track seen
   * (5 decimals, rounded up), so parts fill it exactly and honour the 85 % lower bound.
   */
  decidePartTarget(sampleSeconds: number): number {
    if (this.partTarget === null) {
      const configured = this.options.partTarget;
      const samples = sampleSeconds > 0 ? Math.max(1, Math.floor(configured / sampleSeconds + 1e-6)) : 1;
      const exact = sampleSeconds > 0 ? samples * sampleSeconds : configured;
      this.partTarget = Math.ceil(exact * 1e5 - 1e-6) / 1e5;
    }
    return this.partTarget;
  }

  /** Largest timestamp jump (seconds) still treated as continuous. */
  maxJump(): number {
    return Math.max(1, this.options.targetDuration);
  }

  /** Longest segment allowed: EXTINF rounded to the nearest integer MUST NOT exceed TARGETDURATION. */
  maxSegmentDuration(): number {
    if (this.targetDuration !== null) return this.targetDuration + 0.5 - 0.001;
    return Math.max(3 * this.options.targetDuration, 6);
  }

  /** Seconds of media kept in memory: the window plus the time clients may still fetch it. */
  retentionSeconds(): number {
    return this.options.windowSeconds + 2 * (this.targetDuration ?? Math.ceil(this.options.targetDuration));
  }

  /**
   * Chooses the raw → stream time offset of a track that starts or restarts. Tracks of one
   * encoder share its timestamps; a track whose timestamps fit neither its own past nor the
   * stream's newest media (an encoder restart) opens a new epoch that continues the timeline.
   */
  anchorTrack(track: Track, raw: bigint, arrivalMs: number, durationTicks: number): { offsetTicks: bigint; discontinuity: boolean } {
    const ts = track.timescale;
    const tsBig = BigInt(ts);
    if (!this.epoch) {
      const origin = raw >= 0n ? raw / tsBig : -((-raw + tsBig - 1n) / tsBig);
      this.epoch = { rawRef: Number(origin), streamRef: 0, origin };
      return { offsetTicks: origin * tsBig, discontinuity: false };
    }
    const rawSec = Number(raw) / ts;
    const epoch = this.epoch;
    const candidate = epoch.streamRef + (rawSec - epoch.rawRef);
    const offsetFor = (e: Epoch, sec: number): bigint => (e.origin !== null ? e.origin * tsBig : raw - BigInt(Math.round(sec * ts)));
    const own = track.lastEndSeconds;
    const frontier = this.frontier();
    const jump = this.maxJump();
    if (own === null) {
      // A new track trusts the shared timestamps when they fall within the stream's timeline.
      const oldest = this.grid.first?.time ?? candidate;
      if (frontier === null || (candidate >= oldest - jump && candidate <= frontier + jump)) {
        return { offsetTicks: offsetFor(epoch, candidate), discontinuity: false };
      }
    } else if (Math.abs(candidate - own) <= jump) {
      return { offsetTicks: offsetFor(epoch, candidate), discontinuity: false };
    }
    if (own !== null && frontier !== null && Math.abs(candidate - frontier) <= jump) {
      return { offsetTicks: offsetFor(epoch, candidate), discontinuity: true };
    }
    const now = this.wallAnchor ? this.wallAnchor.streamSec + (arrivalMs - this.wallAnchor.wallMs) / 1000 - durationTicks / ts : 0;
    const last = this.grid.last;
    const start = Math.max(frontier ?? 0, now, last ? last.time : 0);
    this.epoch = { rawRef: rawSec, streamRef: start, origin: null };
    this.restartBoundaryPending = true;
    this.warn({ stream: this.name, track: track.name, message: `timestamps restarted (raw ${rawSec.toFixed(3)}s); timeline continues at ${start.toFixed(3)}s with a discontinuity` });
    return { offsetTicks: offsetFor(this.epoch, start), discontinuity: true };
  }

  /** Fixes the media time ↔ wall clock mapping once, from a prft when it is trustworthy. */
  anchorWallClock(track: Track, t0: number, durationTicks: number, prft: ProducerReferenceTime | undefined, offsetTicks: bigint, arrivalMs: number): void {
    if (this.wallAnchor) return;
    const ts = track.timescale;
    if (prft && Math.abs(prft.wallClockMs - arrivalMs) < PRFT_TRUST_MS) {
      this.wallAnchor = { streamSec: Number(prft.mediaTime - offsetTicks) / ts, wallMs: prft.wallClockMs };
      return;
    }
    this.wallAnchor = { streamSec: (t0 + durationTicks) / ts, wallMs: arrivalMs };
  }

  /** Wall clock (Unix ms) of stream time 0: the MPD's availabilityStartTime. Null before media. */
  get availabilityStartTimeMs(): number | null {
    return this.wallAnchor ? this.wallClockMs(0) : null;
  }

  /** Wall clock (Unix ms) of a time on the stream timeline. */
  wallClockMs(streamSec: number): number {
    const a = this.wallAnchor;
    if (!a) return 0;
    return Math.round(a.wallMs + (streamSec - a.streamSec) * 1000);
  }

  /** Newest ingested media time over all tracks, in seconds. */
  frontier(): number | null {
    let max: number | null = null;
    for (const t of this.tracks.values()) {
      const e = t.lastEndSeconds;
      if (e !== null && (max === null || e > max)) max = e;
    }
    return max;
  }

  hasActiveVideo(): boolean {
    for (const t of this.tracks.values()) if (t.kind === 'video' && t.state === 'active') return true;
    return false;
  }

  /**
   * Media time (seconds) up to which every segment boundary is known: video tracks have shown
   * their keyframes up to there, and no boundary can come sooner than a target after the last.
   */
  decidedUntil(): number {
    let video = -Infinity;
    let any = false;
    for (const t of this.tracks.values()) {
      if (t.kind !== 'video' || t.state !== 'active') continue;
      any = true;
      const e = t.lastEndSeconds;
      if (e !== null && e > video) video = e;
    }
    if (!any) return Infinity;
    const last = this.grid.last;
    const earliestNext = last ? last.time + this.options.targetDuration - 0.001 : -Infinity;
    return Math.max(video, earliestNext);
  }

  /** MSN for a track that opens a segment at `time` with no segment open. */
  startMsnFor(track: Track, time: number): number {
    const last = this.grid.last;
    if (!last) return this.grid.add(this.firstMsn, time, false).msn;
    const containing = this.grid.containing(time, 0.001);
    let msn = containing ? containing.msn : last.msn + 1;
    // A segment that would last longer than a target if it began at the last boundary
    // (media resumes after an outage) gets a boundary of its own.
    if (containing === last && time - last.time >= this.options.targetDuration - 0.001) msn = last.msn + 1;
    if (track.lastMsn !== null) msn = Math.max(msn, track.lastMsn + 1);
    msn = Math.max(msn, track.quietThrough + 1);
    if (msn > last.msn) return this.proposeBoundary(last.msn + 1, Math.max(time, last.time), false).msn;
    return msn;
  }

  /**
   * Adds the next boundary of the grid (or returns it when another track got there first). A
   * track whose media lies behind the grid cannot move a boundary back: it is clamped to the last.
   */
  proposeBoundary(msn: number, time: number, discontinuity: boolean): Boundary {
    const existing = this.grid.get(msn);
    if (existing) return existing;
    const last = this.grid.last;
    if (last && time < last.time) time = last.time;
    const disc = discontinuity || this.restartBoundaryPending;
    this.restartBoundaryPending = false;
    return this.grid.add(msn, time, disc);
  }

  segmentCompleted(track: Track, segment: Segment): void {
    if (this.targetDuration === null && segment.state === 'complete' && segment.chunks.length > 0) {
      const configured = Math.max(1, Math.round(this.options.targetDuration));
      this.targetDuration = Math.max(configured, Math.round(segment.seconds));
      this.nominalSegmentDuration = Math.round(segment.seconds * 1000) / 1000;
      if (this.targetDuration > configured) {
        this.warn({ stream: this.name, track: track.name, message: `first segment lasts ${segment.seconds.toFixed(3)}s: TARGETDURATION ${this.targetDuration}s (the encoder's GOP is longer than the ${this.options.targetDuration}s target)` });
      }
    }
  }

  /** A video track advanced: audio waiting on its boundaries may go on. */
  trackProgressed(track: Track): void {
    if (track.kind !== 'video') return;
    for (const t of this.tracks.values()) if (t.kind === 'audio') t.drain('decided');
  }

  trackStateChanged(track: Track): void {
    if (track.kind === 'video') {
      const mode = this.hasActiveVideo() ? 'decided' : 'flush';
      for (const t of this.tracks.values()) if (t.kind === 'audio') t.drain(mode);
    }
    this.trimGrid();
    if (!this.ended && this.allEnded) {
      this.ended = true;
      this.endedAtMs = this.now();
      this.touch();
      // Everything held on any track is answered now (final playlists, 404 for parts that never come).
      for (const t of this.tracks.values()) t.changed.emit(t);
      return;
    }
    this.touch();
  }

  /** Some track holds a segment (an init-only stream has nothing to serve once it ends). */
  hasMedia(): boolean {
    for (const t of this.tracks.values()) if (t.segments.length > 0) return true;
    return false;
  }

  /** Every track ended: playlists get EXT-X-ENDLIST. */
  get allEnded(): boolean {
    if (this.tracks.size === 0) return false;
    for (const t of this.tracks.values()) if (t.state !== 'ended') return false;
    return true;
  }

  end(nowMs: number): void {
    if (this.ended) return;
    for (const t of this.tracks.values()) t.end();
    if (this.ended) return;
    this.ended = true;
    this.endedAtMs = nowMs;
    this.touch();
    for (const t of this.tracks.values()) t.changed.emit(t);
  }

  touch(): void {
    this.version++;
    this.changed.emit(this);
  }

  private trimGrid(): void {
    let oldest = Infinity;
    for (const t of this.tracks.values()) {
      const first = t.segments[0];
      if (first && first.msn < oldest) oldest = first.msn;
    }
    if (Number.isFinite(oldest)) this.grid.trimBefore(oldest);
  }

  /** Drops grid boundaries no track holds any more; called as segments leave the window. */
  compact(): void {
    this.trimGrid();
  }
}
