/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));

/** Debian's chromium, never a downloaded browser; flags from DEVELOPERS.md. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

const LIBRARIES: Record<string, string> = {
  '/hls.js': 'hls.js/dist/hls.js',
  '/shaka.js': 'shaka-player/dist/shaka-player.compiled.js',
  '/dash.js': 'dashjs/dist/modern/umd/dash.all.min.js',
  '/video.js': 'video.js/dist/video.min.js',
};

/** A page origin (another port than the media origin, so CORS is exercised) serving the player libraries. */
export async function startPageServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const lib = LIBRARIES[req.url ?? ''];
    if (lib) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(readFileSync(NODE_MODULES + lib));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><html><body><video id="v" muted playsinline width="320" height="180"></video></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface PlaybackSample {
  readonly t: number;
  readonly currentTime: number;
  readonly latency: number | null;
  readonly buffered: number;
  readonly paused: boolean;
  /** hls.js: wall clock minus the EXT-X-PROGRAM-DATE-TIME at the playhead (`playingDate`), seconds. */
  readonly pdtLag: number | null;
}

export interface PlayerReport {
  readonly samples: PlaybackSample[];
  readonly errors: { fatal: boolean; details: string }[];
  readonly requests: string[];
  /** Responses with a 5xx status: "STATUS URL". */
  readonly serverErrors: string[];
  /** Responses with a status of 400 or more, and requests that failed: `status url`. */
  readonly failures: string[];
  /** Milliseconds from loading the source to the video element's first `playing`. */
  readonly startupMs: number;
  /** Each `waiting` of the video element after its first `playing`, outside a seek: milliseconds until it played on. */
  readonly waits: number[];
  /** When each of `waits` began, Unix milliseconds (to tell one page's stall from every page's). */
  readonly waitsAt: number[];
  /** With `seekBack`: the element's time before the seek and the time asked for. */
  readonly seek?: { readonly from: number; readonly to: number };
}

/** Samples a page's player once a second for `seconds`. The page defines window.__sample(). */
export async function sample(page: Page, seconds: number): Promise<PlaybackSample[]> {
  const samples: PlaybackSample[] = [];
  for (let i = 0; i <= seconds; i++) {
    samples.push(await page.evaluate(() => (window as unknown as { __sample: () => PlaybackSample }).__sample()));
    await page.waitForTimeout(1000);
  }
  return samples;
}

/** The bits of the hls.js, shaka-player and dash.js globals the test pages use. */
interface HlsJs {
  on(event: string, cb: (event: unknown, data: { fatal: boolean; details: string; error?: { message?: string } }) => void): void;
  loadSource(url: string): void;
  attachMedia(video: HTMLVideoElement): void;
  latency: number;
  playingDate: Date | null;
}
interface ShakaPlayer {
  attach(video: HTMLVideoElement): Promise<void>;
  configure(config: object): void;
  addEventListener(type: string, cb: (e: { detail: { code: number; severity: number } }) => void): void;
  load(url: string): Promise<void>;
  getStats(): { liveLatency: number };
}
interface DashPlayer {
  initialize(video: HTMLVideoElement, url: string, autoplay: boolean): void;
  on(event: string, cb: (e: { error?: { code?: number; message?: string } }) => void): void;
  getCurrentLiveLatency(): number;
}
interface VideoJsPlayer {
  on(event: string, cb: () => void): void;
  error(): { code: number; message: string } | null;
  src(source: { src: string; type: string }): void;
}
interface PageGlobals {
  Hls: { new (config: object): HlsJs; Events: { ERROR: string } };
  shaka: { polyfill: { installAll(): void }; Player: new () => ShakaPlayer };
  dashjs: { MediaPlayer(): { create(): DashPlayer } };
  videojs: (video: HTMLVideoElement, options: object) => VideoJsPlayer;
  __errors: { fatal: boolean; details: string }[];
  __sample: () => PlaybackSample;
  __timing: { loadedAt: number; playingAt: number | null; waits: { start: number; at: number; end: number | null }[] };
}

export type PlayerName = 'hls.js' | 'shaka' | 'dash.js' | 'video.js';

const SCRIPT: Record<PlayerName, string> = { 'hls.js': '/hls.js', shaka: '/shaka.js', 'dash.js': '/dash.js', 'video.js': '/video.js' };

export interface PlayOptions {
  readonly lowLatency?: boolean;
  readonly hlsConfig?: Record<string, unknown>;
  readonly shakaConfig?: Record<string, unknown>;
  /** After `afterSeconds` of play, seek the element back by `by` seconds (as from the player's controls). */
  readonly seekBack?: { readonly afterSeconds: number; readonly by: number };
}

/** A player playing in its page: sample it, then close it with its report. */
export interface Playing {
  /** Samples the player once a second for `seconds`, closes the page and reports. */
  finish(seconds: number): Promise<PlayerReport>;
}

