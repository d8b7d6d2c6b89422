/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertPlayed, launchChromium, playInPage, startPageServer, summarize, type PlaybackSample, type PlayerName, type PlayerReport } from '../helpers/browser.js';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { startVarnish, type TestEdge } from '../helpers/varnish.js';
import { waitForSegments } from '../helpers/verify.js';

const PLAY_SECONDS = 30;

/**
 * A player's latency depends on where it happened to start, and by default hls.js never corrects
 * it (maxLiveSyncPlaybackRate 1) and shaka-player 5.2 corrects it at 0.95× towards a target of
 * suggestedPresentationDelay + ServiceDescription (so it drifts for the whole test): with
 * catch-up on, direct and edge settle on the same target, and their difference is the edge's.
 */
const CASES: { player: PlayerName; what: string; path: string; options: Parameters<typeof playInPage>[5] }[] = [
  { player: 'hls.js', what: 'LL-HLS (lowLatencyMode)', path: 'master.m3u8', options: { lowLatency: true, hlsConfig: { maxLiveSyncPlaybackRate: 1.5 } } },
  { player: 'dash.js', what: 'LL-DASH', path: 'manifest.mpd', options: {} },
  {
    player: 'shaka',
    what: 'LL-DASH (lowLatencyMode)',
    path: 'manifest.mpd',
    options: { lowLatency: true, shakaConfig: { streaming: { liveSync: { enabled: true, targetLatency: 0.5, targetLatencyTolerance: 0.1, minPlaybackRate: 0.8, maxPlaybackRate: 1.25 } } } },
  },
];

/** Mean live latency the player reported over its last ten samples. */
function latency(samples: readonly PlaybackSample[]): number {
  const tail = samples.map((s) => s.latency).filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).slice(-10);
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

/** Real ffmpeg push → origin → Varnish (the shipped VCL) → players, each also played direct at the same time. */
describe('players through the Varnish edge', () => {
  let o: TestOrigin;
  let edge: TestEdge;
  let push: FfmpegRun;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  /** Every player, direct and through the edge, plays at the same time: same machine load for both. */
  let plays: Promise<[PlayerReport, PlayerReport]>[];

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '180',
      '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/ev/v180.mp4`,
      '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/ev/audio.mp4`,
    ]);
    [edge, browser, pages] = await Promise.all([startVarnish(o.playback), launchChromium(), startPageServer()]);
    await waitForSegments(o.playback, 'ev', 3);
    plays = CASES.map((c) =>
      Promise.all([
        playInPage(browser, pages.url, c.player, `${o.playback}/live/ev/${c.path}`, PLAY_SECONDS, c.options),
        playInPage(browser, pages.url, c.player, `${edge.url}/live/ev/${c.path}`, PLAY_SECONDS, c.options),
      ]),
    );
    // Each test awaits its own; none is left unhandled if an earlier test fails.
    for (const p of plays) p.catch(() => {});
  });

  after(async () => {
    push?.kill();
    await browser?.close();
    await pages?.close();
    await edge?.stop();
    await o?.stop();
  });

  for (const [i, c] of CASES.entries()) {
    it(`${c.player} plays ${c.what} through the edge for ${PLAY_SECONDS} s with no fatal error, live latency within 0.2 s of direct`, async () => {
      const [direct, viaEdge] = await plays[i]!;
      summarize(`${c.player} ${c.what} direct`, direct.samples);
      summarize(`${c.player} ${c.what} through Varnish`, viaEdge.samples);
      assert.deepEqual(viaEdge.errors.filter((e) => e.fatal), [], JSON.stringify(viaEdge.errors));
      assert.deepEqual(viaEdge.serverErrors, [], 'no 5xx from the edge');
      assertPlayed(viaEdge.samples, PLAY_SECONDS);
      const media = viaEdge.requests.filter((u) => /\.(m4s|m3u8|mpd)(\?|$)/.test(u));
      assert.ok(media.length > 20 && media.every((u) => u.startsWith(edge.url)), 'every manifest and segment came from the edge');
      const d = latency(direct.samples);
      const e = latency(viaEdge.samples);
      assert.ok(Math.abs(e - d) <= 0.2, `live latency ${e.toFixed(2)} s through the edge, ${d.toFixed(2)} s direct`);
    });
  }
});
