import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { assertCarriesPushed, childPlaylists, fetchMpd, listedSeconds, mediaPlaylist, seconds, timelineOf } from '../helpers/dvr.js';
import { LADDER, loadTracks } from '../helpers/feed.js';
import { run } from '../helpers/ffmpeg.js';
import { get, resolve, waitFor } from '../helpers/hls.js';
import { HttpFeeder } from '../helpers/http-feed.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

const MINUTES = 15;
const DVR = 7200;
const WINDOW = 60;

/**
 * The DVR views of one stream (dvr, start, end, time_shift) in every protocol, on 15 minutes of
 * media pushed in a few seconds: fixture fragments retimed onto the Unix epoch, so the timeline
 * ends now and a wall-clock time names a place in it.
 */
describe('DVR views', () => {
  let o: TestOrigin;
  let dir: string;
  let feeder: HttpFeeder;
  let t0: number;
  const base = (): string => `${o.playback}/live/dvr`;
  const iso = (s: number): string => new Date((t0 + s) * 1000).toISOString();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dvr-views-'));
    o = await startOrigin({ dvr: { windowSeconds: DVR, dataDir: dir }, window: { seconds: WINDOW }, ingest: { idleTimeoutMs: 600_000 } });
    t0 = Math.floor(Date.now() / 1000) - MINUTES * 60;
    feeder = new HttpFeeder(o.ingest, 'dvr', loadTracks(LADDER), t0);
    const started = Date.now();
    await feeder.pushUntil(MINUTES * 60 - 4);
    await waitFor('15 minutes in the DVR', async () => {
      const r = await get(`${base()}/v360/index.m3u8?dvr=1`);
      return r.status === 200 && r.body.toString().split('#EXTINF').length > (MINUTES * 60) / 2 - 4 ? true : undefined;
    });
    console.log(`pushed ${MINUTES} min of 3 tracks in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    feeder.abort();
    await o.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dvr=1 lists the whole DVR window, live, and its children carry the view; the plain playlist stays the live window', async () => {
    for (const master of ['master.m3u8', 'master-lhls.m3u8', 'master-ts.m3u8']) {
      const children = await childPlaylists(`${base()}/${master}?dvr=1`);
      assert.ok(children.length >= 2);
      for (const url of children) {
        assert.ok(url.endsWith('?dvr=1'), `${master}: ${url} carries the view`);
        const { text, pl } = await mediaPlaylist(url);
        assert.ok(listedSeconds(pl) > MINUTES * 60 - 20, `${url}: ${listedSeconds(pl)} s listed`);
        assert.ok(!text.includes('#EXT-X-PLAYLIST-TYPE') && !text.includes('#EXT-X-ENDLIST'), 'live');
        assert.ok(Math.abs(pl.segments[0]!.programDateTime!.getTime() / 1000 - t0) < 2, 'from the first pushed media');
      }
    }
    const { pl: live } = await mediaPlaylist(`${base()}/v360/index.m3u8`);
    assert.ok(listedSeconds(live) <= WINDOW + 2, `the live playlist lists ${listedSeconds(live)} s`);
    const { text: dvr } = await mediaPlaylist(`${base()}/v360/index.m3u8?dvr=1`);
    assert.match(dvr, /#EXT-X-PART:/, 'parts at the live edge');
    assert.match(dvr, /#EXT-X-RENDITION-REPORT:URI="..\/audio\/index.m3u8\?dvr=1"/);
    // Parts only on the newest entries (6.2.2): not on a segment ten minutes back.
    const lines = dvr.split('\n');
    const firstPart = lines.findIndex((l) => l.startsWith('#EXT-X-PART:'));
    const segmentsWithParts = lines.slice(firstPart).filter((l) => l.startsWith('#EXTINF')).length;
    assert.ok(segmentsWithParts <= 4, `parts on the last ${segmentsWithParts} segments`);
  });

  it('a long DVR playlist offers delta updates: _HLS_skip=YES sends only the newest part', async () => {
    const { text: full } = await mediaPlaylist(`${base()}/v360/index.m3u8?dvr=1`);
    assert.match(full, /CAN-SKIP-UNTIL=12\.000/);
    const delta = (await get(`${base()}/v360/index.m3u8?dvr=1&_HLS_skip=YES`)).body.toString();
    const skipped = Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(delta)?.[1]);
    assert.ok(skipped > 400, `${skipped} segments skipped`);
    assert.ok(delta.length * 10 < full.length, `delta ${delta.length} B against ${full.length} B`);
    console.log(`dvr=1 playlist ${full.length} B, delta update ${delta.length} B`);
  });

  it('start=T is an EVENT from T that grows with the live edge, in ISO 8601 or Unix seconds', async () => {
    const T = 300.5;
    for (const [master, media] of [
      ['master.m3u8', 'index.m3u8'],
      ['master-lhls.m3u8', 'lhls.m3u8'],
      ['master-ts.m3u8', 'ts.m3u8'],
    ] as const) {
      const children = await childPlaylists(`${base()}/${master}?start=${encodeURIComponent(iso(T))}`);
      assert.ok(children.every((u) => u.includes(`?start=${encodeURIComponent(iso(T))}`)), `${master}: children carry start`);
      const { text, pl } = await mediaPlaylist(children.find((u) => u.includes(`/v360/${media}`))!);
      assert.equal(pl.playlistType, 'EVENT');
      assert.ok(!text.includes('#EXT-X-ENDLIST'));
      const first = pl.segments[0]!;
      const firstAt = first.programDateTime!.getTime() / 1000 - t0;
      assert.ok(firstAt <= T && T < firstAt + first.duration, `${media}: the first segment (${firstAt}s) holds T`);
      // Players begin at T itself, not at the start of its segment.
      assert.ok(text.includes(`#EXT-X-START:TIME-OFFSET=${(T - firstAt).toFixed(3)},PRECISE=YES`), text.slice(0, 400));
      assert.ok(listedSeconds(pl) > MINUTES * 60 - T - 20);
    }
    const unix = await mediaPlaylist(`${base()}/v360/index.m3u8?start=${t0 + T}`);
    const isoView = await mediaPlaylist(`${base()}/v360/index.m3u8?start=${encodeURIComponent(iso(T))}`);
    assert.deepEqual(
      unix.pl.segments.map((s) => s.uri),
      isoView.pl.segments.map((s) => s.uri),
    );
    const before = unix.pl.segments.filter((s) => s.uri).length;
    await feeder.pushUntil(MINUTES * 60 + 2);
    const grown = await waitFor('the EVENT grows', async () => {
      const { pl } = await mediaPlaylist(`${base()}/v360/index.m3u8?start=${t0 + T}`);
      return pl.segments.filter((s) => s.uri).length > before ? pl : undefined;
    });
    assert.equal(grown.mediaSequenceBase, unix.pl.mediaSequenceBase, 'an EVENT keeps its first segment');
  });

  it('start=T&end=U in the past is VOD from T to U; with U ahead it is an EVENT that ends at U', async () => {
    const T = 120;
    const U = 420;
    for (const media of ['index.m3u8', 'lhls.m3u8', 'ts.m3u8']) {
      const { text, pl } = await mediaPlaylist(`${base()}/v360/${media}?start=${encodeURIComponent(iso(T))}&end=${encodeURIComponent(iso(U))}`);
      assert.equal(pl.playlistType, 'VOD');
      assert.ok(pl.endlist);
      assert.ok(!/#EXT-X-(PART|PRELOAD-HINT|PREFETCH|SERVER-CONTROL|PART-INF)/.test(text), `${media}: no live-edge tags`);
      assert.ok(Math.abs(listedSeconds(pl) - (U - T)) <= 2, `${media}: ${listedSeconds(pl)} s for ${U - T} s`);
    }
    const ahead = feeder.position + 6;
    const url = `${base()}/v360/index.m3u8?start=${t0 + feeder.position - 30}&end=${t0 + ahead}`;
    const { text, pl } = await mediaPlaylist(url);
    assert.equal(pl.playlistType, 'EVENT');
    assert.ok(!pl.endlist);
    assert.match(text, /#EXT-X-PRELOAD-HINT/, 'an EVENT at the live edge has parts');
    await feeder.pushUntil(ahead + 3);
    const done = await waitFor('the EVENT reaches U', async () => {
      const r = await mediaPlaylist(url);
      return r.pl.endlist ? r : undefined;
    });
    const last = done.pl.segments[done.pl.segments.length - 1]!;
    assert.ok(last.programDateTime!.getTime() / 1000 - t0 < ahead, 'nothing after U');
  });

  it('time_shift=S is the live window with its edge S seconds back, without parts', async () => {
    const { pl: live } = await mediaPlaylist(`${base()}/v360/index.m3u8`);
    const { text, pl } = await mediaPlaylist(`${base()}/v360/index.m3u8?time_shift=90`);
    const endOf = (p: typeof pl): number => {
      const s = p.segments.filter((x) => x.uri).at(-1)!;
      return s.programDateTime!.getTime() / 1000 + s.duration;
    };
    assert.ok(Math.abs(endOf(live) - 90 - endOf(pl)) <= 2.01, `edge ${endOf(live) - endOf(pl)} s back`);
    assert.ok(listedSeconds(pl) <= WINDOW + 2 && listedSeconds(pl) >= WINDOW - 4);
    assert.ok(!/#EXT-X-(PART|PRELOAD-HINT|PART-INF|ENDLIST|PLAYLIST-TYPE)/.test(text));
    const { pl: ts } = await mediaPlaylist(`${base()}/v360/ts.m3u8?time_shift=90`);
    assert.ok(Math.abs(endOf(ts) - endOf(pl)) <= 2.01);
  });

  it('the MPD: dvr=1 gets the DVR window as timeShiftBufferDepth, start is dynamic from T, a closed range is static, time_shift moves availabilityStartTime', async () => {
    const live = await fetchMpd(`${base()}/manifest.mpd?mode=timeline`);
    const dvr = await fetchMpd(`${base()}/manifest.mpd?mode=timeline&dvr=1`);
    assert.equal(dvr.mpd['type'], 'dynamic');
    assert.equal(seconds(dvr.mpd['timeShiftBufferDepth'] as string), DVR);
    const videoRep = (m: typeof dvr): Record<string, unknown> => {
      const sets = m.mpd.Period.flatMap((p) => p['AdaptationSet'] as Record<string, unknown>[]);
      return (sets.find((s) => s['contentType'] === 'video')!['Representation'] as Record<string, unknown>[]).find((r) => r['id'] === 'v360')!;
    };
    const dvrTimeline = timelineOf(videoRep(dvr));
    assert.ok(dvrTimeline.length > (MINUTES * 60) / 2 - 10, `${dvrTimeline.length} S entries`);
    assert.ok(timelineOf(videoRep(live)).length <= WINDOW / 2 + 1);
    for (const mode of ['', '&mode=timeline']) {
      const numbered = await fetchMpd(`${base()}/manifest.mpd?dvr=1${mode}`);
      assert.equal(seconds(numbered.mpd['timeShiftBufferDepth'] as string), DVR);
    }

    const T = 300;
    const start = await fetchMpd(`${base()}/manifest.mpd?mode=timeline&start=${encodeURIComponent(iso(T))}`);
    assert.equal(start.mpd['type'], 'dynamic');
    const startRep = videoRep(start);
    const first = timelineOf(startRep)[0]!;
    const tpl = startRep['SegmentTemplate'] as Record<string, string>;
    const ts = Number(tpl['timescale']);
    const firstAt = Number(first.t) / ts - t0;
    assert.ok(firstAt <= T + 1e-6 && T < firstAt + first.d / ts, `the first S (${firstAt}s) holds T`);

    const closed = await fetchMpd(`${base()}/manifest.mpd?start=${t0 + 120}&end=${t0 + 420}`);
    assert.equal(closed.mpd['type'], 'static');
    assert.equal(closed.mpd['availabilityStartTime'], undefined);
    assert.ok(Math.abs(seconds(closed.mpd['mediaPresentationDuration'] as string) - 300) <= 2);
    assert.equal(seconds(closed.mpd.Period[0]!['start'] as string), 0);

    const shifted = await fetchMpd(`${base()}/manifest.mpd?time_shift=90`);
    const plain = await fetchMpd(`${base()}/manifest.mpd`);
    assert.equal(Date.parse(shifted.mpd['availabilityStartTime'] as string) - Date.parse(plain.mpd['availabilityStartTime'] as string), 90_000);
    assert.ok(!shifted.text.includes('availabilityTimeOffset'), 'no chunked availability behind the live edge');
  });

  it('ffmpeg reads a closed range as VOD from T to U, over HLS and DASH', async () => {
    const T = 200;
    const U = 260;
    for (const url of [`${base()}/master.m3u8?start=${t0 + T}&end=${t0 + U}`, `${base()}/manifest.mpd?start=${t0 + T}&end=${t0 + U}`]) {
      const r = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', url], 60_000);
      assert.equal(r.code, 0, r.stderr);
      const duration = Number(r.stdout.trim());
      assert.ok(Math.abs(duration - (U - T)) <= 2, `${url}: ${duration} s`);
      const decode = await run('ffmpeg', ['-v', 'error', '-i', url, '-map', '0:v:0', '-f', 'null', '-'], 120_000);
      assert.equal(decode.code, 0, decode.stderr);
      assert.equal(decode.stderr.trim(), '', 'decodes without an error');
    }
  });

  it('answers a range outside the DVR window with 404 and the window, a malformed one with 400', async () => {
    const early = await get(`${base()}/v360/index.m3u8?start=${t0 - 3600}`);
    assert.equal(early.status, 404);
    assert.match(early.body.toString(), /outside the DVR window of 'dvr': \d{4}-\d\d-\d\dT[\d:.]+Z to \d{4}-/);
    assert.equal((await get(`${base()}/master.m3u8?start=${t0 + 3600}`)).status, 404, 'a start after the newest media');
    assert.equal((await get(`${base()}/manifest.mpd?time_shift=99999`)).status, 404);
    for (const q of ['end=1700000000', 'start=yesterday', `start=${t0 + 500}&end=${t0 + 400}`, 'time_shift=-5', `start=${t0}&time_shift=5`, 'dvr=2']) {
      const r = await get(`${base()}/v360/index.m3u8?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.status} ${r.body.toString()}`);
    }
  });

  it('serves segments from disk byte for byte as pushed, with Content-Length, HEAD and Range; the same bytes as when they were live', async () => {
    const { pl } = await mediaPlaylist(`${base()}/v360/index.m3u8?start=${t0 + 60}&end=${t0 + 70}`);
    const url = resolve(`${base()}/v360/index.m3u8`, pl.segments[0]!.uri);
    const init = (await get(resolve(`${base()}/v360/index.m3u8`, pl.segments[0]!.map!.uri))).body;
    const whole = await get(url);
    assert.equal(whole.status, 200);
    assert.equal(Number(whole.headers['content-length']), whole.body.length);
    assert.ok(assertCarriesPushed(whole.body, init, feeder, 'v360') >= 25);
    const head = await request(url, { method: 'HEAD' });
    await head.body.dump();
    assert.equal(head.statusCode, 200);
    assert.equal(Number(head.headers['content-length']), whole.body.length);
    const part = await get(url, { range: 'bytes=100-1099' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 100-1099/${whole.body.length}`);
    assert.ok(part.body.equals(whole.body.subarray(100, 1100)));
    for (const track of ['v180', 'audio']) {
      const { pl: p } = await mediaPlaylist(`${base()}/${track}/index.m3u8?start=${t0 + 500}&end=${t0 + 504}`);
      const segInit = (await get(resolve(`${base()}/${track}/index.m3u8`, p.segments[0]!.map!.uri))).body;
      for (const s of p.segments) assertCarriesPushed((await get(resolve(`${base()}/${track}/index.m3u8`, s.uri))).body, segInit, feeder, track);
    }

    // The newest segment while it is in memory, and again once it has left the live window.
    const { pl: now } = await mediaPlaylist(`${base()}/v360/index.m3u8`);
    const hotUrl = resolve(`${base()}/v360/index.m3u8`, now.segments.filter((s) => s.uri).at(-1)!.uri);
    const hot = await get(hotUrl);
    await feeder.pushUntil(feeder.position + WINDOW + 10);
    await waitFor('the segment leaves the live window', async () => {
      const { text } = await mediaPlaylist(`${base()}/v360/index.m3u8`);
      return text.includes(new URL(hotUrl).pathname.split('/').slice(-2).join('/')) ? undefined : true;
    });
    const cold = await get(hotUrl);
    assert.equal(cold.status, 200);
    assert.ok(cold.body.equals(hot.body), 'from disk, the same bytes');
    assert.ok(o.origin.streams.store.bytes > 10_000_000, `the DVR holds ${o.origin.streams.store.bytes} bytes`);
  });
});
