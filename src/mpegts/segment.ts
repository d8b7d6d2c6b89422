import type { InitRecord } from '../timeline/track-records.js';
import type { Track } from '../timeline/track.js';
import type { Chunk, Segment, SegmentBytes } from '../timeline/segment.js';
import { adtsTemplate } from './adts.js';
import { parseAvcC, type AvcConfig } from './avc.js';
import { audioPes, closeAudioGroup, videoPes, type AudioGroup, type AudioSpec, type PlannedPes, type VideoSpec } from './pes.js';
import { patPacket, pmtPacket } from './psi.js';
import { sectionPackets } from './scte35.js';
import { packetCount, writeTs, type Allocate, type ContinuityState, type Psi } from './writer.js';

const PAT = patPacket();
const PMT = { av: pmtPacket(true, true), v: pmtPacket(true, false), a: pmtPacket(false, true) };
const PMT_SCTE35 = { av: pmtPacket(true, true, true), v: pmtPacket(true, false, true), a: pmtPacket(false, true, true) };

const avcConfigs = new WeakMap<InitRecord, AvcConfig>();
const adtsTemplates = new WeakMap<InitRecord, Buffer>();

export function videoSpec(track: Track, bytes: SegmentBytes): VideoSpec {
  const seg = bytes.segment;
  const init = track.findInit(seg.initId) ?? track.init;
  let avc = avcConfigs.get(init);
  if (!avc) {
    avc = parseAvcC(init.info.codecConfig);
    avcConfigs.set(init, avc);
  }
  return { avc, timescale: seg.timescale, dtsShift: track.compositionShift, samples: (c) => track.samples(bytes, c) };
}

export function audioSpec(track: Track, bytes: SegmentBytes): AudioSpec {
  const seg = bytes.segment;
  const init = track.findInit(seg.initId) ?? track.init;
  let adts = adtsTemplates.get(init);
  if (!adts) {
    adts = adtsTemplate(init.info.codecConfig);
    adtsTemplates.set(init, adts);
  }
  return { adts, timescale: seg.timescale, sampleRate: init.info.sampleRate ?? 48000, samples: (c) => track.samples(bytes, c) };
}

/**
 * PAT and PMT of segment `msn`: continuity counters advance by one per segment. A segment that
 * carries SCTE-35 sections (`tsSection`) lists their PID and has them right after the PMT.
 */
export function psiFor(msn: number, video: boolean, audio: boolean, scte35: readonly Buffer[] = []): Psi {
  const pmt = scte35.length > 0 ? PMT_SCTE35 : PMT;
  return { pat: PAT, pmt: video && audio ? pmt.av : video ? pmt.v : pmt.a, counter: msn & 15, ...(scte35.length > 0 ? { extra: sectionPackets(scte35) } : {}) };
}

interface Lane {
  readonly queue: PlannedPes[];
  done: boolean;
  /** Stream time (s) at which this lane's next PES can start, at the earliest. */
  horizon: number;
  /** TS packets emitted on this PID so far in the segment. */
  packets: number;
}

/**
 * Plans the PES of one MPEG-TS segment from the CMAF chunks of its video and audio segments,
 * fed in any increments: PES come out interleaved by decode time, each only once nothing that
 * sorts before it can still arrive, and the last PES of each PID is held until its track's
 * segment is complete, then spread over enough packets that every PID ends its segment on
 * continuity_counter 15. Every segment so starts every PID at 0: continuity holds across
 * segments rendered in any order, and the same input always gives the same bytes, whether
 * rendered at once or streamed while it was produced.
 */
export class TsPlanner {
  private readonly video: Lane | null;
  private readonly audio: Lane | null;
  private readonly group: { group: AudioGroup | null } = { group: null };

  constructor(
    private readonly videoSpec: VideoSpec | null,
    private readonly audioSpec: AudioSpec | null,
  ) {
    this.video = videoSpec ? { queue: [], done: false, horizon: -Infinity, packets: 0 } : null;
    this.audio = audioSpec ? { queue: [], done: false, horizon: -Infinity, packets: 0 } : null;
  }

