/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import type { StreamStatus } from '../../src/status/describe.js';
import { launchChromium } from '../helpers/browser.js';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, waitFor } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

/** Screenshots go here (gitignored); TEST_OUTPUT moves it. */
const OUTPUT = process.env.TEST_OUTPUT ?? fileURLToPath(new URL('../../test-output/', import.meta.url));

type PlayerKey = 'hls' | 'dash' | 'shaka';
const PLAYERS: readonly PlayerKey[] = ['hls', 'dash', 'shaka'];

interface Weight {
  page: number;
  api: number;
  media: number;
  requests: number;
}

/** Bytes on the wire (headers + encoded bodies) of everything a page loads, by kind. */
function weigh(page: Page): Weight {
  const w: Weight = { page: 0, api: 0, media: 0, requests: 0 };
  page.on('requestfinished', (req) => {
    void req.sizes().then((s) => {
      const path = new URL(req.url()).pathname;
      const bytes = s.responseBodySize + s.responseHeadersSize;
      w.requests++;
      if (path.startsWith('/api/')) w.api += bytes;
      else if (path.startsWith('/live/')) w.media += bytes;
      else w.page += bytes;
    });
  });
  return w;
}

async function streamsOf(playback: string): Promise<StreamStatus[]> {
  const r = await get(`${playback}/api/streams`);
  assert.equal(r.status, 200);
  return (JSON.parse(r.body.toString()) as { streams: StreamStatus[] }).streams;
}

/** What a player panel shows, and the player's own latency read in the same task as the page's update. */
interface PanelReading {
  shown: string;
  own: number;
  buffer: string;
  stalls: string;
  currentTime: number;
  error: string | null;
}

function readPanels(page: Page): Promise<Record<PlayerKey, PanelReading>> {
  const reading = page.evaluate(
    (keys) =>
      new Promise<Record<string, PanelReading>>((resolve, reject) => {
        const out: Record<string, PanelReading> = {};
        const players = (window as unknown as { statusPlayers: Record<string, { latency: number; getCurrentLiveLatency(): number; getStats(): { liveLatency: number } }> }).statusPlayers;
        // Runs right after the page's once-a-second update, before any other task. (No local
        // function declarations here: tsx would wrap them in a __name helper the page lacks.)
        const observer = new MutationObserver(() => {
          observer.disconnect();
          try {
            for (const key of keys) {
              const fig = document.querySelector(`figure[data-player="${key}"]`)!;
              const lib = players[key]!;
              const error = fig.querySelector('[data-k="error"]') as HTMLElement;
              out[key] = {
                shown: fig.querySelector('[data-k="latency"]')!.textContent ?? '',
                own: key === 'hls' ? lib.latency : key === 'dash' ? lib.getCurrentLiveLatency() : lib.getStats().liveLatency,
                buffer: fig.querySelector('[data-k="buffer"]')!.textContent ?? '',
                stalls: fig.querySelector('[data-k="stalls"]')!.textContent ?? '',
                currentTime: fig.querySelector('video')!.currentTime,
                error: error.hidden ? null : error.textContent,
              };
            }
            resolve(out);
          } catch (err) {
            reject(err as Error);
          }
        });
        observer.observe(document.querySelector('figure[data-player="shaka"] [data-k="latency"]')!, { childList: true, characterData: true, subtree: true });
      }),
    PLAYERS,
  ) as Promise<Record<PlayerKey, PanelReading>>;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the page did not update its figures within 5 s')), 5000)));
  return Promise.race([reading, timeout]).finally(() => clearTimeout(timer));
}

