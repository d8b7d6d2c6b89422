import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { HESP_TYPE, hespPresentations, renderHespManifest } from '../hesp/manifest.js';
import { initializationPacket } from '../hesp/packets.js';
import { lookupPacket } from '../hesp/sequence.js';
import type { Metrics } from '../metrics.js';
import type { Stream } from '../timeline/stream.js';
import type { SegmentBytes } from '../timeline/segment.js';
import type { Track } from '../timeline/track.js';
import { CacheControl } from './cache-policy.js';
import { guarded, type FaultSink } from './guard.js';
import { sendRendered, type RenderedCache } from './rendered-cache.js';
import { sendBuffers, sendError } from './respond.js';

export interface HespContext extends FaultSink {
  readonly playlists: RenderedCache;
  readonly metrics: Metrics;
}

const HESP_JSON_TYPE = `${HESP_TYPE}; charset=utf-8`;

/** `/live/{stream}/hesp.json`. */
export function sendHespManifest(ctx: HespContext, req: IncomingMessage, res: ServerResponse, stream: Stream): void {
  let version = `${stream.ended}|${stream.tracks.size}`;
  for (const t of stream.tracks.values()) version += `|${t.listVersion}:${t.lastMsn}`;
  const rendered = ctx.playlists.get(stream, 'hesp', version, () => renderHespManifest(stream, { utcUrl: '/utc' }));
  if (!rendered) {
    res.setHeader('Retry-After', '1');
    return sendError(req, res, new OriginError('NOT_YET', `stream '${stream.name}' has no complete segment yet`), CacheControl.notYet);
  }
  sendRendered(req, res, rendered, HESP_JSON_TYPE, CacheControl.mpd(stream.nominalSegmentDuration ?? stream.options.targetDuration));
}

/**
 * `{track}/{tag}/hesp-{initId}.mp4`: an Initialization Packet by sequence number, or `now` for
 * the newest. Packets exist at the encoder's IDRs; any other slot gets the last valid packet.
 */
export function sendHespPacket(ctx: HespContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, seq: number | 'now'): void {
  const found = lookupPacket(track, hespPresentations(stream), seq);
  if (found.kind !== 'packet') {
    ctx.metrics.mediaNotFound.inc({ reason: found.kind === 'gone' ? 'expired' : 'future' });
    const message = found.kind === 'gone' ? `initialization packet ${seq} of '${track.name}' has left the window` : `initialization packet ${seq} of '${track.name}' does not exist yet`;
    return sendError(req, res, new OriginError('NOT_FOUND', message), found.kind === 'gone' ? CacheControl.shortError : CacheControl.notYet);
  }
  const entry = found.entry;
  // `now` moves with every IDR: a very short lifetime. A numbered packet never changes.
  const cache = seq === 'now' ? CacheControl.moving : CacheControl.immutable;
  const send = guarded(ctx, 'playback', req, res, undefined, (bytes: SegmentBytes): void => {
    const packet = initializationPacket(track, entry, bytes);
    const length = packet.reduce((n, b) => n + b.length, 0);
    sendBuffers(req, res, { 'Content-Type': track.kind === 'video' ? 'video/mp4' : 'audio/mp4', 'Cache-Control': cache }, packet, length);
  });
  const now = track.residentBytes(entry.segment);
  if (now) return send(now);
  track.bytes(entry.segment).then(send, (err: unknown) => sendError(req, res, err));
}
