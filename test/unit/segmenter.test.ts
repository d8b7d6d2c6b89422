import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoopTrack } from '../../src/demo/demo-source.js';
import { isSyncSample } from '../../src/isobmff/fragment.js';
import type { Stream } from '../../src/timeline/stream.js';
import { feed, Harness, LADDER, loadTracks } from '../helpers/feed.js';
import { samplesOf } from '../helpers/mp4.js';

/** What the segmenter decided for one track: each segment's number, start and duration (ticks) and its part durations. */
function cuts(stream: Stream, track: string): { msn: number; start: number; duration: number; parts: number[]; state: string }[] {
  return stream.tracks.get(track)!.segments().map((s) => ({ msn: s.msn, start: s.startTime, duration: s.duration, parts: s.parts.map((p) => p.duration), state: s.state }));
}

/** Feeds `tracks` with the wall clock at `startMs`, the fragments before `fromSeconds` withheld (an origin that joins late). */
function run(tracks: readonly LoopTrack[], options: { fromSeconds?: number; startMs?: number; partTarget?: number; offsetSeconds?: number } = {}): Stream {
  const h = new Harness(options.partTarget ? { partTarget: options.partTarget } : {});
  h.nowMs = options.startMs ?? h.nowMs;
  const from = options.fromSeconds ?? 0;
  const late = from > 0 ? tracks.map((t) => ({ ...t, runs: t.runs.filter((r) => Number(r.baseMediaDecodeTime - t.start) / t.timescale >= from - 1e-9) })) : tracks;
  feed(h, 's', late, { startMs: h.nowMs, ...(options.offsetSeconds ? { offsetSeconds: options.offsetSeconds } : {}) });
  const stream = h.registry.get('s')!;
  // The encoder stops: the segment in production is complete too.
  for (const t of stream.tracks.values()) t.end();
  return stream;
}

const ladder = loadTracks(LADDER);
const bframes = loadTracks([{ file: 'bframes/v360-bf.mp4', name: 'bf' }]);
const audio44 = loadTracks([{ file: 'audio44/audio-44k.mp4', name: 'a44' }]);

describe('segmenter: cuts are a function of the media, not of arrival', () => {
  it('numbers a segment by the slot of its first sample: 2 s slots of media time, from the raw tfdt', () => {
    const s = run(ladder, { offsetSeconds: 1_800_000_000 });
    const v = cuts(s, 'v360');
    assert.deepEqual(v.map((c) => c.msn), [900_000_001, 900_000_002, 900_000_003, 900_000_004]);
  });

  for (const [name, tracks, track, join] of [
    ['the H.264/AAC ladder (video)', ladder, 'v360', 2.2],
    ['the H.264/AAC ladder (audio)', ladder, 'audio', 2.2],
    ['B-frame video with negative composition offsets', bframes, 'bf', 0.2],
    ['44.1 kHz AAC alone (23.2 ms frames)', audio44, 'a44', 1.2],
  ] as const) {
    it(`gives ${name} the same cuts whatever the wall clock and however late the origin joined`, () => {
      const full = cuts(run(tracks, { startMs: 1_700_000_000_000 }), track);
      const otherClock = cuts(run(tracks, { startMs: 1_766_000_123_456 }), track);
      assert.deepEqual(otherClock, full, 'the arrival clock changes nothing');
      // Joined late: its first segment is partial (or absent), every later one is the same.
      const late = cuts(run(tracks, { fromSeconds: join }), track);
      const common = late.filter((c) => c.msn > late[0]!.msn && c.state === 'complete');
      assert.ok(common.length >= 1, `${common.length} segments after the late join's first`);
      for (const c of common) assert.deepEqual(c, full.find((f) => f.msn === c.msn), `segment ${c.msn}`);
    });
  }

  it('starts every video segment with a sync sample and cuts B-frame video at keyframes only', () => {
    const s = run(bframes);
    const t = s.tracks.get('bf')!;
    for (const seg of t.segments()) assert.ok(isSyncSample(samplesOf(t, seg, seg.chunks[0]!).flags[0]!), `segment ${seg.msn}`);
    assert.ok(t.segments()[0]!.chunks.some((c) => samplesOf(t, t.segments()[0]!, c).ctos.some((x) => x < 0)), 'negative composition offsets kept');
  });

  it('cuts 44.1 kHz audio at the first frame of each slot and never makes a part longer than the part target', () => {
    for (const partTarget of [0.2, 0.5, 1]) {
      const s = run(audio44, { partTarget });
      const t = s.tracks.get('a44')!;
      const complete = t.segments().filter((x) => x.state === 'complete');
      assert.ok(complete.length >= 2);
      for (const seg of complete) {
        const start = seg.startTime / 44100;
        // The first frame at or after the slot start: within one frame after it.
        const slotStart = (seg.msn - 1) * 2;
        assert.ok(start >= slotStart - 1e-9 && start < slotStart + 1024 / 44100, `segment ${seg.msn} starts at ${start}`);
        for (const p of seg.parts) assert.ok(p.duration / 44100 <= partTarget + 1e-9, `a part of ${p.duration / 44100} s`);
      }
    }
  });
});
