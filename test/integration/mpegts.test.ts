/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { launchChromium, playInPage, startPageServer } from '../helpers/browser.js';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, run, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, getText, parseMaster, parseMedia, waitFor } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { checkTs } from '../helpers/ts-check.js';

const X265 = ['-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1', '-x265-params', 'keyint=25:min-keyint=25:scenecut=0:bframes=0:pools=1:frame-threads=1:log-level=error', '-b:v', '100k', '-s', '160x90'];

/** Legacy HLS: MPEG-TS segments remuxed from the same timeline, for a real ffmpeg push. */
describe('HLS with MPEG-TS segments', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let browser: Browser | undefined;
  let pages: Awaited<ReturnType<typeof startPageServer>> | undefined;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '90',
      '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/ts/v180.mp4`,
      '-map', '0:v', ...X265, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/ts/hevc.mp4`,
      '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/ts/audio.mp4`,
    ]);
    await waitFor('3 TS segments', async () => {
      const r = await get(`${o.playback}/live/ts/v180/ts.m3u8`);
      return r.status === 200 && parseMedia(r.body.toString()).segments.length >= 3 ? true : undefined;
    }, 30_000);
  });

  after(async () => {
    push.kill();
    await browser?.close();
    await pages?.close();
    await o.stop();
  });

  it('lists H.264 variants with the audio muxed in, an audio-only variant, and no HEVC', async () => {
    const master = parseMaster(await getText(`${o.playback}/live/ts/master-ts.m3u8`));
    assert.equal(master.version, 3);
    assert.deepEqual(master.variants.map((v) => v.uri), ['v180/ts.m3u8', 'audio/ts.m3u8']);
    assert.match(master.variants[0]!.codecs!, /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    assert.equal(master.variants[1]!.codecs, 'mp4a.40.2');
    assert.ok(master.variants.every((v) => v.audio.length === 0), 'no EXT-X-MEDIA: the audio is in the segments');
    const text = await getText(`${o.playback}/live/ts/v180/ts.m3u8`);
    const pl = parseMedia(text);
    assert.doesNotMatch(text, /#EXT-X-MAP|#EXT-X-PART/);
    assert.ok(pl.segments.every((s) => s.uri.endsWith('.ts') && s.programDateTime));
    const fmp4 = parseMedia(await getText(`${o.playback}/live/ts/v180/index.m3u8`));
    // Same numbers, durations and program date-times as the fMP4 playlist.
    for (const s of pl.segments) {
      const twin = fmp4.segments.find((x) => x.mediaSequenceNumber === s.mediaSequenceNumber && x.uri);
      if (!twin) continue;
      assert.equal(twin.duration, s.duration);
      assert.equal(twin.programDateTime!.getTime(), s.programDateTime!.getTime());
    }
    assert.equal((await get(`${o.playback}/live/ts/hevc/ts.m3u8`)).status, 404);
  });

  it('serves complete TS segments with a length, valid by the checker, continuous across segments', async () => {
    const pl = parseMedia(await getText(`${o.playback}/live/ts/v180/ts.m3u8`));
    let cc = new Map<number, number>();
    for (const s of pl.segments.slice(-2)) {
      const r = await get(new URL(s.uri, `${o.playback}/live/ts/v180/ts.m3u8`).toString());
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'video/mp2t');
      assert.equal(Number(r.headers['content-length']), r.body.length);
      const report = checkTs(r.body, cc);
      assert.deepEqual(report.errors, []);
      assert.deepEqual(report.pmtStreams.map((x) => x.type), [0x1b, 0x0f]);
      cc = report.cc;
      const again = await get(new URL(s.uri, `${o.playback}/live/ts/v180/ts.m3u8`).toString());
      assert.ok(again.body.equals(r.body), 'the same bytes again (cached)');
    }
  });

  it('streams the TS segment in production chunked, to the same bytes as the complete one', async () => {
    const track = o.origin.streams.get('ts')!.tracks.get('v180')!;
    const msn = track.lastMsn!;
    const url = `${o.playback}/live/ts/v180/${o.origin.streams.get('ts')!.tag}/${msn}.ts`;
    const res = await request(url);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const parts: Buffer[] = [];
    for await (const p of res.body) parts.push(p as Buffer);
    const streamed = Buffer.concat(parts);
    assert.deepEqual(checkTs(streamed).errors, []);
    const complete = await get(url);
    assert.equal(Number(complete.headers['content-length']), complete.body.length);
    assert.ok(streamed.equals(complete.body), 'byte for byte');
  });

  it('is decoded by ffmpeg from the TS multivariant playlist without error', async () => {
    const r = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', `${o.playback}/live/ts/master-ts.m3u8`, '-t', '4', '-f', 'null', '-'], 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), '');
  });

  it('plays in hls.js (headless Chromium) for 22 s', async () => {
    [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
    const { samples, errors, requests } = await playInPage(browser, pages.url, 'hls.js', `${o.playback}/live/ts/master-ts.m3u8`, 22);
    const played = samples.at(-1)!.currentTime - samples[0]!.currentTime;
    console.log(`# hls.js (MPEG-TS): played ${played.toFixed(1)} s in 22 s; latency ${samples.at(-1)!.latency?.toFixed(2)} s`);
    assert.deepEqual(errors.filter((e) => e.fatal), []);
    assert.ok(played >= 17, `played ${played}`);
    assert.ok(requests.some((u) => u.endsWith('.ts')), 'hls.js fetched TS segments');
  });
});
