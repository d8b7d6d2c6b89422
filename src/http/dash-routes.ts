import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { renderMpd } from '../dash/mpd.js';
import { PeriodTracker, type AddressingMode } from '../dash/periods.js';
import type { Stream } from '../timeline/stream.js';
import { CacheControl } from './cache-policy.js';
import { acceptsGzip, type RenderedCache } from './rendered-cache.js';
import { sendError, sendPrepared } from './respond.js';

export interface DashContext {
  readonly playlists: RenderedCache;
  /** ServiceDescription Latency@target, seconds. */
  readonly targetLatency: number;
}

const MPD_TYPE = 'application/dash+xml';
const trackers = new WeakMap<Stream, Record<AddressingMode, PeriodTracker>>();

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
    return sendError(req, res, new OriginError('NOT_YET', `stream '${stream.name}' has no complete segment yet`), CacheControl.notYet);
  }
  const etag = rendered.etag;
  const cacheControl = CacheControl.mpd(stream.nominalSegmentDuration ?? stream.options.targetDuration);
  const match = req.headers['if-none-match'];
  if (match && match.split(',').some((m) => m.trim() === etag || m.trim() === '*')) {
    res.writeHead(304, { 'Content-Type': MPD_TYPE, 'Cache-Control': cacheControl, ETag: etag, Vary: 'Accept-Encoding', 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Age, Date, ETag' });
    res.end();
    return;
  }
  sendPrepared(req, res, rendered.response(MPD_TYPE, cacheControl, acceptsGzip(req.headers['accept-encoding']), { ETag: etag }));
}
