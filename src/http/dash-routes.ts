import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { renderMpd } from '../dash/mpd.js';
import type { AddressingMode } from '../timeline/periods.js';
import type { Stream } from '../timeline/stream.js';
import { CacheControl } from './cache-policy.js';
import { sendRendered, type RenderedCache } from './rendered-cache.js';
import { sendError } from './respond.js';
import { LIVE, type ViewRequest } from '../dvr/view.js';

export interface DashContext {
  readonly playlists: RenderedCache;
  /** ServiceDescription Latency@target, seconds. */
  readonly targetLatency: number;
}

const MPD_TYPE = 'application/dash+xml';

/** `/live/{stream}/manifest.mpd` (LL, `$Number$`) and `?mode=timeline` (SegmentTimeline). */
export function sendMpd(ctx: DashContext, req: IncomingMessage, res: ServerResponse, stream: Stream, query: URLSearchParams, view: ViewRequest = LIVE): void {
  const modeParam = query.get('mode');
  if (modeParam !== null && modeParam !== 'timeline' && modeParam !== 'number') throw new OriginError('BAD_REQUEST', `mode '${modeParam}' is neither 'timeline' nor 'number'`);
  const mode: AddressingMode = modeParam === 'timeline' ? 'timeline' : 'number';
  let version = `${stream.ended}|${stream.tracks.size}`;
  for (const t of stream.tracks.values()) version += `|${t.listVersion}:${t.lastMsn}`;
  const rendered = ctx.playlists.get(stream, `mpd|${mode}${view.suffix}`, version, () => renderMpd(stream, { mode, targetLatency: ctx.targetLatency, utcUrl: '/utc' }, view));
  if (!rendered) {
    res.setHeader('Retry-After', '1');
    return sendError(req, res, new OriginError('NOT_YET', `stream '${stream.name}' has no complete segment yet`), CacheControl.notYet);
  }
  sendRendered(req, res, rendered, MPD_TYPE, CacheControl.mpd(stream.nominalSegmentDuration ?? stream.options.targetDuration));
}
