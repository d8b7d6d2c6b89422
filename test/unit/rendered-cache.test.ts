import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, RenderedCache } from '../../src/http/rendered-cache.js';

describe('RenderedCache', () => {
  it('renders once per (owner, variant, version) and compresses once', () => {
    const cache = new RenderedCache();
    const owner = {};
    let renders = 0;
    const render = (): string => `#EXTM3U\n#render ${++renders}\n`;
    const a = cache.get(owner, 'hls', 'v1', render)!;
    const b = cache.get(owner, 'hls', 'v1', render)!;
    assert.equal(renders, 1);
    assert.equal(a, b);
    assert.equal(a.gzip, b.gzip, 'the same compressed bytes are shared');
    assert.equal(gunzipSync(a.gzip).toString(), a.bytes.toString());
    cache.get(owner, 'hls', 'v2', render);
    assert.equal(renders, 2);
    cache.get(owner, 'other', 'v2', render);
    assert.equal(renders, 3);
    cache.get(owner, 'other', 3, render);
    cache.get(owner, 'other', 3, render);
    assert.equal(renders, 4, 'numeric versions compare by value');
    assert.equal(cache.get({}, 'hls', 'v1', () => null), null);
  });

  it('builds each response once: header list with CORS and the exact Content-Length of its coding', () => {
    const cache = new RenderedCache();
    const r = cache.get({}, 'x', 1, () => '#EXTM3U\n' + '#EXT-X-COMMENT\n'.repeat(50))!;
    const plain = r.response('application/vnd.apple.mpegurl', 'public, max-age=1', false);
    assert.equal(r.response('application/vnd.apple.mpegurl', 'public, max-age=1', false), plain, 'built once');
    const gz = r.response('application/vnd.apple.mpegurl', 'public, max-age=1', true, { ETag: r.etag });
    const headers = (list: readonly string[]): Map<string, string> => new Map(Array.from({ length: list.length / 2 }, (_, i) => [list[2 * i]!.toLowerCase(), list[2 * i + 1]!]));
    const p = headers(plain.headerList);
    const g = headers(gz.headerList);
    assert.equal(p.get('content-length'), String(r.bytes.length));
    assert.equal(g.get('content-length'), String(r.gzip.length));
    assert.equal(g.get('content-encoding'), 'gzip');
    assert.equal(p.get('content-encoding'), undefined);
    assert.equal(p.get('access-control-allow-origin'), '*');
    assert.equal(p.get('vary'), 'Accept-Encoding');
    assert.equal(g.get('etag'), r.etag);
    assert.match(r.etag, /^"[\w-]{22}"$/);
    assert.notEqual(r.response('application/vnd.apple.mpegurl', 'public, max-age=12', false), plain, 'one per Cache-Control value');
  });

  it('takes gzip unless the client refuses it with q=0', () => {
    for (const yes of ['gzip', 'gzip, deflate, br', 'br;q=1, gzip;q=0.5', 'deflate;q=0.5, gzip;q=1.0', 'x-gzip']) assert.equal(acceptsGzip(yes), true, yes);
    for (const no of [undefined, '', 'br', 'identity', 'gzip;q=0', 'br, gzip;q=0, deflate', 'gzip; q=0.000']) assert.equal(acceptsGzip(no), false, String(no));
  });
});
