/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, sample, startPageServer, type PlaybackSample } from '../helpers/browser.js';
import { AAC, ffmpeg, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, waitFor } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

const PLAY_SECONDS = 22;
/** `DASH_FRAGMENTS=every_frame` pushes one fragment per frame (for the latency figures of the closing note). */
const PER_FRAME = process.env.DASH_FRAGMENTS === 'every_frame';

interface PageGlobals {
  dashjs: { MediaPlayer(): { create(): DashPlayer }; MediaPlayerEvents?: unknown };
  shaka: { polyfill: { installAll(): void }; Player: new () => ShakaPlayer };
  __errors: { fatal: boolean; details: string }[];
  __sample: () => PlaybackSample;
}
interface DashPlayer {
  initialize(video: HTMLVideoElement, url: string, autoplay: boolean): void;
  on(event: string, cb: (e: { error?: { code?: number; message?: string } }) => void): void;
  getCurrentLiveLatency(): number;
}
interface ShakaPlayer {
  attach(video: HTMLVideoElement): Promise<void>;
  configure(config: object): void;
  addEventListener(type: string, cb: (e: { detail: { code: number; severity: number } }) => void): void;
  load(url: string): Promise<void>;
  getStats(): { liveLatency: number };
}

function report(name: string, samples: PlaybackSample[]): void {
  const tail = samples.map((s) => s.latency).filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).slice(-10);
  const avg = tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
  console.log(`# ${name}${PER_FRAME ? ' (per-frame fragments)' : ''}: played ${(samples.at(-1)!.currentTime - samples[0]!.currentTime).toFixed(1)} s in ${samples.length - 1} s; live latency ${avg.toFixed(2)} s (last samples: ${tail.map((x) => x.toFixed(2)).join(' ')})`);
}

function assertPlayed(samples: PlaybackSample[]): void {
  const advanced = samples.at(-1)!.currentTime - samples[0]!.currentTime;
  assert.ok(advanced >= PLAY_SECONDS - 5, `playback advanced ${advanced.toFixed(1)} s in ${PLAY_SECONDS} s`);
  for (let i = 5; i < samples.length; i++) assert.ok(samples[i]!.currentTime > samples[i - 5]!.currentTime, `time advances around sample ${i}`);
}

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
      return t && t.segments.filter((s) => s.state === 'complete').length >= 3 && (await get(`${o.playback}/live/dplay/manifest.mpd`)).status === 200 ? true : undefined;
    }, 30_000);
  });

  after(async () => {
    push.kill();
    await browser?.close();
    await pages?.close();
    await o.stop();
  });

  it(`dash.js plays the low-latency MPD for ${PLAY_SECONDS} s with no error`, async () => {
    const page = await browser.newPage();
    const segmentRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('.m4s')) segmentRequests.push(r.url());
    });
    await page.goto(pages.url);
    await page.addScriptTag({ url: '/dash.js' });
    await page.evaluate((src) => {
      const w = window as unknown as PageGlobals;
      const video = document.getElementById('v') as HTMLVideoElement;
      const errors: PageGlobals['__errors'] = [];
      w.__errors = errors;
      const player = w.dashjs.MediaPlayer().create();
      player.on('error', (e) => errors.push({ fatal: true, details: `${e.error?.code} ${e.error?.message}` }));
      player.initialize(video, src, true);
      w.__sample = () => ({
        t: performance.now(),
        currentTime: video.currentTime,
        latency: player.getCurrentLiveLatency(),
        buffered: video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0,
        paused: video.paused,
      });
    }, `${o.playback}/live/dplay/manifest.mpd`);
    await page.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 0, undefined, { timeout: 20_000 });
    const samples = await sample(page, PLAY_SECONDS);
    const errors = await page.evaluate(() => (window as unknown as PageGlobals).__errors);
    report('dash.js (default settings)', samples);
    assert.deepEqual(errors, []);
    assertPlayed(samples);
    assert.ok(segmentRequests.length > 10);
    await page.close();
  });

  it(`shaka-player plays the same MPD for ${PLAY_SECONDS} s with no error`, async () => {
    const page = await browser.newPage();
    await page.goto(pages.url);
    await page.addScriptTag({ url: '/shaka.js' });
    await page.evaluate(async (src) => {
      const w = window as unknown as PageGlobals;
      const video = document.getElementById('v') as HTMLVideoElement;
      const errors: PageGlobals['__errors'] = [];
      w.__errors = errors;
      w.shaka.polyfill.installAll();
      const player = new w.shaka.Player();
      await player.attach(video);
      player.addEventListener('error', (e) => errors.push({ fatal: e.detail.severity === 2, details: String(e.detail.code) }));
      await player.load(src);
      void video.play();
      w.__sample = () => ({
        t: performance.now(),
        currentTime: video.currentTime,
        latency: player.getStats().liveLatency,
        buffered: video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0,
        paused: video.paused,
      });
    }, `${o.playback}/live/dplay/manifest.mpd`);
    await page.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 0, undefined, { timeout: 20_000 });
    const samples = await sample(page, PLAY_SECONDS);
    const errors = await page.evaluate(() => (window as unknown as PageGlobals).__errors);
    report('shaka-player (default settings)', samples);
    assert.deepEqual(errors.filter((e) => e.fatal), [], JSON.stringify(errors));
    assertPlayed(samples);
    await page.close();
  });
});
