import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { renderMediaPlaylist } from '../hls/media-playlist.js';
import { renderMultivariantPlaylist } from '../hls/multivariant.js';
import { PlaylistCache, type RenderedPlaylist } from '../hls/playlist-cache.js';
import type { Logger } from '../log.js';
import type { Metrics, RouteClass } from '../metrics.js';
import type { StreamRegistry } from '../timeline/registry.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { CacheControl } from './cache-policy.js';
import { PREFLIGHT_HEADERS, sendBuffer, sendError, sendLive } from './respond.js';

export interface PlaybackContext {
  readonly streams: StreamRegistry;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now: () => number;
}

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const SEGMENT = /^(\d{1,15})\.m4s$/;
const INIT = /^init-(\d{1,9})\.mp4$/;

/** The playback listener: one small router, every error through sendError. */
export function createPlaybackHandler(ctx: PlaybackContext): (req: IncomingMessage, res: ServerResponse) => void {
  const playlists = new PlaylistCache();
  return (req, res) => {
    const started = process.hrtime.bigint();
    let route: RouteClass = 'other';
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      ctx.metrics.httpRequests.inc({ listener: 'playback', route, status: String(res.statusCode) });
      ctx.metrics.httpDuration.observe({ route }, seconds);
      ctx.logger.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    });
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, PREFLIGHT_HEADERS);
        res.end();
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD, OPTIONS');
        throw new OriginError('METHOD_NOT_ALLOWED', `${req.method} is not allowed here`);
      }
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const parts = path.split('/');
      if (path === '/utc') {
        route = 'utc';
        return sendUtc(req, res, ctx.now());
      }
      if (path === '/healthz') {
        route = 'health';
        const body = Buffer.from(JSON.stringify({ status: 'ok', streams: ctx.streams.size }) + '\n');
        return sendBuffer(req, res, { 'Content-Type': 'application/json', 'Cache-Control': CacheControl.noStore }, body);
      }
      if (path === '/metrics') {
        route = 'metrics';
        ctx.metrics.registry.metrics().then(
          (text) => sendBuffer(req, res, { 'Content-Type': ctx.metrics.registry.contentType, 'Cache-Control': CacheControl.noStore }, Buffer.from(text)),
          (err: unknown) => sendError(req, res, err),
        );
        return;
      }
      if (parts[1] !== 'live' || parts.length < 4) throw new OriginError('NOT_FOUND', `no such resource: ${path}`);
      const stream = ctx.streams.get(parts[2]!);
      if (!stream) throw new OriginError('NOT_FOUND', `stream '${parts[2]}' is not live`);
      if (parts.length === 4 && parts[3] === 'master.m3u8') {
        route = 'multivariant';
        return sendMultivariant(req, res, stream, playlists);
      }
      const track = stream.tracks.get(parts[3]!);
      if (!track) throw new OriginError('NOT_FOUND', `stream '${stream.name}' has no track '${parts[3]}'`);
      if (parts.length === 5 && parts[4] === 'index.m3u8') {
        route = 'playlist';
        return sendMediaPlaylist(req, res, track, playlists);
      }
      if (parts.length === 6) {
        if (parts[4] !== stream.tag) {
          throw new OriginError('NOT_FOUND', `'${parts[4]}' is not the current instance of stream '${stream.name}' (${stream.tag})`);
        }
        const file = parts[5]!;
        const seg = SEGMENT.exec(file);
        if (seg) {
          route = 'segment';
          return sendSegment(req, res, track, Number(seg[1]));
        }
        const init = INIT.exec(file);
        if (init) {
          route = 'init';
          const record = track.findInit(Number(init[1]));
          if (!record) throw new OriginError('NOT_FOUND', `track '${track.name}' has no init segment ${init[1]}`);
          return sendBuffer(req, res, { 'Content-Type': contentType(track), 'Cache-Control': CacheControl.immutable }, record.bytes);
        }
      }
      throw new OriginError('NOT_FOUND', `no such resource: ${path}`);
    } catch (err) {
      sendError(req, res, err);
    }
  };
}

function contentType(track: Track): string {
  return track.kind === 'video' ? 'video/mp4' : 'audio/mp4';
}

function sendUtc(req: IncomingMessage, res: ServerResponse, nowMs: number): void {
  const body = Buffer.from(new Date(nowMs).toISOString());
  sendBuffer(req, res, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': CacheControl.noStore }, body);
}

function sendPlaylist(req: IncomingMessage, res: ServerResponse, playlist: RenderedPlaylist, cacheControl: string): void {
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  const headers = { 'Content-Type': PLAYLIST_TYPE, 'Cache-Control': cacheControl, Vary: 'Accept-Encoding' };
  if (gzip) sendBuffer(req, res, { ...headers, 'Content-Encoding': 'gzip' }, playlist.gzip);
  else sendBuffer(req, res, headers, playlist.bytes);
}

function notReady(what: string): OriginError {
  return new OriginError('NOT_READY', `${what} has no complete segment yet`);
}

function sendMultivariant(req: IncomingMessage, res: ServerResponse, stream: Stream, cache: PlaylistCache): void {
  let version = `${stream.ended}`;
  for (const t of stream.tracks.values()) version += `|${t.name}:${t.listVersion}`;
  const playlist = cache.get(stream, 'multivariant', version, () => renderMultivariantPlaylist(stream));
  if (!playlist) return notYet(req, res, notReady(`stream '${stream.name}'`));
  sendPlaylist(req, res, playlist, CacheControl.playlist(stream.targetDuration ?? stream.options.targetDuration));
}

function sendMediaPlaylist(req: IncomingMessage, res: ServerResponse, track: Track, cache: PlaylistCache): void {
  const stream = track.stream;
  const playlist = cache.get(track, 'hls', `${track.listVersion}|${stream.ended}|${stream.targetDuration}`, () => renderMediaPlaylist(track));
  if (!playlist) return notYet(req, res, notReady(`track '${track.name}'`));
  sendPlaylist(req, res, playlist, CacheControl.playlist(stream.targetDuration ?? stream.options.targetDuration));
}

function notYet(req: IncomingMessage, res: ServerResponse, err: OriginError): void {
  res.setHeader('Retry-After', '1');
  sendError(req, res, err, CacheControl.notYet);
}

function sendSegment(req: IncomingMessage, res: ServerResponse, track: Track, msn: number): void {
  const segment = track.findSegment(msn);
  if (!segment) {
    const last = track.lastMsn;
    if (last === null || msn > last) return sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' does not exist yet`), CacheControl.notYet);
    throw new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' has left the window`);
  }
  if (segment.state === 'gap') throw new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' is a gap (no media)`);
  const headers = { 'Content-Type': contentType(track), 'Cache-Control': segment.state === 'complete' ? CacheControl.immutable : CacheControl.growing };
  sendLive(req, res, headers, segment.body);
}

