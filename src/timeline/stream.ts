import type { ProducerReferenceTime } from '../isobmff/chunker.js';
import { OriginError } from '../errors.js';
import type { InitSegment, TrackInfo } from '../isobmff/init.js';
import { CueList, type Cue } from '../scte35/cue.js';
import type { InbandEvent } from '../scte35/inband.js';
import { decideClock, streamOrigin, streamTag } from './clock.js';
import { SegmentGrid, type Boundary } from './grid.js';
import type { Anchor, TimelineOptions, TrackHost, TrackView } from './host.js';
import { PeriodTracker, type AddressingMode, type DashPeriod } from './periods.js';
import type { Segment } from './segment.js';
import { Signal } from './signal.js';
import type { SegmentStore } from './store.js';
import type { SavedTrack } from './track-records.js';
import { Track } from './track.js';
import { StreamTime, type SavedStream, type StreamWarning } from './stream-time.js';

export type { TimelineOptions } from './host.js';

const KIND_ORDER: Record<Track['kind'], number> = { video: 0, audio: 1, text: 2 };

/**
 * The timeline of one live stream: its tracks, the segment grid they share (MSN ↔ time), the
 * mapping of media time to wall clock, and the Periods every output reads. Numbers, times and
 * the instance tag are functions of the media and the configuration: two origins fed the same
 * bytes publish the same ones.
 */
export class Stream extends StreamTime implements TrackHost {
  readonly tracks = new Map<string, Track>();
  readonly grid = new SegmentGrid();
  /** Emitted when any track changed (master playlist, rendition reports). */
  readonly changed = new Signal<Stream>();
  /** Init segments as the ingest received them, by ingest name (muxed inits hold several tracks). */
  readonly ingestInits = new Map<string, InitSegment>();
  /** SCTE-35 ad markers on this stream's timeline, from emsg boxes and the cue API. */
  readonly cues = new CueList();
  version = 0;
  ended = false;
  endedAtMs = 0;
  /** The instance tag in media URLs: decided with the clock, at the first media. */
  tag = '';
  private restartBoundaryPending = false;
  private readonly periodTrackers: Record<AddressingMode, PeriodTracker> = { number: new PeriodTracker('number'), timeline: new PeriodTracker('timeline') };

