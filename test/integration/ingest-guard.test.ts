import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parseConfig, type ConfigInput } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createOrigin, type Origin } from '../../src/server.js';
import { loadCorpus, retime } from '../fuzz/corpus.js';
import { box } from '../fuzz/bmff.js';
import { ffmpeg, run } from '../helpers/ffmpeg.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { sleep } from '../helpers/hls.js';
import { rawGet, rawRequest, portOf } from '../helpers/raw-http.js';
import { bearer, push } from '../helpers/push.js';

const TOKEN = 'ingest-token-0123456789';
const S2_TOKEN = 'stream-two-token-0123';
const [v360, audio] = loadCorpus(['ladder/v360.mp4', 'ladder/audio.mp4']) as [ReturnType<typeof loadCorpus>[0], ReturnType<typeof loadCorpus>[0]];
const whole = (f: typeof v360, n = f.fragments.length): Buffer => Buffer.concat([f.init, ...f.fragments.slice(0, n)]);

/** An origin whose warn lines are kept. */
async function startWithLogs(overrides: ConfigInput): Promise<{ origin: Origin; playback: string; ingest: string; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const config = parseConfig({ ...overrides, playback: { host: '127.0.0.1', port: 0 }, ingest: { host: '127.0.0.1', port: 0, ...overrides.ingest }, demo: { enabled: false }, log: { level: 'warn' } });
  const origin = createOrigin(config, { logger: createLogger('warn', sink) });
  const { playbackPort, ingestPort } = await origin.start();
  return { origin, playback: `http://127.0.0.1:${playbackPort}`, ingest: `http://127.0.0.1:${ingestPort}`, lines };
}

