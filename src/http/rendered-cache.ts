import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { corsHeaders, prepare, sendPrepared, type Prepared } from './respond.js';
import { policyOf, type ManifestKind } from './request-policy.js';

/**
 * A rendered manifest (playlist, MPD, HESP JSON): its bytes, their gzip made on first demand, and
 * each complete response (headers + body) built on first demand and then sent as is.
 */
export class Rendered {
  private gzipped: Buffer | undefined;
  private tag: string | undefined;
  private readonly responses = new Map<string, [Prepared | undefined, Prepared | undefined]>();

  constructor(readonly bytes: Buffer) {}

  get gzip(): Buffer {
    this.gzipped ??= gzipSync(this.bytes);
    return this.gzipped;
  }

  /** A strong validator of the identity bytes (the gzip bytes follow from them). */
  get etag(): string {
    this.tag ??= `"${createHash('sha1').update(this.bytes).digest('base64url').slice(0, 22)}"`;
    return this.tag;
  }

  /** The 200 response for one Cache-Control value, identity or gzip-coded; `extra` headers are read once. */
  response(contentType: string, cacheControl: string, gzip: boolean, extra?: OutgoingHttpHeaders): Prepared {
    let pair = this.responses.get(cacheControl);
    if (!pair) {
      pair = [undefined, undefined];
      this.responses.set(cacheControl, pair);
    }
    const i = gzip ? 1 : 0;
    let prepared = pair[i];
    if (!prepared) {
      const headers: OutgoingHttpHeaders = { 'Content-Type': contentType, 'Cache-Control': cacheControl, Vary: 'Accept-Encoding', ...extra };
      if (gzip) headers['Content-Encoding'] = 'gzip';
      prepared = prepare(headers, gzip ? this.gzip : this.bytes);
      pair[i] = prepared;
    }
    return prepared;
  }
}

const MAX_VARIANTS = 64;

/**
 * Manifests rendered once per (owner, variant, version): a thousand requests for the same version
 * cost one render, at most one compression and one header list per response kind.
 */
export class RenderedCache {
  private readonly entries = new WeakMap<object, Map<string, { version: string | number; rendered: Rendered | null }>>();

  get(owner: object, variant: string, version: string | number, render: () => string | null): Rendered | null {
    let byVariant = this.entries.get(owner);
    if (!byVariant) {
      byVariant = new Map();
      this.entries.set(owner, byVariant);
    }
    const hit = byVariant.get(variant);
    if (hit && hit.version === version) return hit.rendered;
    const text = render();
    const rendered = text === null ? null : new Rendered(Buffer.from(text, 'utf8'));
    // DVR views multiply variants (one per start time asked for): the least recently rendered go.
    byVariant.delete(variant);
    if (byVariant.size >= MAX_VARIANTS) byVariant.delete(byVariant.keys().next().value!);
    byVariant.set(variant, { version, rendered });
    return rendered;
  }
}

/** Whether the client takes gzip (every browser and CDN does). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined || !acceptEncoding.includes('gzip')) return false;
  if (!acceptEncoding.includes('q=')) return true;
  // "gzip;q=0" refuses it (RFC 9110 12.5.3).
  return /(?:^|,)\s*gzip\s*(?:;\s*q=(?!0(?:\.0*)?\s*(?:,|$))[\d.]+)?\s*(?:,|$)/i.test(acceptEncoding);
}

/**
 * "A recipient MUST use the weak comparison function when comparing entity tags for
 * If-None-Match" (RFC 9110 13.1.2): a `W/` on either side does not matter (a CDN that compresses
 * weakens the ETag it passes on).
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const raw of header.split(',')) {
    const m = raw.trim();
    if (m === '*' || (m.startsWith('W/') ? m.slice(2) : m) === opaque) return true;
  }
  return false;
}

const MANIFEST_KINDS: Record<string, ManifestKind> = {
  'application/vnd.apple.mpegurl': 'hls',
  'application/dash+xml': 'mpd',
  'application/vnd.theo.hesp+json; charset=utf-8': 'hesp',
};

/**
 * Sends a rendered manifest: 304 when the client already has these bytes (If-None-Match), else
 * the prepared 200 (identity or gzip), both with the ETag.
 */
export function sendRendered(req: IncomingMessage, res: ServerResponse, rendered: Rendered, contentType: string, cacheControl: string): void {
  // A signed-URL token that came in the query is passed on to every URI of the manifest.
  const tokenize = policyOf(req).manifest;
  if (tokenize) rendered = tokenize(MANIFEST_KINDS[contentType] ?? 'hls', rendered);
  const etag = rendered.etag;
  if (noneMatch(req.headers['if-none-match'], etag)) {
    res.writeHead(304, { ...corsHeaders(req), 'Content-Type': contentType, 'Cache-Control': cacheControl, ETag: etag, Vary: 'Accept-Encoding' });
    res.end();
    return;
  }
  sendPrepared(req, res, rendered.response(contentType, cacheControl, acceptsGzip(req.headers['accept-encoding']), { ETag: etag }));
}
