import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseInitFile } from '../../src/isobmff/init.js';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, run, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { get, getText, parseMaster, parseMedia, resolve, waitFor, type MediaPlaylist } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

const SAMPLE_NON_SYNC = 0x00010000;

/** Children of a box, `[type, payload start, end]`. */
function children(b: Buffer, start: number, end: number): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (let at = start; at + 8 <= end; ) {
    const size = b.readUInt32BE(at);
    assert.ok(size >= 8 && at + size <= end, `a box at ${at} of size ${size} fits`);
    out.push([b.toString('latin1', at + 4, at + 8), at + 8, at + size]);
    at += size;
  }
  return out;
}

/**
 * sample_flags of the first sample of the first traf of the `moof` that `bytes` start with:
 * trun first_sample_flags, else its per-sample flags, else tfhd default_sample_flags, else trex's
 * (ISO/IEC 14496-12 8.8.7, 8.8.8), read here without the origin's parser.
 */
function firstSampleFlags(bytes: Buffer, trexFlags: number): number {
  assert.equal(bytes.toString('latin1', 4, 8), 'moof', 'the range starts with a moof');
  const [moof] = children(bytes, 0, bytes.readUInt32BE(0));
  const traf = children(bytes, moof![1], moof![2]).find(([t]) => t === 'traf')!;
  const boxes = children(bytes, traf[1], traf[2]);
  const tfhd = boxes.find(([t]) => t === 'tfhd')!;
  const trun = boxes.find(([t]) => t === 'trun')!;
  let flags = trexFlags;
  const tf = bytes.readUInt32BE(tfhd[1]) & 0xffffff;
  if (tf & 0x20) {
    let at = tfhd[1] + 8;
    for (const bit of [0x1, 0x2, 0x8, 0x10]) if (tf & bit) at += bit === 0x1 ? 8 : 4;
    flags = bytes.readUInt32BE(at);
  }
  const rf = bytes.readUInt32BE(trun[1]) & 0xffffff;
  let at = trun[1] + 8 + (rf & 0x1 ? 4 : 0);
  if (rf & 0x4) return bytes.readUInt32BE(at);
  at += (rf & 0x100 ? 4 : 0) + (rf & 0x200 ? 4 : 0);
  return rf & 0x400 ? bytes.readUInt32BE(at) : flags;
}

/** Checks every entry of an I-frame playlist against the bytes the origin serves; returns the entries. */
async function checkEntries(url: string, pl: MediaPlaylist, dir: string): Promise<string[]> {
  const entries: string[] = [];
  let init: Buffer | null = null;
  for (const [i, s] of pl.segments.entries()) {
    assert.ok(s.byterange, `${s.uri} has a byte range`);
    const { offset, length } = s.byterange;
    init = (await get(resolve(url, s.map!.uri))).body;
    const r = await get(resolve(url, s.uri), { range: `bytes=${offset}-${offset! + length - 1}` });
    assert.equal(r.status, 206, `${s.uri} ${offset}+${length}: ${r.status}`);
    assert.equal(r.body.length, length);
    const trex = parseInitFile(init).tracks[0]!.defaults.sampleFlags;
    assert.equal(firstSampleFlags(r.body, trex) & SAMPLE_NON_SYNC, 0, `${s.uri}@${offset}: the first sample is a sync sample`);
    const file = join(dir, `iframe-${i}.mp4`);
    writeFileSync(file, Buffer.concat([init, r.body]));
    const probe = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.equal(probe.stdout.trim(), '1', `${s.uri}@${offset}: one picture`);
    const decode = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'mp4', '-i', file, '-frames:v', '5', '-f', 'null', '-']);
    assert.equal(decode.code, 0, decode.stderr);
    assert.equal(decode.stderr.trim(), '', `${s.uri}@${offset}: decodes without an error`);
    entries.push(`${s.mediaSequenceNumber} ${s.uri} ${length}@${offset} ${s.duration}`);
  }
  return entries;
}

