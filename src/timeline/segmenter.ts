import type { IngestChunk } from '../isobmff/chunker.js';
import { isSyncSample } from '../isobmff/fragment.js';
import { joinAdjacent, runDuration, sliceRun, writeRunHeader, type SampleRun } from '../isobmff/sample-run.js';
import type { Anchor, TrackHost, TrackView } from './host.js';
import { Part, Segment, type Chunk, type Keyframe } from './segment.js';
import type { SegmentIndex } from './segment-index.js';
import { storeKey } from './store.js';

const EPS = 1e-6;

/** What the segmenter needs of its track beyond what the stream sees. */
export interface SegmenterTrack extends TrackView {
  readonly host: TrackHost;
  readonly anchor: Anchor | null;
  readonly initId: string;
}

/**
 * Cuts one track's samples into segments, parts and chunks. A video segment starts at the first
 * sync sample whose media time falls in a later segment slot (slot = target duration of raw media
 * time; its number is the slot's, so every origin numbers the same media alike); audio and other
 * renditions follow the boundaries the stream's grid already has. A part closes before the sample
 * that would make it exceed the part target; each video sync sample starts a chunk of its own.
 */
export class Segmenter {
  open: Segment | null = null;
  openPart: Part | null = null;
  lastMsn: number | null = null;
  /** Samples dropped because a video segment must start with a sync sample. */
  droppedSamples = 0;
  /** The next segment follows a discontinuity (a restart, a jump, a new CMAF header). */
  discontinuityPending = false;
  /** Media jumped ahead: the next sync sample cuts whatever the slot. */
  jumpPending = false;
  /** A segment was completed, or a gap added, since the last look. */
  listChanged = false;
  /** Slot (as an MSN) of raw media time where the open segment starts (its first sample's middle). */

  constructor(
    private readonly track: SegmenterTrack,
    private readonly index: SegmentIndex,
  ) {}

