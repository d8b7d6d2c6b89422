/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertPlayed, launchChromium, playInPage, startPageServer, summarize } from '../helpers/browser.js';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, parseMedia, resolve, type MediaPlaylist } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

const PLAY_SECONDS = 22;
const VIDEOJS_SECONDS = 30;
const RAW_CLIENT_SECONDS = 12;

const PART_URI = /\/(\d+)\.(\d+)\.m4s$/;

/** The newest listed part and the hinted one, as (msn, index). */
function edge(pl: MediaPlaylist): { last: [number, number]; hint: [number, number]; bareHint: boolean } {
  const parts = pl.segments.flatMap((s) => s.parts);
  const listed = parts.filter((p) => !p.hint);
  const hint = parts.find((p) => p.hint)!;
  const at = (uri: string): [number, number] => {
    const m = PART_URI.exec(uri)!;
    return [Number(m[1]), Number(m[2])];
  };
  const newest = pl.segments.at(-1)!;
  // hls-parser opens an entry for the hint: a bare hint is an entry holding the hint alone.
  return { last: at(listed.at(-1)!.uri), hint: at(hint.uri), bareHint: newest.parts.length === 1 && newest.parts[0]!.hint === true };
}

/** Real ffmpeg push → origin → players in Debian's headless Chromium, in low-latency mode. */
describe('LL-HLS in real players', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '180',
      '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/play/v180.mp4`,
      '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/play/audio.mp4`,
    ]);
    [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
    await waitForSegments(o.playback, 'play', 3);
  });

  after(async () => {
    push.kill();
    await browser?.close();
    await pages?.close();
    await o.stop();
  });

  it(`hls.js in lowLatencyMode plays for ${PLAY_SECONDS} s with no fatal error, using blocking reloads`, async () => {
    const { samples, errors, requests } = await playInPage(browser, pages.url, 'hls.js', `${o.playback}/live/play/master.m3u8`, PLAY_SECONDS, { lowLatency: true });
    summarize('hls.js lowLatencyMode', samples);
    assert.deepEqual(errors.filter((e) => e.fatal), [], JSON.stringify(errors));
    assertPlayed(samples, PLAY_SECONDS);
    assert.ok(requests.some((u) => /_HLS_msn=\d+&_HLS_part=\d+/.test(u)), 'hls.js asked for parts with blocking reloads');
    assert.ok(requests.some((u) => /\/\d+\.\d+\.m4s$/.test(u)), 'hls.js loaded parts');
  });

  it(`shaka-player in low-latency mode plays for ${PLAY_SECONDS} s with no error`, async () => {
    const { samples, errors } = await playInPage(browser, pages.url, 'shaka', `${o.playback}/live/play/master.m3u8`, PLAY_SECONDS, { lowLatency: true });
    summarize('shaka-player lowLatencyMode', samples);
    assert.deepEqual(errors.filter((e) => e.fatal), [], JSON.stringify(errors));
    assertPlayed(samples, PLAY_SECONDS);
  });

  it(`video.js 8 plays LL-HLS for ${VIDEOJS_SECONDS} s: startup under 3 s, no stall`, async () => {
    const { samples, errors, startupMs, waits, failures } = await playInPage(browser, pages.url, 'video.js', `${o.playback}/live/play/master.m3u8`, VIDEOJS_SECONDS);
    summarize('video.js 8 (VHS, LL-HLS)', samples);
    console.log(`# video.js: startup ${startupMs.toFixed(0)} ms; waits after it ${JSON.stringify(waits.map(Math.round))} ms; ${failures.length} failed requests`);
    assert.deepEqual(errors, []);
    assertPlayed(samples, VIDEOJS_SECONDS);
    assert.ok(startupMs < 3000, `startup took ${startupMs.toFixed(0)} ms`);
    // A stall: the video waited for data for longer than a part target (shorter waits are not seen).
    assert.deepEqual(waits.filter((ms) => ms >= 500).map(Math.round), [], 'no stall after playback started');
  });

  it(`a raw client at every segment boundary for ${RAW_CLIENT_SECONDS} s: the hint names the next part, blocking reloads advance, bare-hint playlists are not cached`, async () => {
    const url = `${o.playback}/live/play/v180/index.m3u8`;
    let pl = parseMedia((await get(url)).body.toString());
    const deadline = Date.now() + RAW_CLIENT_SECONDS * 1000;
    let boundaries = 0;
    let bare = 0;
    while (Date.now() < deadline) {
      const { last, hint } = edge(pl);
      // Like shaka-player, fetch the hinted part; like hls.js, ask for the part after the last one.
      const [part, next] = await Promise.all([get(resolve(url, pl.segments.flatMap((s) => s.parts).find((p) => p.hint)!.uri)), get(`${url}?_HLS_msn=${last[0]}&_HLS_part=${last[1] + 1}`)]);
      assert.equal(part.status, 200, `hinted part ${hint.join('.')}: ${part.body.toString()}`);
      assert.equal(Number(part.headers['content-length']), part.body.length);
      assert.equal(next.status, 200);
      const after = parseMedia(next.body.toString());
      const now = edge(after);
      const listed = after.segments.flatMap((s) => s.parts).filter((p) => !p.hint).map((p) => PART_URI.exec(p.uri)!.slice(1).map(Number).join('.'));
      assert.ok(listed.includes(hint.join('.')), `the hinted part ${hint.join('.')} is the next one listed (${listed.slice(-3).join(' ')})`);
      if (hint[0] === last[0] + 1) boundaries++;
      if (now.bareHint) bare++;
      assert.equal(next.headers['cache-control'], now.bareHint ? 'no-cache' : `public, max-age=${6 * after.targetDuration}`);
      pl = after;
    }
    console.log(`# raw client: ${boundaries} segment boundaries, ${bare} bare-hint playlists`);
    assert.ok(boundaries >= RAW_CLIENT_SECONDS / 2 - 1, `${boundaries} boundaries crossed`);
  });
});
