import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Segment } from '../timeline/segment.js';
import type { Track } from '../timeline/track.js';
import { CacheControl } from './cache-policy.js';
import { CORS_HEADERS, sendBuffers } from './respond.js';

/** RFC 8673: a last-byte-pos this large says "to the end, however long it gets". */
export const VERY_LARGE = 2 ** 40;
const MAX_LAST_BYTE = 9007199254740991;

export interface RequestedRange {
  readonly start: number;
  /** Inclusive; null for `bytes=N-`. */
  readonly end: number | null;
}

/** Parses one `bytes=first-[last]` range (suffix ranges are left to the complete-object path). */
export function parseOpenRange(header: string | undefined): RequestedRange | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d{1,16})-(\d{0,16})$/.exec(header.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: m[2] === '' ? null : Number(m[2]) };
}

/** Bytes of a segment that may be sent now: whole parts only while it is in production. */
export function sendableBytes(seg: Segment): number {
  if (seg.state !== 'open') return seg.byteLength;
  let end = 0;
  for (const p of seg.parts) {
    if (!p.complete) break;
    end = p.byteOffset + p.byteLength;
  }
  return end;
}

/** Whether a range request of a segment in production can be answered now (or must wait). */
export function rangeReady(seg: Segment, range: RequestedRange): boolean {
  if (seg.state !== 'open' || seg.body.state === 'aborted') return true;
  const open = range.end === null || range.end >= VERY_LARGE;
  const have = sendableBytes(seg);
  return open ? have > range.start : have > range.end!;
}

function writeSpan(res: ServerResponse, buffers: readonly Buffer[], from: number, to: number): void {
  let at = 0;
  for (const b of buffers) {
    const next = at + b.length;
    if (next > from && at < to) {
      const s = Math.max(from - at, 0);
      const e = Math.min(to - at, b.length);
      res.write(s === 0 && e === b.length ? b : b.subarray(s, e));
    }
    at = next;
    if (at >= to) break;
  }
}

/**
 * Answers a byte range of a segment that is ready per {@link rangeReady}. A complete segment gets
 * an ordinary 206. One in production gets RFC 8673's indeterminate-length 206 (`Content-Range:
 * bytes N-LAST/*`, chunked), part-atomic: "MUST NOT transmit any byte of a Partial Segment until
 * all of its bytes can be transmitted" (RFC 8216bis 6.2.6), each part in turn as it completes.
 */
export function sendSegmentRange(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, track: Track, seg: Segment, range: RequestedRange): void {
  const body = seg.body;
  if (body.state === 'aborted') {
    res.destroy();
    return;
  }
  if (seg.state !== 'open') {
    sendBuffers(req, res, headers, body.buffers, body.byteLength);
    return;
  }
  const openEnded = range.end === null || range.end >= VERY_LARGE;
  if (!openEnded) {
    const end = range.end!;
    res.writeHead(206, { ...CORS_HEADERS, ...headers, 'Content-Length': end - range.start + 1, 'Content-Range': `bytes ${range.start}-${end}/*` });
    if (req.method !== 'HEAD') writeSpan(res, body.buffers, range.start, end + 1);
    res.end();
    return;
  }
  const last = range.end === null ? MAX_LAST_BYTE : range.end;
  res.writeHead(206, { ...CORS_HEADERS, ...headers, 'Cache-Control': CacheControl.growing, 'Content-Range': `bytes ${range.start}-${last}/*` });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  let sent = range.start;
  const pump = (): boolean => {
    if (body.state === 'aborted') {
      res.destroy();
      return true;
    }
    const have = sendableBytes(seg);
    if (have > sent) {
      writeSpan(res, body.buffers, sent, have);
      sent = have;
    }
    if (seg.state !== 'open') {
      res.end();
      return true;
    }
    return false;
  };
  if (pump()) return;
  const leave = track.changed.subscribe(() => {
    if (pump()) leave();
  });
  res.on('close', leave);
}
