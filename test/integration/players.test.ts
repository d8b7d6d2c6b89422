/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ConfigInput } from '../../src/config.js';
import { assertPlayed, launchChromium, reportFigures, startInPage, startPageServer, summarize, type PlayerName, type PlayerReport, type PlayOptions } from '../helpers/browser.js';
import { pushPlayerStreams, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, parseMedia, resolve, type MediaPlaylist } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

/** Issue 17: each player's own live latency, steady state = the last 20 s of a 60 s play. */
const PLAY_SECONDS = 60;
const STEADY_SECONDS = 20;
const MAX_LATENCY = 1.2;
/** dash.js holds the ServiceDescription target (dash.targetLatency, 0.8 s by default). */
const MAX_LATENCY_DASHJS = 1.0;
/**
 * hls.js 1.7.4 (lowLatencyMode, maxLiveSyncPlaybackRate 1: it never catches up) stays at
 * PART-HOLD-BACK (0.645 s, the spec's minimum) plus its startup: 0.85–1.05 s here when the suite
 * runs alone, more when other work shares the two cores.
 */
const MAX_LATENCY_HLSJS = 1.2;
/** hls.js: wall clock minus EXT-X-PROGRAM-DATE-TIME at the playhead, PDT from the encoder's prft. */
const MAX_PDT_LAG = 1.5;
/** video.js, the audio-only and the B-frame streams must play (their latency is reported), after the four. */
const EXTRA_SECONDS = 30;
/** `PLAYERS_CONFIG='{"segment":{"partTarget":0.5}}'` runs the players on another configuration (the per-lever figures of issue 17). */
const CONFIG = JSON.parse(process.env.PLAYERS_CONFIG ?? '{}') as ConfigInput;
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

/**
 * Real ffmpeg push (the README's command: 200 ms chunks with prft) → origin with its default
 * configuration → LL-HLS and LL-DASH players in Debian's headless Chromium, side by side in one
 * browser on one push.
 */
