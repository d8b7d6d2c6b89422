import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { renderMpd } from '../dash/mpd.js';
import { PeriodTracker, type AddressingMode } from '../dash/periods.js';
import type { PlaylistCache } from '../hls/playlist-cache.js';
import type { Stream } from '../timeline/stream.js';
import { CacheControl } from './cache-policy.js';
import { sendBuffer, sendError } from './respond.js';

export interface DashContext {
  readonly playlists: PlaylistCache;
  /** ServiceDescription Latency@target, seconds. */
  readonly targetLatency: number;
}

const MPD_TYPE = 'application/dash+xml';
const trackers = new WeakMap<Stream, Record<AddressingMode, PeriodTracker>>();
const etags = new WeakMap<Buffer, string>();

function trackerOf(stream: Stream, mode: AddressingMode): PeriodTracker {
  let t = trackers.get(stream);
  if (!t) {
    t = { number: new PeriodTracker('number'), timeline: new PeriodTracker('timeline') };
    trackers.set(stream, t);
  }
  return t[mode];
}

/** `/live/{stream}/manifest.mpd` (LL, `$Number$`) and `?mode=timeline` (SegmentTimeline). */
export function sendMpd(ctx: DashContext, req: IncomingMessage, res: ServerResponse, stream: Stream, query: URLSearchParams): void {
  const modeParam = query.get('mode');
  if (modeParam !== null && modeParam !== 'timeline' && modeParam !== 'number') throw new OriginError('BAD_REQUEST', `mode '${modeParam}' is neither 'timeline' nor 'number'`);
  const mode: AddressingMode = modeParam === 'timeline' ? 'timeline' : 'number';
  let version = `${stream.ended}|${stream.tracks.size}`;
  for (const t of stream.tracks.values()) version += `|${t.listVersion}:${t.lastMsn}`;
  const rendered = ctx.playlists.get(stream, `mpd|${mode}`, version, () =>
    renderMpd(stream, trackerOf(stream, mode), { mode, targetLatency: ctx.targetLatency, utcUrl: '/utc' }),
  );
  if (!rendered) {
    res.setHeader('Retry-After', '1');
    return sendError(req, res, new OriginError('NOT_READY', `stream '${stream.name}' has no complete segment yet`), CacheControl.notYet);
  }
  let etag = etags.get(rendered.bytes);
  if (!etag) {
    etag = `"${createHash('sha1').update(rendered.bytes).digest('base64url').slice(0, 22)}"`;
    etags.set(rendered.bytes, etag);
  }
  const headers = { 'Content-Type': MPD_TYPE, 'Cache-Control': CacheControl.mpd(stream.nominalSegmentDuration ?? stream.options.targetDuration), ETag: etag, Vary: 'Accept-Encoding' };
  const match = req.headers['if-none-match'];
  if (match && match.split(',').some((m) => m.trim() === etag || m.trim() === '*')) {
    res.writeHead(304, { ...headers, 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Age, Date, ETag' });
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  if (gzip) sendBuffer(req, res, { ...headers, 'Content-Encoding': 'gzip' }, rendered.gzip);
  else sendBuffer(req, res, headers, rendered.bytes);
}
