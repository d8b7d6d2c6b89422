import type { IngestChunk } from '../isobmff/chunker.js';
import { isSyncSample } from '../isobmff/fragment.js';
import type { TrackInfo } from '../isobmff/init.js';
import { joinAdjacent, readRun, runDuration, sliceRun, writeRunHeader, type SampleRun } from '../isobmff/sample-run.js';
import { malformed } from '../errors.js';
import { Part, Segment, type Chunk } from './segment.js';
import { Signal } from './signal.js';
import type { Stream } from './stream.js';

/** A CMAF header of this track, addressed by id (EXT-X-MAP, DASH initialization). */
export interface InitRecord {
  readonly id: number;
  readonly bytes: Buffer;
  readonly info: TrackInfo;
}

export type TrackState = 'active' | 'idle' | 'ended';

export type IngestResult = 'accepted' | 'held' | 'duplicate' | 'empty';

interface Held {
  readonly run: SampleRun;
  readonly chunk: IngestChunk;
  readonly t0: number;
  readonly arrivalMs: number;
}

const EPS = 1e-6;

/**
 * One rendition: its CMAF headers and its segments → parts → chunks on the stream's grid.
 * Segment and part boundaries are decided here, once, for every output format.
 */
export class Track {
  /** Retained segments, oldest first; the last one may be open (in production). */
  readonly segments: Segment[] = [];
  readonly inits: InitRecord[] = [];
  /** Emitted once per ingest event that changed the track ("track changed, version N"). */
  readonly changed = new Signal<Track>();
  version = 0;
  /** Bumped when the list of complete segments changes (what a non-LL playlist shows). */
  listVersion = 0;
  state: TrackState = 'active';
  /** Wall clock of the last ingest event (a CMAF header or a chunk): what the idle sweep reads. */
  lastIngestAtMs = 0;
  /** Wall clock of the last chunk received (0 before the first). */
  lastChunkAtMs = 0;
  /** Duration of the first sample seen, in ticks (frame duration for video). */
  sampleDuration = 0;
  /** Duration of the first chunk ingested, in ticks: the encoder's chunk cadence. */
  chunkDuration = 0;
  /** −(most negative composition offset) of the first chunk: how far MPEG-TS must shift DTS back. */
  compositionShift = 0;
  /** The first producer reference time received (prft), kept for DASH ProducerReferenceTime. */
  producerReference: IngestChunk['prft'];
  /** Samples dropped because a video segment must start with a sync sample. */
  droppedSamples = 0;
  /** Ingested end on the stream timeline, in ticks of the current init's timescale. */
  lastEnd: number | null = null;
  lastMsn: number | null = null;
  /**
   * When the track last stopped (its ingest cut, ended or reset), the newest MSN of the grid: its
   * segments up to there are final. It never opens one of them again, so what was served for them
   * (a TS segment muxed without this audio) stays true.
   */
  quietThrough = 0;
  private offsetTicks: bigint | null = null;
  private current: InitRecord;
  private restartCheck = true;
  private discontinuityPending = false;
  private jumpPending = false;
  private lastSegmentPending = false;
  private held: Held[] = [];
  private open: Segment | null = null;
  private openPart: Part | null = null;
  private dirty = false;

  constructor(
    readonly stream: Stream,
    readonly name: string,
    info: TrackInfo,
    initBytes: Buffer,
  ) {
    this.current = { id: 0, bytes: initBytes, info };
    this.inits.push(this.current);
  }

  get info(): TrackInfo {
    return this.current.info;
  }

  get init(): InitRecord {
    return this.current;
  }

  get kind(): TrackInfo['kind'] {
    return this.current.info.kind;
  }

  get timescale(): number {
    return this.current.info.timescale;
  }

  get openSegment(): Segment | null {
    return this.open;
  }

  get lastEndSeconds(): number | null {
    return this.lastEnd === null ? null : this.lastEnd / this.timescale;
  }

  /** Frames per second of a video track, from its sample duration. */
  get frameRate(): number | undefined {
    return this.kind === 'video' && this.sampleDuration > 0 ? this.timescale / this.sampleDuration : undefined;
  }

