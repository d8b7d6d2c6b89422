import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fixture, FIXTURES } from '../helpers/fixtures.js';
import type { ChildOrigin } from '../helpers/child-origin.js';
import { loadCorpus } from '../fuzz/corpus.js';
import { readCase, replay } from '../fuzz/replay.js';
import { FUZZ_IDLE_MS, liveStreams, startFuzzOrigin } from '../fuzz/session.js';

const CRASHES = 'repro/ingest-crashes/';

interface OpenPut {
  readonly req: ClientRequest;
  readonly answer: Promise<{ status: number; body: string } | null>;
}

/** A chunked PUT whose body is written now; ended only if `end` (else the test holds it open). */
function put(base: string, path: string, body: Buffer, end = true): OpenPut {
  const req = request(base + path, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } });
  const answer = new Promise<{ status: number; body: string } | null>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', () => resolve(null));
  });
  req.write(body);
  if (end) req.end();
  return { req, answer };
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function faults(playback: string): Promise<number> {
  const text = (await get(`${playback}/metrics`)).text;
  let n = 0;
  for (const m of text.matchAll(/^origin_faults_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

/** Every manifest of a stream answers below 500. */
async function manifestsServe(playback: string, stream: string): Promise<void> {
  for (const m of ['master.m3u8', 'master-lhls.m3u8', 'master-ts.m3u8', 'manifest.mpd', 'manifest.mpd?mode=timeline', 'hesp.json']) {
    const r = await get(`${playback}/live/${stream}/${m}`);
    assert.ok(r.status < 500, `${m} of ${stream}: ${r.status} ${r.text}`);
  }
}

/**
 * The inputs that once stopped or froze the origin (../shared/repro/ingest-crashes, and what the
 * fuzzer found since), replayed against the origin in its own process: each is refused with a
 * 4xx or absorbed, the process stays up, no boundary had to catch an unexpected exception.
 */
describe('ingest inputs that once broke the origin', () => {
  let o: ChildOrigin;
  let cleanup: () => void;

  before(async () => {
    ({ origin: o, cleanup } = await startFuzzOrigin());
  });

  after(async () => {
    await o.stop();
    cleanup();
  });

  it('disagreeing video and audio timestamps, the audio connection dropped mid-body: the 11.5 s AAC frame is refused', async () => {
    const video = put(o.ingest, '/live/cx/v.mp4', fixture(CRASHES + 'crash-video.bin'));
    assert.equal((await video.answer)?.status, 200);
    const audio = put(o.ingest, '/live/cx/a.mp4', fixture(CRASHES + 'crash-audio.bin'), false);
    await sleep(300);
    audio.req.destroy();
    const answer = await audio.answer;
    if (answer) {
      assert.equal(answer.status, 400);
      assert.match(answer.body, /lasts 11\.500 s/);
    }
    await sleep(200);
    assert.ok(o.alive(), o.stderr());
    await manifestsServe(o.playback, 'cx');
    assert.equal((await get(`${o.playback}/live/cx/v/index.m3u8`)).status, 200);
  });

  it('tfdt near 2^64 on two tracks, one connection dropped: the fragment that would overflow is refused', async () => {
    const video = put(o.ingest, '/live/ov/v.mp4', fixture(CRASHES + 'u64-video.bin'), false);
    await sleep(300);
    const audio = put(o.ingest, '/live/ov/a.mp4', fixture(CRASHES + 'u64-audio.bin'));
    const answer = await audio.answer;
    assert.equal(answer?.status, 400);
    assert.match(answer!.body, /overflows 64 bits/);
    video.req.destroy();
    await sleep(300);
    assert.ok(o.alive(), o.stderr());
    await manifestsServe(o.playback, 'ov');
  });

  it('an H.264 NAL length that overruns its sample while a client holds the segment as MPEG-TS: refused at ingest, the TS reader is cut', async () => {
    const [v360] = loadCorpus(['ladder/v360.mp4']);
    const push = put(o.ingest, '/live/tsy/v.mp4', Buffer.concat([v360!.init, ...v360!.fragments.slice(0, 20)]), false);
    let playlist = '';
    for (let i = 0; i < 50 && !/\.m4s$/m.test(playlist); i++) {
      await sleep(100);
      playlist = (await get(`${o.playback}/live/tsy/v/index.m3u8`)).text;
    }
    const [, tag, last] = /^([a-z0-9]+)\/(\d+)\.m4s$/m.exec(playlist.split('\n').filter((l) => l.endsWith('.m4s')).pop()!)!;
    // The segment after the newest complete one: in production, streamed as it is remuxed.
    const held = new Promise<'ended' | 'cut' | number>((resolve) => {
      request(`${o.playback}/live/tsy/v/${tag}/${Number(last) + 1}.ts`, (res: IncomingMessage) => {
        if (res.statusCode !== 200) return resolve(res.statusCode ?? 0);
        res.resume();
        res.on('end', () => resolve('ended'));
        res.on('aborted', () => resolve('cut'));
        res.on('error', () => resolve('cut'));
      }).end();
    });
    await sleep(200);
    push.req.write(fixture(CRASHES + 'corrupt-nal-fragment.bin'));
    const answer = await push.answer;
    assert.equal(answer?.status, 400);
    assert.match(answer!.body, /NAL unit of \d+ bytes overruns/);
    // The ingest died mid-segment: the reader of that segment is cut, never ended cleanly.
    assert.equal(await held, 'cut');
    assert.ok(o.alive(), o.stderr());
    await manifestsServe(o.playback, 'tsy');
  });

  it('a trun declaring 65,536 samples with no per-sample fields is refused at once', async () => {
    const started = performance.now();
    const answer = await put(o.ingest, '/live/bb/v.mp4', fixture(CRASHES + 'bomb-65536.bin')).answer;
    const ms = performance.now() - started;
    assert.equal(answer?.status, 400);
    assert.match(answer!.body, /trun of track 1 declares 65536 samples/);
    // The bound: no request over 1 s (it blocked the event loop for 6.7 s).
    assert.ok(ms < 1000, `answered after ${ms.toFixed(0)} ms`);
    assert.ok(o.alive());
  });

  for (const name of existsSync(FIXTURES + 'repro') ? readdirSync(FIXTURES + 'repro').filter((n) => n.startsWith('fuzz-')) : []) {
    it(`fuzz case ${name}: every step answered below 500, every manifest served, every EXTINF within the target`, async () => {
      const { steps, bodies } = readCase(FIXTURES + 'repro/' + name);
      const out = await replay(o.ingest, o.playback, steps, bodies);
      assert.ok(
        // A body the client cuts (dropAt) has no answer (0).
        out.statuses.every((s, i) => s < 500 && (s > 0 || steps[i]!.dropAt !== undefined)),
        `statuses ${out.statuses.join(', ')}`,
      );
      assert.deepEqual(out.playbackFailures, []);
      assert.ok(o.alive(), o.stderr());
    });
  }

  it('an init-only PUT leaves no stream behind once the idle timeout has passed', async () => {
    const [v360] = loadCorpus(['ladder/v360.mp4']);
    const before = await liveStreams(o.playback);
    for (let i = 0; i < 5; i++) assert.equal((await put(o.ingest, `/live/initonly${i}/v.mp4`, v360!.init).answer)?.status, 200);
    assert.equal(await liveStreams(o.playback), before + 5);
    // Idle timeout plus one sweep (the registry is swept every second).
    await sleep(FUZZ_IDLE_MS + 2500);
    const left = (await get(`${o.playback}/metrics`)).text;
    assert.ok(!/initonly/.test(left), 'no metric label of an init-only stream is left');
    for (let i = 0; i < 5; i++) assert.equal((await get(`${o.playback}/live/initonly${i}/master.m3u8`)).status, 404);
  });

  it('no boundary had to catch an unexpected exception', async () => {
    assert.equal(await faults(o.playback), 0, JSON.stringify(o.errorLines()));
    assert.deepEqual(o.errorLines(), []);
  });
});
