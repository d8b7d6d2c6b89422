import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import type { PartAddressing } from '../hls/media-playlist.js';
import type { Logger } from '../log.js';
import type { Metrics, RouteClass } from '../metrics.js';
import { Audience } from '../status/audience.js';
import type { StreamRegistry } from '../timeline/registry.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { sendStreamApi, type ApiContext } from './api-routes.js';
import { watchPath, type StatusPage } from './status-routes.js';
import { CacheControl } from './cache-policy.js';
import { RenderedCache } from './rendered-cache.js';
import { sendMpd, type DashContext } from './dash-routes.js';
import { sendInit, sendLlPlaylist, sendMultivariant, sendPart, sendSegment, sendSimplePlaylist, type HlsContext } from './hls-routes.js';
import { sendTsSegment, TsCache } from './ts-routes.js';
import { sendHespManifest, sendHespPacket, type HespContext } from './hesp-routes.js';
import { sendBuffer, sendError } from './respond.js';
import { WaiterList } from './waiters.js';
import { reportFault } from './guard.js';
import { checkView, LIVE, parseView, type ViewRequest } from '../dvr/view.js';
import type { PlaybackGate } from './gate.js';

export interface PlaybackContext {
  readonly streams: StreamRegistry;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now: () => number;
  readonly partAddressing: PartAddressing;
  /** DASH ServiceDescription Latency@target, seconds. */
  readonly targetLatency: number;
  /** Bytes of rendered MPEG-TS segments kept. */
  readonly tsCacheBytes: number;
  /** The operator's page at `/`; null when it is off. */
  readonly statusPage: StatusPage | null;
  /** CORS, request checks, signed URLs and held-request slots. */
  readonly gate: PlaybackGate;
}

export interface PlaybackHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Answers held requests that waited too long; call a few times a second. */
  sweep(): void;
  /** Requests held right now. */
  held(): number;
  /** Requests held right now on one stream's tracks. */
  heldOn(stream: Stream): number;
  /** Responses not finished yet (held, growing, being sent). */
  open(): number;
  /** Shutting down: every held request is answered now, every later response closes its connection. */
  releaseAll(): void;
}