  constructor(
    name: string,
    options: TimelineOptions,
    readonly store: SegmentStore,
    readonly createdAtMs: number,
    private readonly now: () => number,
    private readonly warn: (w: StreamWarning) => void = () => {},
    /** Whether another instance of this stream used a tag (the registry remembers recent ones). */
    private readonly tagTaken: (tag: string) => boolean = () => false,
  ) {
    super(name, options);
  }

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
    this.persist();
    this.touch();
    return track;
  }

  /** Tracks in a stable order: video by descending height, then audio, then text, then by name. */
  orderedTracks(): Track[] {
    return [...this.tracks.values()].sort((a, b) => {
      if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
      const h = (b.info.height ?? 0) - (a.info.height ?? 0);
      return h !== 0 ? h : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
  }

  /** What a restart needs to serve the DVR under the same URLs and go on (a store that persists). */
  persist(): void {
    if (!this.store.saveState || this.tag === '' || !this.clock || this.origin === null) return;
    const tracks: Record<string, SavedTrack> = {};
    for (const t of this.tracks.values()) tracks[t.name] = t.saved();
    const state: SavedStream = {
      version: 1,
      name: this.name,
      tag: this.tag,
      clock: this.clock,
      origin: String(this.origin),
      epoch: this.epoch,
      targetDuration: this.targetDuration,
      partTarget: this.partTarget,
      nominalSegmentDuration: this.nominalSegmentDuration,
      periods: { number: this.periodTrackers.number.periods, timeline: this.periodTrackers.timeline.periods },
      tracks,
      cues: this.cues.saved(),
    };
    this.store.saveState(this.name, this.tag, state);
  }

  /**
   * Takes back the decisions a DVR saved (restore.ts rebuilds the tracks and their records first):
   * the same tag, clock, numbering and Periods as before the restart. The grid is rebuilt from the
   * tracks' records; the stream waits, its tracks idle, for the encoder.
   */
  adopt(saved: SavedStream): void {
    this.tag = saved.tag;
    this.clock = saved.clock;
    this.origin = BigInt(saved.origin);
    this.epoch = saved.epoch;
    this.targetDuration = saved.targetDuration;
    this.partTarget = saved.partTarget;
    this.nominalSegmentDuration = saved.nominalSegmentDuration;
    if (saved.cues) this.cues.restore(saved.cues);
    this.grid.rebuild([...this.tracks.values()].flatMap((t) => t.segments()), this.options.targetDuration);
    this.periodTrackers.number.adopt(saved.periods.number);
    this.periodTrackers.timeline.adopt(saved.periods.timeline);
    this.updatePeriods();
    this.touch();
  }

  /** An ended stream whose DVR is still held takes its encoder back: the same instance goes on. */
  reopen(): void {
    if (!this.ended) return;
    this.ended = false;
    this.endedAtMs = 0;
    this.touch();
  }

  /**
   * Chooses how a track that starts or restarts maps onto the stream timeline. The stream's first
   * media fixes the origin, the clock and the tag. Tracks of one encoder share its timestamps; a
   * track whose timestamps fit neither its own past nor the stream's newest media (an encoder
   * restart) opens a new epoch that continues the timeline and its segment numbers.
   */
  anchorTrack(track: TrackView, raw: bigint, arrivalMs: number, durationTicks: number, prft: ProducerReferenceTime | undefined): Anchor {
    const ts = track.timescale;
    const rawSec = Number(raw) / ts;
    if (this.origin === null) {
      const origin = streamOrigin(rawSec);
      this.origin = origin;
      this.epoch = { msnShift: 0, shiftSec: -Number(origin) };
      const startSec = rawSec - Number(origin);
      this.clock = decideClock({
        startSec,
        endSec: startSec + durationTicks / ts,
        originSec: origin,
        ...(prft ? { prft: { wallMs: prft.wallClockMs, streamSec: Number(prft.mediaTime) / (prft.timescale || ts) - Number(origin) } } : {}),
        arrivalMs,
      });
      const settings = `${this.options.targetDuration}|${this.options.partTarget ?? 'auto'}`;
      let tag = streamTag(this.name, settings, this.clock);
      for (let i = 1; this.tagTaken(tag); i++) tag = streamTag(this.name, `${settings}|${i}`, this.clock);
      this.tag = tag;
      for (const t of this.tracks.values()) t.saveInits();
      this.persist();
      return this.anchorOf(this.epoch, ts, false);
    }
    const epoch = this.epoch;
    const candidate = rawSec + epoch.shiftSec;
    const own = track.lastEndSeconds;
    const frontier = this.frontier();
    const jump = this.maxJump();
    if (own === null) {
      // A new track trusts the shared timestamps when they fall within the stream's timeline.
      const oldest = this.grid.first?.time ?? candidate;
      if (frontier === null || (candidate >= oldest - jump && candidate <= frontier + jump)) return this.anchorOf(epoch, ts, false);
    } else if (Math.abs(candidate - own) <= jump) {
      return this.anchorOf(epoch, ts, false);
    }
    // A track that was away and comes back later on its own timeline (the encoder went on while
    // it, or this origin, was away; the other tracks may be back first): the missing time is gaps
    // on the same timeline, and the numbers stay those of the slots (DASH keeps one Period, HLS
    // lists EXT-X-GAP segments).
    if (own !== null && candidate >= own - jump) return this.anchorOf(epoch, ts, false);
    // An encoder restart: the new timestamps continue the timeline after what exists, at the time
    // the encoder's clock (or the arrival clock) says, and the segment numbers continue too.
    const zero = this.clock!.zeroMs;
    const saysNow = prft && this.clock!.kind !== 'arrival' ? (prft.wallClockMs - zero) / 1000 : (arrivalMs - zero) / 1000 - durationTicks / ts;
    const last = this.grid.last;
    const start = Math.max(frontier ?? 0, saysNow, last ? last.time : 0);
    const slot = Math.floor(rawSec / this.options.targetDuration + 1e-9);
    this.epoch = { msnShift: (last?.msn ?? 0) - slot, shiftSec: start - rawSec };
    this.restartBoundaryPending = true;
    this.persist();
    this.warn({ stream: this.name, track: track.name, message: `timestamps restarted (raw ${rawSec.toFixed(3)}s); timeline continues at ${start.toFixed(3)}s with a discontinuity` });
    return this.anchorOf(this.epoch, ts, true);
  }

  /** A splice point inside `(from, to]` (stream seconds): the segmenter starts a segment there. */
  cueSplitsWithin(from: number, to: number): boolean {
    return this.cues.splitsWithin(from, to);
  }

  /** SCTE-35 emsg of one of a track's chunks (`offsetTicks`: its anchor): cues at their media time; dropped ones are warned about. */
  inbandEvents(track: TrackView, offsetTicks: bigint, events: readonly InbandEvent[], errors: readonly string[]): void {
    for (const message of errors) this.warn({ stream: this.name, track: track.name, message });
    if (events.length === 0) return;
    const changed = this.cues.addInband(track.name, Number(offsetTicks) / track.timescale, events);
    if (changed) this.cuesChanged();
  }

  /** A cue from the API; false when the same cue was already there. */
  addCue(cue: Cue): boolean {
    if (!this.cues.add(cue)) return false;
    this.cuesChanged();
    return true;
  }

  /** Every rendered manifest shows cues: each track's versions move, and the DVR keeps them. */
  private cuesChanged(): void {
    for (const t of this.tracks.values()) {
      t.listVersion++;
      t.version++;
    }
    this.persist();
    this.touch();
    for (const t of this.tracks.values()) t.emitChanged();
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
   * their keyframes up to there, and no boundary can come before the next slot starts.
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
    let earliestNext = last ? this.slotStart(this.msnAtTime(last.time) + 1) - 0.001 : -Infinity;
    // A splice point ahead starts a segment before the next slot does.
    const splice = last ? this.cues.nextAfter(last.time) : undefined;
    if (splice !== undefined) earliestNext = Math.min(earliestNext, splice - 0.001);
    return Math.max(video, earliestNext);
  }

  startMsnFor(track: TrackView, time: number, slotMsn: number): number {
    const last = this.grid.last;
    // Media before the epoch's start (timestamps that ran back without a restart) has slots below 1.
    if (!last) return this.grid.add(Math.max(1, slotMsn), time, false).msn;
    const containing = this.grid.containing(time, 0.001);
    let msn = containing ? containing.msn : last.msn + 1;
    // Media that resumes in a later slot than the grid reaches gets that slot's number.
    if (slotMsn > last.msn) msn = slotMsn;
    if (track.lastMsn !== null) msn = Math.max(msn, track.lastMsn + 1);
    msn = Math.max(msn, track.quietThrough + 1);
    if (msn > last.msn) return this.proposeBoundary(msn, Math.max(time, last.time), false).msn;
    return msn;
  }

  /**
   * Adds boundary `msn` to the grid (or returns it when another track got there first). Slots the
   * media skipped get boundaries of their own at their slot starts (every track lists them as
   * gaps). A track whose media lies behind the grid cannot move a boundary back: it is clamped.
   */
  proposeBoundary(msn: number, time: number, discontinuity: boolean, spliceShift?: number): Boundary {
    const existing = this.grid.get(msn);
    if (existing) return existing;
    let last = this.grid.last;
    if (last && time < last.time) time = last.time;
    // Media that jumps further than the retained window needs no gaps that nobody could list:
    // it takes the next number (its own timeline follows a discontinuity).
    if (last && msn - last.msn - 1 > this.retentionSeconds() / this.options.targetDuration + 2) msn = last.msn + 1;
    while (last && last.msn + 1 < msn) last = this.grid.add(last.msn + 1, Math.min(time, Math.max(last.time, this.slotStart(last.msn + 1))), false);
    const disc = discontinuity || this.restartBoundaryPending;
    this.restartBoundaryPending = false;
    return this.grid.add(msn, time, disc, spliceShift);
  }

  segmentCompleted(track: TrackView, segment: Segment): void {
    if (this.targetDuration === null && !segment.truncated && segment.byteLength > 0) {
      let longest = segment.seconds;
      for (const t of this.tracks.values()) for (const s of t.segments()) if (s.state !== 'gap') longest = Math.max(longest, s.seconds);
      const target = this.decideTargetDuration(segment.seconds, longest)!;
      this.persist();
      if (target > Math.max(1, Math.round(this.options.targetDuration))) {
        this.warn({ stream: this.name, track: track.name, message: `a first segment lasts ${longest.toFixed(3)}s: TARGETDURATION ${target}s (the encoder's GOP is longer than the ${this.options.targetDuration}s target)` });
      }
    }
    this.updatePeriods();
  }

  /** The DASH Periods (HESP Presentations) of the stream, decided as the timeline moves; never by a render. */
  periods(mode: AddressingMode): readonly DashPeriod[] {
    return this.periodTrackers[mode].periods;
  }

  livePeriods(mode: AddressingMode, from: number): DashPeriod[] {
    return this.periodTrackers[mode].live(from);
  }

  private updatePeriods(): void {
    const before = this.periodTrackers.number.periods.length + this.periodTrackers.timeline.periods.length;
    this.periodTrackers.number.update(this);
    this.periodTrackers.timeline.update(this);
    if (this.periodTrackers.number.periods.length + this.periodTrackers.timeline.periods.length !== before) this.persist();
  }

  /** A video track advanced: audio and text waiting on its boundaries may go on. */
  trackProgressed(track: TrackView): void {
    if (track.kind !== 'video') return;
    for (const t of this.tracks.values()) if (t.kind !== 'video') t.drain('decided');
  }

  trackStateChanged(track: TrackView): void {
    if (track.kind === 'video') {
      const mode = this.hasActiveVideo() ? 'decided' : 'flush';
      for (const t of this.tracks.values()) if (t.kind !== 'video') t.drain(mode);
    }
    this.trimGrid();
    this.updatePeriods();
    if (!this.ended && this.allEnded) {
      this.ended = true;
      this.endedAtMs = this.now();
      this.touch();
      // Everything held on any track is answered now (final playlists, 404 for parts that never come).
      for (const t of this.tracks.values()) t.emitChanged();
      return;
    }
    this.touch();
  }

  /** Some track holds a segment (an init-only stream has nothing to serve once it ends). */
  hasMedia(): boolean {
    for (const t of this.tracks.values()) if (t.segmentCount > 0) return true;
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
    for (const t of this.tracks.values()) t.emitChanged();
  }

  /** The stream is removed: its records and stored bytes go. */
  release(): void {
    for (const t of this.tracks.values()) t.release();
    if (this.tag !== '') this.store.dropInstance?.(this.name, this.tag);
  }

  touch(): void {
    this.version++;
    this.changed.emit(this);
  }

  private trimGrid(): void {
    let oldest = Infinity;
    for (const t of this.tracks.values()) {
      const first = t.firstMsn;
      if (first !== null && first < oldest) oldest = first;
    }
    if (Number.isFinite(oldest)) this.grid.trimBefore(oldest);
  }

  /** Drops grid boundaries no track holds any more; called as segments leave the window. */
  compact(): void {
    this.trimGrid();
    const first = this.grid.first;
    if (first && this.cues.trimBefore(first.time - this.options.targetDuration)) this.persist();
  }
}
