import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Audience, VIEWER_TTL_MS } from '../../src/status/audience.js';
import { describeStreams, type DeliveryCounters } from '../../src/status/describe.js';
import type { Stream } from '../../src/timeline/stream.js';
import { Harness, LADDER, LiveFeeder, loadTracks } from '../helpers/feed.js';

const tracks = loadTracks(LADDER);

function counters(held: Record<string, number> = {}, audience = new Audience()): DeliveryCounters {
  return { held: (s: Stream) => held[s.name] ?? 0, viewers: (s: Stream, now: number) => audience.count(s, now) };
}

const pagePath = (name: string): string => `/watch/${name}`;

describe('stream API (describeStreams)', () => {
  it('lists exactly the live streams, with their tracks, window, ingest state and URLs', () => {
    const h = new Harness();
    const a = new LiveFeeder(h, 'cam-a', tracks);
    const b = new LiveFeeder(h, 'cam-b', tracks.slice(0, 1));
    a.advanceTo(9);
    b.advanceTo(9);
    const list = describeStreams(h.registry.list(), counters({ 'cam-a': 3 }), h.nowMs, pagePath);
    assert.deepEqual(list.map((s) => s.name), ['cam-a', 'cam-b']);
    const s = list[0]!;
    const stream = h.registry.get('cam-a')!;
    assert.equal(s.tag, stream.tag);
    assert.deepEqual(s.tracks.map((t) => [t.name, t.kind, t.codec.slice(0, 4), t.width, t.height, t.frameRate]), [
      ['v360', 'video', 'avc1', 640, 360, 25],
      ['v180', 'video', 'avc1', 320, 180, 25],
      ['audio', 'audio', 'mp4a', null, null, null],
    ]);
    for (const t of s.tracks) {
      const track = stream.tracks.get(t.name)!;
      assert.equal(t.lastMsn, track.lastCompleteMsn());
      assert.deepEqual(t.lastPart, { msn: track.lastCompletePart()!.msn, part: track.lastCompletePart()!.index });
      assert.ok(t.bitrate && t.bitrate.average > 0 && t.bitrate.peak >= t.bitrate.average, `${t.name} bitrate ${JSON.stringify(t.bitrate)}`);
      assert.equal(t.state, 'active');
    }
    const listed = stream.tracks.get('v360')!.listedSegments();
    const first = listed[0]!;
    const last = listed[listed.length - 1]!;
    assert.deepEqual(s.window, {
      firstMsn: first.msn,
      lastMsn: last.msn,
      start: new Date(first.programDateTimeMs).toISOString(),
      end: new Date(last.programDateTimeMs + Math.round(last.seconds * 1000)).toISOString(),
      seconds: (last.programDateTimeMs + Math.round(last.seconds * 1000) - first.programDateTimeMs) / 1000,
    });
    assert.equal(s.window!.lastMsn - s.window!.firstMsn + 1, 4, 'four complete 2 s segments in 9 s');
    assert.equal(s.dvr, null);
    assert.deepEqual(s.durations, { targetDuration: 2, segment: stream.nominalSegmentDuration, partTarget: stream.partTarget });
    assert.equal(s.ingest.connected, true);
    assert.equal(s.ingest.idleSince, null);
    assert.ok(s.ingest.secondsSinceLastChunk !== null && s.ingest.secondsSinceLastChunk < 1);
    assert.deepEqual(s.delivery, { viewers: 0, heldRequests: 3, growingReaders: 0 });
    assert.deepEqual(s.urls, {
      llHls: '/live/cam-a/master.m3u8',
      lHls: '/live/cam-a/master-lhls.m3u8',
      ts: '/live/cam-a/master-ts.m3u8',
      dash: '/live/cam-a/manifest.mpd',
      dashTimeline: '/live/cam-a/manifest.mpd?mode=timeline',
      hesp: '/live/cam-a/hesp.json',
      page: '/watch/cam-a',
    });
    assert.equal(describeStreams(h.registry.list(), counters(), h.nowMs, null)[0]!.urls.page, null, 'no page link when the page is off');
  });

  it('reports an interrupted ingest as idle since its last chunk, and forgets ended streams', () => {
    const h = new Harness();
    const a = new LiveFeeder(h, 'a', tracks);
    const b = new LiveFeeder(h, 'b', tracks);
    a.advanceTo(6);
    b.advanceTo(6);
    const lastChunk = Math.max(...[...h.registry.get('a')!.tracks.values()].map((t) => t.lastChunkAtMs));
    for (const t of h.registry.get('a')!.tracks.values()) t.interrupt();
    h.nowMs += 2500;
    let list = describeStreams(h.registry.list(), counters(), h.nowMs, pagePath);
    const idle = list.find((s) => s.name === 'a')!;
    assert.equal(idle.ingest.connected, false);
    assert.equal(idle.ingest.idleSince, new Date(lastChunk).toISOString());
    assert.equal(idle.ingest.secondsSinceLastChunk, (h.nowMs - lastChunk) / 1000);
    assert.ok(idle.tracks.every((t) => t.state === 'idle'));

    b.end();
    assert.ok(h.registry.get('b')!.ended && h.registry.size === 2, 'b ended but still serves its last window');
    list = describeStreams(h.registry.list(), counters(), h.nowMs, pagePath);
    assert.deepEqual(list.map((s) => s.name), ['a']);
    // Swept away after its window: still absent.
    h.nowMs += 200_000;
    h.registry.sweep();
    assert.deepEqual(describeStreams(h.registry.list(), counters(), h.nowMs, pagePath).map((s) => s.name), []);
  });

  it('counts distinct recent clients as viewers', () => {
    const h = new Harness();
    new LiveFeeder(h, 'v', tracks).advanceTo(3);
    const stream = h.registry.get('v')!;
    const audience = new Audience();
    const t0 = h.nowMs;
    audience.seen(stream, '127.0.0.1|hls.js', t0);
    audience.seen(stream, '127.0.0.1|hls.js', t0 + 10);
    audience.seen(stream, '10.0.0.2|curl', t0 + 20);
    assert.equal(audience.count(stream, t0 + 30), 2);
    assert.equal(audience.count(stream, t0 + 20 + VIEWER_TTL_MS), 1, 'the first client went quiet');
    assert.equal(audience.count(stream, t0 + 21 + VIEWER_TTL_MS), 0);
    for (let i = 0; i < 1000; i++) audience.seen(stream, `client-${i}`, t0 + 100_000 + i * 100);
    assert.ok(audience.count(stream, t0 + 200_000) <= VIEWER_TTL_MS / 100 + 1, 'old clients are pruned as new ones come');
  });
});
