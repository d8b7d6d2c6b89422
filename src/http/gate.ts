import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { parsePlaybackPath, type PlaybackTarget } from '../urls.js';
import { PlaybackAccess, type AccessConfig } from './access.js';
import { playbackCors, type CorsPolicy } from './cors.js';
import { checkRange, checkTarget, HeldRequests, type TargetLimits } from './limits.js';
import { NO_CORS, OPEN_CORS, setPolicy, type RequestPolicy } from './request-policy.js';
import { PlaybackAuthError } from './signed-url.js';
import { TokenizedManifests } from './tokenize.js';

export interface GateConfig extends TargetLimits, AccessConfig {
  readonly corsOrigins: readonly string[];
  readonly maxUnsentBytes: number;
  readonly maxHeldRequests: number;
  readonly maxHeldPerClient: number;
  /** `/metrics` answers on this listener. */
  readonly metricsHere: boolean;
}

/**
 * Everything the playback listener decides about a request before routing it: CORS (and the
 * OPTIONS answer), the request target and Range checks, signed-URL tokens, and during a
 * shutdown `Connection: close`. Its decisions travel with the request (request-policy.ts).
 */
export class PlaybackGate {
  readonly cors: CorsPolicy;
  readonly access: PlaybackAccess;
  readonly holds: HeldRequests;
  private readonly tokenized = new TokenizedManifests();
  private readonly base: RequestPolicy;
  closing = false;

  constructor(
    private readonly config: GateConfig,
    private readonly metrics: Metrics,
    now: () => number,
  ) {
    this.cors = playbackCors(config.corsOrigins);
    this.access = new PlaybackAccess(config, now);
    this.holds = new HeldRequests(config.maxHeldRequests, config.maxHeldPerClient, (scope) => metrics.limitRejections.inc({ listener: 'playback', limit: 'held-requests', scope }));
    this.base = { cors: this.cors.open ? OPEN_CORS : NO_CORS, maxUnsentBytes: config.maxUnsentBytes, manifest: null, onCut: () => metrics.connectionsCut.inc({ listener: 'playback', reason: 'unsent-bytes' }) };
  }

  /**
   * The request's path, raw query and target, or null when it was answered here (OPTIONS).
   * Throws the OriginError to send (400, 403, 404, 414, 416).
   */
  enter(req: IncomingMessage, res: ServerResponse): { path: string; query: string; target: PlaybackTarget } | null {
    if (this.closing) res.shouldKeepAlive = false;
    const policy: RequestPolicy = this.cors.open ? this.base : { ...this.base, cors: this.cors.headersFor(req) };
    setPolicy(req, policy);
    if (req.method === 'OPTIONS') {
      this.cors.preflight(req, res);
      return null;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      throw new OriginError('METHOD_NOT_ALLOWED', `${req.method} is not allowed here`);
    }
    const { path, query } = checkTarget(req.url, this.config);
    checkRange(req.headers.range);
    const target = parsePlaybackPath(path);
    if (target.kind === 'metrics' && !this.config.metricsHere) throw new OriginError('NOT_FOUND', `no such resource: ${path}`);
    if (this.access.enabled) {
      let passOn: string | null;
      try {
        passOn = this.access.admit(req, res, target, path, query).passOn;
      } catch (err) {
        if (err instanceof PlaybackAuthError) this.metrics.playbackAuthFailures.inc({ reason: err.failure });
        throw err;
      }
      if (passOn !== null) {
        const token = passOn;
        setPolicy(req, { ...policy, manifest: (kind, rendered) => this.tokenized.get(kind, rendered, token) });
      }
    }
    return { path, query, target };
  }
}
