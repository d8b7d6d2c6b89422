import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { codeOf, reasonOf, statusOf } from '../errors.js';
import type { LiveBody } from '../timeline/live-body.js';
import { CacheControl } from './cache-policy.js';
import { OPEN_CORS, policyOf } from './request-policy.js';

/** CORS of the default policy (every origin): prebuilt into the header lists below. */
export const CORS_HEADERS = OPEN_CORS.headers;

/** The CORS headers of the response to `req` (its listener's policy). */
export function corsHeaders(req: IncomingMessage): Readonly<OutgoingHttpHeaders> {
  return policyOf(req).cors.headers;
}

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
function okHeaderList(headers: OutgoingHttpHeaders, length: number, cors: readonly string[] = OPEN_CORS.list): string[] {
  const list: string[] = [...cors, 'Accept-Ranges', 'bytes'];
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) list.push(name, String(value));
  }
  list.push('Content-Length', String(length));
  return list;
}

/** A response's own headers, with the list a chunked 200 sends built once (with the default CORS). */
export interface HeaderSet {
  readonly headers: Readonly<OutgoingHttpHeaders>;
  readonly chunkedList: readonly string[];
  /** The same without CORS, for requests whose policy is not the default. */
  readonly bareList: readonly string[];
}

export function headerSet(headers: OutgoingHttpHeaders): HeaderSet {
  const bare: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) bare.push(name, String(value));
  }
  return { headers, chunkedList: [...OPEN_CORS.list, ...bare], bareList: bare };
}

/** A prebuilt list for the default CORS, else the request's CORS in front of the bare list. */
function withCors(req: IncomingMessage, prebuilt: readonly string[], bare: readonly string[]): string[] {
  const cors = policyOf(req).cors;
  return (cors === OPEN_CORS ? prebuilt : [...cors.list, ...bare]) as string[];
}

/**
 * A complete 200 response built once and sent many times (a rendered manifest, an init segment):
 * the header list for writeHead is made here, not per request.
 */
export interface Prepared {
  readonly body: Buffer;
  readonly headers: Readonly<OutgoingHttpHeaders>;
  readonly headerList: readonly string[];
  readonly bareList: readonly string[];
}

export function prepare(headers: OutgoingHttpHeaders, body: Buffer): Prepared {
  return { body, headers, headerList: okHeaderList(headers, body.length), bareList: okHeaderList(headers, body.length, []) };
}

/** One writeHead with the prepared list and one end(body); HEAD and Range take the general path. */
export function sendPrepared(req: IncomingMessage, res: ServerResponse, prepared: Prepared): void {
  if (req.method === 'GET' && req.headers.range === undefined) {
    res.writeHead(200, withCors(req, prepared.headerList, prepared.bareList));
    res.end(prepared.body);
    return;
  }
  sendBuffers(req, res, prepared.headers, [prepared.body], prepared.body.length);
}

/** Sends a complete object held as Buffers: Content-Length, HEAD and single Range supported. */
export function sendBuffers(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, buffers: readonly Buffer[], length: number): void {
  const range = req.headers.range === undefined ? undefined : parseRange(req.headers.range, length);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...corsHeaders(req), 'Content-Range': `bytes */${length}`, 'Cache-Control': CacheControl.shortError, 'Content-Length': 0 });
    res.end();
    return;
  }
  if (!range) {
    res.writeHead(200, okHeaderList(headers, length, policyOf(req).cors.list));
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
  res.writeHead(206, { ...corsHeaders(req), 'Accept-Ranges': 'bytes', ...headers, 'Content-Length': size, 'Content-Range': `bytes ${range.start}-${range.end}/${length}` });
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
  res.writeHead(200, withCors(req, set.chunkedList, set.bareList));
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // With nothing to send yet, the head goes now so the reader knows the body is coming; else it
  // leaves in one write with the first bytes.
  if (body.byteLength === 0) res.flushHeaders();
  const unsent = unsentLimit(req, res);
  const leave = body.read({
    data(buffers) {
      for (const b of buffers) res.write(b);
      unsent.check();
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

/**
 * The budget of unsent bytes of a growing response: a reader that stops reading is cut once the
 * bytes queued for it exceed the request's `maxUnsentBytes` beyond what existed when it joined
 * (those are views of the segment, shared with every other reader). Call `check` after writes.
 */
export function unsentLimit(req: IncomingMessage, res: ServerResponse): { check(): void } {
  const policy = policyOf(req);
  let allowance = -1;
  return {
    check() {
      if (allowance < 0) allowance = res.writableLength + policy.maxUnsentBytes;
      else if (res.writableLength > allowance && !res.destroyed) {
        policy.onCut?.('unsent-bytes');
        res.destroy();
      }
    },
  };
}

/** The one place where an error becomes a status code and a one-line body. */
export function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, cacheControl: string = CacheControl.shortError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = statusOf(err);
  const code = codeOf(err);
  // Refusals that depend on who asks, or on the moment (auth, caps, overload), are never stored.
  if (status === 401 || status === 403 || status === 429 || code === 'OVERLOADED') cacheControl = CacheControl.noStore;
  const body = `${status} ${code}: ${reasonOf(err)}\n`;
  res.writeHead(status, {
    ...corsHeaders(req),
    'X-Content-Type-Options': 'nosniff',
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': cacheControl,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
