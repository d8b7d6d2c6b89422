import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { OriginError } from '../errors.js';

export interface IngestAuthConfig {
  readonly ingestToken: string | null;
  readonly streamTokens: Readonly<Record<string, string>>;
}

/** Why an ingest request was refused: the label of `origin_ingest_auth_failures_total`. */
export type IngestAuthFailure = 'missing' | 'malformed' | 'invalid';

export class IngestAuthError extends OriginError {
  constructor(
    readonly failure: IngestAuthFailure,
    message: string,
  ) {
    super('UNAUTHORIZED', message);
  }
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** The stream an ingest (or future control) URL `/live/{stream}/…` names, before any other check. */
function streamOf(url: string): string | null {
  const m = /^\/live\/([^/?]+)\//.exec(url);
  return m ? m[1]! : null;
}

/**
 * Bearer tokens of the ingest listener (RFC 6750 2.1): one that opens every stream and one per
 * stream. Tokens are compared as SHA-256 digests with `timingSafeEqual`: equal lengths whatever
 * was sent, and no early exit on the first differing byte.
 */
export class IngestAuth {
  private readonly global: Buffer | null;
  private readonly perStream: ReadonlyMap<string, Buffer>;

  constructor(config: IngestAuthConfig) {
    this.global = config.ingestToken === null ? null : digest(config.ingestToken);
    this.perStream = new Map(Object.entries(config.streamTokens).map(([stream, t]) => [stream, digest(t)]));
  }

  /** Whether any token is configured (else the listener is open). */
  get enabled(): boolean {
    return this.global !== null || this.perStream.size > 0;
  }

  /** Throws an IngestAuthError (401) unless the request carries a token that opens its stream. */
  check(req: IncomingMessage): void {
    if (!this.enabled) return;
    const header = req.headers.authorization;
    if (header === undefined) throw new IngestAuthError('missing', 'an Authorization: Bearer token is required');
    const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
    if (!m) throw new IngestAuthError('malformed', 'the Authorization header is not "Bearer <token>"');
    const sent = digest(m[1]!);
    const stream = streamOf(req.url ?? '/');
    const own = stream === null ? undefined : this.perStream.get(stream);
    // Both comparisons run whatever the first one says.
    const okGlobal = this.global !== null && timingSafeEqual(sent, this.global);
    const okOwn = own !== undefined && timingSafeEqual(sent, own);
    if (!okGlobal && !okOwn) throw new IngestAuthError('invalid', stream === null ? 'the token is not valid' : `the token is not valid for stream '${stream}'`);
  }
}

/** 127.0.0.0/8, ::1 and `localhost`: only this machine reaches them. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Why the origin must not start: an ingest listener that others can reach, with no token, unless
 * the operator said so explicitly.
 */
export function openIngestProblem(ingestHost: string, auth: IngestAuthConfig & { readonly allowOpenIngest: boolean }): string | null {
  if (isLoopback(ingestHost) || auth.allowOpenIngest) return null;
  if (auth.ingestToken !== null || Object.keys(auth.streamTokens).length > 0) return null;
  return (
    `refusing to start: the ingest listener on ${ingestHost} would accept pushes from anyone. ` +
    'Set a token (--ingest-token T, INGEST_TOKEN, or auth.ingestToken / auth.streamTokens in the config file), ' +
    'keep ingest on loopback (--ingest-host 127.0.0.1), or pass --allow-open-ingest if a firewall guards it.'
  );
}
