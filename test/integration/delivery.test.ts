import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { fixture } from '../helpers/fixtures.js';
import { completeSegments, get, getText, parseMedia, sleep, waitFor } from '../helpers/hls.js';
import { topLevelBoxes } from '../helpers/mp4.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { verifyHlsStream, waitForSegments } from '../helpers/verify.js';

interface Timed {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** ms after the request was sent, for each piece of body received. */
  readonly arrivals: { at: number; bytes: number }[];
  readonly body: Buffer;
  readonly error?: Error;
}

async function timedGet(url: string): Promise<Timed> {
  const t0 = performance.now();
  const res = await request(url);
  const arrivals: { at: number; bytes: number }[] = [];
  const parts: Buffer[] = [];
  try {
    for await (const piece of res.body) {
      arrivals.push({ at: performance.now() - t0, bytes: (piece as Buffer).length });
      parts.push(piece as Buffer);
    }
  } catch (err) {
    return { status: res.statusCode, headers: res.headers, arrivals, body: Buffer.concat(parts), error: err as Error };
  }
  return { status: res.statusCode, headers: res.headers, arrivals, body: Buffer.concat(parts) };
}

/** The newest complete segment (hls-parser lists the segment in production, with parts only, last). */
function lastListed(pl: ReturnType<typeof parseMedia>): { msn: number; uri: string } {
  const s = pl.segments.filter((x) => x.uri).at(-1)!;
  return { msn: s.mediaSequenceNumber, uri: s.uri };
}

