/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertPlayed, launchChromium, playInPage, startPageServer, summarize } from '../helpers/browser.js';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

const PLAY_SECONDS = 22;

/** Real ffmpeg push → origin → players in Debian's headless Chromium, in low-latency mode. */
describe('LL-HLS in real players', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '120',
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
});
