import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XMLValidator } from 'fast-xml-parser';
import { request } from 'undici';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, run, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, waitFor } from '../helpers/hls.js';
import { segmentBuffer } from '../helpers/mp4.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

/** DASH from the same timeline as HLS: protocol behaviour with a real ffmpeg push. */
describe('DASH delivery', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let tag: string;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '60',
      '-map', '0:v', ...X264, ...FRAGMENTED, '-write_prft', 'wallclock', '-method', 'PUT', `${o.ingest}/live/d1/video.mp4`,
      '-map', '1:a', ...AAC, ...FRAGMENTED, '-write_prft', 'wallclock', '-method', 'PUT', `${o.ingest}/live/d1/audio.mp4`,
    ]);
    await waitForSegments(o.playback, 'd1', 2);
    tag = o.origin.streams.get('d1')!.tag;
  });

  after(async () => {
    push.kill();
    await o.stop();
  });

  it('serves both MPD modes as valid XML with the DASH type, short caching, ETag and 304', async () => {
    for (const url of [`${o.playback}/live/d1/manifest.mpd`, `${o.playback}/live/d1/manifest.mpd?mode=timeline`]) {
      const r = await get(url);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/dash+xml');
      assert.equal(r.headers['cache-control'], 'public, max-age=1');
      assert.equal(XMLValidator.validate(r.body.toString()), true);
      const etag = r.headers['etag'] as string;
      assert.match(etag, /^"[\w-]+"$/);
      const again = await get(url, { 'if-none-match': etag });
      assert.ok(again.status === 304 || again.headers['etag'] !== etag, 'unchanged → 304');
      if (again.status === 304) assert.equal(again.body.length, 0);
    }
    assert.equal((await get(`${o.playback}/live/d1/manifest.mpd?mode=bogus`)).status, 400);
  });

  it('is decoded by ffmpeg without error in both modes', async () => {
    for (const url of [`${o.playback}/live/d1/manifest.mpd`, `${o.playback}/live/d1/manifest.mpd?mode=timeline`]) {
      const r = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', url, '-t', '4', '-f', 'null', '-'], 60_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', `${url}: ${r.stderr}`);
    }
  });

  it('delivers each chunk of the segment in production within one chunk duration of its ingest', async () => {
    const track = o.origin.streams.get('d1')!.tracks.get('video')!;
    const next = track.lastMsn! + 1;
    const res = await request(`${o.playback}/live/d1/video/${tag}/${next}.m4s`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    let received = 0;
    const at: { bytes: number; ms: number }[] = [];
    for await (const piece of res.body) {
      received += (piece as Buffer).length;
      at.push({ bytes: received, ms: Date.now() });
    }
    const seg = track.findSegment(next)!;
    let end = 0;
    const delays: number[] = [];
    for (const c of seg.chunks) {
      end += c.byteLength;
      const got = at.find((a) => a.bytes >= end)!;
      delays.push(got.ms - c.arrivalMs);
    }
    const chunkMs = (track.chunkDuration / track.timescale) * 1000;
    console.log(`# LL-DASH: ${seg.chunks.length} chunks of segment ${next} reached the reader ${Math.min(...delays)}–${Math.max(...delays)} ms after their ingest`);
    for (const d of delays) assert.ok(d >= 0 && d <= chunkMs, `a chunk arrived ${d} ms after its ingest (chunk ${chunkMs} ms)`);
  });

  it('holds a request for the next segment and streams it from its start; 404 no-store further ahead, 404 for an unknown track', async () => {
    const track = o.origin.streams.get('d1')!.tracks.get('video')!;
    const next = track.lastMsn! + 1;
    const t0 = Date.now();
    const held = get(`${o.playback}/live/d1/video/${tag}/${next}.m4s`);
    const r = await held;
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(await segmentBuffer(track, next)));
    assert.ok(Date.now() - t0 > 1000, 'it was streamed as the segment was produced');
    const ahead = await get(`${o.playback}/live/d1/video/${tag}/${track.lastMsn! + 2}.m4s`);
    assert.equal(ahead.status, 404);
    assert.equal(ahead.headers['cache-control'], 'no-store');
    const unknown = await get(`${o.playback}/live/d1/nope/${tag}/1.m4s`);
    assert.equal(unknown.status, 404);
    const metrics = (await get(`${o.playback}/metrics`)).body.toString();
    assert.match(metrics, /origin_media_not_found_total\{reason="future"\} [1-9]/);
    assert.match(metrics, /origin_media_not_found_total\{reason="unknown"\} [1-9]/);
  });

  it('answers /utc for dash.js: ISO 8601 with milliseconds, HEAD with a Date header exposed to CORS', async () => {
    const head = await request(`${o.playback}/utc`, { method: 'HEAD' });
    await head.body.dump();
    assert.equal(head.statusCode, 200);
    assert.ok(head.headers['date']);
    assert.match(String(head.headers['access-control-expose-headers']), /Date/);
    assert.equal(head.headers['cache-control'], 'no-store');
  });

  it('expires segments that leave the window: 410 Gone', async () => {
    const short = await startOrigin({ window: { seconds: 6 } });
    const p = ffmpeg([...LIVE_SOURCE, '-t', '20', '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${short.ingest}/live/w/video.mp4`]);
    try {
      const track = await waitFor('segment 1 to leave the window', () => {
        const t = short.origin.streams.get('w')?.tracks.get('video');
        return t && t.firstMsn! > 1 ? t : undefined;
      }, 30_000);
      const gone = await get(`${short.playback}/live/w/video/${short.origin.streams.get('w')!.tag}/1.m4s`);
      assert.equal(gone.status, 410);
      assert.match(gone.body.toString(), /left the window/);
      assert.ok(track.segments.length <= 6);
      assert.match((await get(`${short.playback}/metrics`)).body.toString(), /origin_media_not_found_total\{reason="expired"\} 1/);
    } finally {
      p.kill();
      await short.stop();
    }
  });
});
