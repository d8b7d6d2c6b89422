import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, run, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { getText, parseMedia, sleep } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { verifyHlsStream, waitForSegments } from '../helpers/verify.js';

/** The ingest shapes of the README, each pushed by a real ffmpeg, all at once against one origin. */
describe('ingest shapes with real ffmpeg', () => {
  let o: TestOrigin;
  const pushes: FfmpegRun[] = [];

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    const url = (path: string): string => `${o.ingest}/live/${path}`;
    // 1. One long chunked PUT of a muxed fMP4 (video + audio in one moof).
    pushes.push(ffmpeg([...LIVE_SOURCE, '-t', '14', '-map', '0:v', '-map', '1:a', ...X264, ...AAC, ...FRAGMENTED, '-method', 'PUT', url('muxed/cam.mp4')]));
    // 1b. One long PUT per output, Smooth-style Streams() names.
    pushes.push(
      ffmpeg([
        ...LIVE_SOURCE, '-t', '14',
        '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', url('smooth/Streams(video-300k.cmfv)'),
        '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', url('smooth/Streams(audio-64k.cmfa)'),
      ]),
    );
    // 2. ffmpeg's DASH push: init-streamN / chunk-streamN-NNNNN PUTs, MPD PUTs ignored.
    pushes.push(
      ffmpeg([
        ...LIVE_SOURCE, '-t', '14', '-map', '0:v', '-map', '1:a', ...X264, ...AAC,
        '-f', 'dash', '-method', 'PUT', '-http_persistent', '1', '-ldash', '1', '-streaming', '1',
        '-use_template', '1', '-use_timeline', '0', '-seg_duration', '2', '-frag_type', 'duration', '-frag_duration', '0.2',
        '-adaptation_sets', 'id=0,streams=v id=1,streams=a', '-format_options', 'movflags=cmaf', '-write_prft', '1',
        '-remove_at_exit', '1', url('dash/manifest.mpd'),
      ]),
    );
    // 3a. ffmpeg's HLS push: whole fMP4 segments per request under a per-track directory.
    pushes.push(
      ffmpeg([
        ...LIVE_SOURCE, '-t', '14', '-map', '0:v', '-map', '1:a', ...X264, ...AAC,
        '-f', 'hls', '-method', 'PUT', '-http_persistent', '1', '-hls_segment_type', 'fmp4', '-hls_time', '2', '-hls_list_size', '5',
        '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', url('hlspush/v%v/seg_%05d.m4s'),
        '-var_stream_map', 'v:0,agroup:aud a:0,agroup:aud', '-master_pl_name', 'master.m3u8', url('hlspush/v%v/index.m3u8'),
      ]),
    );
  });

  after(async () => {
    for (const p of pushes) p.kill();
    await o.stop();
  });

  it('1: a long-running PUT of muxed fMP4 is split into one track per traf', async () => {
    await waitForSegments(o.playback, 'muxed', 2);
    const stream = o.origin.streams.get('muxed')!;
    assert.deepEqual([...stream.tracks.keys()].sort(), ['cam-a2', 'cam-v1']);
    await verifyHlsStream(o.playback, 'muxed');
  });

  it('1b: one long-running PUT per output with Streams() names', async () => {
    await waitForSegments(o.playback, 'smooth', 2);
    assert.deepEqual([...o.origin.streams.get('smooth')!.tracks.keys()].sort(), ['audio-64k', 'video-300k']);
    await verifyHlsStream(o.playback, 'smooth');
  });

  it("2: ffmpeg's DASH push (init-streamN / chunk-streamN PUTs)", async () => {
    await waitForSegments(o.playback, 'dash', 2);
    assert.deepEqual([...o.origin.streams.get('dash')!.tracks.keys()].sort(), ['stream0', 'stream1']);
    await verifyHlsStream(o.playback, 'dash');
  });

  it("3a: ffmpeg's HLS push (a PUT per complete segment, per-track directories)", async () => {
    await waitForSegments(o.playback, 'hlspush', 2);
    assert.deepEqual([...o.origin.streams.get('hlspush')!.tracks.keys()].sort(), ['v0', 'v1']);
    await verifyHlsStream(o.playback, 'hlspush');
  });

  it('all segment numbers line up across renditions', async () => {
    for (const name of ['muxed', 'smooth', 'dash']) {
      const stream = o.origin.streams.get(name)!;
      const lists = [...stream.tracks.values()].map((t) => t.listedSegments().map((s) => [s.msn, Math.round((s.startTime / s.timescale) * 10) / 10]));
      const common = Math.min(...lists.map((l) => l.length));
      for (const l of lists) assert.deepEqual(l.slice(0, common), lists[0]!.slice(0, common), name);
    }
  });
});

