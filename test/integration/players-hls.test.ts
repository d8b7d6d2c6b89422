/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, sample, startPageServer, type PlaybackSample } from '../helpers/browser.js';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

const PLAY_SECONDS = 22;

/** The bits of the hls.js and shaka-player globals the pages use. */
interface PageGlobals {
  Hls: { new (config: object): HlsJs; Events: { ERROR: string } };
  shaka: { polyfill: { installAll(): void }; Player: new () => ShakaPlayer };
  __errors: { fatal: boolean; details: string }[];
  __sample: () => PlaybackSample;
}
interface HlsJs {
  on(event: string, cb: (event: unknown, data: { fatal: boolean; details: string }) => void): void;
  loadSource(url: string): void;
  attachMedia(video: HTMLVideoElement): void;
  latency: number;
}
interface ShakaPlayer {
  attach(video: HTMLVideoElement): Promise<void>;
  configure(config: object): void;
  addEventListener(type: string, cb: (e: { detail: { code: number; severity: number } }) => void): void;
  load(url: string): Promise<void>;
  getStats(): { liveLatency: number };
}

function summarize(name: string, samples: PlaybackSample[]): void {
  const latencies = samples.map((s) => s.latency).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const tail = latencies.slice(-10);
  const avg = tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
  console.log(`# ${name}: played ${(samples.at(-1)!.currentTime - samples[0]!.currentTime).toFixed(1)} s in ${samples.length - 1} s; live latency ${avg.toFixed(2)} s (last ${tail.length} samples: ${tail.map((x) => x.toFixed(2)).join(' ')})`);
}

function assertPlayed(samples: PlaybackSample[]): void {
  const advanced = samples.at(-1)!.currentTime - samples[0]!.currentTime;
  assert.ok(advanced >= PLAY_SECONDS - 5, `playback advanced ${advanced.toFixed(1)} s in ${PLAY_SECONDS} s`);
  for (let i = 5; i < samples.length; i++) assert.ok(samples[i]!.currentTime > samples[i - 5]!.currentTime, `time advances around sample ${i}`);
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
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pages.url);
    await page.addScriptTag({ url: '/hls.js' });
    await page.evaluate((src) => {
      const w = window as unknown as PageGlobals;
      const video = document.getElementById('v') as HTMLVideoElement;
      const errors: PageGlobals['__errors'] = [];
      w.__errors = errors;
      const hls = new w.Hls({ lowLatencyMode: true });
      hls.on(w.Hls.Events.ERROR, (_, d) => errors.push({ fatal: d.fatal, details: d.details }));
      hls.loadSource(src);
      hls.attachMedia(video);
      void video.play();
      w.__sample = () => ({
        t: performance.now(),
        currentTime: video.currentTime,
        latency: hls.latency,
        buffered: video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0,
        paused: video.paused,
      });
    }, `${o.playback}/live/play/master.m3u8`);
    await page.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 0, undefined, { timeout: 20_000 });
    const samples = await sample(page, PLAY_SECONDS);
    const errors = (await page.evaluate(() => (window as unknown as { __errors: { fatal: boolean; details: string }[] }).__errors)) ?? [];
    summarize('hls.js lowLatencyMode', samples);
    assert.deepEqual(errors.filter((e) => e.fatal), [], JSON.stringify(errors));
    assertPlayed(samples);
    assert.ok(requests.some((u) => /_HLS_msn=\d+&_HLS_part=\d+/.test(u)), 'hls.js asked for parts with blocking reloads');
    assert.ok(requests.some((u) => /\/\d+\.\d+\.m4s$/.test(u)), 'hls.js loaded parts');
    await page.close();
  });

  it(`shaka-player in low-latency mode plays for ${PLAY_SECONDS} s with no error`, async () => {
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
      player.configure({ streaming: { lowLatencyMode: true } });
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
    }, `${o.playback}/live/play/master.m3u8`);
    await page.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 0, undefined, { timeout: 20_000 });
    const samples = await sample(page, PLAY_SECONDS);
    const errors = (await page.evaluate(() => (window as unknown as { __errors: { fatal: boolean; details: string }[] }).__errors)) ?? [];
    summarize('shaka-player lowLatencyMode', samples);
    assert.deepEqual(errors.filter((e) => e.fatal), [], JSON.stringify(errors));
    assertPlayed(samples);
    await page.close();
  });
});
