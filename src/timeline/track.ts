import type { IngestChunk } from '../isobmff/chunker.js';
import { scanCaptions, type CaptionPresence } from '../isobmff/codecs/captions.js';
import type { TrackInfo } from '../isobmff/init.js';
import { runDuration, sliceRun, type SampleRun } from '../isobmff/sample-run.js';
import { malformed } from '../errors.js';
import type { Anchor, TrackHost, TrackView } from './host.js';
import type { Segment } from './segment.js';
import { initRecord, TrackRecords, type InitRecord, type SavedTrack } from './track-records.js';
import { Segmenter, type SegmenterTrack } from './segmenter.js';
import { Signal } from './signal.js';
import { splitAtBoundaries } from './text-split.js';

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
 * One rendition, its ingest side: CMAF headers and chunks arrive, are placed on the stream
 * timeline and cut by the Segmenter; what every output reads is TrackRecords.
 */
export class Track extends TrackRecords implements SegmenterTrack, TrackView {
  /** Emitted (after the ingest call returns) once per change: "track changed, version N". */
  readonly changed = new Signal<Track>();
  version = 0;
  /** Bumped when the list of complete segments changes (what a non-LL playlist shows). */
  listVersion = 0;
  state: TrackState = 'active';
  /** Wall clock of the last ingest event (a CMAF header or a chunk): what the idle sweep reads. */
  lastIngestAtMs = 0;
  /** Wall clock of the last chunk received (0 before the first). */
  lastChunkAtMs = 0;
  /**
   * When the track last stopped (its ingest cut, ended or reset), the newest MSN of the grid: its
   * segments up to there are final. It never opens one of them again, so what was served for them
   * (a TS segment muxed without this audio) stays true.
   */
  quietThrough = 0;
  anchor: Anchor | null = null;
  protected readonly cutter: Segmenter;
  /** Closed captions seen in the SEI of the samples before this video track's first segment completed. */
  readonly captions: CaptionPresence = { cea608: false, cea708: false };
  private restartCheck = true;
  private lastSegmentPending = false;
  private held: Held[] = [];
  private dirty = false;

  constructor(host: TrackHost, name: string, info: TrackInfo, initBytes: Buffer) {
    super(host, name, initRecord(initBytes, info));
    this.cutter = new Segmenter(this, this.index);
    this.saveInit(this.current);
  }

  /** What a restart needs of this track besides its segments (saved with the stream's state). */
  saved(): SavedTrack {
    return {
      init: this.current.id,
      anchor: this.anchor ? { offsetTicks: String(this.anchor.offsetTicks), msnShift: this.anchor.msnShift } : null,
      sampleDuration: this.sampleDuration,
      chunkDuration: this.chunkDuration,
      compositionShift: this.compositionShift,
      producerReference: this.producerReference ? { ...this.producerReference, mediaTime: String(this.producerReference.mediaTime) } : null,
      captions: { ...this.captions },
    };
  }

  /**
   * Takes back what a DVR saved: the headers, the records (complete and gap, their bytes on disk),
   * the mapping to the stream timeline. The track waits, idle, for its encoder to come back.
   */
  restore(saved: SavedTrack, inits: ReadonlyMap<string, InitRecord>, records: readonly Segment[], nowMs: number): void {
    for (const init of inits.values()) if (!this.inits.some((i) => i.id === init.id)) this.inits.push(init);
    this.current = inits.get(saved.init) ?? this.current;
    this.anchor = saved.anchor ? { offsetTicks: BigInt(saved.anchor.offsetTicks), msnShift: saved.anchor.msnShift, discontinuity: false } : null;
    this.sampleDuration = saved.sampleDuration;
    this.chunkDuration = saved.chunkDuration;
    this.compositionShift = saved.compositionShift;
    if (saved.captions) Object.assign(this.captions, saved.captions);
    if (saved.producerReference) this.producerReference = { ...saved.producerReference, mediaTime: BigInt(saved.producerReference.mediaTime) };
    this.index.restore(records);
    const last = records[records.length - 1];
    if (last) {
      this.cutter.lastMsn = last.msn;
      this.lastEnd = Math.round((last.endTime / last.timescale) * this.timescale);
      this.quietThrough = last.msn;
    }
    this.state = 'idle';
    this.lastIngestAtMs = nowMs;
    this.restartCheck = true;
    this.listVersion++;
    this.version++;
  }

