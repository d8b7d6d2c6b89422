import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iframeBitrate, renderIframePlaylist } from '../../src/hls/iframe-playlist.js';
import { renderMultivariantPlaylist } from '../../src/hls/multivariant.js';
import { parseMoof, isSyncSample } from '../../src/isobmff/fragment.js';
import { firstKeyframe } from '../../src/timeline/keyframes.js';
import { parsePlaybackPath, playbackPath } from '../../src/urls.js';
import type { Stream } from '../../src/timeline/stream.js';
import type { Track } from '../../src/timeline/track.js';
import { feed, Harness, LADDER, loadTracks } from '../helpers/feed.js';
import { parseMaster, parseMedia } from '../helpers/hls.js';
import { segmentBuffer } from '../helpers/mp4.js';

const ladder = loadTracks(LADDER);

function live(): { h: Harness; stream: Stream; video: Track } {
  const h = new Harness();
  feed(h, 's', ladder);
  const stream = h.registry.get('s')!;
  return { h, stream, video: stream.tracks.get('v360')! };
}

/** The first sample of the one traf of a `moof` at the start of `bytes`, as the init's defaults resolve it. */
function firstSampleFlags(track: Track, bytes: Buffer): number {
  assert.equal(bytes.toString('latin1', 4, 8), 'moof', 'the range starts with a moof');
  const moof = bytes.subarray(0, bytes.readUInt32BE(0));
  const fragment = parseMoof(moof, 8, 0, () => track.info.defaults);
  return fragment.trafs[0]!.flags[0]!;
}

