import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttributeList, decimal } from '../../src/hls/attributes.js';
import { renderMediaPlaylist, type MediaPlaylistOptions } from '../../src/hls/media-playlist.js';
import { renderMultivariantPlaylist } from '../../src/hls/multivariant.js';
import { feed, Harness, LADDER, loadTracks } from '../helpers/feed.js';
import { completeSegments, parseMaster, parseMedia } from '../helpers/hls.js';

const ladder = loadTracks(LADDER);
const LL: MediaPlaylistOptions = { flavor: 'll-hls', partAddressing: 'uri' };

describe('HLS media playlist', () => {
  it('is null until the first segment completes, then lists complete segments only', () => {
    const h = new Harness();
    feed(h, 's', ladder, { untilSeconds: 1.8 });
    const stream = h.registry.get('s')!;
    assert.equal(renderMediaPlaylist(stream, stream.tracks.get('v360')!, LL), null);
    assert.equal(renderMultivariantPlaylist(stream), null);
  });

  it('parses in hls-parser strict mode with MAP, PROGRAM-DATE-TIME, MEDIA-SEQUENCE ≥ 1', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const stream = h.registry.get('s')!;
    for (const t of stream.tracks.values()) {
      const text = renderMediaPlaylist(stream, t, LL)!;
      const pl = parseMedia(text);
      assert.equal(pl.version, 9);
      assert.equal(pl.targetDuration, 2);
      assert.equal(pl.mediaSequenceBase, 1);
      assert.equal(pl.discontinuitySequenceBase, 0);
      assert.equal(completeSegments(pl).length, 3);
      assert.equal(pl.endlist, false);
      for (const s of completeSegments(pl)) {
        assert.match(s.uri, new RegExp(`^${stream.tag}/\\d+\\.m4s$`));
        assert.match(s.map?.uri ?? '', new RegExp(`^${stream.tag}/init-[0-9a-f]{12}\\.mp4$`));
        assert.ok(s.programDateTime instanceof Date);
        assert.ok(Math.round(s.duration) <= pl.targetDuration);
      }
      // Program date-times follow the media durations exactly.
      const [a, b] = pl.segments;
      assert.equal(b!.programDateTime!.getTime() - a!.programDateTime!.getTime(), Math.round(a!.duration * 1000));
    }
    // The same MSN carries the same PDT (±1 frame) in every rendition.
    const pdts = [...stream.tracks.values()].map((t) => parseMedia(renderMediaPlaylist(stream, t, LL)!).segments[1]!.programDateTime!.getTime());
    assert.ok(Math.max(...pdts) - Math.min(...pdts) <= 22);
  });

  it('marks discontinuities and keeps DISCONTINUITY-SEQUENCE consistent across renditions', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const stream = h.registry.get('s')!;
    for (const t of stream.tracks.values()) t.interrupt();
    h.nowMs += 2000;
    feed(h, 's', ladder, { startMs: h.nowMs, untilSeconds: 4.1 });
    for (const t of stream.tracks.values()) {
      const pl = parseMedia(renderMediaPlaylist(stream, t, LL)!);
      const disc = pl.segments.findIndex((s) => s.discontinuity);
      assert.ok(disc > 0, `${t.name} has a discontinuity`);
      assert.equal(pl.segments[disc]!.mediaSequenceNumber, 5);
      assert.equal(pl.segments[disc]!.discontinuitySequence, 1);
    }
  });

  it('ends with EXT-X-ENDLIST once every track ended', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const stream = h.registry.get('s')!;
    for (const t of stream.tracks.values()) t.end();
    assert.ok(stream.ended);
    for (const t of stream.tracks.values()) {
      const pl = parseMedia(renderMediaPlaylist(stream, t, LL)!);
      assert.equal(pl.endlist, true);
      assert.equal(pl.segments.length, 4);
    }
  });
});