  // ---- read API: what renderers and routes use --------------------------------------------


  // ---- ingest --------------------------------------------------------------------------------

  /** A (new or repeated) CMAF header for this track; the next chunk is checked for continuity. */
  setInit(info: TrackInfo, bytes: Buffer): void {
    this.restartCheck = true;
    if (this.state === 'ended' && !this.host.ended) this.state = 'active';
    if (bytes.equals(this.current.bytes)) return;
    if (info.kind !== this.kind) throw malformed(`track '${this.name}' changed from ${this.kind} to ${info.kind}; use another URL`);
    // A segment has one CMAF header and one timescale: what is held or in production under the
    // old header is finished first, and the next chunk opens a new segment under the new one.
    this.drain('flush');
    if (this.cutter.open) this.cutter.closeSegment(false);
    if (info.timescale !== this.timescale) {
      if (this.lastEnd !== null) this.lastEnd = Math.round((this.lastEnd / this.timescale) * info.timescale);
      this.sampleDuration = 0;
      this.chunkDuration = 0;
      this.compositionShift = 0;
    }
    const record = initRecord(bytes, info);
    this.current = this.findInit(record.id) ?? record;
    if (!this.inits.includes(this.current)) {
      this.inits.push(this.current);
      this.saveInit(this.current);
    }
    this.host.persist();
    if (this.index.size > 0) this.cutter.discontinuityPending = true;
    this.dirty = true;
    this.flush();
  }

  ingest(chunk: IngestChunk, arrivalMs: number): IngestResult {
    if (this.state !== 'active') this.state = 'active';
    this.lastIngestAtMs = arrivalMs;
    this.lastChunkAtMs = arrivalMs;
    let run = chunk.run;
    const n = run.durations.length;
    if (n === 0) return 'empty';
    // A sample longer than a segment may last would make an EXTINF above the target duration.
    if (this.kind !== 'text') {
      const longest = this.host.maxSegmentDuration() * this.timescale;
      for (let i = 0; i < n; i++) if (run.durations[i]! > longest) throw malformed(`a sample of ${(run.durations[i]! / this.timescale).toFixed(3)} s, longer than a segment of this stream may last`);
    }
    // Decided before the first segment is listed, so the multivariant playlist never changes its mind.
    if (this.kind === 'video' && (this.index.size === 0 || (this.index.size === 1 && this.cutter.open !== null))) {
      scanCaptions(run, this.info.nalLengthSize ?? 4, this.info.sampleEntry.startsWith('h'), this.captions);
    }
    const ts = this.timescale;
    const duration = runDuration(run);
    let t0 = this.mapTime(run.baseMediaDecodeTime, arrivalMs, duration, chunk);
    const target = this.host.options.targetDuration;
    if (this.lastEnd !== null) {
      const half = run.durations[0]! / 2;
      if (t0 < this.lastEnd - half) {
        if (this.lastEnd - t0 > 3 * target * ts) {
          this.restartCheck = true;
          t0 = this.mapTime(run.baseMediaDecodeTime, arrivalMs, duration, chunk);
        } else {
          // Already received (a resend or a redundant encoder): keep only what is new.
          let i = 0;
          let t = t0;
          while (i < n && t < this.lastEnd - run.durations[i]! / 2) t += run.durations[i++]!;
          if (i === n) return 'duplicate';
          run = sliceRun(run, i, n);
          t0 = t;
          chunk = { run, prefix: [], wire: null, prft: chunk.prft, info: chunk.info };
        }
      } else if (t0 > this.lastEnd + this.host.maxJump() * ts) {
        this.cutter.jumpPending = true;
        // Where other tracks carried on, the missing time is gaps on the same timeline; where
        // none did, the media jumped: a discontinuity.
        if ((this.host.frontier() ?? 0) < t0 / ts - this.host.maxJump()) this.cutter.discontinuityPending = true;
      }
    }
    if (this.sampleDuration === 0) this.sampleDuration = run.durations[0]!;
    if (this.chunkDuration === 0) {
      this.chunkDuration = duration;
      for (let i = 0; i < run.ctos.length; i++) this.compositionShift = Math.max(this.compositionShift, -run.ctos[i]!);
    }
    if (!this.producerReference && chunk.prft) this.producerReference = chunk.prft;
    // Before the samples are cut: a splice point in this chunk starts a segment.
    if (chunk.events || chunk.eventErrors) this.host.inbandEvents(this, this.anchor!.offsetTicks, chunk.events ?? [], chunk.eventErrors ?? []);
    const end = t0 + runDuration(run);
    this.lastEnd = this.lastEnd === null ? end : Math.max(this.lastEnd, end);
    let result: IngestResult = 'accepted';
    if (this.kind !== 'video' && (this.held.length > 0 || this.host.hasActiveVideo())) {
      this.held.push({ run, chunk, t0, arrivalMs });
      this.drain('decided');
      if (this.held.length > 0) result = 'held';
    } else {
      this.cutter.process(run, chunk, t0, arrivalMs, true);
      this.dirty = true;
    }
    this.flush();
    this.host.trackProgressed(this);
    return result;
  }

