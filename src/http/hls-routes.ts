import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { decideBlocking, isSatisfied, lookupPart, parseDirectives } from '../hls/blocking.js';
import { endsWithBareHint } from '../hls/boundary.js';
import { lowLatencyParams } from '../hls/low-latency.js';
import { isWebVtt } from '../hls/renditions.js';
import { webVttLowLatency } from '../hls/subtitle-playlist.js';
import { renderMediaPlaylist, type PartAddressing } from '../hls/media-playlist.js';
import type { CueTags } from '../hls/daterange.js';
import { defaultTsAudio, renderMultivariantPlaylist, tsCompatible } from '../hls/multivariant.js';
import type { Metrics } from '../metrics.js';
import type { Segment, SegmentBytes } from '../timeline/segment.js';
import type { PlaylistFlavor } from '../urls.js';
import type { Stream } from '../timeline/stream.js';
import type { InitRecord } from '../timeline/track-records.js';
import type { Track } from '../timeline/track.js';
import { CacheControl } from './cache-policy.js';
import { parseOpenRange, rangeReady, sendSegmentRange } from './live-range.js';
import { sendRendered, type Rendered, type RenderedCache } from './rendered-cache.js';
import { headerSet, prepare, sendBuffers, sendError, sendLive, sendPrepared, type HeaderSet, type Prepared } from './respond.js';
import type { WaiterList } from './waiters.js';
import { guarded, type FaultSink } from './guard.js';
import { LIVE, reachesEdge, type ViewRequest } from '../dvr/view.js';
import type { HeldRequests } from './limits.js';

export interface HlsContext extends FaultSink {
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly playlists: RenderedCache;
  readonly partAddressing: PartAddressing;
  readonly cueTags?: CueTags;
  readonly waiters: (track: Track) => WaiterList;
  /** Slots for held requests (global and per client): a request past them gets 503. */
  readonly holds: HeldRequests;
}

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';

export function targetDuration(stream: Stream): number {
  return stream.targetDuration ?? Math.ceil(stream.options.targetDuration);
}

/** How long a request may be held: "... for longer than three times the Target Duration ... 503" (6.2.5.2). */
function holdLimitMs(stream: Stream): number {
  return 3 * targetDuration(stream) * 1000;
}

function contentType(track: Track): string {
  return track.kind === 'video' ? 'video/mp4' : track.kind === 'audio' ? 'audio/mp4' : 'application/mp4';
}

export function notReady(req: IncomingMessage, res: ServerResponse, what: string): void {
  res.setHeader('Retry-After', '1');
  sendError(req, res, new OriginError('NOT_YET', `${what} has no complete segment yet`), CacheControl.notYet);
}

export function sendPlaylist(req: IncomingMessage, res: ServerResponse, playlist: Rendered, cacheControl: string): void {
  sendRendered(req, res, playlist, PLAYLIST_TYPE, cacheControl);
}

export function sendMultivariant(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, flavor: PlaylistFlavor, view: ViewRequest = LIVE): void {
  let version = `${stream.ended}`;
  for (const t of stream.tracks.values()) version += `|${t.name}:${t.listVersion}`;
  const playlist = ctx.playlists.get(stream, flavor + view.suffix, version, () => renderMultivariantPlaylist(stream, flavor, view.suffix));
  if (!playlist) return notReady(req, res, `stream '${stream.name}'`);
  sendPlaylist(req, res, playlist, CacheControl.playlist(targetDuration(stream)));
}

/**
 * L-HLS media playlist (complete segments, then EXT-X-PREFETCH for what is being produced) or the
 * MPEG-TS one (complete segments, as `.ts`).
 */