describe('LL-HLS and LL-DASH in real players', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  const plays = new Map<string, Promise<PlayerReport>>();
  /** Started once the four latency players are done. */
  let extras: Promise<void> = Promise.resolve();

  before(async () => {
    o = await startOrigin({ ...CONFIG, log: { level: 'warn' } });
    push = pushPlayerStreams(o.ingest, { main: 'play', audioOnly: 'aonly', bframes: 'bframes' }, 180);
    [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
    await Promise.all(['play', 'aonly', 'bframes'].map((s) => waitForSegments(o.playback, s, 3)));
    // One after another, each once the previous one plays (a player's latency is decided at its
    // startup, which another's would slow down): the players that catch up (dash.js, shaka-player
    // on the MPD's ServiceDescription) first, those that keep the latency they started with last;
    // the four together for 60 s, then the others (on two cores, seven pages decoding at once slow
    // each other's media clocks).
    const start = async (key: string, player: PlayerName, manifest: string, seconds: number, options: PlayOptions = {}): Promise<void> => {
      const playing = await startInPage(browser, pages.url, player, `${o.playback}/live/${manifest}`, options);
      console.log(`# ${key} playing at ${new Date().toISOString().slice(11, 23)}`);
      const report = playing.finish(seconds);
      report.catch(() => undefined);
      plays.set(key, report);
    };
    await start('dash.js', 'dash.js', 'play/manifest.mpd', PLAY_SECONDS);
    await start('shaka LL-DASH', 'shaka', 'play/manifest.mpd', PLAY_SECONDS, { lowLatency: true });
    await start('shaka', 'shaka', 'play/master.m3u8', PLAY_SECONDS, { lowLatency: true });
    await start('hls.js', 'hls.js', 'play/master.m3u8', PLAY_SECONDS, { lowLatency: true });
    extras = Promise.allSettled([...plays.values()]).then(async () => {
      await start('video.js', 'video.js', 'play/master.m3u8', EXTRA_SECONDS);
      await start('hls.js audio-only', 'hls.js', 'aonly/master.m3u8', EXTRA_SECONDS, { lowLatency: true });
      await start('shaka B-frames', 'shaka', 'bframes/master.m3u8', EXTRA_SECONDS, { lowLatency: true });
    });
    extras.catch(() => undefined);
  });

  after(async () => {
    await extras.catch(() => undefined);
    await Promise.allSettled(plays.values());
    push.kill();
    await browser?.close();
    await pages?.close();
    await o.stop();
  });

  it(`a raw client at every segment boundary for ${RAW_CLIENT_SECONDS} s: the hint names the next part, blocking reloads advance, bare-hint playlists are not cached`, async () => {
    // Alongside the second group of players, not the four whose latency is measured.
    await Promise.allSettled(['dash.js', 'shaka LL-DASH', 'shaka', 'hls.js'].map((k) => plays.get(k)));
    const url = `${o.playback}/live/play/video/index.m3u8`;
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

  it(`hls.js in lowLatencyMode: ≤ ${MAX_LATENCY_HLSJS} s behind live and PDT ≤ ${MAX_PDT_LAG} s behind the wall clock over the last ${STEADY_SECONDS} s of ${PLAY_SECONDS} s, no stall, blocking reloads`, async () => {
    const r = await plays.get('hls.js')!;
    const s = reportFigures('hls.js 1.7 lowLatencyMode (LL-HLS)', r, STEADY_SECONDS);
    assert.deepEqual(r.errors.filter((e) => e.fatal), [], JSON.stringify(r.errors));
    assertPlayed(r.samples, PLAY_SECONDS);
    assert.deepEqual(r.waits.map(Math.round), [], 'no stall');
    assert.ok(s.latency <= MAX_LATENCY_HLSJS, `live latency ${s.latency.toFixed(2)} s`);
    assert.ok(s.pdtLag !== null && s.pdtLag <= MAX_PDT_LAG, `wall clock − PDT ${s.pdtLag?.toFixed(2)} s`);
    assert.ok(r.requests.some((u) => /_HLS_msn=\d+&_HLS_part=\d+/.test(u)), 'hls.js asked for parts with blocking reloads');
    assert.ok(r.requests.some((u) => /\/\d+\.\d+\.m4s$/.test(u)), 'hls.js loaded parts');
  });

  it(`shaka-player in lowLatencyMode: ≤ ${MAX_LATENCY} s behind live over the last ${STEADY_SECONDS} s of ${PLAY_SECONDS} s, no stall`, async () => {
    const r = await plays.get('shaka')!;
    const s = reportFigures('shaka-player 5.2 lowLatencyMode (LL-HLS)', r, STEADY_SECONDS);
    assert.deepEqual(r.errors.filter((e) => e.fatal), [], JSON.stringify(r.errors));
    assertPlayed(r.samples, PLAY_SECONDS);
    assert.deepEqual(r.waits.map(Math.round), [], 'no stall');
    assert.ok(s.latency <= MAX_LATENCY, `live latency ${s.latency.toFixed(2)} s`);
  });

  it(`dash.js (default settings) on the low-latency MPD: ≤ ${MAX_LATENCY_DASHJS} s behind live over the last ${STEADY_SECONDS} s of ${PLAY_SECONDS} s, no stall`, async () => {
    const r = await plays.get('dash.js')!;
    const s = reportFigures('dash.js 5.2 default settings (LL-DASH)', r, STEADY_SECONDS);
    assert.deepEqual(r.errors, []);
    assertPlayed(r.samples, PLAY_SECONDS);
    assert.deepEqual(r.waits.map(Math.round), [], 'no stall');
    assert.ok(s.latency <= MAX_LATENCY_DASHJS, `live latency ${s.latency.toFixed(2)} s`);
  });

  it(`shaka-player in lowLatencyMode on the low-latency MPD: ≤ ${MAX_LATENCY} s behind live over the last ${STEADY_SECONDS} s of ${PLAY_SECONDS} s, no stall`, async () => {
    const r = await plays.get('shaka LL-DASH')!;
    const s = reportFigures('shaka-player 5.2 lowLatencyMode (LL-DASH)', r, STEADY_SECONDS);
    assert.deepEqual(r.errors.filter((e) => e.fatal), [], JSON.stringify(r.errors));
    assertPlayed(r.samples, PLAY_SECONDS);
    assert.deepEqual(r.waits.map(Math.round), [], 'no stall');
    assert.ok(s.latency <= MAX_LATENCY, `live latency ${s.latency.toFixed(2)} s`);
  });

  it(`video.js 8 plays LL-HLS for ${EXTRA_SECONDS} s: startup under 3 s, no stall`, async () => {
    await extras;
    const { samples, errors, startupMs, waits, failures } = await plays.get('video.js')!;
    summarize('video.js 8 (VHS, LL-HLS)', samples);
    console.log(`# video.js: startup ${startupMs.toFixed(0)} ms; waits after it ${JSON.stringify(waits.map(Math.round))} ms; ${failures.length} failed requests`);
    assert.deepEqual(errors, []);
    assertPlayed(samples, EXTRA_SECONDS);
    assert.ok(startupMs < 3000, `startup took ${startupMs.toFixed(0)} ms`);
    // A stall: the video waited for data for longer than a part target (shorter waits are not seen).
    assert.deepEqual(waits.filter((ms) => ms >= 500).map(Math.round), [], 'no stall after playback started');
  });

  for (const [key, what] of [['hls.js audio-only', 'an audio-only stream'], ['shaka B-frames', 'B-frames, a 2 s GOP and 44.1 kHz AAC']] as const) {
    it(`${key.split(' ')[0]} plays ${what} for ${EXTRA_SECONDS} s with no fatal error`, async () => {
      await extras;
      const r = await plays.get(key)!;
      reportFigures(`${key} (LL-HLS)`, r, STEADY_SECONDS);
      assert.deepEqual(r.errors.filter((e) => e.fatal), [], JSON.stringify(r.errors));
      assertPlayed(r.samples, EXTRA_SECONDS);
    });
  }
});
