import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { PeriodTracker } from '../dash/periods.js';
import { HESP_TYPE, hespPresentations, renderHespManifest } from '../hesp/manifest.js';
import { initializationPacket } from '../hesp/packets.js';
import { lookupPacket } from '../hesp/sequence.js';
import type { Metrics } from '../metrics.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { CacheControl } from './cache-policy.js';
import { acceptsGzip, type RenderedCache } from './rendered-cache.js';
import { sendBuffers, sendError, sendPrepared } from './respond.js';

export interface HespContext {
  readonly playlists: RenderedCache;
  readonly metrics: Metrics;
  readonly now: () => number;
}

const HESP_JSON_TYPE = `${HESP_TYPE}; charset=utf-8`;
const trackers = new WeakMap<Stream, PeriodTracker>();

function trackerOf(stream: Stream): PeriodTracker {
  let t = trackers.get(stream);
  if (!t) {
    t = new PeriodTracker('number');
    trackers.set(stream, t);
  }
  return t;
}

/** `/live/{stream}/hesp.json`. */
export function sendHespManifest(ctx: HespContext, req: IncomingMessage, res: ServerResponse, stream: Stream): void {
  let version = `${stream.ended}|${stream.tracks.size}`;
  for (const t of stream.tracks.values()) version += `|${t.listVersion}:${t.lastMsn}`;
  const rendered = ctx.playlists.get(stream, 'hesp', version, () => renderHespManifest(stream, trackerOf(stream), { nowMs: ctx.now(), utcUrl: '/utc' }));
  if (!rendered) {
    res.setHeader('Retry-After', '1');
    return sendError(req, res, new OriginError('NOT_YET', `stream '${stream.name}' has no complete segment yet`), CacheControl.notYet);
  }
  sendPrepared(req, res, rendered.response(HESP_JSON_TYPE, CacheControl.shortError, acceptsGzip(req.headers['accept-encoding'])));
}

/**
 * `{track}/{tag}/hesp-{initId}.mp4`: an Initialization Packet by sequence number, or `now` for
 * the newest. Packets exist at the encoder's IDRs; any other slot gets the last valid packet.
 */
export function sendHespPacket(ctx: HespContext, req: IncomingMessage, res: ServerResponse, track: Track, initId: string): void {
  const seq = initId === 'now' ? 'now' : Number(initId);
  const found = lookupPacket(track, hespPresentations(track.stream, trackerOf(track.stream)), seq);
  if (found.kind !== 'packet') {
    ctx.metrics.mediaNotFound.inc({ reason: found.kind === 'gone' ? 'expired' : 'future' });
    const message = found.kind === 'gone' ? `initialization packet ${initId} of '${track.name}' has left the window` : `initialization packet ${initId} of '${track.name}' does not exist yet`;
    return sendError(req, res, new OriginError('NOT_FOUND', message), found.kind === 'gone' ? CacheControl.shortError : CacheControl.notYet);
  }
  const bytes = initializationPacket(track, found.entry);
  const length = bytes.reduce((n, b) => n + b.length, 0);
  // `now` moves with every IDR: a very short lifetime. A numbered packet never changes.
  const cache = seq === 'now' ? CacheControl.moving : CacheControl.immutable;
  sendBuffers(req, res, { 'Content-Type': track.kind === 'video' ? 'video/mp4' : 'audio/mp4', 'Cache-Control': cache }, bytes, length);
}