export function sendSimplePlaylist(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, flavor: 'l-hls' | 'ts', view: ViewRequest = LIVE): void {
  if (flavor === 'ts' && !tsCompatible(track)) throw new OriginError('NOT_FOUND', `track '${track.name}' (${track.info.codec}) has no MPEG-TS variant (H.264 and AAC only)`);
  const muxedAudio = flavor === 'ts' && track.kind === 'video' ? (defaultTsAudio(stream) ?? null) : null;
  const version = flavor === 'ts' ? `${track.listVersion}|${muxedAudio?.listVersion}|${stream.ended}` : `${stream.version}`;
  const playlist = ctx.playlists.get(track, flavor + view.suffix, version, () => renderMediaPlaylist(stream, track, flavor === 'ts' ? { flavor, muxedAudio } : { flavor }, view, ctx.cueTags));
  if (!playlist) return notReady(req, res, `track '${track.name}'`);
  sendPlaylist(req, res, playlist, CacheControl.playlist(targetDuration(stream)));
}

/**
 * LL-HLS media playlist with blocking reload (`_HLS_msn`/`_HLS_part`) and delta updates
 * (`_HLS_skip`). Rendered once per timeline version and variant; held requests are released
 * together, with the same bytes, when the track changes.
 */
export function sendLlPlaylist(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, query: URLSearchParams | null, view: ViewRequest = LIVE): void {
  let directives;
  try {
    directives = parseDirectives(query);
  } catch (err) {
    ctx.metrics.hlsBlockingRejections.inc({ status: '400', reason: 'bad-directive' });
    throw err;
  }
  const ll = lowLatencyParams(stream);
  const render = (): Rendered | null => {
    // "_HLS_skip ... MUST be ignored" without CAN-SKIP-UNTIL or with EXT-X-ENDLIST: the renderer skips only while live.
    const skip = directives.skip !== null;
    if (isWebVtt(track)) {
      const text = (): string | null => renderMediaPlaylist(stream, track, { flavor: 'll-hls', partAddressing: 'uri', skip }, view);
      return ctx.playlists.get(track, (skip ? 'll-skip' : 'll') + view.suffix, stream.version, () => {
        const fmp4 = text();
        return fmp4 === null ? null : webVttLowLatency(fmp4);
      });
    }
    return ctx.playlists.get(track, (skip ? 'll-skip' : 'll') + view.suffix, stream.version, () => renderMediaPlaylist(stream, track, { flavor: 'll-hls', partAddressing: ctx.partAddressing, skip }, view, ctx.cueTags));
  };
  const first = render();
  if (!first || !ll) return notReady(req, res, `track '${track.name}'`);
  // A view away from the live edge offers no blocking reload: its directives are answered at once.
  if (directives.msn === null || !reachesEdge(stream, track, view.view)) return sendPlaylist(req, res, first, CacheControl.playlist(ll.targetDuration));
  // A playlist that ends with a complete segment and a bare hint changes within a part target:
  // it is not cached (video.js 8 asks again with the same URL, boundary.ts).
  const blocking = (): string => (endsWithBareHint(track) ? CacheControl.revalidate : CacheControl.blocking(ll.targetDuration));
  const decision = decideBlocking(stream, track, directives, ll);
  if (decision.kind === 'reject') {
    ctx.metrics.hlsBlockingRejections.inc({ status: '400', reason: decision.reason });
    return sendError(req, res, new OriginError('BAD_REQUEST', decision.message), CacheControl.blockingError(ll.targetDuration));
  }
  if (decision.kind === 'now') return sendPlaylist(req, res, first, blocking());
  ctx.holds.admit(req, res);
  const started = ctx.now();
  const leave = ctx.waiters(track).add(
    started + holdLimitMs(stream),
    guarded(ctx, 'held-request', req, res, true, () => {
      if (!isSatisfied(stream, track, decision.target)) return false;
      res.off('close', leave);
      ctx.metrics.hlsHoldSeconds.observe((ctx.now() - started) / 1000);
      sendPlaylist(req, res, render()!, blocking());
      return true;
    }),
    guarded(ctx, 'held-request', req, res, undefined, () => {
      res.off('close', leave);
      ctx.metrics.hlsHoldSeconds.observe((ctx.now() - started) / 1000);
      ctx.metrics.hlsBlockingRejections.inc({ status: '503', reason: 'hold-timeout' });
      sendError(req, res, new OriginError('NOT_READY', `playlist of '${track.name}' did not reach ${decision.target.msn}${decision.target.part === null ? '' : `.${decision.target.part}`} within three target durations`), CacheControl.noStore);
    }),
    // Shutting down: the playlist as it is, not to be cached under the blocking URL.
    guarded(ctx, 'held-request', req, res, undefined, () => {
      res.off('close', leave);
      sendPlaylist(req, res, render()!, CacheControl.noStore);
    }),
  );
  res.on('close', leave);
}

