import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { lookupPart } from '../hls/blocking.js';
import { isWebVtt } from '../hls/renditions.js';
import { renderVttPlaylist } from '../hls/subtitle-playlist.js';
import { renderWebVtt, timestampMapMpegts, wvttCues } from '../hls/webvtt.js';
import type { SampleRun } from '../isobmff/sample-run.js';
import type { Part, Segment, SegmentBytes } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import type { VttMedia } from '../urls.js';
import { LIVE, type ViewRequest } from '../dvr/view.js';
import { CacheControl } from './cache-policy.js';
import { holdFor, type HlsContext } from './hls-routes.js';
import { sendRendered } from './rendered-cache.js';
import { sendBuffer, sendError } from './respond.js';
import { guarded } from './guard.js';

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const VTT_TYPE = 'text/vtt; charset=utf-8';

function targetDuration(stream: Stream): number {
  return stream.targetDuration ?? Math.ceil(stream.options.targetDuration);
}

/** `{track}/lhls.m3u8|ts.m3u8` of a WebVTT track: whole `.vtt` segments (subtitle-playlist.ts). */
export function sendVttPlaylist(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, flavor: 'l-hls' | 'ts', view: ViewRequest = LIVE): void {
  const playlist = ctx.playlists.get(track, `vtt-${flavor}${view.suffix}`, stream.version, () => renderVttPlaylist(stream, track, flavor, view));
  if (!playlist) {
    res.setHeader('Retry-After', '1');
    return sendError(req, res, new OriginError('NOT_YET', `track '${track.name}' has no complete segment yet`), CacheControl.notYet);
  }
  sendRendered(req, res, playlist, PLAYLIST_TYPE, CacheControl.playlist(targetDuration(stream)));
}

/** Converted segments and parts, per media timeline: each is converted once, whoever asks. */
const converted = new WeakMap<object, Partial<Record<VttMedia, Buffer>>>();

/** The WebVTT text of a complete `wvtt` segment, or of one of its complete parts. */
export function webVttOf(track: Track, bytes: SegmentBytes, media: VttMedia, part: Part | null = null): Buffer {
  const seg = bytes.segment;
  const key = part ?? seg;
  const cached = converted.get(key) ?? {};
  const hit = cached[media];
  if (hit) return hit;
  const chunks = part ? part.chunks : bytes.chunks();
  const runs: SampleRun[] = chunks.map((c) => track.samples(bytes, c));
  const segStart = seg.baseMediaDecodeTime ?? runs[0]?.baseMediaDecodeTime ?? 0n;
  const start = part ? segStart + BigInt(part.startTime - seg.startTime) : segStart;
  const init = track.findInit(seg.initId) ?? track.init;
  const header = init.info.codecConfig.toString('utf8');
  const text = Buffer.from(renderWebVtt(header, timestampMapMpegts(start, seg.timescale, media), wvttCues(runs, start, seg.timescale)), 'utf8');
  cached[media] = text;
  converted.set(key, cached);
  return text;
}

function sendText(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, track: Track, seg: Segment, cacheControl: string, text: (bytes: SegmentBytes) => Buffer): void {
  const headers = { 'Content-Type': VTT_TYPE, 'Cache-Control': cacheControl };
  const send = guarded(ctx, 'playback', req, res, undefined, (bytes: SegmentBytes) => sendBuffer(req, res, headers, text(bytes)));
  const now = track.residentBytes(seg);
  if (now) send(now);
  else track.bytes(seg).then(send, (err: unknown) => sendError(req, res, err));
}

/**
 * `{track}/{tag}/{msn}.vtt` (and `.{part}.vtt`): a WebVTT segment or part converted from the
 * track's `wvtt` samples once complete. The next one (the hinted part) is held until it
 * completes; one that never will is a 404 (410 when it left the window).
 */
export function sendVttSegment(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, msn: number, part: number | null, media: VttMedia): void {
  if (!isWebVtt(track)) throw new OriginError('NOT_FOUND', `track '${track.name}' is not a WebVTT track`);
  const answer = part === null ? segmentAnswer(ctx, req, res, stream, track, msn, media) : partAnswer(ctx, req, res, stream, track, msn, part);
  if (answer()) return;
  holdFor(ctx, req, res, stream, track, answer);
}

function partAnswer(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, msn: number, index: number): () => boolean {
  return () => {
    const found = lookupPart(stream, track, msn, index);
    if (found.kind === 'wait') return false;
    if (found.kind === 'ready') {
      const seg = track.findSegment(msn)!;
      const part = seg.parts[index]!;
      sendText(ctx, req, res, track, seg, seg.truncated && part === seg.lastPart ? CacheControl.cutShort : CacheControl.immutable, (bytes) => webVttOf(track, bytes, 'fmp4', part));
      return true;
    }
    ctx.metrics.mediaNotFound.inc({ reason: found.reason === 'gone' ? 'expired' : found.reason });
    sendError(req, res, new OriginError('NOT_FOUND', found.message), found.reason === 'future' ? CacheControl.notYet : CacheControl.blockingMediaError(targetDuration(stream)));
    return true;
  };
}

function segmentAnswer(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, msn: number, media: VttMedia): () => boolean {
  return () => {
    const seg = track.findSegment(msn);
    if (seg && seg.state === 'gap') {
      ctx.metrics.mediaNotFound.inc({ reason: 'gap' });
      sendError(req, res, new OriginError('NOT_FOUND', `segment ${msn} of '${track.name}' is a gap (no media)`), CacheControl.shortError);
      return true;
    }
    if (seg && seg.state === 'complete') {
      sendText(ctx, req, res, track, seg, seg.truncated ? CacheControl.cutShort : CacheControl.immutable, (bytes) => webVttOf(track, bytes, media));
      return true;
    }
    if (seg) return false;
    const last = track.lastMsn;
    if (last !== null && msn === last + 1 && !stream.ended && track.state !== 'ended') return false;
    const first = track.firstMsn;
    const expired = first !== null && msn < first;
    ctx.metrics.mediaNotFound.inc({ reason: expired ? 'expired' : 'future' });
    const message = `segment ${msn} of '${track.name}' ${expired ? 'has left the window' : 'does not exist yet'}`;
    sendError(req, res, new OriginError(expired ? 'GONE' : 'NOT_FOUND', message), expired ? CacheControl.shortError : CacheControl.notYet);
    return true;
  };
}
