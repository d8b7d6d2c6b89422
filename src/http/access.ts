import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PlaybackTarget } from '../urls.js';
import { clientOf } from './limits.js';
import { coversPath, PlaybackAuthError, TOKEN_NAME, tokenOf, tokenQueryValue, verifyToken } from './signed-url.js';

export interface AccessConfig {
  /** Hex HMAC key; null: every playback URL is open. */
  readonly playbackKey: string | null;
  /** `/`, `/watch/…` and `/api/streams` need no token. */
  readonly exemptStatus: boolean;
}

/** What a request may do after its token was checked. */
export interface Admission {
  /** The token to pass on to the URIs of the manifests this request gets (it came in the query). */
  readonly passOn: string | null;
}

const OPEN: Admission = { passOn: null };

/**
 * Signed playback URLs: with a key, every stream URL (manifests, playlists, segments, parts,
 * headers, MPEG-TS, HESP packets) needs a valid `hdnts` token whose ACL covers its path, in the
 * query or in a cookie; `/healthz`, `/utc`, `/metrics` and the status page's assets never do;
 * the status page and the stream API do unless exempted. A token that came in the query of a
 * status page URL is also set as a cookie, so the page's own requests (the stream API, the
 * players' manifests and media, all same-origin) carry it.
 */
export class PlaybackAccess {
  private readonly key: Buffer | null;

  constructor(
    private readonly config: AccessConfig,
    private readonly now: () => number,
  ) {
    this.key = config.playbackKey === null ? null : Buffer.from(config.playbackKey, 'hex');
  }

  get enabled(): boolean {
    return this.key !== null;
  }

  private needsToken(target: PlaybackTarget, path: string): boolean {
    switch (target.kind) {
      case 'utc':
      case 'health':
      case 'metrics':
        return false;
      case 'api':
        return !this.config.exemptStatus;
      case 'other':
        return !this.config.exemptStatus && isStatusPage(path);
      default:
        return true;
    }
  }

  /** Checks the request's token; throws a PlaybackAuthError (403) when it does not admit it. */
  admit(req: IncomingMessage, res: ServerResponse, target: PlaybackTarget, path: string, query: string): Admission {
    if (this.key === null || !this.needsToken(target, path)) return OPEN;
    const found = tokenOf(query, req.headers.cookie);
    if (!found) throw new PlaybackAuthError('missing', `a signed-URL token is required (${TOKEN_NAME} query parameter or cookie)`);
    const token = verifyToken(this.key, found.text, this.now());
    if (token.ip !== null && token.ip !== clientOf(req)) throw new PlaybackAuthError('address', 'the token is bound to another client address');
    if (!coversPath(token, path)) throw new PlaybackAuthError('acl', `the token's acl does not cover ${path}`);
    if (found.from !== 'query') return OPEN;
    if (target.kind === 'other') {
      const maxAge = Math.max(0, token.exp - Math.floor(this.now() / 1000));
      res.setHeader('Set-Cookie', `${TOKEN_NAME}=${tokenQueryValue(token.text)}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax`);
    }
    return { passOn: token.text };
  }
}

function isStatusPage(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/watch/');
}