describe('delivery of a live push', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let tag: string;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([...LIVE_SOURCE, '-t', '30', '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/live1/video.mp4`, '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/live1/audio.mp4`]);
    await waitForSegments(o.playback, 'live1', 1);
    tag = o.origin.streams.get('live1')!.tag;
  });

  after(async () => {
    push.kill();
    await o.stop();
  });

  it('streams a segment still in production with chunked transfer, first chunk well before its end', async () => {
    const pl = parseMedia(await getText(`${o.playback}/live/live1/video/index.m3u8`));
    const next = lastListed(pl).msn + 1;
    const r = await timedGet(`${o.playback}/live/live1/video/${tag}/${next}.m4s`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.headers['content-length'], undefined);
    assert.ok(!r.error, String(r.error));
    const first = r.arrivals[0]!.at;
    const last = r.arrivals[r.arrivals.length - 1]!.at;
    assert.ok(r.arrivals.length >= 4, `${r.arrivals.length} pieces`);
    assert.ok(last - first > 1000, `the body kept growing for ${Math.round(last - first)} ms`);
    // The complete segment fetched afterwards is byte for byte what was streamed.
    const whole = await get(`${o.playback}/live/live1/video/${tag}/${next}.m4s`);
    assert.equal(whole.status, 200);
    assert.equal(Number(whole.headers['content-length']), whole.body.length);
    assert.ok(whole.body.equals(r.body));
    assert.equal(whole.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it('answers complete segments with Content-Length, HEAD and Range', async () => {
    const pl = parseMedia(await getText(`${o.playback}/live/live1/video/index.m3u8`));
    const url = `${o.playback}/live/live1/video/${lastListed(pl).uri}`;
    const full = await get(url);
    const head = await request(url, { method: 'HEAD' });
    await head.body.dump();
    assert.equal(head.statusCode, 200);
    assert.equal(Number(head.headers['content-length']), full.body.length);
    const part = await get(url, { range: 'bytes=100-199' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 100-199/${full.body.length}`);
    assert.ok(part.body.equals(full.body.subarray(100, 200)));
    const suffix = await get(url, { range: 'bytes=-50' });
    assert.ok(suffix.body.equals(full.body.subarray(full.body.length - 50)));
    const bad = await get(url, { range: `bytes=${full.body.length + 10}-` });
    assert.equal(bad.status, 416);
  });

  it('serves playlists with the HLS type, short caching, CORS and gzip compressed once', async () => {
    const url = `${o.playback}/live/live1/video/index.m3u8`;
    const plain = await get(url);
    assert.equal(plain.headers['content-type'], 'application/vnd.apple.mpegurl');
    assert.equal(plain.headers['cache-control'], 'public, max-age=1');
    assert.equal(plain.headers['access-control-allow-origin'], '*');
    assert.equal(plain.headers['age'], undefined);
    const zipped = await get(url, { 'accept-encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers['vary'], 'Accept-Encoding');
    const text = gunzipSync(zipped.body).toString();
    assert.ok(text.startsWith('#EXTM3U'));
    const master = await get(`${o.playback}/live/live1/master.m3u8`);
    assert.equal(master.headers['content-type'], 'application/vnd.apple.mpegurl');
    const preflight = await request(url, { method: 'OPTIONS', headers: { origin: 'http://player.example', 'access-control-request-headers': 'range' } });
    assert.equal(preflight.statusCode, 204);
    assert.match(String(preflight.headers['access-control-allow-headers']), /Range/);
    await preflight.body.dump();
  });

  it('answers 404 that no cache keeps for segments that do not exist yet, short-lived ones otherwise', async () => {
    const future = await get(`${o.playback}/live/live1/video/${tag}/99999.m4s`);
    assert.equal(future.status, 404);
    assert.equal(future.headers['cache-control'], 'no-store');
    assert.match(future.body.toString(), /does not exist yet/);
    const stale = await get(`${o.playback}/live/live1/video/oldtag/1.m4s`);
    assert.equal(stale.status, 404);
    const unknown = await get(`${o.playback}/live/nosuchstream/master.m3u8`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers['cache-control'], 'public, max-age=1');
    assert.match(unknown.body.toString(), /stream 'nosuchstream' is not live/);
    const method = await request(`${o.playback}/live/live1/master.m3u8`, { method: 'POST', body: 'x' });
    assert.equal(method.statusCode, 405);
    await method.body.dump();
  });

  it('serves /utc, /healthz and /metrics', async () => {
    const utc = await get(`${o.playback}/utc`);
    assert.match(utc.body.toString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(utc.headers['cache-control'], 'no-store');
    assert.ok(Math.abs(Date.parse(utc.body.toString()) - Date.now()) < 2000);
    const health = await get(`${o.playback}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body.toString()).status, 'ok');
    const metrics = (await get(`${o.playback}/metrics`)).body.toString();
    assert.match(metrics, /origin_ingest_bytes_total\{stream="live1",track="video"\} \d+/);
    assert.match(metrics, /origin_ingest_chunks_total\{stream="live1",track="audio"\} \d+/);
    assert.match(metrics, /origin_active_streams 1/);
    assert.match(metrics, /origin_active_tracks 2/);
    assert.match(metrics, /origin_http_requests_total\{listener="playback",route="playlist",status="200"\} \d+/);
    assert.match(metrics, /origin_http_response_seconds_bucket\{le="0.005",route="playlist"\} \d+/);
  });

  it('answers malformed pushes with their 4xx while the live stream keeps going', async () => {
    const before = lastListed(parseMedia(await getText(`${o.playback}/live/live1/video/index.m3u8`))).msn;
    const put = async (path: string, body: Buffer | string): Promise<{ status: number; text: string }> => {
      const res = await request(`${o.ingest}/live/${path}`, { method: 'PUT', body });
      return { status: res.statusCode, text: await res.body.text() };
    };
    const ts = Buffer.alloc(188 * 20, 0xff);
    for (let i = 0; i < 20; i++) ts[i * 188] = 0x47;
    const notBmff = await put('bad1/x.mp4', ts);
    assert.equal(notBmff.status, 415);
    assert.match(notBmff.text, /not ISO BMFF/);
    const boxes = topLevelBoxes(fixture('ladder/v360.mp4'));
    const moofAt = boxes.findIndex((b) => b.data.toString('latin1', 4, 8) === 'moof');
    const noInit = await put('bad2/x.mp4', Buffer.concat([boxes[moofAt]!.data, boxes[moofAt + 1]!.data]));
    assert.equal(noInit.status, 412);
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(0x7fffffff, 0);
    huge.write('mdat', 4, 'latin1');
    const tooLarge = await put('bad3/x.mp4', Buffer.concat([boxes[0]!.data, boxes[1]!.data, huge]));
    assert.equal(tooLarge.status, 413);
    const broken = Buffer.from(Buffer.concat([boxes[0]!.data, boxes[1]!.data, boxes[moofAt]!.data, boxes[moofAt + 1]!.data]));
    broken.writeUInt32BE(999_999, broken.indexOf('trun', 0, 'latin1') + 8); // sample_count
    const malformed = await put('bad4/x.mp4', broken);
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /trun/);
    const get405 = await request(`${o.ingest}/live/live1/video.mp4`);
    assert.equal(get405.statusCode, 405);
    await get405.body.dump();
    const metrics = (await get(`${o.playback}/metrics`)).body.toString();
    assert.match(metrics, /origin_ingest_errors_total\{reason="unsupported_media"\} 1/);
    assert.match(metrics, /origin_ingest_errors_total\{reason="init_required"\} 1/);
    // The live stream was not disturbed.
    assert.equal(push.process.exitCode, null, 'the encoder is still pushing');
    await waitFor('the live playlist to advance', async () => {
      const now = lastListed(parseMedia(await getText(`${o.playback}/live/live1/video/index.m3u8`))).msn;
      return now > before ? now : undefined;
    });
    assert.equal(o.origin.streams.get('bad2'), undefined, 'a rejected push leaves no stream behind');
  });
});

describe('an encoder killed mid-stream', () => {
  let o: TestOrigin;
  let push: FfmpegRun;

  before(async () => {
    o = await startOrigin({ log: { level: 'error' } });
    push = ffmpeg([...LIVE_SOURCE, '-t', '30', '-map', '0:v', '-map', '1:a', ...X264, ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/kill/av.mp4`]);
    await waitForSegments(o.playback, 'kill', 2);
  });

  after(async () => {
    push.kill();
    await o.stop();
  });

  it('keeps earlier segments intact, aborts readers of the growing one, and stays healthy', async () => {
    const stream = o.origin.streams.get('kill')!;
    const url = `${o.playback}/live/kill/av-v1/index.m3u8`;
    const pl = parseMedia(await getText(url));
    const earlier = await Promise.all(pl.segments.filter((s) => s.uri).map(async (s) => ({ uri: s.uri, body: (await get(`${o.playback}/live/kill/av-v1/${s.uri}`)).body })));
    // Early in a segment, so that it is still growing when the encoder dies 700 ms later.
    const video = stream.tracks.get('av-v1')!;
    const open = await waitFor('a segment less than 0.5 s in', async () => {
      const seg = video.openSegment;
      return seg && seg.endTime - seg.startTime < seg.timescale / 2 ? seg.msn : undefined;
    }, 5000, 20);
    const growing = timedGet(`${o.playback}/live/kill/av-v1/${stream.tag}/${open}.m4s`);
    await sleep(700);
    push.kill('SIGKILL');
    const r = await growing;
    assert.equal(r.status, 200);
    assert.ok(r.arrivals.length > 0, 'the reader got the chunks that existed');
    assert.ok(r.error, 'the response is cut, not ended cleanly');
    await waitFor('the track to notice', () => (stream.tracks.get('av-v1')!.state !== 'active' ? true : undefined), 5000);
    for (const e of earlier) {
      const again = await get(`${o.playback}/live/kill/av-v1/${e.uri}`);
      assert.equal(again.status, 200);
      assert.ok(again.body.equals(e.body), `${e.uri} unchanged`);
    }
    const health = await get(`${o.playback}/healthz`);
    assert.equal(health.status, 200);
    const after = parseMedia(await getText(url));
    assert.ok(after.segments.length >= pl.segments.length);
    await verifyHlsStream(o.playback, 'kill');
  });

  it('continues the same timeline when the encoder reconnects: next MSN, with a discontinuity', async () => {
    const url = `${o.playback}/live/kill/av-v1/index.m3u8`;
    const before = parseMedia(await getText(url));
    const lastBefore = lastListed(before).msn;
    push = ffmpeg([...LIVE_SOURCE, '-t', '30', '-map', '0:v', '-map', '1:a', ...X264, ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/kill/av.mp4`]);
    const after = await waitFor('segments after the reconnect', async () => {
      const pl = parseMedia(await getText(url));
      return completeSegments(pl).filter((x) => x.mediaSequenceNumber > lastBefore).length >= 2 ? pl : undefined;
    });
    const resumed = after.segments.find((x) => x.mediaSequenceNumber === lastBefore + 1)!;
    assert.ok(resumed.discontinuity, 'the first segment after the reconnect is marked');
    assert.ok(resumed.programDateTime!.getTime() > completeSegments(before).at(-1)!.programDateTime!.getTime());
    const audio = parseMedia(await getText(`${o.playback}/live/kill/av-a2/index.m3u8`));
    assert.equal(audio.segments.find((x) => x.discontinuity)?.mediaSequenceNumber, lastBefore + 1, 'audio restarts on the same MSN');
    await verifyHlsStream(o.playback, 'kill');
  });
});

describe('ingest timeouts', () => {
  it("cuts a stalled upload after the idle timeout; Node's 300 s requestTimeout is off", async () => {
    const o = await startOrigin({ ingest: { idleTimeoutMs: 800 } });
    try {
      assert.equal(o.origin.servers.ingest.requestTimeout, 0);
      const data = fixture('ladder/v360.mp4');
      const boxes = topLevelBoxes(data);
      const { request: httpRequest } = await import('node:http');
      const started = Date.now();
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${o.ingest}/live/stall/v.mp4`, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (const b of boxes.slice(0, 6)) req.write(b.data);
      });
      assert.equal(status, 408);
      assert.ok(Date.now() - started >= 700);
      const track = o.origin.streams.get('stall')!.tracks.get('v')!;
      assert.equal(track.state, 'idle', 'the stalled track was interrupted');
    } finally {
      await o.stop();
    }
  });
});

describe('the demo stream', () => {
  it('plays from `npm start` defaults: a looping ladder through the ingest path', async () => {
    const o = await startOrigin({ demo: { enabled: true, stream: 'demo' } });
    try {
      await waitForSegments(o.playback, 'demo', 2);
      const stream = o.origin.streams.get('demo')!;
      assert.deepEqual([...stream.tracks.keys()].sort(), ['audio', 'v180', 'v360']);
      await verifyHlsStream(o.playback, 'demo');
    } finally {
      await o.stop();
    }
  });
});
