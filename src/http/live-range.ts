import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Segment } from '../timeline/segment.js';
import type { Track } from '../timeline/track.js';
import { CacheControl } from './cache-policy.js';
import { guarded, type FaultSink } from './guard.js';
import { corsHeaders, unsentLimit } from './respond.js';

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

/**
 * Part-atomic delivery (LL-HLS byte-range parts) applies to ranges that start where a part does;
 * any other range of a growing segment (a HESP continuation from a packet's offset) is streamed
 * chunk by chunk as it lands.
 */
export function startsAtPart(seg: Segment, start: number): boolean {
  if (start === 0) return true;
  for (const p of seg.parts) if (p.byteOffset === start) return true;
  const last = seg.lastPart;
  return last !== undefined && last.complete && start === seg.byteLength;
}

/** Whether a range request of a segment in production can be answered now (or must wait). */
export function rangeReady(seg: Segment, range: RequestedRange): boolean {
  if (seg.state !== 'open' || seg.body?.state !== 'open') return true;
  if (!startsAtPart(seg, range.start)) return true;
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
 * Answers a byte range of a segment in production that is ready per {@link rangeReady}: it gets RFC 8673's indeterminate-length 206 (`Content-Range:
 * bytes N-LAST/*`, chunked), part-atomic: "MUST NOT transmit any byte of a Partial Segment until
 * all of its bytes can be transmitted" (RFC 8216bis 6.2.6), each part in turn as it completes.
 */
export function sendSegmentRange(sink: FaultSink, req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, track: Track, seg: Segment, range: RequestedRange): void {
  const body = seg.body;
  // Only a segment in production comes here (a complete one is sent from the store).
  if (!body || body.state === 'aborted') {
    res.destroy();
    return;
  }
  const openEnded = range.end === null || range.end >= VERY_LARGE;
  if (!startsAtPart(seg, range.start)) return sendProgressiveRange(req, res, headers, seg, range);
  if (!openEnded) {
    const end = range.end!;
    res.writeHead(206, { ...corsHeaders(req), ...headers, 'Content-Length': end - range.start + 1, 'Content-Range': `bytes ${range.start}-${end}/*` });
    if (req.method !== 'HEAD') writeSpan(res, body.buffers, range.start, end + 1);
    res.end();
    return;
  }
  const last = range.end === null ? MAX_LAST_BYTE : range.end;
  res.writeHead(206, { ...corsHeaders(req), ...headers, 'Cache-Control': CacheControl.growing, 'Content-Range': `bytes ${range.start}-${last}/*` });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  let sent = range.start;
  const unsent = unsentLimit(req, res);
  const pump = (): boolean => {
    if (body.state === 'aborted') {
      res.destroy();
      return true;
    }
    const have = sendableBytes(seg);
    if (have > sent) {
      writeSpan(res, body.buffers, sent, have);
      sent = have;
      unsent.check();
      if (res.destroyed) return true;
    }
    if (seg.state !== 'open') {
      res.end();
      return true;
    }
    return false;
  };
  if (pump()) return;
  const step = guarded(sink, 'live-body', req, res, true, pump);
  const leave = track.changed.subscribe(() => {
    if (step()) leave();
  });
  res.on('close', leave);
}

/**
 * A range of a growing segment streamed as it is produced (RFC 8673 style: 206, `Content-Range:
 * bytes N-LAST/*`, chunked): the bytes from N that exist now, then each chunk as it lands, the
 * end when the segment is complete; cut if its ingest dies.
 */
function sendProgressiveRange(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, seg: Segment, range: RequestedRange): void {
  const last = range.end === null ? MAX_LAST_BYTE : range.end;
  res.writeHead(206, { ...corsHeaders(req), ...headers, 'Cache-Control': CacheControl.growing, 'Content-Range': `bytes ${range.start}-${last}/*` });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.flushHeaders();
  let at = 0;
  let done = false;
  const stop = last + 1;
  const unsent = unsentLimit(req, res);
  const leave = seg.body!.read({
    data(buffers) {
      if (done) return;
      for (const b of buffers) {
        const from = Math.max(range.start - at, 0);
        const to = Math.min(stop - at, b.length);
        if (from < to) res.write(from === 0 && to === b.length ? b : b.subarray(from, to));
        at += b.length;
      }
      unsent.check();
      if (at >= stop) {
        done = true;
        res.end();
      }
    },
    end() {
      if (!done) res.end();
      done = true;
    },
    abort() {
      done = true;
      res.destroy();
    },
  });
  res.on('close', leave);
}