  /** Cuts and appends a run whose first sample is at `t0` ticks on the stream timeline. */
  process(run: SampleRun, chunk: IngestChunk, t0: number, arrivalMs: number, mayLead: boolean): void {
    const n = run.durations.length;
    const ts = this.track.timescale;
    const host = this.track.host;
    const partTicks = host.decidePartTarget(runDuration(chunk.run) / ts, chunk.run.durations[chunk.run.durations.length - 1]! / ts) * ts;
    const needsSync = this.track.kind === 'video';
    // Cut points know their byte offset and time: slicing n samples into k pieces costs O(n + k).
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
    /** Skips sample `i`: the next slice starts after it. */
    const drop = (i: number): void => {
      this.droppedSamples++;
      t += run.durations[i]!;
      byte += run.sizes[i]!;
      sliceStart = i + 1;
      sliceT = t;
      sliceByte = byte;
    };
    for (let i = 0; i < n; i++) {
      const d = run.durations[i]!;
      const sync = isSyncSample(run.flags[i]!);
      const raw = run.baseMediaDecodeTime + BigInt(t - t0);
      // A sample before the end of the segment in production (media that went back in time, in
      // a way the track did not take for a resend or a restart) is dropped: time never runs back
      // inside a segment, and no EXTINF is negative.
      if (this.open && t < this.open.endTime - d / 2) {
        drop(i);
        continue;
      }
      if (!this.open) {
        if (needsSync && !sync) {
          drop(i);
          continue;
        }
        this.startSegment(host.startMsnFor(this.track, t / ts, this.slotMsn(raw)), t);
      } else if (needsSync && !sync && i === 0 && Math.abs(t - this.open.endTime) > host.maxJump() * ts) {
        // A run that does not continue the segment in production (its media jumped, or restarted
        // elsewhere on the timeline) and cannot start a segment here (not a sync sample): the
        // segment ends with its own media, never spanning the jump, and the track starts again
        // at its next sync sample.
        this.closeSegment(false);
        i--;
        continue;
      } else {
        if (needsSync && sync && i > sliceStart) cut(i);
        // From the segment's start to this sample's: a gap in the media counts (EXTINF spans it).
        const segSoFar = Math.max(t, this.open.endTime + (t - sliceT)) - this.open.startTime;
        const msn = this.segmentCut(t, d, sync, segSoFar, mayLead, raw);
        if (msn > 0) {
          cut(i);
          this.closeSegment(false);
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

  /** Segment number of the slot raw media time `raw` falls in. */
  private slotMsn(raw: bigint): number {
    return this.track.host.msnAt(this.track.anchor!, raw, this.track.timescale);
  }

  /** MSN of the segment that sample time `t` opens, or 0 when it does not cut. */
  private segmentCut(t: number, d: number, sync: boolean, segSoFar: number, mayLead: boolean, raw: bigint): number {
    const open = this.open!;
    const ts = this.track.timescale;
    const host = this.track.host;
    const grid = host.grid;
    const tSec = t / ts;
    const forced = (segSoFar + d) / ts > host.maxSegmentDuration();
    const next = grid.get(open.msn + 1);
    if (this.track.kind === 'video' && !sync && !forced) return 0;
    if (next) {
      if (tSec >= next.time - d / ts / 2 || forced) return Math.max(open.msn + 1, grid.containing(tSec, d / ts / 2)?.msn ?? 0);
      return 0;
    }
    if (!mayLead && !forced) return 0;
    const slot = this.slotMsn(raw);
    // A SCTE-35 splice point since the segment began (half a sample after its start: one at its
    // start is its own): a segment starts at this sync sample, so an ad replaces whole segments.
    // A function of the media and the cues, like the slots.
    const splice = sync && host.cueSplitsWithin((open.startTime + d / 2) / ts, tSec + d / ts / 2);
    // A slot after the open segment's (numbers run ahead of the slots by the splice points since
    // the last jump, a count every track reads from the grid, so followers agree).
    const shift = grid.get(open.msn)?.spliceShift ?? 0;
    const newSlot = slot > open.msn - shift;
    if (this.jumpPending || forced || newSlot || splice) {
      const disc = this.jumpPending;
      // Media that continues takes the next number (a GOP longer than the slot skips none);
      // after a jump the slot's own number, with gaps for the slots that had no media.
      const msn = this.jumpPending ? Math.max(open.msn + 1, slot) : open.msn + 1;
      const nextShift = this.jumpPending ? 0 : splice && !newSlot && !forced ? shift + 1 : shift;
      this.jumpPending = false;
      return host.proposeBoundary(msn, tSec, disc, nextShift).msn;
    }
    return 0;
  }

  private startSegment(msn: number, t: number): void {
    const track = this.track;
    const host = track.host;
    const ts = track.timescale;
    const boundary = host.grid.get(msn);
    const disc = (this.discontinuityPending || (boundary?.discontinuity ?? false)) && this.index.size > 0;
    this.discontinuityPending = false;
    this.jumpPending = false;
    if (disc) host.grid.markDiscontinuity(msn);
    // Gaps for the numbers the grid has between this track's last segment and this one.
    if (this.lastMsn !== null) for (let k = Math.max(this.lastMsn + 1, host.grid.first?.msn ?? msn); k < msn; k++) this.pushGap(k);
    const seg = new Segment(msn, t, ts, track.initId, disc, this.wallClock(t), storeKey(host.name, host.tag, track.name, msn));
    this.index.push(seg);
    this.open = seg;
    this.lastMsn = msn;
  }

  /**
   * EXT-X-PROGRAM-DATE-TIME of a segment opening at `t`: the stream's clock (the encoder's prft,
   * its epoch timeline, or the first arrival), one linear mapping of media time for every track.
   * RFC 8216bis 6.2.4: Media Playlists "MUST contain EXT-X-PROGRAM-DATE-TIME tags with consistent
   * mappings of date and time to media timestamps". A per-segment prft is not: ffmpeg 5.1 writes
   * each output's prft when it writes the fragment, so audio reads ~20 ms later than video and
   * each segment jitters by a few ms; hls.js 1.7.4 aligns the audio playlist to the video one by
   * comparing the PDT of two different segments (alignMediaPlaylistByPDT), and a misalignment of
   * a few ms stops its audio part loading at the next segment boundary (a stall, +1 s latency).
   */
  private wallClock(t: number): number {
    return this.track.host.wallClockMs(t / this.track.timescale);
  }

  private pushGap(msn: number): void {
    const host = this.track.host;
    const grid = host.grid;
    const b = grid.get(msn);
    const next = grid.get(msn + 1);
    if (!b || !next) return;
    const ts = this.track.timescale;
    // The gap keeps to one slot (an EXTINF "MUST be less than or equal to the target duration"
    // once rounded): before a discontinuity the media resumes wherever it does, and boundaries
    // further apart than a slot (media that jumped further than the window) are a jump too.
    const end = Math.min(next.time, b.time + (host.targetDuration === null ? host.options.targetDuration : host.maxSegmentDuration()));
    const gap = Segment.gap(msn, Math.round(b.time * ts), Math.round((end - b.time) * ts), ts, this.track.initId, host.wallClockMs(b.time), storeKey(host.name, host.tag, this.track.name, msn));
    this.index.push(gap);
    host.store.put(gap, null);
    this.listChanged = true;
  }

  private append(run: SampleRun, chunk: IngestChunk, from: number, to: number, startTime: number, arrivalMs: number, byteStart: number, ticksBefore: number): void {
    if (to <= from) return;
    const seg = this.open!;
    const slice = from === 0 && to === run.durations.length ? run : sliceRun(run, from, to, byteStart, ticksBefore);
    // Every chunk gets a moof of ours (the encoder's is not trusted, and mfhd must follow one rule).
    const header = writeRunHeader({ ...slice, sequenceNumber: sequenceNumberAt(startTime, this.track.timescale) });
    const prefix = from === 0 ? chunk.prefix : [];
    const data = joinAdjacent([...prefix, header, slice.payload]);
    let byteLength = 0;
    for (const b of data) byteLength += b.length;
    const c: Chunk = {
      data,
      byteOffset: seg.byteLength,
      byteLength,
      startTime,
      duration: runDuration(slice),
      sampleCount: to - from,
      // Every text sample stands alone (ISO/IEC 14496-30), whatever flags a packager wrote.
      independent: this.track.kind === 'text' || isSyncSample(slice.flags[0]!),
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
    seg.duration = startTime + c.duration - seg.startTime;
    let keyframe: Keyframe | undefined;
    if (c.independent) {
      // The moof (after any prft/emsg), its mdat header and the sync sample: what an I-frame entry addresses.
      let prefixLength = 0;
      for (const b of prefix) prefixLength += b.length;
      keyframe = { byteOffset: c.byteOffset + prefixLength, byteLength: header.length + slice.sizes[0]!, time: startTime };
    }
    seg.append(c, keyframe);
  }

  closePart(): void {
    if (!this.openPart) return;
    this.openPart.complete = true;
    this.openPart = null;
  }

  /** Completes the segment in production (cut short when `aborted`) and puts its bytes in the store. */
  closeSegment(aborted: boolean): Segment | null {
    const seg = this.open;
    if (!seg) return null;
    this.closePart();
    this.open = null;
    const bytes = seg.finish(aborted);
    this.track.host.store.put(seg, bytes);
    this.listChanged = true;
    this.track.host.segmentCompleted(this.track, seg);
    return seg;
  }

  /**
   * After an unexpected fault: the segment in production is cut (kept with what it holds when
   * that is consistent, else a gap) and the next chunk opens a new segment. Never throws.
   */
  abandon(): void {
    const seg = this.open;
    this.open = null;
    this.openPart = null;
    this.discontinuityPending = true;
    this.jumpPending = true;
    if (!seg) return;
    try {
      this.track.host.store.put(seg, seg.finish(true));
    } catch {
      seg.body?.abort();
      seg.body = null;
      seg.state = 'gap';
      seg.chunks = [];
      seg.parts = [];
      seg.keyframes = [];
    }
    this.listChanged = true;
  }
}

/**
 * mfhd sequence_number of a chunk: its start on the stream timeline in milliseconds (mod 2^32), so
 * the fragments of a track increase in every output that carries them, on every origin, whoever
 * split them ("sequence_number ... in increasing order", ISO/IEC 14496-12 8.8.5).
 */
function sequenceNumberAt(startTime: number, timescale: number): number {
  return Math.floor((startTime / timescale) * 1000) % 4294967296;
}