/** I-frame playlists of a real ffmpeg push: live, in the DVR view, and after a restart from the DVR. */
describe('I-frame playlists (trick play)', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let dataDir: string;
  let work: string;
  const base = (): string => `${o.playback}/live/tp`;
  const config = (): Parameters<typeof startOrigin>[0] => ({ dvr: { windowSeconds: 600, dataDir }, window: { seconds: 6 }, ingest: { idleTimeoutMs: 600_000 } });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iframes-dvr-'));
    work = mkdtempSync(join(tmpdir(), 'iframes-'));
    o = await startOrigin(config());
    push = ffmpeg([...LIVE_SOURCE, '-t', '13', '-map', '0:v', '-map', '1:a', ...X264, ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/tp/av.mp4`]);
    assert.equal(await push.exited, 0, push.stderr());
  });

  after(async () => {
    push.kill();
    await o.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('the fMP4 multivariant playlists announce one I-frame variant per video, parsed strictly; the TS one none', async () => {
    for (const [master, file] of [['master.m3u8', 'iframes.m3u8'], ['master-lhls.m3u8', 'iframes-lhls.m3u8']]) {
      const text = await getText(`${base()}/${master}`);
      const pl = parseMaster(text);
      const iframes = pl.variants.filter((v) => v.isIFrameOnly);
      assert.equal(iframes.length, 1, text);
      const v = iframes[0]!;
      assert.equal(v.uri, `av-v1/${file}`);
      assert.match(v.codecs!, /^avc1\.[0-9a-f]{6}$/);
      assert.deepEqual(v.resolution, { width: 320, height: 180 });
      assert.ok(v.bandwidth > 1000, `BANDWIDTH=${v.bandwidth}`);
      const media = parseMedia(await getText(resolve(`${base()}/${master}`, v.uri)));
      assert.equal(media.isIFrame, true);
      assert.equal(media.version, pl.version, 'the multivariant playlist’s version');
    }
    assert.doesNotMatch(await getText(`${base()}/master-ts.m3u8`), /I-FRAME/);
    assert.equal((await get(`${base()}/av-a2/iframes.m3u8`)).status, 404, 'no I-frame playlist for audio');
  });

  let dvrEntries: string[] = [];

  it('every entry, live and in the DVR view, is a moof whose first sample is sync, and decodes with the init to one picture', async () => {
    const live = parseMedia(await getText(`${base()}/av-v1/iframes.m3u8`));
    const liveMedia = parseMedia(await getText(`${base()}/av-v1/index.m3u8`));
    assert.deepEqual(live.segments.map((s) => s.mediaSequenceNumber), liveMedia.segments.filter((s) => s.uri).map((s) => s.mediaSequenceNumber), 'the live window’s segments');
    const master = parseMaster(await getText(`${base()}/master.m3u8?dvr=1`));
    const uri = master.variants.find((v) => v.isIFrameOnly)!.uri;
    assert.equal(uri, 'av-v1/iframes.m3u8?dvr=1');
    const url = resolve(`${base()}/master.m3u8?dvr=1`, uri);
    const dvr = parseMedia(await getText(url));
    const dvrMedia = parseMedia(await getText(`${base()}/av-v1/index.m3u8?dvr=1`));
    assert.deepEqual(dvr.segments.map((s) => s.mediaSequenceNumber), dvrMedia.segments.filter((s) => s.uri).map((s) => s.mediaSequenceNumber), 'the DVR window’s segments');
    assert.ok(dvr.segments.length > live.segments.length, `${dvr.segments.length} entries in the DVR view, ${live.segments.length} live`);
    assert.ok(dvr.segments.length >= 5);
    dvrEntries = await checkEntries(url, dvr, work);
    console.log(`${dvrEntries.length} I-frames checked, e.g. ${dvrEntries[1]}`);
  });

  it('after a restart the DVR view lists the same entries (keyframes read back from the stored bytes)', async () => {
    assert.ok(dvrEntries.length > 0);
    await o.stop();
    o = await startOrigin(config());
    const url = `${base()}/av-v1/iframes.m3u8?dvr=1`;
    const pl = await waitFor('the restored stream', async () => {
      const r = await get(url);
      return r.status === 200 ? parseMedia(r.body.toString()) : undefined;
    });
    assert.deepEqual(await checkEntries(url, pl, work), dvrEntries);
  });
});
