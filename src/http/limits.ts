import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';

export interface TargetLimits {
  readonly maxUrlBytes: number;
  readonly maxQueryParams: number;
}

/** Bytes a path may never contain, raw or percent-encoded: NUL and other controls, backslash. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const BAD_RAW = /[\x00-\x1f\x7f\\]/;
/** Encoded dots, slashes, backslashes and NUL: no URL of the origin needs them. */
const BAD_ENCODED = /%(?:2e|2f|5c|00)/i;
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;
const BAD_PERCENT = /%(?![0-9a-f]{2})/i;

/**
 * Checks a request target before anything else reads it: origin-form only, bounded length, no
 * dot segments (raw or encoded), NUL, controls or backslashes in the path, a bounded number of
 * query parameters and none repeated. Returns the path and the raw query.
 */
export function checkTarget(url: string | undefined, limits: TargetLimits): { path: string; query: string } {
  const target = url ?? '/';
  if (target.length > limits.maxUrlBytes) throw new OriginError('URI_TOO_LONG', `the request target is ${target.length} bytes long (at most ${limits.maxUrlBytes})`);
  if (!target.startsWith('/')) throw new OriginError('BAD_REQUEST', 'the request target must be an absolute path');
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  if (BAD_RAW.test(path) || BAD_ENCODED.test(path) || BAD_PERCENT.test(path) || DOT_SEGMENT.test(path) || path.includes('//')) {
    throw new OriginError('BAD_REQUEST', 'the path has a dot segment, an empty segment or a forbidden character');
  }
  if (query !== '') {
    if (BAD_RAW.test(query) || BAD_PERCENT.test(query)) throw new OriginError('BAD_REQUEST', 'the query has a forbidden character or a malformed %-escape');
    const names = new Set<string>();
    let count = 0;
    for (const pair of query.split('&')) {
      if (pair === '') continue;
      if (++count > limits.maxQueryParams) throw new OriginError('BAD_REQUEST', `more than ${limits.maxQueryParams} query parameters`);
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (names.has(name)) throw new OriginError('BAD_REQUEST', `query parameter '${name.slice(0, 64)}' is repeated`);
      names.add(name);
    }
  }
  return { path, query };
}

/**
 * Checks a Range header before any route reads it (RFC 9110 14.1.2): one `bytes=` range of at
 * most 16 digits per position (RFC 8673's last-byte-pos 2^53 − 1 has 16). A malformed header is
 * a 400; several ranges, another unit or a reversed range are a 416 (single ranges only).
 */
export function checkRange(header: string | undefined): void {
  if (header === undefined) return;
  const h = header.trim();
  if (!/^[A-Za-z]+=/.test(h)) throw new OriginError('BAD_REQUEST', 'malformed Range header');
  if (!/^bytes=/i.test(h)) throw new OriginError('RANGE_NOT_SATISFIABLE', 'only byte ranges are served');
  if (h.includes(',')) throw new OriginError('RANGE_NOT_SATISFIABLE', 'multiple ranges are not served; ask for one');
  const m = /^bytes=(\d{0,16})-(\d{0,16})$/i.exec(h);
  if (!m) throw new OriginError('BAD_REQUEST', 'malformed Range header');
  const [, a, b] = m;
  if (a === '' && b === '') throw new OriginError('BAD_REQUEST', 'malformed Range header');
  if (a !== '' && b !== '' && Number(b) < Number(a)) throw new OriginError('RANGE_NOT_SATISFIABLE', 'the range ends before it starts');
}

/** Client address of a request (an IPv4-mapped address as IPv4). */
export function clientOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '?';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * Counts held requests (blocking reloads, hinted parts, next segments) globally and per client
 * address, and refuses one past either cap: 503 with `Retry-After` (RFC 9110 15.6.4), the
 * global cap as OVERLOADED, one client's as RATE_LIMITED... in a 503 all the same, so a CDN
 * retries it on another origin.
 */
export class HeldRequests {
  private total = 0;
  private readonly byClient = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerClient: number,
    private readonly onRefused: (scope: 'global' | 'client') => void = () => {},
  ) {}

  get size(): number {
    return this.total;
  }

  /** Takes a slot until the response closes, or throws the 503 to send. */
  admit(req: IncomingMessage, res: ServerResponse): void {
    const client = clientOf(req);
    const mine = this.byClient.get(client) ?? 0;
    if (this.total >= this.maxTotal) {
      this.onRefused('global');
      res.setHeader('Retry-After', '1');
      throw new OriginError('OVERLOADED', `${this.total} requests are held (at most ${this.maxTotal}); retry`);
    }
    if (mine >= this.maxPerClient) {
      this.onRefused('client');
      res.setHeader('Retry-After', '1');
      throw new OriginError('OVERLOADED', `${mine} requests of this client are held (at most ${this.maxPerClient}); retry`);
    }
    this.total++;
    this.byClient.set(client, mine + 1);
    res.once('close', () => {
      this.total--;
      const n = (this.byClient.get(client) ?? 1) - 1;
      if (n <= 0) this.byClient.delete(client);
      else this.byClient.set(client, n);
    });
  }
}

/** A token bucket: `rate` per second sustained, `burst` at once. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.at = nowMs;
  }

  /** Takes `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(n: number, nowMs: number): boolean {
    if (nowMs > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.at) / 1000) * this.rate);
      this.at = nowMs;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Whether the bucket is full again (it can be forgotten). */
  full(nowMs: number): boolean {
    return this.tokens + ((nowMs - this.at) / 1000) * this.rate >= this.burst;
  }
}
