import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { audioSpec, psiFor, renderTsSegment, TsPlanner, videoSpec, type TsSource } from '../../src/mpegts/segment.js';
import { writeTs } from '../../src/mpegts/writer.js';
import type { Stream } from '../../src/timeline/stream.js';
import { run } from '../helpers/ffmpeg.js';
import { feed, Harness, LADDER, loadTracks } from '../helpers/feed.js';
import { adtsFrames, checkTs, tsDiff } from '../helpers/ts-check.js';

const ladder = loadTracks(LADDER);

function sourceOf(stream: Stream, video: string | null, audio: string | null, msn: number): TsSource {
  const v = video ? stream.tracks.get(video)! : null;
  const a = audio ? stream.tracks.get(audio)! : null;
  const vs = v?.findSegment(msn);
  const as = a?.findSegment(msn);
  return {
    video: v ? { track: v, segment: vs!, bytes: v.residentBytes(vs!)! } : null,
    audio: a ? { track: a, segment: as!, bytes: a.residentBytes(as!)! } : null,
  };
}

function ladderStream(offsetSeconds = 0): Stream {
  const h = new Harness();
  feed(h, 's', ladder, { offsetSeconds });
  const stream = h.registry.get('s')!;
  for (const t of stream.tracks.values()) t.end();
  return stream;
}

async function ffprobePackets(file: string): Promise<{ stream: number; pts: number; dts: number; key: boolean }[]> {
  const r = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts,dts,flags', '-of', 'csv=p=0', file]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(','))
    .map(([s, pts, dts, flags]) => ({ stream: Number(s), pts: Number(pts), dts: Number(dts), key: (flags ?? '').includes('K') }));
}

