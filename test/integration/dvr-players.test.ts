/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertPlayed, launchChromium, playInPage, startPageServer, summarize, type PlayerName } from '../helpers/browser.js';
import { LADDER, loadTracks } from '../helpers/feed.js';
import { HttpFeeder } from '../helpers/http-feed.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

const BACK = 60;
const PLAY_SECONDS = 12;

/**
 * Catch-up in real players: five minutes pushed in a few seconds, then a live encoder's pace; the
 * player opens the whole-DVR view at the live edge, the viewer seeks a minute back, and it plays on
 * from there (its segments read back from disk).
 */
describe('DVR in real players', () => {
  let o: TestOrigin;
  let dir: string;
  let feeder: HttpFeeder;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  const pacing = { stopped: false };
  let paced: Promise<void>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dvr-players-'));
    o = await startOrigin({ dvr: { windowSeconds: 3600, dataDir: dir }, window: { seconds: 30 }, ingest: { idleTimeoutMs: 600_000 }, log: { level: 'warn' } });
    const t0 = Math.floor(Date.now() / 1000) - 300;
    feeder = new HttpFeeder(o.ingest, 'catchup', loadTracks(LADDER), t0, { keep: false });
    await feeder.pushUntil(feeder.nowSeconds() - 0.5);
    paced = feeder.paceUntil(3600, pacing).catch(() => {});
    [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
    await waitForSegments(o.playback, 'catchup', 3);
  });

  after(async () => {
    pacing.stopped = true;
    feeder.abort();
    await paced;
    await browser?.close();
    await pages?.close();
    await o.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [PlayerName, string][] = [
    ['hls.js', 'master.m3u8?dvr=1'],
    ['dash.js', 'manifest.mpd?dvr=1'],
  ];
  for (const [player, path] of cases) {
    it(`${player} plays ${path}, seeks ${BACK} s back and plays on from there`, async () => {
      const report = await playInPage(browser, pages.url, player, `${o.playback}/live/catchup/${path}`, PLAY_SECONDS, { seekBack: { afterSeconds: 3, by: BACK } });
      summarize(`${player} ${path} after a ${BACK} s seek back`, report.samples);
      assert.deepEqual(report.errors.filter((e) => e.fatal), [], JSON.stringify(report.errors));
      assert.deepEqual(report.serverErrors, []);
      assertPlayed(report.samples, PLAY_SECONDS);
      const first = report.samples[0]!;
      assert.ok(Math.abs(first.currentTime - report.seek!.to) < 8, `plays from where it was sent (${first.currentTime.toFixed(1)} s, asked ${report.seek!.to.toFixed(1)} s)`);
      // The player stays a minute behind the live edge: it did not jump back to live.
      const behind = report.samples.at(-1)!.latency;
      assert.ok(behind !== null && behind > BACK - 10, `${behind} s behind the live edge`);
    });
  }
});