/**
 * Opens a page of `pageUrl`, plays `src` in one player (default settings, or its low-latency
 * mode) until the video advances, samples it once a second for `seconds`, and reports what the
 * player said and every URL the page requested. dash.js errors are all reported as fatal.
 */
export async function playInPage(browser: Browser, pageUrl: string, player: PlayerName, src: string, seconds: number, options: PlayOptions = {}): Promise<PlayerReport> {
  return (await startInPage(browser, pageUrl, player, src, options)).finish(seconds);
}

/**
 * Opens a page of `pageUrl` and plays `src` in one player until the video advances. Players
 * started one after another (each once the previous one plays) share a browser without one's
 * startup slowing another's: a player's live latency is mostly decided by its startup.
 */
export async function startInPage(browser: Browser, pageUrl: string, player: PlayerName, src: string, options: PlayOptions = {}): Promise<Playing> {
  const page = await browser.newPage();
  const requests: string[] = [];
  const serverErrors: string[] = [];
  const failures: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 500) serverErrors.push(`${r.status()} ${r.url()}`);
    if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`);
  });
  // A request the player cancelled itself (shaka aborts a segment it no longer needs) is no failure of the origin.
  page.on('requestfailed', (r) => {
    const error = r.failure()?.errorText ?? 'failed';
    if (error !== 'net::ERR_ABORTED') failures.push(`${error} ${r.url()}`);
  });
  await page.goto(pageUrl);
  await page.addScriptTag({ url: SCRIPT[player] });
  await page.evaluate(
    async ({ player, src, lowLatency, hlsConfig, shakaConfig }) => {
      const w = window as unknown as PageGlobals;
      const video = document.getElementById('v') as HTMLVideoElement;
      const errors: PageGlobals['__errors'] = [];
      w.__errors = errors;
      const timing: PageGlobals['__timing'] = { loadedAt: performance.now(), playingAt: null, waits: [] };
      w.__timing = timing;
      const on: { resumed?: () => void } = {};
      on.resumed = () => {
        const open = timing.waits[timing.waits.length - 1];
        if (open && open.end === null) open.end = performance.now();
      };
      video.addEventListener('playing', () => {
        if (timing.playingAt === null) timing.playingAt = performance.now();
        on.resumed!();
      });
      video.addEventListener('timeupdate', () => on.resumed!());
      video.addEventListener('waiting', () => {
        // A seek the player asked for (a jump to its live point) is no stall.
        if (timing.playingAt !== null && !video.seeking) timing.waits.push({ start: performance.now(), at: Date.now(), end: null });
      });
      // Member assignments only: tsx names functions assigned to variables with a __name helper the page lacks.
      const read: { latency?: () => number | null; pdtLag?: () => number | null } = {};
      if (player === 'hls.js') {
        const hls = new w.Hls({ ...(lowLatency ? { lowLatencyMode: true } : {}), ...hlsConfig });
        hls.on(w.Hls.Events.ERROR, (_e, d) => errors.push({ fatal: d.fatal, details: d.error?.message ? `${d.details}: ${d.error.message}` : d.details }));
        hls.loadSource(src);
        hls.attachMedia(video);
        void video.play();
        read.latency = () => hls.latency;
        read.pdtLag = () => (hls.playingDate ? (Date.now() - hls.playingDate.getTime()) / 1000 : null);
      } else if (player === 'shaka') {
        w.shaka.polyfill.installAll();
        const shaka = new w.shaka.Player();
        await shaka.attach(video);
        if (lowLatency) shaka.configure({ streaming: { lowLatencyMode: true } });
        shaka.configure(shakaConfig);
        shaka.addEventListener('error', (e) => errors.push({ fatal: e.detail.severity === 2, details: String(e.detail.code) }));
        await shaka.load(src);
        void video.play();
        read.latency = () => shaka.getStats().liveLatency;
      } else if (player === 'dash.js') {
        const dash = w.dashjs.MediaPlayer().create();
        dash.on('error', (e) => errors.push({ fatal: true, details: `${e.error?.code} ${e.error?.message}` }));
        dash.initialize(video, src, true);
        read.latency = () => dash.getCurrentLiveLatency();
      } else {
        // video.js wraps the element (and takes its id): the page keeps its own reference.
        const vjs = w.videojs(video, { autoplay: 'muted', muted: true, html5: { vhs: { overrideNative: true } } });
        vjs.on('error', () => errors.push({ fatal: true, details: JSON.stringify(vjs.error()) }));
        vjs.src({ src, type: src.includes('.mpd') ? 'application/dash+xml' : 'application/x-mpegURL' });
        // VHS reports no latency: how far behind its live point (the end of the seekable range) it plays.
        read.latency = () => (video.seekable.length ? video.seekable.end(video.seekable.length - 1) - video.currentTime : null);
      }
      w.__sample = () => ({
        t: performance.now(),
        currentTime: video.currentTime,
        latency: read.latency!(),
        buffered: video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0,
        paused: video.paused,
        pdtLag: read.pdtLag ? read.pdtLag() : null,
      });
    },
    { player, src, lowLatency: options.lowLatency ?? false, hlsConfig: options.hlsConfig ?? {}, shakaConfig: options.shakaConfig ?? {} },
  );
  await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0, undefined, { timeout: 20_000 });
  let seek: PlayerReport['seek'];
  if (options.seekBack) {
    // A viewer drags the playhead back (the player handles the element's seek, as from its controls).
    await new Promise((r) => setTimeout(r, options.seekBack!.afterSeconds * 1000));
    seek = await page.evaluate((by) => {
      const v = document.querySelector('video')!;
      const from = v.currentTime;
      v.currentTime = from - by;
      return { from, to: from - by };
    }, options.seekBack.by);
    await page.waitForFunction((to) => { const v = document.querySelector('video')!; return !v.seeking && v.currentTime > to + 0.5; }, seek.to, { timeout: 20_000 });
  }
  return {
    async finish(seconds) {
      const samples = await sample(page, seconds);
      const { errors, timing, now } = await page.evaluate(() => {
        const w = window as unknown as PageGlobals;
        return { errors: w.__errors ?? [], timing: w.__timing, now: performance.now() };
      });
      await page.close();
      const waits = timing.waits.map((x) => (x.end ?? now) - x.start);
      return { samples, errors, requests, serverErrors, failures, startupMs: (timing.playingAt ?? Infinity) - timing.loadedAt, waits, waitsAt: timing.waits.map((x) => x.at), ...(seek ? { seek } : {}) };
    },
  };
}

/** Prints the playback and the mean live latency of the last ten samples. */
export function summarize(name: string, samples: readonly PlaybackSample[]): void {
  const tail = samples.map((s) => s.latency).filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).slice(-10);
  const avg = tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
  const latency = tail.length > 0 ? `live latency ${avg.toFixed(2)} s (last ${tail.length} samples: ${tail.map((x) => x.toFixed(2)).join(' ')})` : 'no live latency reported';
  console.log(`# ${name}: played ${(samples.at(-1)!.currentTime - samples[0]!.currentTime).toFixed(1)} s in ${samples.length - 1} s; ${latency}`);
}