async function metric(base: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name}\\{${labels}\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('ingest authentication: every ingest shape, with and without the token', () => {
  let o: Awaited<ReturnType<typeof startWithLogs>>;
  before(async () => {
    o = await startWithLogs({ auth: { ingestToken: TOKEN, streamTokens: { s2: S2_TOKEN } } });
  });
  after(() => o.origin.stop());

  // Each shape is the list of requests an encoder of that kind sends, in order.
  const shapes: { name: string; requests: [string, string, Buffer | string][] }[] = [
    { name: 'one long PUT (ffmpeg -f mp4)', requests: [['PUT', '/live/a1/v.mp4', whole(v360)]] },
    { name: 'one long POST', requests: [['POST', '/live/a2/audio.mp4', whole(audio)]] },
    {
      name: "ffmpeg's DASH push (init/chunk PUTs, the MPD, DELETEs)",
      requests: [
        ['PUT', '/live/a3/init-stream0.m4s', v360.init],
        ['PUT', '/live/a3/chunk-stream0-00001.m4s', Buffer.concat(v360.fragments.slice(0, 10))],
        ['PUT', '/live/a3/manifest.mpd', '<MPD/>'],
        ['DELETE', '/live/a3/chunk-stream0-00001.m4s', ''],
      ],
    },
    {
      name: 'DASH-IF Interface-1: Streams(…) and per-track paths, an empty POST',
      requests: [
        ['POST', '/live/a4/Streams(v.cmfv)', ''],
        ['PUT', '/live/a4/Streams(v.cmfv)', v360.init],
        ['PUT', '/live/a4/Streams(v.cmfv)', Buffer.concat(v360.fragments.slice(0, 10))],
        ['PUT', '/live/a4/audio/init.mp4', audio.init],
        ['PUT', '/live/a4/audio/seg_00001.m4s', Buffer.concat(audio.fragments.slice(0, 10))],
      ],
    },
  ];

  for (const shape of shapes) {
    it(shape.name, async () => {
      for (const [method, path, body] of shape.requests) {
        const missing = await push(o.ingest, method, path, body).answer;
        assert.equal(missing.status, 401, `${method} ${path} without a token`);
        assert.equal(missing.body, '401 UNAUTHORIZED: an Authorization: Bearer token is required\n');
        assert.equal(missing.headers['www-authenticate'], 'Bearer realm="ingest"');
        const wrong = await push(o.ingest, method, path, body, bearer('not-the-token-0123456')).answer;
        assert.equal(wrong.status, 401);
        assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="ingest", error="invalid_token"');
        assert.match(wrong.body, /^401 UNAUTHORIZED: the token is not valid for stream 'a\d'\n$/);
        const ok = await push(o.ingest, method, path, body, bearer(TOKEN)).answer;
        assert.equal(ok.status, 200, `${method} ${path}: ${ok.body}`);
      }
      const stream = /\/live\/(a\d)\//.exec(shape.requests[0]![1])![1]!;
      assert.ok(o.origin.streams.get(stream)?.hasMedia(), `${stream} has media`);
    });
  }

  it('a stream token opens its stream only; refusals are counted and logged, without the token', async () => {
    assert.equal((await push(o.ingest, 'PUT', '/live/s2/v.mp4', whole(v360, 5), bearer(S2_TOKEN)).answer).status, 200);
    const other = await push(o.ingest, 'PUT', '/live/s1/v.mp4', whole(v360, 5), bearer(S2_TOKEN)).answer;
    assert.equal(other.status, 401);
    assert.equal(other.body, "401 UNAUTHORIZED: the token is not valid for stream 's1'\n");
    assert.equal((await push(o.ingest, 'PUT', '/live/s2/v.mp4', whole(v360, 5), { authorization: 'Basic YTpi' }).answer).status, 401);
    assert.ok((await metric(o.playback, 'origin_ingest_auth_failures_total', 'reason="missing"')) >= 10);
    assert.ok((await metric(o.playback, 'origin_ingest_auth_failures_total', 'reason="invalid"')) >= 11);
    assert.equal(await metric(o.playback, 'origin_ingest_auth_failures_total', 'reason="malformed"'), 1);
    const warns = o.lines.filter((l) => l.msg === 'ingest rejected' && l.status === 401);
    assert.ok(warns.length >= 21);
    assert.equal(warns[0]!.level, 40);
    assert.ok(!JSON.stringify(o.lines).includes(S2_TOKEN) && !JSON.stringify(o.lines).includes('not-the-token'), 'no token in the logs');
  });

  it('answers an OPTIONS preflight without a token, with no CORS by default', async () => {
    const r = await rawRequest(portOf(o.ingest), 'OPTIONS /live/a1/v.mp4 HTTP/1.1\r\nHost: x\r\nOrigin: https://encoder.example\r\nAccess-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });

  it('takes ffmpeg -headers "Authorization: Bearer …", and ffmpeg without it is refused', async () => {
    const args = (headers: string[]): string[] => ['-i', FIXTURES + 'ladder/v180.mp4', '-c', 'copy', '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', ...headers, '-method', 'PUT', `${o.ingest}/live/ff/v180.mp4`];
    const refused = ffmpeg(args([]));
    assert.notEqual(await refused.exited, 0);
    assert.equal(o.origin.streams.get('ff'), undefined);
    const ok = ffmpeg(args(['-headers', `Authorization: Bearer ${TOKEN}`]));
    assert.equal(await ok.exited, 0, ok.stderr());
    assert.ok(o.origin.streams.get('ff')?.hasMedia());
  });
});

describe('ingest on a public address', () => {
  it('refuses to start without a token, and says how to fix it', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--no-demo', '--port', '0', '--ingest-port', '0', '--ingest-host', '0.0.0.0'], 30_000);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refusing to start: the ingest listener on 0\.0\.0\.0 would accept pushes from anyone/);
    assert.match(r.stderr, /--allow-open-ingest/);
    assert.throws(() => createOrigin(parseConfig({ ingest: { host: '0.0.0.0' } })), /refusing to start/);
    const token = createOrigin(parseConfig({ ingest: { host: '0.0.0.0', port: 0 }, playback: { port: 0 }, demo: { enabled: false }, log: { level: 'silent' }, auth: { ingestToken: TOKEN } }));
    const allowed = createOrigin(parseConfig({ ingest: { host: '0.0.0.0', port: 0 }, playback: { port: 0 }, demo: { enabled: false }, log: { level: 'silent' }, auth: { allowOpenIngest: true } }));
    assert.ok(token && allowed);
  });
});

describe('ingest caps', () => {
  it('refuses a stream pushing chunks faster than its rate (429), and the origin past its total (503), with Retry-After', async () => {
    const o = await startWithLogs({ ingestLimits: { chunksPerSecond: 1, chunkBurst: 5, totalChunksPerSecond: 1, totalChunkBurst: 8 } });
    try {
      const fast = await push(o.ingest, 'PUT', '/live/r1/v.mp4', whole(v360, 20)).answer;
      assert.equal(fast.status, 429);
      assert.equal(fast.headers['retry-after'], '1');
      assert.match(fast.body, /^429 RATE_LIMITED: stream 'r1' pushes more than 1 chunks per second\n$/);
      const total = await push(o.ingest, 'PUT', '/live/r2/v.mp4', whole(v360, 20)).answer;
      assert.equal(total.status, 503);
      assert.match(total.body, /^503 OVERLOADED: the origin takes at most 1 chunks per second\n$/);
      assert.equal(await metric(o.playback, 'origin_limit_rejections_total', 'listener="ingest",limit="chunk-rate",scope="stream"'), 1);
      assert.equal(await metric(o.playback, 'origin_limit_rejections_total', 'listener="ingest",limit="chunk-rate",scope="global"'), 1);
    } finally {
      await o.origin.stop();
    }
  });

  it('refuses more bytes of incomplete boxes than a stream (429) or the origin (503) may hold, before allocating them', async () => {
    const o = await startWithLogs({ ingestLimits: { maxPendingBytesPerStream: 64 * 1024, maxPendingBytes: 100 * 1024 } });
    try {
      // A 60 KiB box held open: within the stream's share.
      const held = box('free', Buffer.alloc(60 * 1024));
      const first = push(o.ingest, 'PUT', '/live/p1/a.mp4', held.subarray(0, 1000), {}, { open: true });
      await sleep(200);
      assert.equal(o.origin.streams.size, 0);
      const second = await push(o.ingest, 'PUT', '/live/p1/b.mp4', held.subarray(0, 1000), {}, { open: true }).answer;
      assert.equal(second.status, 429);
      assert.match(second.body, /stream 'p1' holds 61448 bytes of incomplete boxes; 61448 more exceed its limit of 65536/);
      const third = await push(o.ingest, 'PUT', '/live/p2/c.mp4', held.subarray(0, 1000), {}, { open: true }).answer;
      assert.equal(third.status, 503);
      first.destroy();
      await sleep(200);
      // Given back when the first upload went away.
      const fourth = push(o.ingest, 'PUT', '/live/p2/d.mp4', held);
      assert.equal((await fourth.answer).status, 200);
    } finally {
      await o.origin.stop();
    }
  });

  it('refuses media past what one stream may hold in memory (429)', async () => {
    const o = await startWithLogs({ ingestLimits: { maxStreamBytes: 1 << 20 } });
    try {
      // The 360p fixture (330 KB) looped four times, as a live encoder would send it: past 1 MiB.
      const loops = [0n, 1n, 2n, 3n].flatMap((k) => v360.fragments.map((f) => retime(f, (id) => k * (v360.loopTicks.get(id) ?? 0n))));
      const r = await push(o.ingest, 'PUT', '/live/m1/v.mp4', Buffer.concat([v360.init, ...loops])).answer;
      assert.equal(r.status, 429, r.body);
      assert.match(r.body, /^429 RATE_LIMITED: stream 'm1' holds \d+ bytes of media \(limit 1048576\); lower its bitrate or the window\n$/);
      assert.equal((await push(o.ingest, 'PUT', '/live/m2/v.mp4', whole(v360)).answer).status, 200, 'another stream has its own budget');
    } finally {
      await o.origin.stop();
    }
  });

  it('refuses a fragment of too many boxes (413)', async () => {
    const o = await startWithLogs({ ingestLimits: { maxBoxesPerFragment: 8 } });
    try {
      const junk = Buffer.concat(Array.from({ length: 10 }, () => box('free', Buffer.alloc(4))));
      const r = await push(o.ingest, 'PUT', '/live/b1/v.mp4', Buffer.concat([v360.init, junk, ...v360.fragments.slice(0, 2)])).answer;
      assert.equal(r.status, 413);
      assert.equal(r.body, '413 TOO_MANY_BOXES: more than 8 boxes without a complete moof+mdat\n');
      const emsg = box('emsg', Buffer.alloc(600 * 1024));
      const r2 = await push(o.ingest, 'PUT', '/live/b2/v.mp4', Buffer.concat([v360.init, emsg, emsg, ...v360.fragments.slice(0, 2)])).answer;
      assert.equal(r2.status, 413);
      assert.match(r2.body, /prft and emsg boxes before a fragment exceed 1048576 bytes/);
    } finally {
      await o.origin.stop();
    }
  });

  it('refuses a second upload of a track being pushed (409), keeps the first intact, and a push from elsewhere until the idle timeout', async () => {
    const o = await startWithLogs({ ingest: { idleTimeoutMs: 1500 } });
    try {
      const first = push(o.ingest, 'PUT', '/live/t1/v.mp4', whole(v360, 10), {}, { open: true });
      await sleep(200);
      const track = o.origin.streams.get('t1')!.tracks.get('v')!;
      const segments = track.segments().map((s) => `${s.msn}:${s.byteLength}`);
      const second = await push(o.ingest, 'PUT', '/live/t1/v.mp4', whole(v360)).answer;
      assert.equal(second.status, 409);
      assert.match(second.body, /^409 TRACK_BUSY: track 'v' of stream 't1' is being pushed by another upload \(since .*\)\n$/);
      // Another shape naming the same track (per-track path) is refused the same way.
      assert.equal((await push(o.ingest, 'PUT', '/live/t1/v/seg1.m4s', whole(v360, 3)).answer).status, 409);
      assert.deepEqual(track.segments().map((s) => `${s.msn}:${s.byteLength}`), segments, "the first upload's segments are untouched");
      first.end();
      assert.equal((await first.answer).status, 200);
      // From another address: refused until the idle timeout after the first one's last request.
      const elsewhere = await push(o.ingest, 'PUT', '/live/t1/v.mp4', v360.init, {}, { localAddress: '127.0.0.2' }).answer;
      assert.equal(elsewhere.status, 409);
      assert.match(elsewhere.body, /was pushed from another address \d+ ms ago/);
      assert.equal((await push(o.ingest, 'PUT', '/live/t1/v.mp4', v360.init).answer).status, 200, 'the same address takes it back at once');
      await sleep(1600);
      assert.equal((await push(o.ingest, 'PUT', '/live/t1/v.mp4', v360.init, {}, { localAddress: '127.0.0.2' }).answer).status, 200);
    } finally {
      await o.origin.stop();
    }
  });

  it('answers a bad request target on the ingest listener with a 4xx, and slow or oversized heads from the parser', async () => {
    const o = await startWithLogs({ http: { maxHeaderBytes: 8192 } });
    try {
      const port = portOf(o.ingest);
      assert.equal((await rawRequest(port, 'PUT /live/../v.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')).status, 400);
      assert.equal((await rawRequest(port, 'PUT /live/s/%2e%2e HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')).status, 400);
      assert.equal((await rawGet(port, `/live/s/${'x'.repeat(5000)}`)).status, 414);
      const big = await rawGet(port, '/live/s/v.mp4', [`X-Big: ${'y'.repeat(9000)}`]);
      assert.equal(big.status, 431);
      assert.equal(big.body, '431 request head too large\n');
      const junk = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n');
      assert.equal(junk.status, 400);
      assert.equal(junk.body, '400 malformed HTTP request\n');
    } finally {
      await o.origin.stop();
    }
  });
});