describe('MPEG-TS remux', () => {
  const stream = ladderStream();

  it('writes PAT, PMT first, then well-formed PES: AUD first, SPS/PPS before IDR with RAI, ADTS audio, PCR ≤ DTS and ≤ 100 ms apart', () => {
    for (let msn = 1; msn <= 4; msn++) {
      const ts = renderTsSegment(msn, sourceOf(stream, 'v360', 'audio', msn));
      const r = checkTs(ts);
      assert.deepEqual(r.errors, [], `segment ${msn}`);
      assert.deepEqual(r.pmtStreams, [
        { type: 0x1b, pid: 0x100 },
        { type: 0x0f, pid: 0x101 },
      ]);
      assert.equal(r.pcrPid, 0x100);
      const video = r.pes.filter((p) => p.pid === 0x100);
      assert.equal(video.length, 50, 'one PES per frame');
      assert.ok(video[0]!.randomAccess, 'the segment starts with an IDR');
      for (const a of r.pes.filter((p) => p.pid === 0x101)) assert.ok(adtsFrames(a.es) <= 4);
    }
  });

  it('lists only the tracks that carry data: video alone, audio alone (PCR on audio)', () => {
    const v = checkTs(renderTsSegment(2, sourceOf(stream, 'v180', null, 2)));
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.pmtStreams.map((s) => s.type), [0x1b]);
    const a = checkTs(renderTsSegment(2, sourceOf(stream, null, 'audio', 2)));
    assert.deepEqual(a.errors, []);
    assert.deepEqual(a.pmtStreams.map((s) => s.type), [0x0f]);
    assert.equal(a.pcrPid, 0x101);
  });

  it('keeps continuity counters continuous across segments rendered in any order', () => {
    const rendered = new Map<number, Buffer>();
    for (const msn of [3, 1, 4, 2]) rendered.set(msn, renderTsSegment(msn, sourceOf(stream, 'v360', 'audio', msn)));
    let cc = new Map<number, number>();
    for (let msn = 1; msn <= 4; msn++) {
      const r = checkTs(rendered.get(msn)!, cc);
      assert.deepEqual(r.errors, [], `segment ${msn} continues ${msn - 1}`);
      cc = r.cc;
    }
  });

  it('renders the same segment to the same bytes, at once or streamed chunk by chunk', () => {
    const source = sourceOf(stream, 'v360', 'audio', 3);
    const a = renderTsSegment(3, source);
    const b = renderTsSegment(3, source);
    assert.ok(a.equals(b), 'byte-identical renders');
    // As the streaming path does: chunks fed as they would land, whatever can be written written.
    const planner = new TsPlanner(videoSpec(source.video!.track, source.video!.bytes), audioSpec(source.audio!.track, source.audio!.bytes));
    const cc = { video: 0, audio: 0 };
    const out: Buffer[] = [writeTs([], cc, psiFor(3, true, true))];
    const v = source.video!.segment.chunks;
    const au = source.audio!.segment.chunks;
    for (let i = 0; i < Math.max(v.length, au.length); i++) {
      if (v[i]) planner.feedVideo(v[i]!);
      out.push(writeTs(planner.take(), cc, null));
      if (au[i]) planner.feedAudio(au[i]!);
      out.push(writeTs(planner.take(), cc, null));
    }
    planner.finishVideo();
    out.push(writeTs(planner.take(), cc, null));
    planner.finishAudio();
    out.push(writeTs(planner.take(), cc, null));
    assert.ok(planner.done);
    assert.ok(Buffer.concat(out).equals(a), 'streamed bytes equal the complete render');
  });

  for (const fixture of ['plain', 'bframes', 'audio'] as const) {
    it(`carries every frame's PTS and DTS from the source CMAF (${fixture}), within one 90 kHz tick`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ts-'));
      const h = new Harness();
      const file0 = { plain: 'ladder/v360.mp4', bframes: 'bframes/v360-bf.mp4', audio: 'ladder/audio.mp4' }[fixture];
      const tracks = loadTracks([{ file: file0, name: fixture }]);
      feed(h, 'p', tracks);
      const s = h.registry.get('p')!;
      const track = s.tracks.get(tracks[0]!.name)!;
      track.end();
      const segments = track.segments().filter((x) => x.state === 'complete');
      const file = join(dir, 'all.ts');
      const isAudio = fixture === 'audio';
      writeFileSync(file, Buffer.concat(segments.map((x) => renderTsSegment(x.msn, isAudio ? { video: null, audio: { track, segment: x, bytes: track.residentBytes(x)! } } : { video: { track, segment: x, bytes: track.residentBytes(x)! }, audio: null }))));
      const src = await ffprobePackets(join(import.meta.dirname, '..', '..', 'fixtures', file0));
      const out = await ffprobePackets(file);
      assert.equal(out.length, src.length, 'every frame');
      const ts = isAudio ? 48000 : 12800;
      const to90 = (t: number): number => Math.round((t * 90000) / ts);
      const offset = tsDiff(to90(src[0]!.pts), out[0]!.pts);
      src.forEach((p, i) => {
        const o = out[i]!;
        assert.ok(Math.abs(tsDiff(to90(p.pts), o.pts) - offset) <= 1, `frame ${i} PTS`);
        assert.ok(Math.abs(tsDiff(to90(p.dts), o.dts) - offset) <= 1, `frame ${i} DTS`);
        assert.equal(o.key, p.key, `frame ${i} key flag`);
      });
      if (fixture === 'bframes') assert.ok(out.some((p) => p.pts !== p.dts), 'B-frames keep distinct PTS and DTS');
      const decode = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
      assert.equal(decode.stderr.trim(), '');
    });
  }

  it('wraps 33-bit timestamps and keeps them monotonic modulo 2^33', () => {
    // Media time just below 2^33 / 90 000 s: the segment crosses the wrap.
    const wrapSeconds = 2 ** 33 / 90000;
    const s = ladderStream(Math.floor(wrapSeconds) - 5);
    let cc = new Map<number, number>();
    let last: number | null = null;
    // Segment numbers are the media time's 2 s slots: the first four segments of this stream.
    for (const msn of s.tracks.get('v360')!.segments().filter((x) => x.state === 'complete').map((x) => x.msn)) {
      const r = checkTs(renderTsSegment(msn, sourceOf(s, 'v360', 'audio', msn)), cc);
      assert.deepEqual(r.errors, []);
      cc = r.cc;
      for (const p of r.pes.filter((x) => x.pid === 0x100)) {
        if (last !== null) assert.ok(tsDiff(last, p.dts) > 0 && tsDiff(last, p.dts) < 9000, 'DTS rises by a frame across the wrap');
        last = p.dts;
      }
    }
  });
});