/** The playback listener: one small router; every error goes through sendError. */
export function createPlaybackHandler(ctx: PlaybackContext): PlaybackHandler {
  const lists = new Map<Track, WaiterList>();
  const tsCache = new TsCache(ctx.tsCacheBytes);
  ctx.streams.removed.subscribe((stream) => {
    for (const t of stream.tracks.values()) lists.delete(t);
    tsCache.forget(stream.tag);
  });
  const hls: HlsContext = {
    metrics: ctx.metrics,
    logger: ctx.logger,
    now: ctx.now,
    playlists: new RenderedCache(),
    partAddressing: ctx.partAddressing,
    holds: ctx.gate.holds,
    waiters(track) {
      let list = lists.get(track);
      if (!list) {
        list = new WaiterList(track, (err) => reportFault(ctx, 'held-request', err, { track: track.name }));
        lists.set(track, list);
      }
      return list;
    },
  };

  const dash: DashContext = { playlists: hls.playlists, targetLatency: ctx.targetLatency };
  const hesp: HespContext = { playlists: hls.playlists, metrics: ctx.metrics, logger: ctx.logger };
  const audience = new Audience();
  const api: ApiContext = {
    streams: ctx.streams,
    now: ctx.now,
    counters: { held: (stream) => handler.heldOn(stream), viewers: (stream, nowMs) => audience.count(stream, nowMs) },
    pagePath: ctx.statusPage ? watchPath : null,
  };

  const debug = ctx.logger.isLevelEnabled('debug');
  const onResponseError = (err: Error): void => reportFault(ctx, 'playback', err);
  let open = 0;
  const handler = ((req, res) => {
    const started = performance.now();
    let route: RouteClass = 'other';
    open++;
    // A write after the end (a bug) emits 'error' on the response: logged, never uncaught.
    res.on('error', onResponseError);
    res.on('close', () => {
      open--;
      const seconds = (performance.now() - started) / 1000;
      ctx.metrics.observeRequest('playback', route, res.statusCode, seconds);
      if (debug) ctx.logger.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    });
    try {
      const entered = ctx.gate.enter(req, res);
      if (!entered) return;
      const { path, target } = entered;
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      switch (target.kind) {
        case 'utc': {
          route = 'utc';
          const body = Buffer.from(new Date(ctx.now()).toISOString());
          return sendBuffer(req, res, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': CacheControl.noStore }, body);
        }
        case 'health': {
          route = 'health';
          const body = Buffer.from(JSON.stringify({ status: 'ok', streams: ctx.streams.size }) + '\n');
          return sendBuffer(req, res, { 'Content-Type': 'application/json', 'Cache-Control': CacheControl.noStore }, body);
        }
        case 'metrics':
          route = 'metrics';
          ctx.metrics.registry.metrics().then(
            (text) => sendBuffer(req, res, { 'Content-Type': ctx.metrics.registry.contentType, 'Cache-Control': CacheControl.noStore }, Buffer.from(text)),
            (err: unknown) => sendError(req, res, err),
          );
          return;
        case 'api':
          route = 'api';
          return sendStreamApi(api, req, res, target.stream);
        case 'other':
          if (ctx.statusPage?.handle(req, res, path)) {
            route = 'status-page';
            return;
          }
          throw new OriginError('NOT_FOUND', `no such resource: ${path}`);
      }
      const stream = ctx.streams.get(target.stream);
      if (!stream) throw new OriginError('NOT_FOUND', `stream '${target.stream}' is not live`);
      audience.seen(stream, `${req.socket.remoteAddress}|${req.headers['user-agent']}`, ctx.now());
      const query = q < 0 ? null : new URLSearchParams(url.slice(q + 1));
      // The DVR view of a manifest (dvr, start, end, time_shift): checked against what is held.
      const view = (): ViewRequest => {
        const v = parseView(query, stream);
        if (v !== LIVE) checkView(stream, v);
        return v;
      };
      switch (target.kind) {
        case 'master':
          route = 'multivariant';
          return sendMultivariant(hls, req, res, stream, target.flavor, view());
        case 'hesp':
          route = 'hesp';
          return sendHespManifest(hesp, req, res, stream);
        case 'mpd':
          route = 'mpd';
          return sendMpd(dash, req, res, stream, query ?? new URLSearchParams(), view());
      }
      const track = stream.tracks.get(target.track);
      if (!track) throw new OriginError('NOT_FOUND', `stream '${stream.name}' has no track '${target.track}'`);
      if (target.kind === 'playlist') {
        route = 'playlist';
        if (target.flavor === 'll-hls') return sendLlPlaylist(hls, req, res, stream, track, query, view());
        return sendSimplePlaylist(hls, req, res, stream, track, target.flavor, view());
      }
      if (target.tag !== stream.tag) {
        throw new OriginError('NOT_FOUND', `'${target.tag}' is not the current instance of stream '${stream.name}' (${stream.tag})`);
      }
      switch (target.kind) {
        case 'segment':
          route = 'segment';
          return sendSegment(hls, req, res, stream, track, target.msn);
        case 'ts':
          route = 'ts-segment';
          return sendTsSegment(hls, tsCache, req, res, stream, track, target.msn);
        case 'part':
          route = 'part';
          return sendPart(hls, req, res, stream, track, target.msn, target.part);
        case 'init':
          route = 'init';
          return sendInit(req, res, track, target.id);
        case 'hesp-packet':
          route = 'hesp-packet';
          return sendHespPacket(hesp, req, res, stream, track, target.seq);
      }
    } catch (err) {
      if (!(err instanceof OriginError)) reportFault(ctx, 'playback', err, { url: req.url });
      if (err instanceof OriginError && err.code === 'NOT_FOUND' && /\.(m4s|mp4|ts)$/.test(req.url?.split('?')[0] ?? '')) {
        ctx.metrics.mediaNotFound.inc({ reason: 'unknown' });
      }
      sendError(req, res, err);
    }
  }) as PlaybackHandler;
  let sweeps = 0;
  handler.sweep = () => {
    const now = ctx.now();
    for (const list of lists.values()) list.expire(now);
    if (++sweeps % 100 === 0) tsCache.trimIdle();
  };
  handler.held = () => {
    let n = 0;
    for (const list of lists.values()) n += list.size;
    return n;
  };
  handler.open = () => open;
  handler.releaseAll = () => {
    ctx.gate.closing = true;
    for (const list of lists.values()) list.releaseAll();
  };
  handler.heldOn = (stream) => {
    let n = 0;
    for (const t of stream.tracks.values()) n += lists.get(t)?.size ?? 0;
    return n;
  };
  return handler;
}