/** Playback advanced nearly the whole time, and never stood still for five seconds. */
export function assertPlayed(samples: readonly PlaybackSample[], seconds: number): void {
  const advanced = samples.at(-1)!.currentTime - samples[0]!.currentTime;
  assert.ok(advanced >= seconds - 5, `playback advanced ${advanced.toFixed(1)} s in ${seconds} s`);
  for (let i = 5; i < samples.length; i++) assert.ok(samples[i]!.currentTime > samples[i - 5]!.currentTime, `time advances around sample ${i}`);
}

export interface SteadyState {
  /** Mean of the player's own live latency figure over the window, seconds. */
  readonly latency: number;
  readonly minLatency: number;
  readonly maxLatency: number;
  /** Mean wall clock minus program date-time at the playhead (hls.js), seconds; null for other players. */
  readonly pdtLag: number | null;
}

/** The player's figures over the last `seconds` samples (one a second). */
export function steadyState(samples: readonly PlaybackSample[], seconds: number): SteadyState {
  const tail = samples.slice(-seconds);
  const latencies = tail.map((s) => s.latency).filter((x): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0);
  const lags = tail.map((s) => s.pdtLag).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
  return { latency: mean(latencies), minLatency: Math.min(...latencies), maxLatency: Math.max(...latencies), pdtLag: lags.length > 0 ? mean(lags) : null };
}

/** Prints a player's figures over the steady state (the last `seconds` samples) and returns them. */
export function reportFigures(name: string, report: PlayerReport, seconds: number): SteadyState {
  const s = steadyState(report.samples, seconds);
  const pdt = s.pdtLag === null ? '' : `; wall clock − PDT at the playhead ${s.pdtLag.toFixed(2)} s`;
  const waits = report.waits.length === 0 ? 'no stall' : `stalls ${report.waits.map((ms, i) => `${Math.round(ms)} ms at ${new Date(report.waitsAt[i]!).toISOString().slice(11, 23)}`).join(', ')}`;
  const counts = new Map<string, number>();
  for (const e of report.errors) counts.set(e.details, (counts.get(e.details) ?? 0) + 1);
  const errors = counts.size === 0 ? '' : `; errors ${[...counts].map(([d, n]) => `${d} ×${n}`).join(', ')}`;
  console.log(`# ${name}: live latency ${s.latency.toFixed(2)} s over the last ${seconds} s (${s.minLatency.toFixed(2)}–${s.maxLatency.toFixed(2)})${pdt}; ${waits}; startup ${report.startupMs.toFixed(0)} ms${errors}`);
  return s;
}