  get done(): boolean {
    return (!this.video || (this.video.done && this.video.queue.length === 0)) && (!this.audio || (this.audio.done && this.audio.queue.length === 0));
  }

  feedVideo(chunk: Chunk): void {
    const lane = this.video!;
    lane.queue.push(...videoPes(chunk, this.videoSpec!, true));
    lane.horizon = (chunk.startTime + chunk.duration) / this.videoSpec!.timescale;
  }

  feedAudio(chunk: Chunk): void {
    const lane = this.audio!;
    lane.queue.push(...audioPes(chunk, this.audioSpec!, this.video === null, this.group));
    lane.horizon = (chunk.startTime + chunk.duration) / this.audioSpec!.timescale;
  }

  finishVideo(): void {
    if (this.video) this.video.done = true;
  }

  finishAudio(): void {
    const lane = this.audio;
    if (!lane || lane.done) return;
    if (this.group.group) {
      lane.queue.push(closeAudioGroup(this.group.group, this.audioSpec!, this.video === null));
      this.group.group = null;
    }
    lane.done = true;
  }

  /** Where a lane's next PES may start: its first queued PES, its open audio group, or its horizon. */
  private next(lane: Lane | null, isAudio: boolean): number {
    if (!lane) return Infinity;
    const head = lane.queue[0];
    if (head) return head.order;
    if (isAudio && this.group.group) return this.group.group.order;
    return lane.done ? Infinity : lane.horizon;
  }

  /** The PES that can be written now, in order. */
  take(): PlannedPes[] {
    const out: PlannedPes[] = [];
    for (;;) {
      const v = this.video?.queue[0];
      const a = this.audio?.queue[0];
      if (!v && !a) break;
      // Video first at equal decode times.
      const pickVideo = v !== undefined && (a === undefined || v.order <= a.order);
      const lane = pickVideo ? this.video! : this.audio!;
      const head = pickVideo ? v! : a!;
      const otherNext = pickVideo ? this.next(this.audio, true) : this.next(this.video, false);
      if (pickVideo ? head.order > otherNext : head.order >= otherNext) break;
      // Hold back what may turn out to be the PID's last PES (it takes the padding).
      const mayGrow = !lane.done && (pickVideo || this.group.group === null);
      if (lane.queue.length === 1 && mayGrow) break;
      const last = lane.queue.length === 1 && lane.done;
      lane.queue.shift();
      if (last) {
        const count = lane.packets + packetCount(head);
        head.pad = (16 - (count % 16)) % 16;
      }
      lane.packets += packetCount(head);
      out.push(head);
    }
    return out;
  }
}

/** The CMAF segments a TS segment is remuxed from, with their bytes (views while they grow). */
export interface TsSource {
  readonly video: { readonly track: Track; readonly segment: Segment; readonly bytes: SegmentBytes } | null;
  readonly audio: { readonly track: Track; readonly segment: Segment; readonly bytes: SegmentBytes } | null;
  /** SCTE-35 sections the segment carries, as TS carries them (`tsSection`). */
  readonly scte35?: readonly Buffer[];
}

/** Renders a complete MPEG-TS segment: PAT, PMT, then the PES, in one allocation. */
export function renderTsSegment(msn: number, source: TsSource, allocate?: Allocate): Buffer {
  const planner = new TsPlanner(
    source.video ? videoSpec(source.video.track, source.video.bytes) : null,
    source.audio ? audioSpec(source.audio.track, source.audio.bytes) : null,
  );
  if (source.video) for (const c of source.video.bytes.chunks()) planner.feedVideo(c);
  if (source.audio) for (const c of source.audio.bytes.chunks()) planner.feedAudio(c);
  planner.finishVideo();
  planner.finishAudio();
  const cc: ContinuityState = { video: 0, audio: 0 };
  return writeTs(planner.take(), cc, psiFor(msn, source.video !== null, source.audio !== null, source.scte35), allocate);
}
