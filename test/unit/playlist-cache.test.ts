import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { PlaylistCache } from '../../src/hls/playlist-cache.js';

describe('PlaylistCache', () => {
  it('renders once per (owner, variant, version) and compresses once', () => {
    const cache = new PlaylistCache();
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
    assert.equal(cache.get({}, 'hls', 'v1', () => null), null);
  });
});