describe('HLS multivariant playlist', () => {
  it('lists every video with measured bandwidth, codecs, resolution and frame rate, and audio as a group', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const stream = h.registry.get('s')!;
    const text = renderMultivariantPlaylist(stream)!;
    const pl = parseMaster(text);
    assert.ok(text.includes('#EXT-X-INDEPENDENT-SEGMENTS'));
    const variants = pl.variants.filter((v) => !v.isIFrameOnly);
    assert.equal(variants.length, 2);
    const [hi, lo] = variants;
    assert.equal(hi!.uri, 'v360/index.m3u8');
    assert.equal(lo!.uri, 'v180/index.m3u8');
    assert.equal(hi!.codecs, 'avc1.4d401e,mp4a.40.2');
    assert.deepEqual(hi!.resolution, { width: 640, height: 360 });
    assert.equal(hi!.frameRate, 25);
    assert.ok(hi!.bandwidth > lo!.bandwidth);
    assert.ok(hi!.averageBandwidth! <= hi!.bandwidth);
    const bytes = stream.tracks.get('v360')!.listedSegments().reduce((n, s) => n + s.byteLength, 0) + stream.tracks.get('audio')!.listedSegments().reduce((n, s) => n + s.byteLength, 0);
    assert.ok(Math.abs(hi!.averageBandwidth! - (bytes * 8) / 6) / hi!.averageBandwidth! < 0.02, 'AVERAGE-BANDWIDTH is the measured rate');
    const audio = hi!.audio[0]!;
    assert.equal(audio.type, 'AUDIO');
    assert.equal(audio.uri, 'audio/index.m3u8');
    assert.equal(audio.channels, '2');
    assert.equal(audio.isDefault, true);
    assert.equal(audio.autoselect, true);
    assert.equal(audio.language, 'und');
  });

  it('writes audio-only streams as audio variants', () => {
    const h = new Harness();
    feed(h, 'radio', loadTracks([LADDER[2]!]));
    const pl = parseMaster(renderMultivariantPlaylist(h.registry.get('radio')!)!);
    assert.equal(pl.variants.length, 1);
    assert.equal(pl.variants[0]!.codecs, 'mp4a.40.2');
  });
});

describe('HLS attribute writer', () => {
  it('refuses values the grammar does not allow', () => {
    assert.throws(() => new AttributeList().quoted('URI', 'a"b'));
    assert.throws(() => new AttributeList().quoted('URI', 'a\nb'));
    assert.throws(() => new AttributeList().integer('BANDWIDTH', -1));
    assert.throws(() => new AttributeList().enumerated('TYPE', 'A B'));
    assert.equal(new AttributeList().integer('BANDWIDTH', 1).quoted('CODECS', 'x').resolution('RESOLUTION', 640, 360).toString(), 'BANDWIDTH=1,CODECS="x",RESOLUTION=640x360');
  });

  it('formats decimals with at least three digits', () => {
    assert.equal(decimal(2), '2.000');
    assert.equal(decimal(2.005333333), '2.00533');
    assert.equal(decimal(0.48), '0.480');
  });
});

describe('L-HLS media playlist', () => {
  it('marks the first prefetch segment of a new timeline with EXT-X-PREFETCH-DISCONTINUITY', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const stream = h.registry.get('s')!;
    for (const t of stream.tracks.values()) t.interrupt();
    h.nowMs += 2000;
    feed(h, 's', ladder, { startMs: h.nowMs, untilSeconds: 0.6 });
    const text = renderMediaPlaylist(stream, stream.tracks.get('v360')!, { flavor: 'l-hls' })!;
    const pl = parseMedia(text);
    assert.equal(pl.prefetchSegments.length, 2);
    assert.match(text, /#EXT-X-PREFETCH-DISCONTINUITY\n#EXT-X-PREFETCH:[^\n]+\/5\.m4s\n#EXT-X-PREFETCH:[^\n]+\/6\.m4s\n$/);
  });

  it('drops the prefetch segments once the stream ends', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const stream = h.registry.get('s')!;
    stream.end(h.nowMs);
    const text = renderMediaPlaylist(stream, stream.tracks.get('v360')!, { flavor: 'l-hls' })!;
    assert.doesNotMatch(text, /PREFETCH/);
    assert.match(text, /#EXT-X-ENDLIST\n$/);
  });
});

describe('delta updates', () => {
  it("skip the oldest segments and keep the newest that fit the Skip Boundary (Apple's example: TD 4, boundary 24 keeps 24 s)", async () => {
    const { keptBySkipBoundary } = await import('../../src/hls/media-playlist.js');
    const segs = Array.from({ length: 9 }, () => ({ seconds: 4 })) as unknown as Parameters<typeof keptBySkipBoundary>[0];
    assert.equal(keptBySkipBoundary(segs, 24), 6);
    const uneven = [2, 2, 2.005, 1.984, 2.005, 2.005, 1.984, 2.005].map((seconds) => ({ seconds })) as unknown as Parameters<typeof keptBySkipBoundary>[0];
    assert.equal(keptBySkipBoundary(uneven, 12), 6);
    assert.equal(keptBySkipBoundary(uneven, 100), 8);
  });
});
