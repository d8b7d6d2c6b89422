/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertPlayed, launchChromium, playInPage, startPageServer, summarize, type PlaybackSample, type PlayerReport } from '../helpers/browser.js';
import { AAC, LIVE_SOURCE, X264 } from '../helpers/ffmpeg.js';
import { get, sleep, waitFor } from '../helpers/hls.js';
import { startChildOrigin, type ChildOrigin } from '../helpers/child-origin.js';
import { TeePush } from '../helpers/tee-push.js';
import { startVarnish, type TestEdge } from '../helpers/varnish.js';
import { waitForSegments } from '../helpers/verify.js';

const PLAY_SECONDS = 45;
const KILL_AT = 12_000;
const RESTART_AT = 27_000;
/** A short window, so that once A is fed again its playlists cover the same segments as B's. */
const ORIGIN_ARGS = ['--window', '8'];
/** Video and audio muxed in one fragmented MP4 (tracks cam-v1 and cam-a2), prft on every fragment. */
const ENCODER = [...LIVE_SOURCE, '-t', '240', '-map', '0:v', '-map', '1:a', ...X264, ...AAC, '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', '-write_prft', 'wallclock'];

/** Runs of samples in which playback did not advance (a stall is one such run). */
function stalls(samples: readonly PlaybackSample[]): number {
  let n = 0;
  let stalled = false;
  for (let i = 1; i < samples.length; i++) {
    const still = samples[i]!.currentTime - samples[i - 1]!.currentTime < 0.5;
    if (still && !stalled) n++;
    stalled = still;
  }
  return n;
}

/**
 * Two origins fed by one encoder behind the shipped VCL: origin A dies (SIGKILL) in the middle
 * of playback, the fallback director and the retries move every request to B, and the players
 * do not notice beyond a stall; A comes back, is fed again, and publishes what B publishes.
 * Needs the deterministic timeline (issue 13): until then the two origins publish different
 * `{tag}`s and segment numbers, and a player that moves from A to B asks B for A's URLs.
 */
describe('Varnish in front of two origins, origin A killed mid-playback', () => {
  let a: ChildOrigin;
  let b: ChildOrigin;
  let edge: TestEdge;
  let push: TeePush;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  let reports: Promise<[PlayerReport, PlayerReport]>;

  before(async () => {
    [a, b] = await Promise.all([startChildOrigin({ args: ORIGIN_ARGS }), startChildOrigin({ args: ORIGIN_ARGS })]);
    push = new TeePush(ENCODER, [`${a.ingest}/live/fo/cam.mp4`, `${b.ingest}/live/fo/cam.mp4`]);
    [edge, browser, pages] = await Promise.all([startVarnish(a.playback, { originB: b.playback }), launchChromium(), startPageServer()]);
    await Promise.all([waitForSegments(a.playback, 'fo', 3), waitForSegments(b.playback, 'fo', 3)]);
    reports = Promise.all([
      playInPage(browser, pages.url, 'hls.js', `${edge.url}/live/fo/master.m3u8`, PLAY_SECONDS, { lowLatency: true }),
      playInPage(browser, pages.url, 'dash.js', `${edge.url}/live/fo/manifest.mpd`, PLAY_SECONDS),
    ]);
    reports.catch(() => {});
    const ports = { playback: a.playbackPort, ingest: a.ingestPort };
    await sleep(KILL_AT);
    await a.kill();
    await sleep(RESTART_AT - KILL_AT);
    a = await startChildOrigin({ ports, args: ORIGIN_ARGS });
    push.attach(`${a.ingest}/live/fo/cam.mp4`);
  });

  after(async () => {
    push?.stop();
    await browser?.close();
    await pages?.close();
    await edge?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  for (const [i, name] of ['hls.js', 'dash.js'].entries()) {
    it(`${name} keeps playing through origin B: no fatal error, no 5xx, at most one stall`, async () => {
      const r = (await reports)[i]!;
      summarize(`${name} across the failover`, r.samples);
      assert.deepEqual(r.errors.filter((e) => e.fatal), [], JSON.stringify(r.errors));
      assert.deepEqual(r.serverErrors, [], 'no 5xx');
      assert.ok(stalls(r.samples) <= 1, `stalled ${stalls(r.samples)} times`);
      assertPlayed(r.samples, PLAY_SECONDS);
    });
  }

  it('publishes byte-identical playlists on A and B once A is back and fed again', async () => {
    for (const [name, o] of [['A', a], ['B', b]] as const) assert.ok(o.alive(), `origin ${name} exited: ${o.output()}`);
    await waitForSegments(a.playback, 'fo', 2);
    // The same blocking reload on both: each answers when it has that part, with its own bytes.
    const pl = (await get(`${b.playback}/live/fo/cam-v1/index.m3u8`)).body.toString();
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]*\/(\d+)\.(\d+)\.m4s"/.exec(pl);
    assert.ok(hint, pl);
    const query = `?_HLS_msn=${hint[1]}&_HLS_part=${hint[2]}`;
    const [fromA, fromB] = await Promise.all([get(`${a.playback}/live/fo/cam-v1/index.m3u8${query}`), get(`${b.playback}/live/fo/cam-v1/index.m3u8${query}`)]);
    assert.equal(fromA.status, 200, fromA.body.toString());
    assert.equal(fromB.status, 200);
    // Program date-times: each origin maps media time to the encoder's prft clock from the first
    // prft it saw (one mapping for every track, RFC 8216bis 6.2.4); A came back later, so its
    // mapping is B's shifted by ffmpeg's prft jitter (a few ms). Everything else is byte for byte.
    const pdts = (text: string): number[] => [...text.matchAll(/^#EXT-X-PROGRAM-DATE-TIME:(.+)$/gm)].map((m) => Date.parse(m[1]!));
    const withoutPdt = (text: string): string => text.replace(/^#EXT-X-PROGRAM-DATE-TIME:.+$/gm, '#EXT-X-PROGRAM-DATE-TIME');
    assert.equal(withoutPdt(fromA.body.toString()), withoutPdt(fromB.body.toString()));
    const shifts = pdts(fromA.body.toString()).map((t, i) => t - pdts(fromB.body.toString())[i]!);
    console.log(`# A's program date-times are B's ${shifts[0]! >= 0 ? '+' : ''}${shifts[0]} ms`);
    assert.ok(shifts.every((d) => d === shifts[0] && Math.abs(d) <= 50), `one mapping on each, within the prft jitter: ${shifts.join(' ')}`);
    await waitFor('both MPDs', async () => ((await get(`${a.playback}/live/fo/manifest.mpd`)).status === 200 ? true : undefined));
  });
});