/** A partial segment: sent whole once complete; the hinted one is held until then. */
export function sendPart(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, msn: number, index: number): void {
  const answer = (): boolean => {
    const found = lookupPart(stream, track, msn, index);
    if (found.kind === 'wait') return false;
    if (found.kind === 'ready') {
      const seg = track.findSegment(msn)!;
      const part = seg.parts[index]!;
      // The last part of a segment cut short may exist whole on another origin: not immutable.
      const headers = mediaHeaders(track, seg.truncated && part === seg.lastPart ? 'cutShort' : 'complete').headers;
      withBytes(ctx, req, res, track, seg, (bytes) => sendBuffers(req, res, headers, bytes.part(part), part.byteLength));
    } else {
      // "SHOULD respond with Not Found" for a hinted part that will never exist (6.2.6).
      ctx.metrics.mediaNotFound.inc({ reason: found.reason === 'gone' ? 'expired' : found.reason });
      const cache = found.reason === 'future' ? CacheControl.notYet : CacheControl.blockingMediaError(targetDuration(stream));
      sendError(req, res, new OriginError('NOT_FOUND', found.message), cache);
    }
    return true;
  };
  if (answer()) return;
  holdFor(ctx, req, res, stream, track, answer);
}

/**
 * Runs `send` with a segment's bytes: at once when they are in memory, else once the store has
 * read them (a read that fails answers its error).
 */
function withBytes(sink: FaultSink, req: IncomingMessage, res: ServerResponse, track: Track, seg: Segment, send: (bytes: SegmentBytes) => void): void {
  const now = track.residentBytes(seg);
  if (now) return send(now);
  const guardedSend = guarded(sink, 'playback', req, res, undefined, send);
  track.bytes(seg).then(guardedSend, (err: unknown) => sendError(req, res, err));
}

/**
 * A segment: complete → 200 with Content-Length; in production → chunked as it grows (or, with a
 * Range, part-atomic per RFC 8673); the next one, not started yet → held until it starts.
 */
export function sendSegment(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, msn: number): void {
  const range = parseOpenRange(req.headers.range);
  const answer = (): boolean => {
    const seg = track.findSegment(msn);
    if (seg) {
      if (seg.state === 'gap') {
        ctx.metrics.mediaNotFound.inc({ reason: 'gap' });
        sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' is a gap (no media)`), CacheControl.shortError);
        return true;
      }
      if (seg.state === 'open') {
        if (range) {
          if (!rangeReady(seg, range)) return false;
          sendSegmentRange(ctx, req, res, segmentHeaders(track, seg).headers, track, seg, range);
          return true;
        }
        sendLive(req, res, segmentHeaders(track, seg), seg.body!);
        return true;
      }
      withBytes(ctx, req, res, track, seg, (bytes) => sendBuffers(req, res, segmentHeaders(track, seg).headers, bytes.range(0, seg.byteLength), seg.byteLength));
      return true;
    }
    // The next segment is held until it starts (L-HLS prefetch, LL-DASH requests at its
    // availability time): a 404 there would start a retry storm at every segment boundary.
    const last = track.lastMsn;
    if (last !== null && msn === last + 1 && !stream.ended && track.state !== 'ended') return false;
    const first = track.firstMsn;
    if (first !== null && msn < first) {
      ctx.metrics.mediaNotFound.inc({ reason: 'expired' });
      sendError(req, res, new OriginError('GONE', `segment ${msn} of '${track.name}' has left the window`), CacheControl.shortError);
    } else {
      ctx.metrics.mediaNotFound.inc({ reason: 'future' });
      sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' does not exist yet`), CacheControl.notYet);
    }
    return true;
  };
  if (answer()) return;
  holdFor(ctx, req, res, stream, track, answer);
}