  /** The newest complete part: what LAST-MSN/LAST-PART report and blocking reloads wait for. */
  lastCompletePart(): { msn: number; index: number } | null {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (s.state === 'gap') return null;
      for (let p = s.parts.length - 1; p >= 0; p--) if (s.parts[p]!.complete) return { msn: s.msn, index: p };
    }
    return null;
  }

  /**
   * The part a preload hint names: the one in production, or the one after the newest complete
   * part, or the first part of the next segment; with its byte offset in its segment.
   */
  nextPart(): { msn: number; index: number; byteOffset: number } {
    const open = this.open;
    if (open) {
      const last = open.lastPart;
      if (!last) return { msn: open.msn, index: 0, byteOffset: 0 };
      if (last.complete) return { msn: open.msn, index: open.parts.length, byteOffset: open.byteLength };
      return { msn: open.msn, index: last.index, byteOffset: last.byteOffset };
    }
    return { msn: (this.lastMsn ?? this.stream.firstMsn - 1) + 1, index: 0, byteOffset: 0 };
  }

  /** MSN of the newest complete segment (gaps included). */
  lastCompleteMsn(): number | null {
    for (let i = this.segments.length - 1; i >= 0; i--) if (this.segments[i]!.state !== 'open') return this.segments[i]!.msn;
    return null;
  }

  /** The samples of one of this track's chunks, read back from its bytes. */
  samples(segment: Segment, chunk: Chunk): SampleRun {
    const init = this.findInit(segment.initId) ?? this.current;
    return readRun(segment.chunkData(chunk), init.info.defaults);
  }

  findInit(id: number): InitRecord | undefined {
    return this.inits.find((i) => i.id === id);
  }

  findSegment(msn: number): Segment | undefined {
    const first = this.segments[0];
    if (!first) return undefined;
    const s = this.segments[msn - first.msn];
    return s && s.msn === msn ? s : this.segments.find((x) => x.msn === msn);
  }

  /** Complete (and gap) segments that a playlist lists: within the window, oldest first. */
  listedSegments(): Segment[] {
    const done = this.segments.filter((s) => s.state !== 'open');
    const newest = done[done.length - 1];
    if (!newest) return done;
    const newestEnd = newest.endTime / newest.timescale;
    const window = this.stream.options.windowSeconds;
    return done.filter((s) => newestEnd - s.endTime / s.timescale < window - EPS);
  }

  /** A (new or repeated) CMAF header for this track; the next chunk is checked for continuity. */
  setInit(info: TrackInfo, bytes: Buffer): void {
    this.restartCheck = true;
    if (this.state === 'ended' && !this.stream.ended) this.state = 'active';
    if (bytes.equals(this.current.bytes)) return;
    if (info.kind !== this.kind) throw malformed(`track '${this.name}' changed from ${this.kind} to ${info.kind}; use another URL`);
    // A segment has one CMAF header and one timescale: what is held or in production under the
    // old header is finished first, and the next chunk opens a new segment under the new one.
    this.drain('flush');
    if (this.open) this.closeSegment();
    if (info.timescale !== this.timescale) {
      if (this.lastEnd !== null) this.lastEnd = Math.round((this.lastEnd / this.timescale) * info.timescale);
      this.sampleDuration = 0;
      this.chunkDuration = 0;
      this.compositionShift = 0;
    }
    const last = this.inits[this.inits.length - 1]!;
    this.current = { id: last.id + 1, bytes, info };
    this.inits.push(this.current);
    if (this.segments.length > 0) this.discontinuityPending = true;
    this.dirty = true;
  }

  ingest(chunk: IngestChunk, arrivalMs: number): IngestResult {
    if (this.state !== 'active') this.state = 'active';
    this.lastIngestAtMs = arrivalMs;
    this.lastChunkAtMs = arrivalMs;
    let run = chunk.run;
    const n = run.durations.length;
    if (n === 0) return 'empty';
    const ts = this.timescale;
    const duration = runDuration(run);
    let t0 = this.mapTime(run.baseMediaDecodeTime, arrivalMs, duration);
    const target = this.stream.options.targetDuration;
    if (this.lastEnd !== null) {
      const half = run.durations[0]! / 2;
      if (t0 < this.lastEnd - half) {
        if (this.lastEnd - t0 > 3 * target * ts) {
          this.restartCheck = true;
          t0 = this.mapTime(run.baseMediaDecodeTime, arrivalMs, duration);
        } else {
          // Already received (a resend or a redundant encoder): keep only what is new.
          let i = 0;
          let t = t0;
          while (i < n && t < this.lastEnd - run.durations[i]! / 2) t += run.durations[i++]!;
          if (i === n) return 'duplicate';
          run = sliceRun(run, i, n);
          t0 = t;
          chunk = { run, prefix: [], wire: null, prft: undefined };
        }
      } else if (t0 > this.lastEnd + this.stream.maxJump() * ts) {
        this.jumpPending = true;
        this.discontinuityPending = true;
      }
    }
    if (this.sampleDuration === 0) this.sampleDuration = run.durations[0]!;
    if (this.chunkDuration === 0) {
      this.chunkDuration = duration;
      for (let i = 0; i < run.ctos.length; i++) this.compositionShift = Math.max(this.compositionShift, -run.ctos[i]!);
    }
    if (!this.producerReference && chunk.prft) this.producerReference = chunk.prft;
    const end = t0 + runDuration(run);
    this.lastEnd = this.lastEnd === null ? end : Math.max(this.lastEnd, end);
    this.stream.anchorWallClock(this, t0, end - t0, chunk.prft, this.offsetTicks!, arrivalMs);
    let result: IngestResult = 'accepted';
    if (this.kind === 'audio' && (this.held.length > 0 || this.stream.hasActiveVideo())) {
      this.held.push({ run, chunk, t0, arrivalMs });
      this.drain('decided');
      if (this.held.length > 0) result = 'held';
    } else {
      this.process(run, chunk, t0, arrivalMs, true);
    }
    this.flush();
    this.stream.trackProgressed(this);
    return result;
  }

  /**
   * Audio follows the video grid: chunks wait until no video boundary can fall inside them.
   * `flush` (the video went away, or this track stops) appends everything held to the current
   * grid without opening boundaries of its own.
   */
  drain(mode: 'decided' | 'flush'): void {
    if (this.held.length === 0) return;
    const until = this.stream.decidedUntil();
    const ts = this.timescale;
    const target = this.stream.options.targetDuration;
    while (this.held.length > 0) {
      const h = this.held[0]!;
      const endSec = (h.t0 + runDuration(h.run)) / ts;
      let lead = false;
      if (mode === 'decided' && endSec > until + EPS) {
        // Video stalled or absent for longer than a segment: stop waiting and lead.
        if ((this.lastEnd ?? 0) / ts - until <= target) break;
        lead = true;
      }
      this.held.shift();
      this.process(h.run, h.chunk, h.t0, h.arrivalMs, lead || (mode === 'decided' && !this.stream.hasActiveVideo()));
    }
    this.flush();
  }

  /** An ingest request for this track started or carried its CMAF header. */
  heard(nowMs: number): void {
    this.lastIngestAtMs = Math.max(this.lastIngestAtMs, nowMs);
  }

  /**
   * An unexpected fault while this track was being updated: what was held is dropped, the segment
   * in production is cut (its readers aborted; kept with what it holds when that is consistent,
   * else a gap), and the next chunk opens a new segment after a discontinuity. Never throws.
   */
  reset(): void {
    this.held = [];
    const seg = this.open;
    this.open = null;
    this.openPart = null;
    if (seg) {
      seg.body.abort();
      try {
        seg.compact();
        seg.state = 'complete';
      } catch {
        seg.state = 'gap';
        seg.chunks = [];
        seg.parts = [];
      }
      this.listVersion++;
    }
    this.restartCheck = true;
    this.discontinuityPending = true;
    this.jumpPending = true;
    this.lastSegmentPending = false;
    if (this.state === 'active') this.state = 'idle';
    this.markQuiet();
    this.dirty = true;
    try {
      this.flush();
    } catch {
      // Listeners have their own boundaries; the reset itself is done.
    }
  }

  /** The ingest connection died: readers of the segment in production are aborted. */
  interrupt(): void {
    this.drain('flush');
    const seg = this.open;
    if (seg) {
      this.closePart();
      seg.body.abort();
      seg.compact();
      seg.state = 'complete';
      this.open = null;
      this.listVersion++;
      this.stream.segmentCompleted(this, seg);
      this.trimWindow();
      this.dirty = true;
    }
    this.restartCheck = true;
    if (this.state === 'active') this.state = 'idle';
    this.markQuiet();
    this.flush();
    this.stream.trackStateChanged(this);
  }

  private markQuiet(): void {
    this.quietThrough = Math.max(this.quietThrough, this.stream.grid.last?.msn ?? 0);
  }

  /** An ingest request ended cleanly. Per-segment ingest ends its segment here. */
  requestEnded(perSegment: boolean): void {
    if (this.lastSegmentPending) {
      this.end();
      return;
    }
    if (!perSegment) return;
    const seg = this.open;
    if (!seg || !this.canLead()) return;
    const b = this.stream.grid.get(seg.msn);
    const endSec = seg.endTime / seg.timescale;
    if (b && endSec - b.time >= this.stream.options.targetDuration - 0.001 && !this.stream.grid.get(seg.msn + 1)) {
      this.stream.proposeBoundary(seg.msn + 1, endSec, false);
      this.closeSegment();
      this.flush();
      this.stream.trackProgressed(this);
    }
  }

  /** `lmsg`: the segment in production is the track's last. */
  markLastSegment(): void {
    this.lastSegmentPending = true;
  }

  end(): void {
    if (this.state === 'ended') return;
    this.drain('flush');
    if (this.open) this.closeSegment();
    this.state = 'ended';
    this.markQuiet();
    this.listVersion++;
    this.lastSegmentPending = false;
    this.dirty = true;
    this.flush();
    this.stream.trackStateChanged(this);
  }

  private canLead(): boolean {
    return this.kind === 'video' || !this.stream.hasActiveVideo();
  }

  private mapTime(raw: bigint, arrivalMs: number, durationTicks: number): number {
    if (this.offsetTicks === null || this.restartCheck) {
      this.restartCheck = false;
      const anchored = this.stream.anchorTrack(this, raw, arrivalMs, durationTicks);
      this.offsetTicks = anchored.offsetTicks;
      if (anchored.discontinuity && this.segments.length > 0) {
        this.discontinuityPending = true;
        this.jumpPending = true;
      }
    }
    const rel = raw - this.offsetTicks;
    if (rel > BigInt(Number.MAX_SAFE_INTEGER) || rel < -BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`timestamp ${raw} is out of range`);
    return Number(rel);
  }

  private process(run: SampleRun, chunk: IngestChunk, t0: number, arrivalMs: number, mayLead: boolean): void {
    const n = run.durations.length;
    const ts = this.timescale;
    const partTicks = this.stream.decidePartTarget(run.durations[0]! / ts) * ts;
    const needsSync = this.kind === 'video';
    // The run is cut where segments, parts and sync samples begin; each cut knows its byte offset
    // and time, so cutting a run of n samples into k pieces costs O(n + k).
    let sliceStart = 0;
    let sliceT = t0;
    let sliceByte = 0;
    let t = t0;
    let byte = 0;
    const cut = (i: number): void => {
      this.append(run, chunk, sliceStart, i, sliceT, arrivalMs, sliceByte, sliceT - t0);
      sliceStart = i;
      sliceT = t;
      sliceByte = byte;
    };
    for (let i = 0; i < n; i++) {
      const d = run.durations[i]!;
      const sync = isSyncSample(run.flags[i]!);
      if (!this.open) {
        if (needsSync && !sync) {
          this.droppedSamples++;
          t += d;
          byte += run.sizes[i]!;
          sliceStart = i + 1;
          sliceT = t;
          sliceByte = byte;
          continue;
        }
        this.startSegment(this.stream.startMsnFor(this, t / ts), t);
      } else {
        // Each video sync sample starts a chunk of its own (see the boundary after it below).
        if (needsSync && sync && i > sliceStart) cut(i);
        const segSoFar = this.open.endTime - this.open.startTime + (t - sliceT);
        const msn = this.segmentCut(t, d, sync, segSoFar, mayLead);
        if (msn > 0) {
          cut(i);
          this.closeSegment();
          this.startSegment(msn, t);
        } else {
          const partSoFar = (this.openPart ? this.openPart.duration : 0) + (t - sliceT);
          if (partSoFar > 0 && partSoFar + d > partTicks + EPS * ts) {
            cut(i);
            this.closePart();
          }
        }
      }
      t += d;
      byte += run.sizes[i]!;
      // A chunk boundary right after each video sync sample: HESP initialization packets point
      // to the sample after the IDR, which must start a box (a moof) in the segment.
      if (needsSync && sync && i + 1 < n) cut(i + 1);
    }
    cut(n);
    // Close the part now when the next sample could not fit in it.
    const part = this.openPart;
    if (part && part.duration + run.durations[n - 1]! > partTicks + EPS * ts) this.closePart();
  }

  /** MSN of the segment that sample time `t` opens, or 0 when it does not cut. */
  private segmentCut(t: number, d: number, sync: boolean, segSoFar: number, mayLead: boolean): number {
    const open = this.open!;
    const ts = this.timescale;
    const grid = this.stream.grid;
    const tSec = t / ts;
    const forced = (segSoFar + d) / ts > this.stream.maxSegmentDuration();
    const next = grid.get(open.msn + 1);
    if (this.kind === 'video' && !sync && !forced) return 0;
    if (next) {
      if (tSec >= next.time - d / ts / 2 || forced) return Math.max(open.msn + 1, grid.containing(tSec, d / ts / 2)?.msn ?? 0);
      return 0;
    }
    if (!mayLead && !forced) return 0;
    const start = grid.get(open.msn)?.time ?? open.startTime / ts;
    if (this.jumpPending || forced || tSec - start >= this.stream.options.targetDuration - 0.001) {
      const disc = this.jumpPending;
      this.jumpPending = false;
      return this.stream.proposeBoundary(open.msn + 1, tSec, disc).msn;
    }
    return 0;
  }

  private startSegment(msn: number, t: number): void {
    const ts = this.timescale;
    if (this.lastMsn !== null) {
      for (let k = this.lastMsn + 1; k < msn; k++) this.pushGap(k);
    }
    const boundary = this.stream.grid.get(msn);
    const disc = this.discontinuityPending || (boundary?.discontinuity ?? false);
    this.discontinuityPending = false;
    this.jumpPending = false;
    const seg = new Segment(msn, t, ts, this.current.id, disc && this.segments.length > 0, this.stream.wallClockMs(t / ts));
    if (seg.discontinuity) this.stream.grid.markDiscontinuity(msn);
    this.segments.push(seg);
    this.open = seg;
    this.lastMsn = msn;
    this.dirty = true;
  }

  private pushGap(msn: number): void {
    const grid = this.stream.grid;
    const b = grid.get(msn);
    const next = grid.get(msn + 1);
    if (!b || !next) return;
    const ts = this.timescale;
    this.segments.push(Segment.gap(msn, Math.round(b.time * ts), Math.round((next.time - b.time) * ts), ts, this.current.id, this.stream.wallClockMs(b.time)));
  }

  private append(run: SampleRun, chunk: IngestChunk, from: number, to: number, startTime: number, arrivalMs: number, byteStart: number, ticksBefore: number): void {
    if (to <= from) return;
    const seg = this.open!;
    const whole = from === 0 && to === run.durations.length;
    const slice = whole ? run : sliceRun(run, from, to, byteStart, ticksBefore);
    const data = joinAdjacent(whole && chunk.wire ? chunk.wire : [...(from === 0 ? chunk.prefix : []), writeRunHeader(slice), slice.payload]);
    let byteLength = 0;
    for (const b of data) byteLength += b.length;
    const c: Chunk = {
      data,
      byteOffset: seg.byteLength,
      byteLength,
      startTime,
      duration: runDuration(slice),
      sampleCount: to - from,
      independent: isSyncSample(slice.flags[0]!),
      arrivalMs,
    };
    if (seg.baseMediaDecodeTime === null) seg.baseMediaDecodeTime = slice.baseMediaDecodeTime;
    let part = this.openPart;
    if (!part) {
      part = new Part(seg.parts.length, startTime, seg.byteLength, c.independent);
      seg.parts.push(part);
      this.openPart = part;
    }
    part.chunks.push(c);
    part.duration += c.duration;
    part.byteLength += byteLength;
    seg.chunks.push(c);
    seg.duration = startTime + c.duration - seg.startTime;
    seg.body.append(data);
    this.dirty = true;
  }

  private closePart(): void {
    if (!this.openPart) return;
    this.openPart.complete = true;
    this.openPart = null;
    this.dirty = true;
  }

  private closeSegment(): void {
    const seg = this.open;
    if (!seg) return;
    this.closePart();
    seg.state = 'complete';
    seg.body.complete();
    seg.compact();
    this.open = null;
    this.listVersion++;
    this.dirty = true;
    this.stream.segmentCompleted(this, seg);
    this.trimWindow();
  }

  private trimWindow(): void {
    const newest = this.segments.filter((s) => s.state !== 'open').pop();
    if (!newest) return;
    const newestEnd = newest.endTime / newest.timescale;
    const keep = this.stream.retentionSeconds();
    while (this.segments.length > 1) {
      const s = this.segments[0]!;
      if (s === this.open || newestEnd - s.endTime / s.timescale < keep - EPS) break;
      this.segments.shift();
    }
    const used = new Set(this.segments.map((s) => s.initId));
    for (let i = this.inits.length - 1; i >= 0; i--) {
      const init = this.inits[i]!;
      if (init !== this.current && !used.has(init.id)) this.inits.splice(i, 1);
    }
    this.stream.compact();
  }

  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.version++;
    // The stream's version moves first: whoever wakes on this track renders the new state.
    this.stream.touch();
    this.changed.emit(this);
  }
}
