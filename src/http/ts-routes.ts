import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import { OriginError } from '../errors.js';
import { audioSettled } from '../hls/media-playlist.js';
import { defaultTsAudio, tsCompatible } from '../hls/multivariant.js';
import { tsCarriage } from '../mpegts/compat.js';
import { audioSpec, psiFor, renderTsSegment, TsPlanner, videoSpec, type TsSource } from '../mpegts/segment.js';
import { writeTs, type Allocate, type ContinuityState } from '../mpegts/writer.js';
import type { Segment, SegmentBytes } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { CacheControl } from './cache-policy.js';
import { corsHeaders, sendBuffers, sendError, unsentLimit } from './respond.js';
import { holdFor, type HlsContext } from './hls-routes.js';
import { RecycledMemory } from './recycled-memory.js';
import { guarded, type FaultSink } from './guard.js';

const TS_TYPE = 'video/mp2t';

interface CachedTs {
  readonly bytes: Buffer;
  /** The recycled block `bytes` was written in. */
  readonly block: Buffer;
  /** Responses sending `bytes` right now. */
  sending: number;
  evicted: boolean;
}

/**
 * Rendered MPEG-TS segments, bounded by bytes: the second request for a segment costs nothing.
 * An evicted segment's memory goes to the next render once no response is sending it.
 */
export class TsCache {
  private readonly cache: LRUCache<string, CachedTs>;
  private readonly memory: RecycledMemory;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    this.memory = new RecycledMemory(Math.min(maxBytes, 64 << 20));
    this.cache = new LRUCache<string, CachedTs>({
      maxSize: maxBytes,
      sizeCalculation: (e) => Math.max(1, e.block.length),
      dispose: (e) => {
        e.evicted = true;
        if (e.sending === 0) this.memory.give(e.block);
      },
    });
  }

  /**
   * The segment under `key`, rendered on a miss into recycled memory. The caller must call the
   * returned `done` once it no longer sends the bytes (response closed).
   */
  lease(key: string, render: (allocate: Allocate) => Buffer): { bytes: Buffer; done: () => void } {
    let entry = this.cache.get(key);
    if (entry) this.hits++;
    else {
      this.misses++;
      let block: Buffer | undefined;
      const bytes = render((size) => (block = this.memory.take(size)));
      entry = { bytes, block: block ?? bytes, sending: 0, evicted: false };
      this.cache.set(key, entry);
    }
    const e = entry;
    e.sending++;
    let released = false;
    return {
      bytes: e.bytes,
      done: () => {
        if (released) return;
        released = true;
        if (--e.sending === 0 && e.evicted) this.memory.give(e.block);
      },
    };
  }

  get bytes(): number {
    return this.cache.calculatedSize;
  }

  /** Drops every segment of a stream instance (it was removed: nobody can ask for them again). */
  forget(tag: string): void {
    const prefix = `${tag}|`;
    for (const key of [...this.cache.keys()]) if (key.startsWith(prefix)) this.cache.delete(key);
  }

  /** A periodic tick: idle recycled memory is released. */
  trimIdle(): void {
    this.memory.trimIdle();
  }
}

type AudioState = { readonly kind: 'segment'; readonly segment: Segment } | { readonly kind: 'none' } | { readonly kind: 'wait' };

/**
 * The audio of a muxed TS segment: its segment if the audio track has one for `msn`; none if the
 * track will not have one (gone past it, or not live); wait while it may still come, because
 * the PMT (and so every byte) depends on it.
 */
function audioFor(stream: Stream, audio: Track | null, msn: number): AudioState {
  if (!audio) return { kind: 'none' };
  const seg = audio.findSegment(msn);
  if (seg && seg.state !== 'gap') return carriedInTs(audio, seg) ? { kind: 'segment', segment: seg } : { kind: 'none' };
  if (seg || audioSettled(stream, audio, msn)) return { kind: 'none' };
  return { kind: 'wait' };
}

/** Whether a segment's own CMAF header (a track may change codec mid-window) fits MPEG-TS. */
function carriedInTs(track: Track, seg: Segment): boolean {
  const init = track.findInit(seg.initId);
  return init !== undefined && tsCarriage(init.info);
}

/** Both segments' bytes: at once when in memory (or growing), else after the store read them. */
function loadSource(video: Track | null, seg: Segment, audioTrack: Track | null, audio: Segment | null, use: (source: TsSource) => void, fail: (err: unknown) => void): void {
  const main = video ?? audioTrack!;
  const mainBytes = main.residentBytes(seg);
  const audioBytes = audio ? audioTrack!.residentBytes(audio) : null;
  const build = (m: SegmentBytes, a: SegmentBytes | null): TsSource => ({
    video: video ? { track: video, segment: seg, bytes: m } : null,
    audio: video ? (audio ? { track: audioTrack!, segment: audio, bytes: a! } : null) : { track: audioTrack!, segment: seg, bytes: m },
  });
  if (mainBytes && (!audio || audioBytes)) return use(build(mainBytes, audioBytes));
  Promise.all([main.bytes(seg), audio ? audioTrack!.bytes(audio) : Promise.resolve(null)]).then(([m, a]) => use(build(m, a)), fail);
}

/**
 * `{track}/{tag}/{msn}.ts`: an H.264 track's segment muxed with the stream's default AAC audio,
 * or an AAC track alone. Complete → rendered once (cached), 200 with Content-Length; in
 * production → 200 chunked, remuxed chunk by chunk as it lands, to the same bytes.
 */