  /**
   * Audio and text follow the video grid: chunks wait until no video boundary can fall inside them.
   * `flush` (the video went away, or this track stops) appends everything held to the current
   * grid without opening boundaries of its own.
   */
  drain(mode: 'decided' | 'flush'): void {
    if (this.held.length === 0) return;
    const until = this.host.decidedUntil();
    const ts = this.timescale;
    const target = this.host.options.targetDuration;
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
      const run = this.kind === 'text' ? splitAtBoundaries(h.run, h.t0, ts, this.host.grid, this.host.decidePartTarget(runDuration(h.run) / ts, h.run.durations[h.run.durations.length - 1]! / ts)) : h.run;
      this.cutter.process(run, h.chunk, h.t0, h.arrivalMs, lead || (mode === 'decided' && !this.host.hasActiveVideo()));
      this.dirty = true;
    }
    this.flush();
  }

  /** An ingest request for this track started or carried its CMAF header. */
  heard(nowMs: number): void {
    this.lastIngestAtMs = Math.max(this.lastIngestAtMs, nowMs);
  }

  /**
   * An unexpected fault while this track was being updated: what was held is dropped, the segment
   * in production is cut, and the next chunk opens a new segment after a discontinuity. Never throws.
   */
  reset(): void {
    this.held = [];
    this.cutter.abandon();
    this.restartCheck = true;
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

  /** The ingest connection died: the segment in production is cut short, its readers aborted. */
  interrupt(): void {
    this.drain('flush');
    if (this.cutter.open) {
      this.cutter.closeSegment(true);
      this.trimWindow();
    }
    this.restartCheck = true;
    if (this.state === 'active') this.state = 'idle';
    this.markQuiet();
    this.dirty = true;
    this.flush();
    this.host.trackStateChanged(this);
  }

  private markQuiet(): void {
    this.quietThrough = Math.max(this.quietThrough, this.host.grid.last?.msn ?? 0);
  }

  /** An ingest request ended cleanly. Per-segment ingest ends its segment here. */
  requestEnded(perSegment: boolean): void {
    if (this.lastSegmentPending) {
      this.end();
      return;
    }
    if (!perSegment) return;
    const seg = this.cutter.open;
    if (!seg || !this.canLead()) return;
    const grid = this.host.grid;
    const b = grid.get(seg.msn);
    const endSec = seg.endTime / seg.timescale;
    if (b && endSec - b.time >= this.host.options.targetDuration - 0.001 && !grid.get(seg.msn + 1)) {
      this.host.proposeBoundary(seg.msn + 1, endSec, false);
      this.cutter.closeSegment(false);
      this.trimWindow();
      this.dirty = true;
      this.flush();
      this.host.trackProgressed(this);
    }
  }

  /** `lmsg`: the segment in production is the track's last. */
  markLastSegment(): void {
    this.lastSegmentPending = true;
  }

  end(): void {
    if (this.state === 'ended') return;
    this.drain('flush');
    if (this.cutter.open) this.cutter.closeSegment(false);
    this.trimWindow();
    this.state = 'ended';
    this.markQuiet();
    this.lastSegmentPending = false;
    this.dirty = true;
    this.listVersion++;
    this.flush();
    this.host.trackStateChanged(this);
  }

  /**
   * The store could not keep segment `msn` (a failed DVR write): once its memory copy is gone too
   * (it left the live window) it is a gap.
   */
  storeLost(msn: number): void {
    const seg = this.index.find(msn);
    if (!seg || seg.state !== 'complete' || this.host.store.resident(seg.key)) return;
    seg.lose();
    this.listVersion++;
    this.dirty = true;
    this.flush();
  }

  /** The store evicted this track's bytes up to segment `msn` (a disk quota): their records go. */
  dropThrough(msn: number): void {
    const before = this.index.size;
    this.index.dropThrough(msn);
    if (this.index.size === before) return;
    this.listVersion++;
    this.dirty = true;
    this.host.compact();
    this.flush();
  }

  private canLead(): boolean {
    return this.kind === 'video' || !this.host.hasActiveVideo();
  }

  private mapTime(raw: bigint, arrivalMs: number, durationTicks: number, chunk: IngestChunk): number {
    if (this.anchor === null || this.restartCheck) {
      this.restartCheck = false;
      const anchor = this.host.anchorTrack(this, raw, arrivalMs, durationTicks, chunk.prft);
      const changed = !this.anchor || this.anchor.offsetTicks !== anchor.offsetTicks || this.anchor.msnShift !== anchor.msnShift;
      this.anchor = anchor;
      if (changed) this.host.persist();
      if (anchor.discontinuity && this.index.size > 0) {
        this.cutter.discontinuityPending = true;
        this.cutter.jumpPending = true;
      }
    }
    const rel = raw - this.anchor.offsetTicks;
    // Beyond ±10^10 s (317 years) of the stream's start no program date-time can be written.
    if (rel > BigInt(Number.MAX_SAFE_INTEGER) || rel < -BigInt(Number.MAX_SAFE_INTEGER) || Math.abs(Number(rel)) > 1e10 * this.timescale) throw malformed(`timestamp ${raw} is out of range`);
    return Number(rel);
  }

  private trimWindow(): void {
    // Media clamped behind the grid adds segments that do not advance time, so no time trims
    // them (fuzzing: 45,000 zero-length gaps per track, 150 MB of records): four per slot at most.
    const retention = this.host.retentionSeconds();
    this.index.trim(retention, 4 * Math.ceil(retention / this.host.options.targetDuration) + 16);
    // Out of the live window: the chunk and part records go, the bytes stay in the store (a DVR
    // keeps them on disk); one whose write failed becomes a gap.
    if (this.index.cool(this.host.liveRetentionSeconds())) this.listVersion++;
    const used = this.index.initIds();
    for (let i = this.inits.length - 1; i >= 0; i--) {
      const init = this.inits[i]!;
      if (init !== this.current && !used.has(init.id)) this.inits.splice(i, 1);
    }
    this.host.compact();
  }

  private flush(): void {
    if (this.cutter.listChanged) {
      this.cutter.listChanged = false;
      this.listVersion++;
      this.trimWindow();
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.version++;
    // The stream's version moves first: whoever wakes on this track renders the new state.
    this.host.touch();
    this.changed.emit(this);
  }

  /** Wakes whoever waits on this track (the stream ended: held requests answer now). */
  emitChanged(): void {
    this.changed.emit(this);
  }
}