describe('DASH-IF Live Media Ingest Interface-1 (per-segment PUT, Streams() names, lmsg)', () => {
  let o: TestOrigin;
  let dir: string;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    dir = mkdtempSync(join(tmpdir(), 'cmaf-ingest-'));
    const made = await run('ffmpeg', [
      '-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '8', '-map', '0:v', '-map', '1:a', ...X264, ...AAC,
      '-f', 'dash', '-seg_duration', '2', '-frag_type', 'duration', '-frag_duration', '0.2', '-use_template', '1', '-use_timeline', '0',
      '-format_options', 'movflags=cmaf', '-write_prft', '1', '-adaptation_sets', 'id=0,streams=v id=1,streams=a', join(dir, 'manifest.mpd'),
    ]);
    assert.equal(made.code, 0, made.stderr);
  });

  after(() => o.stop());

  function styp(brands: string[]): Buffer {
    const b = Buffer.alloc(16 + 4 * brands.length);
    b.writeUInt32BE(b.length, 0);
    b.write('styp', 4, 'latin1');
    b.write(brands[0]!, 8, 'latin1');
    brands.forEach((brand, i) => b.write(brand, 16 + 4 * i, 'latin1'));
    return b;
  }

  it('accepts a CMAF header then one CMAF segment per request, and ends the track on lmsg', async () => {
    const tracks = [
      { rep: '0', url: `${o.ingest}/live/i1/Streams(video.cmfv)` },
      { rep: '1', url: `${o.ingest}/live/i1/Streams(audio.cmfa)` },
    ];
    // An empty POST tests the publishing point.
    const probe = await request(tracks[0]!.url, { method: 'POST', body: '' });
    assert.equal(probe.statusCode, 200);
    await probe.body.dump();
    for (const t of tracks) {
      const init = await request(t.url, { method: 'POST', body: readFileSync(join(dir, `init-stream${t.rep}.m4s`)) });
      assert.equal(init.statusCode, 200, await init.body.text());
    }
    const counts: Record<string, number> = {};
    for (const t of tracks) {
      const segments = readdirSync(dir).filter((f) => f.startsWith(`chunk-stream${t.rep}-`)).sort();
      assert.ok(segments.length >= 4);
      counts[t.rep === '0' ? 'video' : 'audio'] = segments.length;
      for (const [i, f] of segments.entries()) {
        let body = readFileSync(join(dir, f));
        if (i === segments.length - 1) {
          // The last segment carries the lmsg brand (INGEST "last segment of a track").
          const size = body.readUInt32BE(0);
          assert.equal(body.toString('latin1', 4, 8), 'styp');
          body = Buffer.concat([styp(['msdh', 'lmsg']), body.subarray(size)]);
        }
        const res = await request(t.url, { method: 'PUT', body });
        assert.equal(res.statusCode, 200, await res.body.text());
        await sleep(20);
      }
    }
    const stream = o.origin.streams.get('i1')!;
    assert.ok(stream.ended, 'lmsg on every track ends the stream');
    for (const t of ['video', 'audio']) {
      const pl = parseMedia(await getText(`${o.playback}/live/i1/${t}/index.m3u8`));
      assert.equal(pl.endlist, true);
      // ffmpeg's audio has one more AAC frame than 8 s of video: a last, short audio segment.
      assert.equal(pl.segments.length, counts[t]);
      assert.deepEqual(pl.segments.map((s) => s.mediaSequenceNumber), [1, 2, 3, 4, 5].slice(0, counts[t]));
    }
    await verifyHlsStream(o.playback, 'i1');
  });
});