export function sendTsSegment(ctx: HlsContext, cache: TsCache, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, msn: number): void {
  if (!tsCompatible(track)) throw new OriginError('NOT_FOUND', `track '${track.name}' (${track.info.codec}) has no MPEG-TS variant (H.264 and AAC only)`);
  const video = track.kind === 'video' ? track : null;
  const audioTrack = video ? (defaultTsAudio(stream) ?? null) : track;
  const main = video ?? audioTrack!;
  let holding = false;
  const answer = (): boolean => {
    const seg = main.findSegment(msn);
    if (!seg) {
      // Held for the next segment, and its track ended or went past it meanwhile: it will never exist.
      const past = main.lastMsn !== null && main.lastMsn >= msn;
      if (!holding || (!stream.ended && main.state !== 'ended' && !past)) return false;
      ctx.metrics.mediaNotFound.inc({ reason: 'future' });
      sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${main.name}' will not exist: the track ${past ? 'went past it' : 'ended'}`), CacheControl.shortError);
      return true;
    }
    if (seg.state === 'gap') {
      ctx.metrics.mediaNotFound.inc({ reason: 'gap' });
      sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${main.name}' is a gap (no media)`), CacheControl.shortError);
      return true;
    }
    if (!carriedInTs(main, seg)) {
      sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${main.name}' is in a codec MPEG-TS does not carry`), CacheControl.shortError);
      return true;
    }
    const audio = video ? audioFor(stream, audioTrack, msn) : { kind: 'segment' as const, segment: seg };
    if (audio.kind === 'wait') return false;
    const audioSeg = video && audio.kind === 'segment' ? audio.segment : null;
    const complete = seg.state === 'complete' && (!audioSeg || audioSeg.state === 'complete');
    const cut = seg.truncated || (audioSeg?.truncated ?? false);
    const headers = { 'Content-Type': TS_TYPE, 'Cache-Control': !complete ? CacheControl.growing : cut ? CacheControl.cutShort : CacheControl.immutable };
    const send = guarded(ctx, 'ts-remux', req, res, undefined, (source: TsSource): void => {
      if (!complete) return streamTsSegment(ctx, req, res, headers, msn, source);
      const key = `${stream.tag}|${main.name}|${source.audio?.track.name ?? '-'}|${msn}`;
      const lease = cache.lease(key, (allocate) => renderTsSegment(msn, source, allocate));
      res.once('close', lease.done);
      sendBuffers(req, res, headers, [lease.bytes], lease.bytes.length);
    });
    loadSource(video, seg, audioTrack, audioSeg, send, (err) => sendError(req, res, err));
    return true;
  };
  if (answer()) return;
  const last = main.lastMsn;
  const seg = main.findSegment(msn);
  if (seg || (last !== null && msn === last + 1 && !stream.ended && main.state !== 'ended')) {
    holding = true;
    holdFor(ctx, req, res, stream, audioTrack && audioTrack !== main ? [main, audioTrack] : main, answer);
    return;
  }
  const first = main.firstMsn;
  const expired = first !== null && msn < first;
  ctx.metrics.mediaNotFound.inc({ reason: expired ? 'expired' : 'future' });
  sendError(req, res, new OriginError(expired ? 'GONE' : 'NOT_FOUND', `segment ${msn} of '${main.name}' ${expired ? 'has left the window' : 'does not exist yet'}`), expired ? CacheControl.shortError : CacheControl.notYet);
}

/** Remuxes a segment in production as its CMAF chunks land; destroyed if its ingest dies. */
function streamTsSegment(sink: FaultSink, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, msn: number, source: TsSource): void {
  res.writeHead(200, { ...corsHeaders(req), ...headers });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.flushHeaders();
  const planner = new TsPlanner(
    source.video ? videoSpec(source.video.track, source.video.bytes) : null,
    source.audio ? audioSpec(source.audio.track, source.audio.bytes) : null,
  );
  const cc: ContinuityState = { video: 0, audio: 0 };
  const bodies = [source.video?.segment.body, source.audio?.segment.body].filter((b) => b !== undefined && b !== null);
  let psi = true;
  const unsent = unsentLimit(req, res);
  let videoFed = 0;
  let audioFed = 0;
  let finished = false;
  // A sample the remux cannot carry ends this response, never the ingest that woke it.
  const pump = guarded(sink, 'ts-remux', req, res, undefined, (): void => {
    if (finished) return;
    if (bodies.some((b) => b.state === 'aborted')) {
      finished = true;
      res.destroy();
      return;
    }
    const v = source.video?.segment;
    const a = source.audio?.segment;
    if (v) {
      for (; videoFed < v.chunks.length; videoFed++) planner.feedVideo(v.chunks[videoFed]!);
      if (v.state !== 'open') planner.finishVideo();
    }
    if (a) {
      for (; audioFed < a.chunks.length; audioFed++) planner.feedAudio(a.chunks[audioFed]!);
      if (a.state !== 'open') planner.finishAudio();
    }
    const pes = planner.take();
    if (pes.length > 0 || psi) res.write(writeTs(pes, cc, psi ? psiFor(msn, v !== undefined, a !== undefined) : null));
    psi = false;
    // These bytes are this response's own (remuxed for it): a reader that stops reading is cut.
    unsent.check();
    if (res.destroyed) {
      finished = true;
      return;
    }
    if (planner.done) {
      finished = true;
      res.end();
    }
  });
  const leaves = [source.video?.track, source.audio?.track].filter((t) => t !== undefined).map((t) => t.changed.subscribe(pump));
  res.on('close', () => {
    for (const leave of leaves) leave();
  });
  pump();
}
