import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, getText, parseMaster, parseMedia, waitFor } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

/** hls.js dropped EXT-X-PREFETCH (PR #2864), so L-HLS is tested at the protocol level. */
describe('L-HLS (EXT-X-PREFETCH)', () => {
  let o: TestOrigin;
  let push: FfmpegRun;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([...LIVE_SOURCE, '-t', '30', '-map', '0:v', '-map', '1:a', ...X264, ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/lh/av.mp4`]);
    await waitForSegments(o.playback, 'lh', 2);
  });

  after(async () => {
    push.kill();
    await o.stop();
  });

  it('lists complete segments, then the segment in production and the next one as prefetch segments', async () => {
    const master = parseMaster(await getText(`${o.playback}/live/lh/master-lhls.m3u8`));
    assert.deepEqual(master.variants.map((v) => v.uri), ['av-v1/lhls.m3u8', 'av-v1/iframes-lhls.m3u8']);
    assert.equal(master.variants[0]!.audio[0]!.uri, 'av-a2/lhls.m3u8');
    const text = await getText(`${o.playback}/live/lh/av-v1/lhls.m3u8`);
    const pl = parseMedia(text);
    assert.ok(pl.segments.length >= 2);
    assert.equal(pl.prefetchSegments.length, 2);
    const last = pl.segments.at(-1)!.mediaSequenceNumber;
    const [current, next] = pl.prefetchSegments;
    assert.equal(current!.mediaSequenceNumber, last + 1);
    assert.equal(next!.mediaSequenceNumber, last + 2);
    assert.doesNotMatch(text, /#EXT-X-PART|#EXT-X-PRELOAD-HINT|#EXT-X-SERVER-CONTROL/);
    // Prefetch lines come after every complete segment, with no EXTINF or MAP before them.
    const lines = text.trim().split('\n');
    const firstPrefetch = lines.findIndex((l) => l.startsWith('#EXT-X-PREFETCH:'));
    assert.ok(lines.slice(firstPrefetch).every((l) => l.startsWith('#EXT-X-PREFETCH')));
  });

  it('streams the next prefetch segment as it is produced: first chunk within one chunk duration of its ingest, same bytes as the complete segment', async () => {
    const pl = parseMedia(await getText(`${o.playback}/live/lh/av-v1/lhls.m3u8`));
    const next = pl.prefetchSegments[1]!;
    const url = new URL(next.uri, `${o.playback}/live/lh/av-v1/lhls.m3u8`).toString();
    const res = await request(url);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const pieces: { at: number; bytes: Buffer }[] = [];
    for await (const piece of res.body) pieces.push({ at: Date.now(), bytes: piece as Buffer });
    const track = o.origin.streams.get('lh')!.tracks.get('av-v1')!;
    const seg = track.findSegment(next.mediaSequenceNumber)!;
    const firstIngest = seg.chunks[0]!.arrivalMs;
    const delay = pieces[0]!.at - firstIngest;
    console.log(`# L-HLS: first chunk of segment ${next.mediaSequenceNumber} reached the client ${delay} ms after its ingest`);
    assert.ok(delay >= 0 && delay <= 200, `first chunk ${delay} ms after its ingest (chunks are 200 ms)`);
    assert.ok(pieces.at(-1)!.at - pieces[0]!.at > 1000, 'the body grew with the segment');
    const whole = await get(url);
    assert.ok(Buffer.concat(pieces.map((p) => p.bytes)).equals(whole.body));
    // The prefetch entry is now an ordinary segment under the same URI.
    const later = parseMedia(await getText(`${o.playback}/live/lh/av-v1/lhls.m3u8`));
    const listed = later.segments.find((s) => s.mediaSequenceNumber === next.mediaSequenceNumber)!;
    assert.equal(listed.uri, next.uri);
    assert.ok(listed.duration > 1.5);
  });

  it('keeps the same MEDIA-SEQUENCE when a prefetch segment becomes complete', async () => {
    const a = parseMedia(await getText(`${o.playback}/live/lh/av-a2/lhls.m3u8`));
    await waitFor('the audio prefetch to complete', async () => {
      const b = parseMedia(await getText(`${o.playback}/live/lh/av-a2/lhls.m3u8`));
      return b.segments.at(-1)!.mediaSequenceNumber > a.segments.at(-1)!.mediaSequenceNumber ? b : undefined;
    });
    const b = parseMedia(await getText(`${o.playback}/live/lh/av-a2/lhls.m3u8`));
    assert.equal(b.mediaSequenceBase, a.mediaSequenceBase);
  });
});
