import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { decideBlocking, isSatisfied, lookupPart, parseDirectives } from '../hls/blocking.js';
import { endsWithBareHint } from '../hls/boundary.js';
import { lowLatencyParams } from '../hls/low-latency.js';
import { renderMediaPlaylist, type PartAddressing } from '../hls/media-playlist.js';
import { defaultTsAudio, renderMultivariantPlaylist, tsCompatible } from '../hls/multivariant.js';
import type { PlaylistFlavor } from '../hls/uris.js';
import type { Metrics } from '../metrics.js';
import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { InitRecord, Track } from '../timeline/track.js';
import { CacheControl } from './cache-policy.js';
import { parseOpenRange, rangeReady, sendSegmentRange } from './live-range.js';
import { acceptsGzip, type Rendered, type RenderedCache } from './rendered-cache.js';
import { headerSet, prepare, sendBuffers, sendError, sendLive, sendPrepared, type HeaderSet, type Prepared } from './respond.js';
import type { WaiterList } from './waiters.js';

export interface HlsContext {
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly playlists: RenderedCache;
  readonly partAddressing: PartAddressing;
  readonly waiters: (track: Track) => WaiterList;
}

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';

function targetDuration(stream: Stream): number {
  return stream.targetDuration ?? Math.ceil(stream.options.targetDuration);
}

/** How long a request may be held: "... for longer than three times the Target Duration ... 503" (6.2.5.2). */
function holdLimitMs(stream: Stream): number {
  return 3 * targetDuration(stream) * 1000;
}

function contentType(track: Track): string {
  return track.kind === 'video' ? 'video/mp4' : 'audio/mp4';
}

function notReady(req: IncomingMessage, res: ServerResponse, what: string): void {
  res.setHeader('Retry-After', '1');
  sendError(req, res, new OriginError('NOT_READY', `${what} has no complete segment yet`), CacheControl.notYet);
}

function sendPlaylist(req: IncomingMessage, res: ServerResponse, playlist: Rendered, cacheControl: string): void {
  sendPrepared(req, res, playlist.response(PLAYLIST_TYPE, cacheControl, acceptsGzip(req.headers['accept-encoding'])));
}

export function sendMultivariant(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, flavor: PlaylistFlavor): void {
  let version = `${stream.ended}`;
  for (const t of stream.tracks.values()) version += `|${t.name}:${t.listVersion}`;
  const playlist = ctx.playlists.get(stream, flavor, version, () => renderMultivariantPlaylist(stream, flavor));
  if (!playlist) return notReady(req, res, `stream '${stream.name}'`);
  sendPlaylist(req, res, playlist, CacheControl.playlist(targetDuration(stream)));
}

/**
 * L-HLS media playlist (complete segments, then EXT-X-PREFETCH for what is being produced) or the
 * MPEG-TS one (complete segments, as `.ts`).
 */
export function sendSimplePlaylist(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, track: Track, flavor: 'l-hls' | 'ts'): void {
  const stream = track.stream;
  if (flavor === 'ts' && !tsCompatible(track)) throw new OriginError('NOT_FOUND', `track '${track.name}' (${track.info.codec}) has no MPEG-TS variant (H.264 and AAC only)`);
  const muxedAudio = flavor === 'ts' && track.kind === 'video' ? (defaultTsAudio(stream) ?? null) : null;
  const version = flavor === 'ts' ? `${track.listVersion}|${muxedAudio?.listVersion}|${stream.ended}` : `${stream.version}`;
  const playlist = ctx.playlists.get(track, flavor, version, () => renderMediaPlaylist(track, flavor === 'ts' ? { flavor, muxedAudio } : { flavor }));
  if (!playlist) return notReady(req, res, `track '${track.name}'`);
  sendPlaylist(req, res, playlist, CacheControl.playlist(targetDuration(stream)));
}

/**
 * LL-HLS media playlist with blocking reload (`_HLS_msn`/`_HLS_part`) and delta updates
 * (`_HLS_skip`). Rendered once per timeline version and variant; held requests are released
 * together, with the same bytes, when the track changes.
 */
export function sendLlPlaylist(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, track: Track, query: URLSearchParams | null): void {
  const stream = track.stream;
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
    return ctx.playlists.get(track, skip ? 'll-skip' : 'll', stream.version, () => renderMediaPlaylist(track, { flavor: 'll-hls', partAddressing: ctx.partAddressing, skip }));
  };
  const first = render();
  if (!first || !ll) return notReady(req, res, `track '${track.name}'`);
  if (directives.msn === null) return sendPlaylist(req, res, first, CacheControl.playlist(ll.targetDuration));
  // A playlist that ends with a complete segment and a bare hint changes within a part target:
  // it is not cached (video.js 8 asks again with the same URL, boundary.ts).
  const blocking = (): string => (endsWithBareHint(track) ? CacheControl.revalidate : CacheControl.blocking(ll.targetDuration));
  const decision = decideBlocking(track, directives, ll);
  if (decision.kind === 'reject') {
    ctx.metrics.hlsBlockingRejections.inc({ status: '400', reason: decision.reason });
    return sendError(req, res, new OriginError('BAD_REQUEST', decision.message), CacheControl.blockingError(ll.targetDuration));
  }
  if (decision.kind === 'now') return sendPlaylist(req, res, first, blocking());
  const started = ctx.now();
  const leave = ctx.waiters(track).add(
    started + holdLimitMs(stream),
    () => {
      if (!isSatisfied(track, decision.target)) return false;
      res.off('close', leave);
      ctx.metrics.hlsHoldSeconds.observe((ctx.now() - started) / 1000);
      sendPlaylist(req, res, render()!, blocking());
      return true;
    },
    () => {
      res.off('close', leave);
      ctx.metrics.hlsHoldSeconds.observe((ctx.now() - started) / 1000);
      ctx.metrics.hlsBlockingRejections.inc({ status: '503', reason: 'hold-timeout' });
      sendError(req, res, new OriginError('NOT_READY', `playlist of '${track.name}' did not reach ${decision.target.msn}${decision.target.part === null ? '' : `.${decision.target.part}`} within three target durations`), CacheControl.noStore);
    },
  );
  res.on('close', leave);
}

