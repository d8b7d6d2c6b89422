import type { IncomingMessage, ServerResponse } from 'node:http';
import { allowOrigin, NO_CORS, OPEN_CORS, VARY_ORIGIN, type CorsHeaders } from './request-policy.js';

/**
 * A listener's CORS policy (Fetch standard, "CORS protocol"): `["*"]` allows every origin with
 * no credentials; a list of origins echoes the request's Origin when it is one of them (with
 * credentials, so a cookie token works, and `Vary: Origin`); `[]` sends no CORS header at all.
 */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly allowed: ReadonlySet<string>;
  private readonly echoed = new Map<string, CorsHeaders>();

  constructor(
    origins: readonly string[],
    private readonly methods: string,
    private readonly allowHeaders: string,
  ) {
    this.any = origins.includes('*');
    this.allowed = new Set(origins.filter((o) => o !== '*'));
  }

  /** True when every response gets the prebuilt `*` headers. */
  get open(): boolean {
    return this.any;
  }

  /** The CORS headers of a response to `req`. */
  headersFor(req: IncomingMessage): CorsHeaders {
    if (this.any) return OPEN_CORS;
    if (this.allowed.size === 0) return NO_CORS;
    const origin = req.headers.origin;
    if (origin === undefined || !this.allowed.has(origin)) return VARY_ORIGIN;
    let h = this.echoed.get(origin);
    if (!h) {
      h = allowOrigin(origin);
      this.echoed.set(origin, h);
    }
    return h;
  }

  /**
   * Answers OPTIONS: the allowed methods and request headers when the origin is allowed (a
   * preflight), only `Allow` and `Vary` otherwise (the browser then refuses). Always 204.
   */
  preflight(req: IncomingMessage, res: ServerResponse): void {
    const cors = this.headersFor(req);
    const headers: Record<string, string> = { ...(cors.headers as Record<string, string>), Allow: this.methods, 'Content-Length': '0' };
    if (cors.headers['Access-Control-Allow-Origin'] !== undefined) {
      headers['Access-Control-Allow-Methods'] = this.methods;
      headers['Access-Control-Allow-Headers'] = this.allowHeaders;
      headers['Access-Control-Max-Age'] = '86400';
    }
    res.writeHead(204, headers);
    res.end();
  }
}

export const playbackCors = (origins: readonly string[]): CorsPolicy => new CorsPolicy(origins, 'GET, HEAD, OPTIONS', 'Range, If-None-Match, If-Modified-Since, Content-Type');
export const ingestCors = (origins: readonly string[]): CorsPolicy => new CorsPolicy(origins, 'PUT, POST, DELETE, OPTIONS', 'Authorization, Content-Type');
