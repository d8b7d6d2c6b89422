import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dashTemplates, hespBaseUrl, initUri, mediaPlaylistUri, parsePlaybackPath, partUri, playbackPath, segmentUri, siblingPlaylistUri, type PlaybackTarget } from '../../src/urls.js';

const TARGETS: PlaybackTarget[] = [
  { kind: 'utc' },
  { kind: 'health' },
  { kind: 'metrics' },
  { kind: 'api', stream: null },
  { kind: 'api', stream: 'ch1' },
  { kind: 'master', stream: 'ch1', flavor: 'll-hls' },
  { kind: 'master', stream: 'ch1', flavor: 'l-hls' },
  { kind: 'master', stream: 'ch1', flavor: 'ts' },
  { kind: 'mpd', stream: 'ch_1' },
  { kind: 'hesp', stream: 'CH-1' },
  { kind: 'playlist', stream: 'ch1', track: 'v720', flavor: 'll-hls' },
  { kind: 'playlist', stream: 'ch1', track: 'v720', flavor: 'l-hls' },
  { kind: 'playlist', stream: 'ch1', track: 'audio', flavor: 'ts' },
  { kind: 'segment', stream: 'ch1', track: 'v720', tag: 'a1h8ehv5', msn: 866315001 },
  { kind: 'ts', stream: 'ch1', track: 'v720', tag: 'a1h8ehv5', msn: 7 },
  { kind: 'vtt', stream: 'ch1', track: 'subs', tag: 'a1h8ehv5', msn: 7, part: null, media: 'fmp4' },
  { kind: 'vtt', stream: 'ch1', track: 'subs', tag: 'a1h8ehv5', msn: 7, part: null, media: 'ts' },
  { kind: 'vtt', stream: 'ch1', track: 'subs', tag: 'a1h8ehv5', msn: 7, part: 3, media: 'fmp4' },
  { kind: 'part', stream: 'ch1', track: 'cam-v1', tag: 'a1h8ehv5', msn: 7, part: 0 },
  { kind: 'init', stream: 'ch1', track: 'cam-a2', tag: 'a1h8ehv5', id: '14601963ce64' },
  { kind: 'hesp-packet', stream: 'ch1', track: 'v720', tag: 'a1h8ehv5', seq: 1234 },
  { kind: 'hesp-packet', stream: 'ch1', track: 'v720', tag: 'a1h8ehv5', seq: 'now' },
  { kind: 'other', path: '/' },
  { kind: 'other', path: '/watch/ch1' },
];

describe('playback URLs: one module builds and parses them', () => {
  it('round-trips every kind of target', () => {
    for (const t of TARGETS) assert.deepEqual(parsePlaybackPath(playbackPath(t)), t, playbackPath(t));
  });

  it('resolves the relative URIs manifests write to the targets they name', () => {
    const base = (path: string): string => path.slice(0, path.lastIndexOf('/') + 1);
    const resolve = (dir: string, uri: string): string => new URL(uri, `http://x${dir}`).pathname;
    const media = playbackPath({ kind: 'playlist', stream: 's', track: 'v1', flavor: 'll-hls' });
    assert.equal(resolve('/live/s/', mediaPlaylistUri('v1')), media);
    assert.deepEqual(parsePlaybackPath(resolve(base(media), segmentUri('t1', 5))), { kind: 'segment', stream: 's', track: 'v1', tag: 't1', msn: 5 });
    assert.deepEqual(parsePlaybackPath(resolve(base(media), partUri('t1', 5, 2))), { kind: 'part', stream: 's', track: 'v1', tag: 't1', msn: 5, part: 2 });
    assert.deepEqual(parsePlaybackPath(resolve(base(media), initUri('t1', 'ab12'))), { kind: 'init', stream: 's', track: 'v1', tag: 't1', id: 'ab12' });
    assert.deepEqual(parsePlaybackPath(resolve(base(media), segmentUri('t1', 5, 'ts'))), { kind: 'ts', stream: 's', track: 'v1', tag: 't1', msn: 5 });
    assert.deepEqual(parsePlaybackPath(resolve(base(media), siblingPlaylistUri('a1'))), { kind: 'playlist', stream: 's', track: 'a1', flavor: 'll-hls' });
    const t = dashTemplates('t1', 'ab12');
    assert.deepEqual(parsePlaybackPath(resolve('/live/s/', t.media.replace('$RepresentationID$', 'v1').replace('$Number$', '9'))), { kind: 'segment', stream: 's', track: 'v1', tag: 't1', msn: 9 });
    assert.deepEqual(parsePlaybackPath(resolve('/live/s/', t.initialization.replace('$RepresentationID$', 'v1'))), { kind: 'init', stream: 's', track: 'v1', tag: 't1', id: 'ab12' });
    assert.deepEqual(parsePlaybackPath(resolve('/live/s/', `${hespBaseUrl('v1', 't1')}hesp-now.mp4`)), { kind: 'hesp-packet', stream: 's', track: 'v1', tag: 't1', seq: 'now' });
  });

  it('answers 404 for a /live/ path of no known shape, and leaves other paths to the status page', () => {
    for (const bad of ['/live/s', '/live/s/x.m3u8', '/live/s/v/index.mpd', '/live/s/v/T1/1.m4s', '/live/s/v/t1/1.2.3.m4s', '/live/s/v/t1/init-xyz.mp4', '/live/s/v/t1/a/b.m4s', '/live/s%2e/master.m3u8', '/live/../x/master.m3u8']) {
      assert.throws(() => parsePlaybackPath(bad), (e: Error & { code?: string }) => e.code === 'NOT_FOUND', bad);
    }
    assert.deepEqual(parsePlaybackPath('/assets/x.js'), { kind: 'other', path: '/assets/x.js' });
  });
});
