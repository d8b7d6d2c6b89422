/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertPlayed, launchChromium, playInPage, startPageServer, summarize } from '../helpers/browser.js';
import { AAC, ffmpeg, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, waitFor } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

const PLAY_SECONDS = 22;
/** `DASH_FRAGMENTS=every_frame` pushes one fragment per frame (for the latency figures of the closing note). */
const PER_FRAME = process.env.DASH_FRAGMENTS === 'every_frame';
const FRAGMENTS = PER_FRAME ? ' (per-frame fragments)' : '';

/** Real ffmpeg LL-DASH push → origin → dash.js and shaka-player in Debian's headless Chromium. */
describe('LL-DASH in real players', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '120', '-map', '0:v', '-map', '1:a', ...X264, ...AAC,
      '-f', 'dash', '-method', 'PUT', '-http_persistent', '1', '-ldash', '1', '-streaming', '1', '-use_template', '1', '-use_timeline', '0',
      '-seg_duration', '2', ...(PER_FRAME ? ['-frag_type', 'every_frame'] : ['-frag_type', 'duration', '-frag_duration', '0.2']),
      '-adaptation_sets', 'id=0,streams=v id=1,streams=a', '-format_options', 'movflags=cmaf', '-write_prft', '1',
      `${o.ingest}/live/dplay/manifest.mpd`,
    ]);
    [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
    await waitFor('an MPD with 3 segments', async () => {
      const t = o.origin.streams.get('dplay')?.tracks.get('stream0');
      return t && t.segments().filter((s) => s.state === 'complete').length >= 3 && (await get(`${o.playback}/live/dplay/manifest.mpd`)).status === 200 ? true : undefined;
    }, 30_000);
  });

  after(async () => {
    push.kill();
    await browser?.close();
    await pages?.close();
    await o.stop();
  });

  it(`dash.js plays the low-latency MPD for ${PLAY_SECONDS} s with no error`, async () => {
    const { samples, errors, requests } = await playInPage(browser, pages.url, 'dash.js', `${o.playback}/live/dplay/manifest.mpd`, PLAY_SECONDS);
    summarize(`dash.js (default settings)${FRAGMENTS}`, samples);
    assert.deepEqual(errors, []);
    assertPlayed(samples, PLAY_SECONDS);
    assert.ok(requests.filter((u) => u.endsWith('.m4s')).length > 10);
  });

  it(`shaka-player plays the same MPD for ${PLAY_SECONDS} s with no error`, async () => {
    const { samples, errors } = await playInPage(browser, pages.url, 'shaka', `${o.playback}/live/dplay/manifest.mpd`, PLAY_SECONDS);
    summarize(`shaka-player (default settings)${FRAGMENTS}`, samples);
    assert.deepEqual(errors.filter((e) => e.fatal), [], JSON.stringify(errors));
    assertPlayed(samples, PLAY_SECONDS);
  });
});
