import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { OriginError } from '../errors.js';
import type { StatusAssets } from '../status/assets.js';
import { isValidName, type StreamRegistry } from '../timeline/registry.js';
import { CacheControl } from './cache-policy.js';
import { acceptsGzip, Rendered } from './rendered-cache.js';
import { prepare, sendError, sendPrepared, type Prepared } from './respond.js';

const gzipAsync = promisify(gzipCallback);

const HTML_TYPE = 'text/html; charset=utf-8';
const PAGE_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };

/** A stream's page on the status page. */
export const watchPath = (name: string): string => `/watch/${name}`;

/**
 * The operator's status page: `/` (every live stream), `/watch/{stream}` (its players side by
 * side) and their immutable assets. Files are read and gzipped once, on first request.
 */
export class StatusPage {
  private readonly overview: { readonly before: string; readonly after: string };
  private overviewFor: { names: string; rendered: Rendered } | null = null;
  private readonly stream: Rendered;
  private readonly loaded = new Map<string, Promise<{ identity: Prepared; gzip: Prepared }>>();

  constructor(
    private readonly assets: StatusAssets,
    private readonly streams: StreamRegistry,
  ) {
    const [before = '', after = ''] = assets.overviewHtml.toString('utf8').split('{{streams}}');
    this.overview = { before, after };
    this.stream = new Rendered(assets.streamHtml);
  }

  /** `/` with the live streams' links in the HTML itself (for clients without scripts), rendered once per set of names. */
  private overviewPage(): Rendered {
    const names = this.streams
      .list()
      .filter((s) => !s.ended)
      .map((s) => s.name)
      .sort();
    const key = names.join('/');
    if (this.overviewFor?.names !== key) {
      // Stream names are [A-Za-z0-9_-]: nothing to escape.
      const items = names.map((n) => `<li><a href="${watchPath(n)}">${n}</a> · <a href="/live/${n}/master.m3u8">master.m3u8</a> · <a href="/live/${n}/manifest.mpd">manifest.mpd</a></li>`);
      const list = `<ul id="stream-links">${items.join('')}</ul>`;
      this.overviewFor = { names: key, rendered: new Rendered(Buffer.from(this.overview.before + list + this.overview.after)) };
    }
    return this.overviewFor.rendered;
  }

  /** Answers `path` when it is one of the page's; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    if (path === '/' || path === '/index.html') {
      // It lists the live streams: cacheable as briefly as the stream API.
      sendPrepared(req, res, this.overviewPage().response(HTML_TYPE, CacheControl.api, gzip, PAGE_HEADERS));
      return true;
    }
    if (path.startsWith('/watch/')) {
      const name = path.slice('/watch/'.length);
      if (!isValidName(name)) throw new OriginError('NOT_FOUND', `no such stream page: ${path}`);
      // One page for every name: it waits for the stream when it is not live.
      sendPrepared(req, res, this.stream.response(HTML_TYPE, CacheControl.page, gzip, PAGE_HEADERS));
      return true;
    }
    const asset = this.assets.files.get(path);
    if (!asset) return false;
    let loading = this.loaded.get(path);
    if (!loading) {
      // Compressed off the event loop: the libraries are hundreds of kilobytes.
      loading = readFile(asset.file).then(async (bytes) => {
        const headers = { 'Content-Type': asset.type, 'Cache-Control': CacheControl.immutable, Vary: 'Accept-Encoding', ...PAGE_HEADERS };
        return { identity: prepare(headers, bytes), gzip: prepare({ ...headers, 'Content-Encoding': 'gzip' }, await gzipAsync(bytes)) };
      });
      this.loaded.set(path, loading);
    }
    loading.then(
      (prepared) => sendPrepared(req, res, gzip ? prepared.gzip : prepared.identity),
      (err: unknown) => {
        this.loaded.delete(path);
        sendError(req, res, err);
      },
    );
    return true;
  }
}
