import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Rendered } from './rendered-cache.js';

/** The CORS headers one response carries, as an object and as a flat writeHead list. */
export interface CorsHeaders {
  readonly headers: Readonly<OutgoingHttpHeaders>;
  readonly list: readonly string[];
}

/** hls.js reads Age, dash.js reads Date (UTCTiming http-head). */
export const EXPOSED_HEADERS = 'Age, Date, Content-Length, Content-Range, ETag';

function corsHeaders(headers: OutgoingHttpHeaders): CorsHeaders {
  return { headers, list: Object.entries(headers).flatMap(([k, v]) => [k, String(v)]) };
}

/** `Access-Control-Allow-Origin: *`: the default of playback responses (their header lists are prebuilt with it). */
export const OPEN_CORS: CorsHeaders = corsHeaders({ 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': EXPOSED_HEADERS });
export const NO_CORS: CorsHeaders = corsHeaders({});
/** A response whose headers depend on the Origin the request sent, but that allows none of them. */
export const VARY_ORIGIN: CorsHeaders = corsHeaders({ Vary: 'Origin' });

/** One allowed origin echoed back (lists of origins cannot be written in one header). */
export function allowOrigin(origin: string): CorsHeaders {
  return corsHeaders({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', 'Access-Control-Expose-Headers': EXPOSED_HEADERS, Vary: 'Origin' });
}

export type ManifestKind = 'hls' | 'mpd' | 'hesp';

/**
 * What the playback listener decided about one request before routing it, read by the response
 * helpers: its CORS headers, how many unsent bytes a growing response may queue for it, and the
 * signed-URL token its manifests pass on to their child URIs.
 */
export interface RequestPolicy {
  readonly cors: CorsHeaders;
  readonly maxUnsentBytes: number;
  readonly manifest: ((kind: ManifestKind, rendered: Rendered) => Rendered) | null;
  /** Counts a response cut for a reason of its own (a reader that stopped reading). */
  readonly onCut?: (reason: 'unsent-bytes') => void;
}

export const DEFAULT_POLICY: RequestPolicy = { cors: OPEN_CORS, maxUnsentBytes: 16 << 20, manifest: null };

const policies = new WeakMap<IncomingMessage, RequestPolicy>();

export function setPolicy(req: IncomingMessage, policy: RequestPolicy): void {
  policies.set(req, policy);
}

export function policyOf(req: IncomingMessage): RequestPolicy {
  return policies.get(req) ?? DEFAULT_POLICY;
}