/** A partial segment: sent whole once complete; the hinted one is held until then. */
export function sendPart(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, track: Track, msn: number, index: number): void {
  const stream = track.stream;
  const answer = (): boolean => {
    const found = lookupPart(track, msn, index);
    if (found.kind === 'wait') return false;
    if (found.kind === 'ready') {
      const seg = track.findSegment(msn)!;
      const part = seg.parts[index]!;
      sendBuffers(req, res, mediaHeaders(track, 'complete').headers, seg.partData(part), part.byteLength);
    } else {
      // "SHOULD respond with Not Found" for a hinted part that will never exist (6.2.6).
      ctx.metrics.mediaNotFound.inc({ reason: found.reason === 'gone' ? 'expired' : found.reason });
      const cache = found.reason === 'future' ? CacheControl.notYet : CacheControl.blockingMediaError(targetDuration(stream));
      sendError(req, res, new OriginError('NOT_FOUND', found.message), cache);
    }
    return true;
  };
  if (answer()) return;
  holdFor(ctx, req, res, track, answer);
}

/**
 * A segment: complete → 200 with Content-Length; in production → chunked as it grows (or, with a
 * Range, part-atomic per RFC 8673); the next one, not started yet → held until it starts.
 */
export function sendSegment(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, track: Track, msn: number): void {
  const range = parseOpenRange(req.headers.range);
  const answer = (): boolean => {
    const seg = track.findSegment(msn);
    if (seg) {
      if (seg.state === 'gap') {
        ctx.metrics.mediaNotFound.inc({ reason: 'gap' });
        sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' is a gap (no media)`), CacheControl.shortError);
        return true;
      }
      if (range && seg.state === 'open') {
        if (!rangeReady(seg, range)) return false;
        sendSegmentRange(req, res, segmentHeaders(track, seg).headers, track, seg, range);
        return true;
      }
      sendLive(req, res, segmentHeaders(track, seg), seg.body);
      return true;
    }
    // The next segment is held until it starts (L-HLS prefetch, LL-DASH requests at its
    // availability time): a 404 there would start a retry storm at every segment boundary.
    const next = (track.lastMsn ?? track.stream.firstMsn - 1) + 1;
    if (msn === next && !track.stream.ended && track.state !== 'ended') return false;
    const first = track.segments[0];
    if (first && msn < first.msn) {
      ctx.metrics.mediaNotFound.inc({ reason: 'expired' });
      sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' has left the window`), CacheControl.shortError);
    } else {
      ctx.metrics.mediaNotFound.inc({ reason: 'future' });
      sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' does not exist yet`), CacheControl.notYet);
    }
    return true;
  };
  if (answer()) return;
  holdFor(ctx, req, res, track, answer);
}

const segmentHeaderSets = new WeakMap<Track, { complete: HeaderSet; growing: HeaderSet }>();

/** Headers of a track's media (segments and parts), complete or growing: made once per track. */
function mediaHeaders(track: Track, state: 'complete' | 'growing'): HeaderSet {
  let sets = segmentHeaderSets.get(track);
  if (!sets) {
    const type = contentType(track);
    sets = { complete: headerSet({ 'Content-Type': type, 'Cache-Control': CacheControl.immutable }), growing: headerSet({ 'Content-Type': type, 'Cache-Control': CacheControl.growing }) };
    segmentHeaderSets.set(track, sets);
  }
  return sets[state];
}

function segmentHeaders(track: Track, seg: Segment): HeaderSet {
  return mediaHeaders(track, seg.state === 'complete' ? 'complete' : 'growing');
}

/**
 * Holds a request on one or more tracks' waiter lists until `answer` answers it (returns true),
 * or 404s it after three target durations. Removed from every list on answer or disconnect.
 */
export function holdFor(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, tracks: Track | readonly Track[], answer: () => boolean): void {
  const list = Array.isArray(tracks) ? (tracks as readonly Track[]) : [tracks as Track];
  let done = false;
  const leaves: (() => void)[] = [];
  const leaveAll = (): void => {
    done = true;
    for (const leave of leaves) leave();
    res.off('close', leaveAll);
  };
  const deadline = ctx.now() + holdLimitMs(list[0]!.stream);
  for (const track of list) {
    leaves.push(
      ctx.waiters(track).add(
        deadline,
        () => {
          if (done) return true;
          if (!answer()) return false;
          leaveAll();
          return true;
        },
        () => {
          if (done) return;
          leaveAll();
          ctx.metrics.mediaNotFound.inc({ reason: 'future' });
          sendError(req, res, new OriginError('NOT_FOUND', `nothing arrived for ${req.url} within three target durations`), CacheControl.notYet);
        },
      ),
    );
  }
  res.on('close', leaveAll);
}

const initResponses = new WeakMap<InitRecord, Prepared>();

export function sendInit(req: IncomingMessage, res: ServerResponse, track: Track, id: number): void {
  const record = track.findInit(id);
  if (!record) throw new OriginError('NOT_FOUND', `track '${track.name}' has no init segment ${id}`);
  let prepared = initResponses.get(record);
  if (!prepared) {
    prepared = prepare({ 'Content-Type': contentType(track), 'Cache-Control': CacheControl.immutable }, record.bytes);
    initResponses.set(record, prepared);
  }
  sendPrepared(req, res, prepared);
}
