import { createHmac, timingSafeEqual } from 'node:crypto';
import { OriginError } from '../errors.js';

/**
 * Signed playback URLs in the Akamai "Token Auth 2.0" form that CDNs and Unified Origin read:
 * `hdnts=[st=<unix>~]exp=<unix>~acl=<pattern>[!<pattern>…]~hmac=<hex>`, where hmac is
 * HMAC-SHA256, keyed with the shared key, over every field before `~hmac=` exactly as sent.
 * A pattern is a path; `*` matches any run of characters (`/live/s1/*` covers a stream).
 */
export const TOKEN_NAME = 'hdnts';

/** Why a request was refused: the label of `origin_playback_auth_failures_total`. */
export type PlaybackAuthFailure = 'missing' | 'malformed' | 'signature' | 'expired' | 'early' | 'acl' | 'address';

export class PlaybackAuthError extends OriginError {
  constructor(
    readonly failure: PlaybackAuthFailure,
    message: string,
  ) {
    super('FORBIDDEN', message);
  }
}

export interface SignedToken {
  /** The token as sent (what manifests pass on to their child URIs). */
  readonly text: string;
  readonly exp: number;
  readonly st: number | null;
  readonly acl: readonly string[];
  readonly ip: string | null;
}

const FIELD = /^([a-z]{1,8})=(.*)$/;
const UNIX = /^\d{1,12}$/;
const HEX64 = /^[0-9a-f]{64}$/i;

/** Signs a token (for operators' tools and tests): the inverse of {@link verifyToken}. */
export function signToken(key: Buffer, fields: { exp: number; acl: string; st?: number; ip?: string }): string {
  const parts: string[] = [];
  if (fields.ip !== undefined) parts.push(`ip=${fields.ip}`);
  if (fields.st !== undefined) parts.push(`st=${fields.st}`);
  parts.push(`exp=${fields.exp}`, `acl=${fields.acl}`);
  const message = parts.join('~');
  return `${message}~hmac=${createHmac('sha256', key).update(message).digest('hex')}`;
}

/** Parses and checks a token's signature and times; the ACL is checked per path by {@link coversPath}. */
export function verifyToken(key: Buffer, text: string, nowMs: number): SignedToken {
  const at = text.lastIndexOf('~hmac=');
  if (at < 0) throw new PlaybackAuthError('malformed', 'the token has no hmac field');
  const message = text.slice(0, at);
  const hmac = text.slice(at + 6);
  if (!HEX64.test(hmac)) throw new PlaybackAuthError('malformed', 'the token hmac is not 64 hex digits');
  const expected = createHmac('sha256', key).update(message).digest();
  if (!timingSafeEqual(expected, Buffer.from(hmac, 'hex'))) throw new PlaybackAuthError('signature', 'the token signature does not match');
  let exp: number | null = null;
  let st: number | null = null;
  let ip: string | null = null;
  let acl: string[] | null = null;
  for (const field of message.split('~')) {
    const m = FIELD.exec(field);
    if (!m) throw new PlaybackAuthError('malformed', 'the token is not name=value fields joined by ~');
    const [, name, value] = m as unknown as [string, string, string];
    if (name === 'exp' || name === 'st') {
      if (!UNIX.test(value)) throw new PlaybackAuthError('malformed', `the token ${name} is not a Unix time`);
      if (name === 'exp') exp = Number(value);
      else st = Number(value);
    } else if (name === 'acl') acl = value.split('!').filter((p) => p !== '');
    else if (name === 'ip') ip = value;
    // Other fields (id, data) are signed but carry nothing the origin checks.
  }
  if (exp === null) throw new PlaybackAuthError('malformed', 'the token has no exp field');
  if (acl === null || acl.length === 0) throw new PlaybackAuthError('malformed', 'the token has no acl field');
  const now = Math.floor(nowMs / 1000);
  if (now >= exp) throw new PlaybackAuthError('expired', `the token expired at ${new Date(exp * 1000).toISOString()}`);
  if (st !== null && now < st) throw new PlaybackAuthError('early', `the token is valid from ${new Date(st * 1000).toISOString()}`);
  return { text, exp, st, acl, ip };
}

const patterns = new Map<string, RegExp>();

/** Whether one of the token's ACL patterns covers `path` (`*` matches anything, `/` included). */
export function coversPath(token: SignedToken, path: string): boolean {
  for (const acl of token.acl) {
    let re = patterns.get(acl);
    if (!re) {
      re = new RegExp(`^${acl.split('*').map((s) => s.replace(/[\\^$.|?+()[\]{}]/g, '\\$&')).join('.*')}$`, 's');
      if (patterns.size > 1000) patterns.clear();
      patterns.set(acl, re);
    }
    if (re.test(path)) return true;
  }
  return false;
}

/**
 * The token as a query value inside a manifest: characters that need no escaping in a URI query,
 * an M3U8 quoted string, an XML attribute or a JSON string are kept, everything else is %XX.
 */
export function tokenQueryValue(text: string): string {
  return text.replace(/[^A-Za-z0-9\-._~=*/!:]/g, (c) => encodeURIComponent(c));
}

/** The `hdnts` value of a request: from its query, else from its Cookie header. */
export function tokenOf(query: string, cookie: string | undefined): { text: string; from: 'query' | 'cookie' } | null {
  if (query !== '') {
    for (const pair of query.split('&')) {
      if (pair.startsWith(`${TOKEN_NAME}=`)) return { text: safeDecode(pair.slice(TOKEN_NAME.length + 1)), from: 'query' };
    }
  }
  if (cookie) {
    for (const c of cookie.split(';')) {
      const t = c.trim();
      if (t.startsWith(`${TOKEN_NAME}=`)) return { text: safeDecode(t.slice(TOKEN_NAME.length + 1)), from: 'cookie' };
    }
  }
  return null;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new PlaybackAuthError('malformed', 'the token is not valid percent-encoding');
  }
}