describe('I-frame playlist', () => {
  it('parses strictly: I-FRAMES-ONLY, MAP, PDT, one byte range per segment with its MSN', () => {
    const { stream, video } = live();
    for (const [flavor, version] of [['ll-hls', 9], ['l-hls', 6]] as const) {
      const text = renderIframePlaylist(stream, video, flavor)!;
      const pl = parseMedia(text);
      assert.equal(pl.isIFrame, true);
      assert.equal(pl.version, version);
      assert.equal(pl.mediaSequenceBase, 1);
      assert.doesNotMatch(text, /#EXT-X-(PART|PRELOAD-HINT|SERVER-CONTROL|SKIP|RENDITION-REPORT)/, 'no low-latency tags');
      const listed = video.listedSegments();
      assert.equal(pl.segments.length, listed.length);
      pl.segments.forEach((s, i) => {
        const seg = listed[i]!;
        assert.equal(s.uri, `${stream.tag}/${seg.msn}.m4s`);
        assert.equal(s.mediaSequenceNumber, seg.msn);
        assert.equal(s.duration, Number(seg.seconds.toFixed(3)));
        assert.equal(s.programDateTime!.getTime(), seg.programDateTimeMs);
        assert.match(s.map!.uri, new RegExp(`^${stream.tag}/init-[0-9a-f]{12}\\.mp4$`));
        assert.deepEqual(s.byterange, { offset: seg.keyframes![0]!.byteOffset, length: seg.keyframes![0]!.byteLength });
      });
    }
  });

  it('addresses each sync sample: a moof whose first sample is sync, its mdat up to the end of that sample', async () => {
    const { video } = live();
    let checked = 0;
    for (const seg of video.listedSegments()) {
      const whole = await segmentBuffer(video, seg.msn);
      assert.ok(seg.keyframes!.length >= 1);
      for (const k of seg.keyframes!) {
        const bytes = whole.subarray(k.byteOffset, k.byteOffset + k.byteLength);
        assert.ok(isSyncSample(firstSampleFlags(video, bytes)), `segment ${seg.msn} at ${k.byteOffset}: a sync sample`);
        const moofSize = bytes.readUInt32BE(0);
        assert.equal(bytes.toString('latin1', moofSize + 4, moofSize + 8), 'mdat');
        const moof = parseMoof(bytes.subarray(0, moofSize), 8, 0, () => video.info.defaults);
        assert.equal(k.byteLength, moofSize + 8 + moof.trafs[0]!.sizes[0]!, 'moof, mdat header and the sync sample');
        checked++;
      }
    }
    assert.ok(checked >= 3);
  });

  it('starts the range at the moof, after the prft the encoder put before it', async () => {
    const h = new Harness();
    feed(h, 's', ladder, { prft: true });
    const video = h.registry.get('s')!.tracks.get('v360')!;
    for (const seg of video.listedSegments()) {
      const whole = await segmentBuffer(video, seg.msn);
      assert.equal(whole.toString('latin1', 4, 8), 'prft');
      const k = seg.keyframes![0]!;
      assert.equal(k.byteOffset, whole.readUInt32BE(0));
      assert.ok(isSyncSample(firstSampleFlags(video, whole.subarray(k.byteOffset, k.byteOffset + k.byteLength))));
      assert.deepEqual(firstKeyframe(video, seg, whole.subarray(0, 16 * 1024)), k, 'read back alike from the head');
    }
  });

  it('reads the first keyframe back from the head of a stored segment (a DVR restore), or none from a cut head', async () => {
    const { video } = live();
    for (const seg of video.listedSegments()) {
      const whole = await segmentBuffer(video, seg.msn);
      seg.compact();
      assert.deepEqual(firstKeyframe(video, seg, whole.subarray(0, 16 * 1024)), seg.keyframes![0]);
      assert.equal(firstKeyframe(video, seg, whole.subarray(0, 40)), null);
    }
    const audio = live().stream.tracks.get('audio')!;
    const seg = audio.listedSegments()[1]!;
    const k = firstKeyframe(audio, seg, await segmentBuffer(audio, seg.msn));
    assert.equal(k?.byteOffset, 0, 'every audio sample is a sync sample');
  });

  it('is announced in the fMP4 multivariant playlists, not the MPEG-TS one, with the peak rate of its entries', () => {
    const { stream, video } = live();
    for (const flavor of ['ll-hls', 'l-hls'] as const) {
      const text = renderMultivariantPlaylist(stream, flavor, '?dvr=1')!;
      const master = parseMaster(text);
      const iframes = master.variants.filter((v) => v.isIFrameOnly);
      assert.deepEqual(
        iframes.map((v) => v.uri),
        ['v360', 'v180'].map((t) => `${t}/${flavor === 'll-hls' ? 'iframes' : 'iframes-lhls'}.m3u8?dvr=1`),
      );
      const [hi] = iframes;
      assert.equal(hi!.codecs, video.info.codec);
      assert.deepEqual(hi!.resolution, { width: 640, height: 360 });
      const peak = Math.ceil(Math.max(...video.listedSegments().map((s) => (s.keyframes![0]!.byteLength * 8) / s.seconds)));
      assert.equal(hi!.bandwidth, peak);
      assert.equal(iframeBitrate(video).peak, peak);
    }
    assert.doesNotMatch(renderMultivariantPlaylist(stream, 'ts')!, /I-FRAME/);
  });

  it('keeps the media playlists’ discontinuities, and a gap stays a gap', () => {
    const { h, stream, video } = live();
    for (const t of stream.tracks.values()) t.interrupt();
    h.nowMs += 2000;
    feed(h, 's', ladder, { startMs: h.nowMs, untilSeconds: 4.1 });
    const pl = parseMedia(renderIframePlaylist(stream, video, 'll-hls')!);
    const disc = pl.segments.findIndex((s) => s.discontinuity);
    assert.ok(disc > 0);
    assert.equal(pl.segments[disc]!.mediaSequenceNumber, 5);
    assert.ok(pl.segments[disc]!.map, 'a new EXT-X-MAP after the discontinuity is allowed, not required');
    const seg = video.listedSegments()[0]!;
    seg.lose();
    const text = renderIframePlaylist(stream, video, 'll-hls')!;
    assert.match(text, new RegExp(`#EXTINF:[\\d.]+,\\n#EXT-X-GAP\\n${stream.tag}/${seg.msn}\\.m4s`));
    assert.equal(parseMedia(text).segments[0]!.gap, true);
  });

  it('lists what a DVR view of the media playlist lists (start/end, time_shift)', () => {
    const { stream, video } = live();
    const range = { view: { kind: 'range', start: 2, end: 4 }, suffix: '?start=…' } as const;
    const text = renderIframePlaylist(stream, video, 'll-hls', range)!;
    const pl = parseMedia(text);
    assert.equal(pl.playlistType, 'VOD');
    assert.equal(pl.endlist, true);
    assert.deepEqual(pl.segments.map((s) => s.mediaSequenceNumber), [2]);
    assert.match(text, /#EXT-X-START:TIME-OFFSET=0.000,PRECISE=YES/);
    const shifted = parseMedia(renderIframePlaylist(stream, video, 'll-hls', { view: { kind: 'live', all: false, shift: 2 }, suffix: '?time_shift=2' })!);
    assert.deepEqual(shifted.segments.map((s) => s.mediaSequenceNumber), [1, 2]);
    assert.equal(shifted.endlist, false);
  });

  it('ends with the stream (EXT-X-ENDLIST) and is the same text for the same timeline', () => {
    const a = live();
    const b = live();
    assert.equal(renderIframePlaylist(a.stream, a.video, 'll-hls')!.replaceAll(a.stream.tag, 'T'), renderIframePlaylist(b.stream, b.video, 'll-hls')!.replaceAll(b.stream.tag, 'T'));
    for (const t of a.stream.tracks.values()) t.end();
    assert.match(renderIframePlaylist(a.stream, a.video, 'l-hls')!, /#EXT-X-ENDLIST\n$/);
  });

  it('has URLs of its own, built and parsed in one place', () => {
    for (const [file, flavor] of [['iframes.m3u8', 'll-hls'], ['iframes-lhls.m3u8', 'l-hls']] as const) {
      const path = `/live/s/v360/${file}`;
      const target = parsePlaybackPath(path);
      assert.deepEqual(target, { kind: 'iframes', stream: 's', track: 'v360', flavor });
      assert.equal(playbackPath(target), path);
    }
    // Names of Object.prototype are not files (they were found in the lookup tables before).
    for (const path of ['/live/s/v360/constructor', '/live/s/toString']) assert.throws(() => parsePlaybackPath(path), /no such resource/);
  });
});
