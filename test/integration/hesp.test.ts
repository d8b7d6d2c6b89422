import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, run, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, getText, parseMaster, parseMedia, waitFor } from '../helpers/hls.js';
import { HespManifest, type HespManifestType } from '../helpers/hesp-schema.js';
import { topLevelBoxes } from '../helpers/mp4.js';
import { entryPoints } from '../../src/hesp/packets.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

/** Resolves a track's URLs the draft-06 §3.4 way: manifest → contentBaseUrl → presentation → set → track → pattern. */
function urls(manifestUrl: string, m: HespManifestType, kind: 'video' | 'audio'): { init: (id: string) => string; cont: (id: number) => string } {
  const p = m.presentations.find((x) => x.id === m.activePresentation)!;
  const set = (kind === 'video' ? p.video : p.audio)![0]!;
  const track = set.tracks[0]!;
  let base = manifestUrl;
  for (const level of [m.contentBaseUrl, p.baseUrl, set.baseUrl, track.baseUrl]) if (level) base = new URL(level, base).toString();
  const initPattern = (track.initializationPattern ?? set.initializationPattern)!;
  const contPattern = (track.continuationPattern ?? set.continuationPattern)!;
  return {
    init: (id) => new URL(initPattern.replace('{initId}', id), base).toString(),
    cont: (id) => new URL(contPattern.replace('{segmentId}', String(id)), base).toString(),
  };
}

function initdata(packet: Buffer): { index: number; offset: number } {
  const emsg = topLevelBoxes(packet).find((b) => b.data.toString('latin1', 4, 8) === 'emsg')!.data;
  const value = emsg.indexOf(0, emsg.indexOf(0, 12) + 1);
  return JSON.parse(emsg.toString('utf8', value + 1 + 16));
}

/** HESP at the protocol level (no open-source HESP player exists), from a real ffmpeg push with a 1 s GOP. */
describe('HESP', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let manifestUrl: string;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '60',
      '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/h/video.mp4`,
      '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/h/audio.mp4`,
    ]);
    manifestUrl = `${o.playback}/live/h/hesp.json`;
    await waitFor('the HESP manifest', async () => ((await get(manifestUrl)).status === 200 ? true : undefined), 30_000);
  });

  after(async () => {
    push.kill();
    await o.stop();
  });

  it('serves the manifest as application/vnd.theo.hesp+json, valid against the field table', async () => {
    const r = await get(manifestUrl);
    assert.match(String(r.headers['content-type']), /^application\/vnd\.theo\.hesp\+json/);
    const parsed = HespManifest.safeParse(JSON.parse(r.body.toString()));
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  });

  it('starts from `now`, continues from the packet offset with a 206, then plain 200s; the joined bytes decode', async () => {
    const m = HespManifest.parse(JSON.parse(await getText(manifestUrl)));
    const video = urls(manifestUrl, m, 'video');
    const t0 = performance.now();
    const now = await get(video.init('now'));
    const packetMs = performance.now() - t0;
    const stream = o.origin.streams.get('h')!;
    const newestIdr = entryPoints(stream.tracks.get('video')!).at(-1)!;
    const idrAge = Date.now() - stream.wallClockMs(newestIdr.time);
    assert.equal(now.status, 200);
    assert.equal(now.headers['cache-control'], 'public, max-age=1');
    assert.deepEqual(topLevelBoxes(now.body).map((b) => b.data.toString('latin1', 4, 8)), ['ftyp', 'moov', 'emsg', 'moof', 'mdat']);
    const { index, offset } = initdata(now.body);
    // The continuation, from the packet's offset: 206, a live segment streamed as it grows.
    const res = await request(video.cont(index), { headers: { range: `bytes=${offset}-9007199254740991` } });
    assert.equal(res.statusCode, 206);
    const live = res.headers['transfer-encoding'] === 'chunked';
    if (live) assert.equal(res.headers['content-range'], `bytes ${offset}-9007199254740991/*`);
    const parts: Buffer[] = [];
    for await (const p of res.body) parts.push(p as Buffer);
    const continuation = Buffer.concat(parts);
    assert.equal(continuation.toString('latin1', 4, 8), 'moof', 'the offset lands on a box boundary');
    const next = await get(video.cont(index + 1));
    assert.equal(next.status, 200);
    const dir = mkdtempSync(join(tmpdir(), 'hesp-join-'));
    const file = join(dir, 'joined.mp4');
    writeFileSync(file, Buffer.concat([now.body, continuation, next.body]));
    const decode = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    assert.equal(decode.stderr.trim(), '', decode.stderr);
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=dts', '-of', 'csv=p=0', file]);
    const dts = probe.stdout.trim().split('\n').filter(Boolean).map(Number);
    for (let i = 1; i < dts.length; i++) assert.equal(dts[i]! - dts[i - 1]!, 512, `timestamps continue at frame ${i}`);
    // Start-up: the packet is a decodable frame on its own; LL-HLS needs playlist, header and a part.
    const t1 = performance.now();
    const master = parseMaster(await getText(`${o.playback}/live/h/master.m3u8`));
    const mediaUrl = new URL(master.variants[0]!.uri, `${o.playback}/live/h/master.m3u8`).toString();
    const pl = parseMedia(await getText(mediaUrl));
    const lastIndependent = pl.segments.flatMap((s) => s.parts.filter((p) => p.independent && !p.hint)).at(-1)!;
    const mapUri = pl.segments.find((s) => s.map)!.map!.uri;
    await Promise.all([get(new URL(mapUri, mediaUrl).toString()), get(new URL(lastIndependent.uri, mediaUrl).toString())]);
    const llhlsMs = performance.now() - t1;
    console.log(`# HESP start-up: first decodable frame ${packetMs.toFixed(1)} ms after the 'now' request (1 request; the frame is up to one GOP, here ${(idrAge / 1000).toFixed(2)} s, behind live); LL-HLS: ${llhlsMs.toFixed(1)} ms for multivariant + media playlist + header + independent part (3 round trips)`);
  });

  it('answers numbered packets with the last valid one, future ones with 404', async () => {
    const m = HespManifest.parse(JSON.parse(await getText(manifestUrl)));
    const video = urls(manifestUrl, m, 'video');
    const track = m.presentations.find((p) => p.id === m.activePresentation)!.video![0]!.tracks[0]!;
    const currentSeq = Math.floor((m.currentTime!.value / (m.currentTime!.scale ?? 1)) * 25);
    const a = await get(video.init(String(currentSeq - 30)));
    assert.equal(a.status, 200);
    assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable');
    const idr = initdata(a.body);
    assert.ok(idr.index >= track.startSegmentId!);
    const future = await get(video.init(String(currentSeq + 25 * 30)));
    assert.equal(future.status, 404);
    assert.equal(future.headers['cache-control'], 'no-store');
    const audio = urls(manifestUrl, m, 'audio');
    const an = await get(audio.init('now'));
    assert.deepEqual(topLevelBoxes(an.body).map((b) => b.data.toString('latin1', 4, 8)), ['ftyp', 'moov', 'emsg']);
  });
});