/** Decodes a PNG in the browser and measures it: distinct colours, share of non-background pixels, and per-rectangle colours. */
function measurePng(page: Page, png: Buffer, rects: { x: number; y: number; width: number; height: number }[]): Promise<{ width: number; height: number; colors: number; content: number; rectColors: number[] }> {
  return page.evaluate(
    async ({ b64, rects }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const g = canvas.getContext('2d')!;
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, img.width, img.height).data;
      const colors = new Set<number>();
      let content = 0;
      let n = 0;
      for (let i = 0; i < d.length; i += 4 * 5) {
        colors.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
        if (Math.abs(d[i]! - d[0]!) + Math.abs(d[i + 1]! - d[1]!) + Math.abs(d[i + 2]! - d[2]!) > 24) content++;
        n++;
      }
      const rectColors = rects.map((r) => {
        const px = g.getImageData(Math.round(r.x), Math.round(r.y), Math.max(1, Math.round(r.width)), Math.max(1, Math.round(r.height))).data;
        const set = new Set<number>();
        for (let i = 0; i < px.length; i += 4 * 3) set.add((px[i]! << 16) | (px[i + 1]! << 8) | px[i + 2]!);
        return set.size;
      });
      return { width: img.width, height: img.height, colors: colors.size, content: content / n, rectColors };
    },
    { b64: png.toString('base64'), rects },
  );
}