type MediaState = 'complete' | 'growing' | 'cutShort';
const segmentHeaderSets = new WeakMap<Track, Record<MediaState, HeaderSet>>();

/** Headers of a track's media (segments and parts), complete, growing or cut short: made once per track. */
function mediaHeaders(track: Track, state: MediaState): HeaderSet {
  let sets = segmentHeaderSets.get(track);
  if (!sets) {
    const type = contentType(track);
    sets = {
      complete: headerSet({ 'Content-Type': type, 'Cache-Control': CacheControl.immutable }),
      growing: headerSet({ 'Content-Type': type, 'Cache-Control': CacheControl.growing }),
      cutShort: headerSet({ 'Content-Type': type, 'Cache-Control': CacheControl.cutShort }),
    };
    segmentHeaderSets.set(track, sets);
  }
  return sets[state];
}

function segmentHeaders(track: Track, seg: Segment): HeaderSet {
  return mediaHeaders(track, seg.state === 'open' ? 'growing' : seg.truncated ? 'cutShort' : 'complete');
}

/**
 * Holds a request on one or more tracks' waiter lists until `answer` answers it (returns true),
 * or 404s it after three target durations. Removed from every list on answer or disconnect.
 */
export function holdFor(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, tracks: Track | readonly Track[], answer: () => boolean): void {
  const list = Array.isArray(tracks) ? (tracks as readonly Track[]) : [tracks as Track];
  let done = false;
  const leaves: (() => void)[] = [];
  const leaveAll = (): void => {
    done = true;
    for (const leave of leaves) leave();
    res.off('close', leaveAll);
  };
  ctx.holds.admit(req, res);
  const deadline = ctx.now() + holdLimitMs(stream);
  for (const track of list) {
    leaves.push(
      ctx.waiters(track).add(
        deadline,
        guarded(ctx, 'held-request', req, res, true, () => {
          if (done) return true;
          if (!answer()) return false;
          leaveAll();
          return true;
        }),
        guarded(ctx, 'held-request', req, res, undefined, () => {
          if (done) return;
          leaveAll();
          ctx.metrics.mediaNotFound.inc({ reason: 'future' });
          sendError(req, res, new OriginError('NOT_FOUND', `nothing arrived for ${req.url} within three target durations`), CacheControl.notYet);
        }),
        // Shutting down: a 503 that a CDN retries on the other origin.
        guarded(ctx, 'held-request', req, res, undefined, () => {
          if (done) return;
          leaveAll();
          res.setHeader('Retry-After', '1');
          sendError(req, res, new OriginError('OVERLOADED', 'the origin is shutting down'), CacheControl.noStore);
        }),
      ),
    );
  }
  res.on('close', leaveAll);
}

const initResponses = new WeakMap<InitRecord, Prepared>();

export function sendInit(req: IncomingMessage, res: ServerResponse, track: Track, id: string): void {
  const record = track.findInit(id);
  if (!record) throw new OriginError('NOT_FOUND', `track '${track.name}' has no init segment ${id}`);
  let prepared = initResponses.get(record);
  if (!prepared) {
    prepared = prepare({ 'Content-Type': contentType(track), 'Cache-Control': CacheControl.immutable }, record.bytes);
    initResponses.set(record, prepared);
  }
  sendPrepared(req, res, prepared);
}
