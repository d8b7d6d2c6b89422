import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { codeOf, reasonOf, statusOf } from '../errors.js';
import type { LiveBody } from '../timeline/live-body.js';
import { CacheControl } from './cache-policy.js';

/** CORS for browser players on other origins; hls.js reads Age, dash.js reads Date. */
export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Age, Date, Content-Length, Content-Range, ETag',
} as const;

export const PREFLIGHT_HEADERS = {
  ...CORS_HEADERS,
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
  'Access-Control-Allow-Headers': 'Range, If-None-Match, If-Modified-Since, Content-Type',
  'Access-Control-Max-Age': '86400',
} as const;

/** A slow reader may hold this many bytes in its socket queue before it is dropped. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/** Parses a single `bytes=` range against a known length; undefined means "send it all". */
export function parseRange(header: string | undefined, length: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, length - suffix);
    end = length - 1;
  } else {
    start = Number(a);
    end = b === '' ? length - 1 : Math.min(Number(b), length - 1);
  }
  if (start >= length || start > end) return 'unsatisfiable';
  return { start, end };
}

/** Header list of a 200 with a known length: CORS, Accept-Ranges, `headers`, Content-Length. */
function okHeaderList(headers: OutgoingHttpHeaders, length: number): string[] {
  const list: string[] = [...CORS_LIST, 'Accept-Ranges', 'bytes'];
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) list.push(name, String(value));
  }
  list.push('Content-Length', String(length));
  return list;
}

const CORS_LIST: readonly string[] = Object.entries(CORS_HEADERS).flat();

/** A response's own headers, with the list a chunked 200 sends built once. */
export interface HeaderSet {
  readonly headers: Readonly<OutgoingHttpHeaders>;
  readonly chunkedList: readonly string[];
}

export function headerSet(headers: OutgoingHttpHeaders): HeaderSet {
  const list = [...CORS_LIST];
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) list.push(name, String(value));
  }
  return { headers, chunkedList: list };
}

/**
 * A complete 200 response built once and sent many times (a rendered manifest, an init segment):
 * the header list for writeHead is made here, not per request.
 */
export interface Prepared {
  readonly body: Buffer;
  readonly headers: Readonly<OutgoingHttpHeaders>;
  readonly headerList: readonly string[];
}

export function prepare(headers: OutgoingHttpHeaders, body: Buffer): Prepared {
  return { body, headers, headerList: okHeaderList(headers, body.length) };
}

/** One writeHead with the prepared list and one end(body); HEAD and Range take the general path. */
export function sendPrepared(req: IncomingMessage, res: ServerResponse, prepared: Prepared): void {
  if (req.method === 'GET' && req.headers.range === undefined) {
    res.writeHead(200, prepared.headerList as string[]);
    res.end(prepared.body);
    return;
  }
  sendBuffers(req, res, prepared.headers, [prepared.body], prepared.body.length);
}

/** Sends a complete object held as Buffers: Content-Length, HEAD and single Range supported. */
export function sendBuffers(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, buffers: readonly Buffer[], length: number): void {
  const range = req.headers.range === undefined ? undefined : parseRange(req.headers.range, length);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...CORS_HEADERS, 'Content-Range': `bytes */${length}`, 'Cache-Control': CacheControl.shortError, 'Content-Length': 0 });
    res.end();
    return;
  }
  if (!range) {
    res.writeHead(200, okHeaderList(headers, length));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const last = buffers.length - 1;
    for (let i = 0; i < last; i++) res.write(buffers[i]!);
    res.end(last >= 0 ? buffers[last] : undefined);
    return;
  }
  const size = range.end - range.start + 1;
  res.writeHead(206, { ...CORS_HEADERS, 'Accept-Ranges': 'bytes', ...headers, 'Content-Length': size, 'Content-Range': `bytes ${range.start}-${range.end}/${length}` });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  let at = 0;
  for (const b of buffers) {
    const from = Math.max(range.start - at, 0);
    const to = Math.min(range.end + 1 - at, b.length);
    if (from < to) res.write(from === 0 && to === b.length ? b : b.subarray(from, to));
    at += b.length;
    if (at > range.end) break;
  }
  res.end();
}

export function sendBuffer(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, body: Buffer): void {
  sendBuffers(req, res, headers, [body], body.length);
}

/**
 * Sends a body that may still be growing: complete → Content-Length; open → chunked transfer,
 * what exists at once then each append as it lands; aborted while sending → the socket is
 * destroyed so no client or cache takes a truncated object for a whole one.
 */
export function sendLive(req: IncomingMessage, res: ServerResponse, set: HeaderSet, body: LiveBody): void {
  if (body.state === 'complete') {
    sendBuffers(req, res, set.headers, body.buffers, body.byteLength);
    return;
  }
  if (body.state === 'aborted') {
    sendError(req, res, new Error('body aborted'), CacheControl.noStore);
    return;
  }
  res.writeHead(200, set.chunkedList as string[]);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // With nothing to send yet, the head goes now so the reader knows the body is coming; else it
  // leaves in one write with the first bytes.
  if (body.byteLength === 0) res.flushHeaders();
  const leave = body.read({
    data(buffers) {
      for (const b of buffers) res.write(b);
      if (res.writableLength > MAX_QUEUED_BYTES) res.destroy();
    },
    end() {
      res.end();
    },
    abort() {
      res.destroy();
    },
  });
  res.on('close', leave);
}

/** The one place where an error becomes a status code and a one-line body. */
export function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, cacheControl: string = CacheControl.shortError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = statusOf(err);
  const body = `${status} ${codeOf(err)}: ${reasonOf(err)}\n`;
  res.writeHead(status, {
    ...CORS_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': cacheControl,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