describe('status page', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let browser: Browser;
  let page: Page;

  before(async () => {
    // A short idle timeout so the pushed stream ends soon after its encoder stops.
    o = await startOrigin({ demo: { enabled: true }, ingest: { idleTimeoutMs: 2000 }, log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '120',
      '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/cam/v180.mp4`,
      '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/cam/audio.mp4`,
    ]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await Promise.all([waitForSegments(o.playback, 'cam', 2), waitForSegments(o.playback, 'demo', 2)]);
  });

  after(async () => {
    push.kill();
    await browser?.close();
    await o?.stop();
  });

  it('/api/streams lists the demo and the pushed stream with their tracks, cacheable for a second, with CORS and no ingest URL', async () => {
    const r = await get(`${o.playback}/api/streams`, { origin: 'http://elsewhere.example' });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.equal(r.headers['cache-control'], 'public, max-age=1');
    assert.equal(r.headers['access-control-allow-origin'], '*');
    const text = r.body.toString();
    const ingestPort = new URL(o.ingest).port;
    assert.ok(!text.includes(`:${ingestPort}`) && !text.includes(o.ingest), 'no ingest URL');
    const streams = (JSON.parse(text) as { streams: StreamStatus[] }).streams;
    assert.deepEqual(streams.map((s) => s.name), ['cam', 'demo']);
    const cam = streams[0]!;
    assert.deepEqual(cam.tracks.map((t) => [t.name, t.kind, t.codec.slice(0, 4), t.width, t.height, t.frameRate]), [
      ['v180', 'video', 'avc1', 320, 180, 25],
      ['audio', 'audio', 'mp4a', null, null, null],
    ]);
    for (const t of cam.tracks) {
      assert.ok(t.bitrate && t.bitrate.average > 0, `${t.name} has a measured bitrate`);
      assert.ok(t.lastMsn !== null && t.lastMsn >= 2 && t.lastPart !== null && t.lastPart.msn >= t.lastMsn);
    }
    assert.equal(cam.ingest.connected, true);
    assert.ok(cam.window && cam.window.lastMsn >= cam.window.firstMsn + 1 && Date.parse(cam.window.end) > Date.parse(cam.window.start));
    assert.equal(cam.dvr, null);
    assert.deepEqual(cam.durations, { targetDuration: 2, segment: 2, partTarget: 0.215 }, '2 s segments of the 1 s GOP; a part per 200 ms chunk of the encoder');
    assert.equal(cam.urls.page, '/watch/cam');
    for (const url of [cam.urls.llHls, cam.urls.lHls, cam.urls.ts!, cam.urls.dash, cam.urls.dashTimeline, cam.urls.hesp]) {
      assert.equal((await get(o.playback + url)).status, 200, url);
    }
    assert.deepEqual(streams[1]!.tracks.map((t) => t.name), ['v360', 'v180', 'audio']);
    const one = await get(`${o.playback}/api/streams/cam`);
    assert.equal(one.status, 200);
    assert.equal((JSON.parse(one.body.toString()) as StreamStatus).tag, cam.tag);
    const missing = await get(`${o.playback}/api/streams/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['cache-control'], 'no-store');
  });

  it('/ lists every live stream with its tracks, links to its page and to every manifest', async () => {
    const weight = weigh(page);
    const res = await page.goto(`${o.playback}/`);
    assert.equal(res!.status(), 200);
    const headers = res!.headers();
    assert.equal(headers['cache-control'], 'public, max-age=1');
    assert.equal(headers['access-control-allow-origin'], '*');
    await page.waitForSelector('section[data-stream="cam"] tr[data-track="v180"]');
    await page.waitForSelector('section[data-stream="demo"] tr[data-track="v360"]');
    for (const name of ['cam', 'demo']) {
      const href = await page.getAttribute(`section[data-stream="${name}"] h2 a`, 'href');
      assert.ok(href?.includes(name), `the page links to ${name}'s page`);
    }
    const rows = await page.$$eval('section[data-stream="cam"] tr[data-track]', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0]!.slice(0, 2), ['v180', 'video']);
    assert.match(rows[0]![2]!, /^avc1\./);
    assert.equal(rows[0]![3], '320×180');
    assert.equal(rows[0]![4], '25 fps');
    assert.match(rows[0]![5]!, /kbit\/s/);
    assert.match(rows[1]![2]!, /^mp4a\.40\./);
    const facts = await page.textContent('section[data-stream="cam"] dl.facts');
    assert.match(facts!, /receiving · last chunk \d+\.\d s ago/);
    assert.match(facts!, /segments 2 s \(target 2 s\) · parts 0\.215 s/);
    assert.match(facts!, /#\d+–#\d+ · /);
    assert.match(facts!, /\d+ held requests? · /);
    const manifests = await page.$$eval('section[data-stream="demo"] a[data-manifest]', (as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(manifests, ['/live/demo/master.m3u8', '/live/demo/master-lhls.m3u8', '/live/demo/master-ts.m3u8', '/live/demo/manifest.mpd', '/live/demo/manifest.mpd?mode=timeline', '/live/demo/hesp.json']);
    for (const href of manifests) assert.equal((await get(o.playback + href!)).status, 200, href!);
    await page.waitForTimeout(1500);
    console.log(`# status page / first load: ${weight.page} bytes (HTML, CSS, scripts), plus ${weight.api} bytes of /api/streams answers, ${weight.requests} requests`);
    assert.ok(weight.page > 0 && weight.page < 40_000, `the overview page is light (${weight.page} bytes)`);
  });

  it('a stream page plays the demo in hls.js, dash.js and shaka-player side by side, showing their own latency, buffer and stalls', async () => {
    const weight = weigh(page);
    await page.click('section[data-stream="demo"] h2 a');
    await page.waitForURL(/\/watch\/demo$/);
    assert.equal(await page.locator('video').count(), 3);
    await page.waitForFunction(() => [...document.querySelectorAll('video')].every((v) => v.currentTime > 0), undefined, { timeout: 40_000 });
    const first = await readPanels(page);
    await page.waitForTimeout(6000);
    const readings = [await readPanels(page)];
    for (let i = 0; i < 3; i++) readings.push(await readPanels(page));
    const last = readings.at(-1)!;
    for (const key of PLAYERS) {
      assert.equal(last[key].error, null, `${key}: ${last[key].error}`);
      assert.ok(last[key].currentTime - first[key].currentTime >= 5, `${key} advanced ${(last[key].currentTime - first[key].currentTime).toFixed(1)} s in ~9 s`);
      assert.match(last[key].buffer, /^\d+\.\d\d s$/);
      assert.match(last[key].stalls, /^\d+$/);
      for (const r of readings) {
        const shown = Number.parseFloat(r[key].shown);
        assert.ok(Number.isFinite(shown), `${key} shows a latency (${r[key].shown})`);
        assert.ok(Math.abs(shown - r[key].own) <= 0.1, `${key}: shown ${r[key].shown}, the player says ${r[key].own}`);
        assert.ok(r[key].own > 0 && r[key].own < 15, `${key} latency ${r[key].own}`);
      }
    }
    console.log(`# status page players: ${PLAYERS.map((k) => `${k} latency ${last[k].shown} buffer ${last[k].buffer} stalls ${last[k].stalls}`).join('; ')}`);
    // Each chart has drawn its line.
    const drawn = await page.$$eval('canvas[data-k="chart"]', (cs) =>
      cs.map((c) => {
        const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
        let blue = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 2]! > 150 && d[i]! < 80 && d[i + 3]! > 200) blue++;
        return blue;
      }),
    );
    assert.equal(drawn.length, 3);
    for (const n of drawn) assert.ok(n > 20, `a latency line is drawn (${n} px)`);
    const demo = (await streamsOf(o.playback)).find((s) => s.name === 'demo')!;
    assert.ok(demo.delivery.viewers >= 1, `the playing page counts as a viewer (${demo.delivery.viewers})`);
    assert.ok(demo.delivery.heldRequests + demo.delivery.growingReaders >= 1, `players wait at the live edge (${JSON.stringify(demo.delivery)})`);

    mkdirSync(OUTPUT, { recursive: true });
    const png = await page.screenshot({ fullPage: true });
    const file = join(OUTPUT, 'status-page.png');
    writeFileSync(file, png);
    const videos = await page.$$eval('video', (vs) => vs.map((v) => {
      const r = v.getBoundingClientRect();
      return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height };
    }));
    const m = await measurePng(page, png, videos);
    console.log(`# screenshot ${file}: ${m.width}×${m.height}, ${m.colors} colours, ${(m.content * 100).toFixed(0)} % content, video colours ${m.rectColors.join('/')}`);
    assert.ok(m.colors > 100 && m.content > 0.1, 'the screenshot is not blank');
    for (const n of m.rectColors) assert.ok(n > 20, `each video shows a picture (${n} colours)`);
    console.log(`# status page /watch/demo first load: ${weight.page} bytes (HTML, CSS, scripts, three player libraries), ${weight.api} bytes of API, ${weight.media} bytes of media in ~12 s`);
  });

  it('serves the page and the player libraries with the documented cache headers and CORS', async () => {
    const html = await get(`${o.playback}/watch/demo`, { 'accept-encoding': 'gzip' });
    assert.equal(html.status, 200);
    assert.equal(html.headers['cache-control'], 'public, max-age=60');
    assert.equal(html.headers['access-control-allow-origin'], '*');
    const text = (await get(`${o.playback}/watch/demo`)).body.toString();
    const urls = [...text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((x) => x[1]!);
    assert.equal(urls.length, 5, 'a stylesheet, three player libraries and the page script');
    assert.ok(urls.some((u) => /^\/assets\/hls\.js@\d+\.\d+\.\d+\//.test(u)) && urls.some((u) => u.includes('/assets/dashjs@')) && urls.some((u) => u.includes('/assets/shaka-player@')));
    for (const url of urls) {
      const plain = await get(o.playback + url);
      const zipped = await get(o.playback + url, { 'accept-encoding': 'gzip' });
      assert.equal(plain.status, 200, url);
      assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(plain.headers['access-control-allow-origin'], '*');
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.ok(zipped.body.length < plain.body.length, `${url} is gzipped`);
    }
    assert.equal((await get(`${o.playback}/watch/bad%20name`)).status, 404);
    assert.equal((await get(`${o.playback}/assets/hls.js@0.0.0/hls.min.js`)).status, 404, 'only the fixed asset paths');
  });

  it('forgets a stream once its encoder has gone and the stream ended', async () => {
    push.kill();
    await waitFor('cam to leave /api/streams', async () => ((await streamsOf(o.playback)).some((s) => s.name === 'cam') ? undefined : true), 15_000, 250);
    assert.deepEqual((await streamsOf(o.playback)).map((s) => s.name), ['demo']);
    assert.equal((await get(`${o.playback}/api/streams/cam`)).status, 404);
    assert.ok(!(await get(`${o.playback}/`)).body.toString().includes('/watch/cam'));
  });
});

describe('--no-status-page', () => {
  let o: TestOrigin;

  before(async () => {
    o = await startOrigin({ statusPage: loadConfig(['--no-status-page'], {}).statusPage, demo: { enabled: true } });
    await waitFor('the demo in the API', async () => ((await streamsOf(o.playback)).length > 0 ? true : undefined));
  });

  after(async () => {
    await o?.stop();
  });

  it('answers 404 at / and the stream pages, while /api/streams still answers', async () => {
    for (const path of ['/', '/watch/demo']) {
      const r = await get(o.playback + path);
      assert.equal(r.status, 404, path);
      assert.equal(r.headers['access-control-allow-origin'], '*');
    }
    const streams = await streamsOf(o.playback);
    assert.deepEqual(streams.map((s) => s.name), ['demo']);
    assert.equal(streams[0]!.urls.page, null);
  });
});
