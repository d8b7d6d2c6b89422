import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSyncSample } from '../../src/isobmff/fragment.js';
import type { Segment } from '../../src/timeline/segment.js';
import type { Stream } from '../../src/timeline/stream.js';
import type { Track } from '../../src/timeline/track.js';
import { feed, Harness, LADDER, loadTracks, runBytes } from '../helpers/feed.js';
import { delivered, samplesOf } from '../helpers/mp4.js';

const ladder = loadTracks(LADDER);

function startSec(s: Segment): number {
  return s.startTime / s.timescale;
}

function complete(t: Track): Segment[] {
  return t.segments().filter((s) => s.state === 'complete');
}

function ladderStream(options = {}): { h: Harness; stream: Stream } {
  const h = new Harness(options);
  feed(h, 's', ladder);
  return { h, stream: h.registry.get('s')! };
}

describe('timeline: segments', () => {
  it('numbers segments from 1 and cuts video at the first keyframe at or after the target', () => {
    const { stream } = ladderStream();
    for (const name of ['v360', 'v180']) {
      const t = stream.tracks.get(name)!;
      assert.deepEqual(t.segments().map((s) => s.msn), [1, 2, 3, 4]);
      assert.deepEqual(t.segments().map(startSec), [0, 2, 4, 6]);
      for (const s of t.segments()) assert.ok(isSyncSample(samplesOf(t, s, s.chunks[0]!).flags[0]!), `segment ${s.msn} starts with a sync sample`);
      assert.deepEqual(complete(t).map((s) => s.seconds), [2, 2, 2]);
    }
    assert.equal(stream.targetDuration, 2);
  });

  it('cuts audio within one frame of the video boundaries, with the same MSNs', () => {
    const { stream } = ladderStream();
    const audio = stream.tracks.get('audio')!;
    const frame = 1024 / 48000;
    assert.deepEqual(audio.segments().map((s) => s.msn), [1, 2, 3, 4]);
    audio.segments().forEach((s, i) => assert.ok(Math.abs(startSec(s) - 2 * i) <= frame / 2 + 1e-9, `audio segment ${s.msn} starts at ${startSec(s)}`));
  });

  it('holds audio that arrives ahead of video until the video boundary is known', () => {
    const h = new Harness();
    feed(h, 's', ladder, { lateMs: { v360: 150, v180: 170 } });
    const stream = h.registry.get('s')!;
    const audio = stream.tracks.get('audio')!;
    audio.segments().forEach((s, i) => assert.ok(Math.abs(startSec(s) - 2 * i) <= 1024 / 48000 / 2 + 1e-9));
    assert.deepEqual(audio.segments().map((s) => s.msn), [1, 2, 3, 4]);
  });

  it('lets an audio-only stream cut its own segments', () => {
    const h = new Harness();
    feed(h, 'radio', loadTracks([LADDER[2]!]));
    const audio = h.registry.get('radio')!.tracks.get('audio')!;
    // Each cut is the first AAC frame in the next 2 s slot; the frame that starts at 8 s opens segment 5.
    assert.deepEqual(complete(audio).map((s) => s.msn), [1, 2, 3, 4]);
    for (const s of complete(audio)) assert.ok(s.seconds > 1.97 && s.seconds < 2.03, `${s.seconds}`);
  });

  it('publishes each chunk the moment it arrives: the open segment grows chunk by chunk', async () => {
    const h = new Harness();
    const stream = h.registry.forIngest('s');
    void stream;
    const sessions = feed(h, 's', ladder, { untilSeconds: 2.6 });
    const v = h.registry.get('s')!.tracks.get('v360')!;
    const open = v.openSegment!;
    assert.equal(open.msn, 2);
    const body = open.body!;
    assert.equal(body.state, 'open');
    assert.ok(Math.abs(open.seconds - 0.6) < 1e-9, `open segment holds ${open.seconds}s`);
    const before = body.byteLength;
    const seen: number[] = [];
    body.read({ data: (b) => seen.push(b.length), end: () => {}, abort: () => {} });
    assert.equal(seen.length, 1, 'what existed, at once');
    feed(h, 's', ladder, { untilSeconds: 2.8, sessions });
    // Readers hear of new chunks right after the ingest call returns, never inside it.
    assert.equal(seen.length, 1);
    await delivered();
    assert.ok(body.byteLength > before);
    assert.ok(seen.length >= 2, 'the reader got what existed and then the new chunk');
  });

  it('skips samples a resend already delivered', () => {
    const h = new Harness();
    const sessions = feed(h, 's', ladder, { untilSeconds: 4 });
    const v = h.registry.get('s')!.tracks.get('v360')!;
    const bytes = v.segments().map((s) => s.byteLength);
    const version = v.version;
    feed(h, 's', ladder, { untilSeconds: 4, sessions });
    assert.deepEqual(v.segments().map((s) => s.byteLength), bytes);
    assert.equal(v.version, version);
  });

  it('continues the timeline after an encoder restart, with a discontinuity and the next MSN', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const stream = h.registry.get('s')!;
    for (const s of stream.tracks.values()) s.interrupt();
    const endBefore = Math.max(...[...stream.tracks.values()].map((t) => t.segments().at(-1)!.endTime / t.timescale));
    // The encoder comes back 3 s later with timestamps from 0 again.
    h.nowMs += 3000;
    feed(h, 's', ladder, { startMs: h.nowMs, untilSeconds: 4.1 });
    for (const t of stream.tracks.values()) {
      const after = t.segments().filter((s) => s.msn > 4);
      assert.equal(after[0]!.msn, 5, `${t.name} continues at MSN 5`);
      assert.ok(after[0]!.discontinuity, `${t.name} marks the discontinuity`);
      assert.ok(startSec(after[0]!) >= endBefore, 'the timeline never goes back');
      assert.ok(after[0]!.programDateTimeMs >= t.segments()[3]!.programDateTimeMs + 2000, 'program date-time moves on');
    }
    const starts = [...stream.tracks.values()].map((t) => startSec(t.segments().find((s) => s.msn === 5)!));
    assert.ok(Math.max(...starts) - Math.min(...starts) < 0.03, 'all tracks restart on the same boundary');
  });

  it('aborts readers of the segment in production when the ingest dies, and keeps what arrived, marked cut short', async () => {
    const h = new Harness();
    feed(h, 's', ladder, { untilSeconds: 3 });
    const v = h.registry.get('s')!.tracks.get('v360')!;
    const open = v.openSegment!;
    let aborted = false;
    let ended = false;
    const body = open.body!;
    body.read({ data: () => {}, end: () => (ended = true), abort: () => (aborted = true) });
    const bytes = body.byteLength;
    v.interrupt();
    await delivered();
    assert.ok(aborted && !ended);
    assert.equal(open.state, 'complete');
    assert.ok(open.truncated, 'cut short: never served as immutable');
    assert.equal(body.state, 'aborted');
    assert.equal(open.byteLength, bytes);
    assert.equal(v.residentBytes(open)!.range(0, bytes)[0]!.length, bytes);
    assert.deepEqual(complete(v).map((s) => s.msn), [1, 2]);
  });

  it('slides the window and frees segments that leave it', () => {
    const h = new Harness({ windowSeconds: 6 });
    const tracks = ladder;
    let sessions;
    for (let loop = 0; loop < 4; loop++) sessions = feed(h, 's', tracks, { offsetSeconds: loop * 8, startMs: 1_700_000_000_000 + loop * 8000, ...(sessions ? { sessions } : {}) });
    const v = h.registry.get('s')!.tracks.get('v360')!;
    const listed = v.listedSegments();
    assert.ok(listed.length <= 3, `${listed.length} listed`);
    assert.ok(v.segments().length <= 6, `${v.segments().length} retained`);
    assert.equal(listed.at(-1)!.msn, 15);
    assert.equal(h.registry.get('s')!.grid.first!.msn, v.segments()[0]!.msn);
  });
});

describe('timeline: parts', () => {
  for (const partTarget of [0.5, 0.2, 0.3, 1]) {
    it(`groups chunks into parts no longer than ${partTarget}s and not under 85% of it`, () => {
      const { stream } = ladderStream({ partTarget });
      for (const t of stream.tracks.values()) {
        for (const s of complete(t)) {
          let bytes = 0;
          s.parts.forEach((p, i) => {
            const sec = p.duration / t.timescale;
            assert.ok(sec <= partTarget + 1e-9, `${t.name} ${s.msn}.${i} lasts ${sec}`);
            const last = i === s.parts.length - 1;
            if (!last && !p.independent) assert.ok(sec >= 0.85 * partTarget - 1e-9, `${t.name} ${s.msn}.${i} lasts ${sec} (< 85%)`);
            assert.equal(p.byteOffset, bytes);
            assert.ok(p.complete);
            bytes += p.byteLength;
            const sync = p.chunks.some((c) => [...samplesOf(t, s, c).flags].some((f) => isSyncSample(f)));
            if (t.kind === 'video') assert.equal(p.independent, isSyncSample(samplesOf(t, s, p.chunks[0]!).flags[0]!));
            if (t.kind === 'video' && p.independent) assert.ok(sync);
          });
          assert.equal(bytes, s.byteLength);
          const stored = t.residentBytes(s)!;
          const body = Buffer.concat(stored.range(0, s.byteLength) as Buffer[]);
          assert.ok(Buffer.concat(s.parts.flatMap((p) => [...stored.part(p)])).equals(body));
          assert.ok(Buffer.concat(s.chunks.flatMap((c) => [...stored.chunk(c)])).equals(body));
          if (s.state === 'complete') {
            // In the store: one buffer of exactly the segment's bytes; chunks keep no views, the record no body.
            assert.equal(stored.range(0, s.byteLength)[0]!.buffer.byteLength, s.byteLength);
            assert.ok(s.chunks.every((c) => c.data === null));
            assert.equal(s.body, null);
          }
        }
      }
    });
  }

  it('closes a part as soon as the next sample could not fit', () => {
    const h = new Harness({ partTarget: 0.4 });
    feed(h, 's', ladder, { untilSeconds: 0.4 });
    const v = h.registry.get('s')!.tracks.get('v360')!;
    const seg = v.openSegment!;
    assert.equal(seg.parts.length, 1);
    assert.ok(seg.parts[0]!.complete, 'two 200 ms chunks fill a 400 ms part: complete without waiting for the next chunk');
  });
});

describe('timeline: the part target from the encoder\'s chunks', () => {
  it('without a configured one, makes each 200 ms chunk one part (0.215 s), whichever track comes first', () => {
    for (const order of [LADDER, [...LADDER].reverse()]) {
      const h = new Harness({ partTarget: null });
      feed(h, 's', loadTracks(order));
      const stream = h.registry.get('s')!;
      assert.equal(stream.partTarget, 0.215);
      for (const t of stream.tracks.values()) {
        for (const s of complete(t)) {
          // Every part ends where an ingest chunk (200 ms of video, 10 AAC frames) ends, or at the segment's end.
          for (const [i, p] of s.parts.entries()) {
            const sec = p.duration / t.timescale;
            assert.ok(sec <= 0.215 + 1e-9, `${t.name} ${s.msn}.${i} lasts ${sec}`);
            const edgeOfSegment = i === 0 || i === s.parts.length - 1;
            if (!edgeOfSegment) assert.ok(Math.abs(sec - (t.kind === 'video' ? 0.2 : 10240 / 48000)) < 1e-9, `${t.name} ${s.msn}.${i} is one chunk (${sec})`);
          }
        }
      }
    }
  });
});

describe('timeline: init changes', () => {
  it('gives a changed CMAF header a new id and opens the next segment with a discontinuity', () => {
    const h = new Harness();
    const [v360, v180] = loadTracks(LADDER.slice(0, 2));
    feed(h, 's', [v360!], { untilSeconds: 4 });
    const track = h.registry.get('s')!.tracks.get('v360')!;
    // The encoder reconnects on the same URL with other settings (here: the 180p header).
    const s = h.session('s', 'v360');
    const first = track.init.id;
    s.write(v180!.init);
    const second = track.init.id;
    assert.notEqual(second, first);
    assert.match(second, /^[0-9a-f]{12}$/, 'a digest of the header: the same id on every origin');
    assert.equal(track.info.height, 180);
    const sessions = new Map([['v360', s]]);
    feed(h, 's', [{ ...v180!, name: 'v360' }], { sessions, offsetSeconds: 4, startMs: h.nowMs, untilSeconds: 4 });
    const after = track.segments().filter((x) => x.initId === second);
    assert.ok(after.length > 0);
    assert.ok(after[0]!.discontinuity);
    assert.equal(after[0]!.msn, track.segments().filter((x) => x.initId === first).at(-1)!.msn + 1);
    assert.ok(track.findInit(first) && track.findInit(second));
    // The same header again changes nothing.
    s.write(v180!.init);
    assert.equal(track.init.id, second);
  });
});

describe('timeline: timestamps', () => {
  it('keeps epoch-based 64-bit timestamps exact, even above 2^53, and still aligns tracks', () => {
    const h = new Harness();
    // 2e11 s since the epoch: audio tfdt at 48 kHz is 9.6e15 ticks, beyond Number.MAX_SAFE_INTEGER.
    feed(h, 's', ladder, { offsetSeconds: 2e11 });
    const stream = h.registry.get('s')!;
    const audio = stream.tracks.get('audio')!;
    const video = stream.tracks.get('v360')!;
    assert.ok(samplesOf(audio, audio.segments()[1]!, audio.segments()[1]!.chunks[0]!).baseMediaDecodeTime > BigInt(Number.MAX_SAFE_INTEGER));
    // Segment numbers are the 2 s slots of media time: 2e11 s is slot 1e11, number 1e11 + 1.
    const first = 2e11 / 2 + 1;
    assert.deepEqual(video.segments().map((s) => s.msn), [first, first + 1, first + 2, first + 3]);
    assert.deepEqual(audio.segments().map((s) => s.msn), [first, first + 1, first + 2, first + 3]);
    // Served bytes carry the encoder's exact tfdt.
    const c = audio.segments()[2]!.chunks[0]!;
    const expected = 2n * 10n ** 11n * 48000n + BigInt(c.startTime - audio.segments()[0]!.startTime);
    assert.equal(samplesOf(audio, audio.segments()[2]!, c).baseMediaDecodeTime, expected);
    assert.equal(audio.segments()[2]!.baseMediaDecodeTime, expected);
    audio.segments().forEach((s, i) => assert.ok(Math.abs(s.startTime / 48000 - video.segments()[i]!.startTime / 12800) <= 1024 / 48000 / 2 + 1e-9));
  });

  it('never lets a segment span a timestamp jump, even when the media resumes with a sample that is not sync', () => {
    const h = new Harness();
    const video = ladder.find((t) => t.name === 'v360')!;
    const sessions = feed(h, 's', [video], { untilSeconds: 3 });
    // The encoder's timestamps jump 1,000 s ahead in the middle of a GOP (fuzz case fuzz-segment-spans-jump).
    const at = video.runs.findIndex((r) => Number(r.baseMediaDecodeTime - video.start) / video.timescale >= 3 && !isSyncSample(r.flags[0]!));
    assert.ok(at > 0);
    feed(h, 's', [{ ...video, runs: video.runs.slice(at) }], { sessions, offsetSeconds: 1000 });
    const t = h.registry.get('s')!.tracks.get('v360')!;
    t.end();
    for (const seg of t.segments()) assert.ok(seg.seconds <= 2.5, `segment ${seg.msn} lasts ${seg.seconds} s`);
    const after = t.segments().filter((seg) => seg.startTime / seg.timescale > 1000);
    assert.ok(after.length >= 1, 'the media after the jump is segmented');
    assert.ok(after[0]!.discontinuity, 'with a discontinuity');
    for (const seg of after) assert.ok(isSyncSample(samplesOf(t, seg, seg.chunks[0]!).flags[0]!), `segment ${seg.msn} starts with a sync sample`);
  });

  it('counts a gap shorter than a jump toward the longest a segment may last: no EXTINF rounds above the target', () => {
    const h = new Harness();
    const video = ladder.find((t) => t.name === 'v360')!;
    const sessions = feed(h, 's', [video], { untilSeconds: 3.1 });
    // 1.7 s of media missing after the segment's first second: less than a jump, so the timeline
    // runs on, and the first sample after it would end the segment 2.9 s after its start.
    const at = video.runs.findIndex((r) => Number(r.baseMediaDecodeTime - video.start) / video.timescale >= 3.2 && !isSyncSample(r.flags[0]!));
    feed(h, 's', [{ ...video, runs: video.runs.slice(at) }], { sessions, offsetSeconds: 1.5 });
    const stream = h.registry.get('s')!;
    const t = stream.tracks.get('v360')!;
    t.end();
    assert.equal(stream.targetDuration, 2);
    for (const seg of t.segments()) assert.ok(Math.round(seg.seconds) <= 2, `segment ${seg.msn} lasts ${seg.seconds} s`);
  });

  it('refuses an audio or video sample longer than a segment of the stream may last', () => {
    const h = new Harness();
    const audio = ladder.find((t) => t.name === 'audio')!;
    const sessions = feed(h, 's', [audio], { untilSeconds: 4 });
    assert.equal(h.registry.get('s')!.targetDuration, 2);
    const next = audio.runs.find((r) => Number(r.baseMediaDecodeTime - audio.start) / audio.timescale >= 4)!;
    const durations = Uint32Array.from(next.durations);
    durations[0] = 3 * audio.timescale;
    assert.throws(() => {
      for (const b of runBytes({ ...next, durations })) sessions.get('audio')!.write(b);
    }, /a sample of 3\.000 s, longer than a segment of this stream may last/);
  });

  it('segments B-frame and HEVC video at keyframes', () => {
    const h = new Harness();
    feed(h, 'b', loadTracks([{ file: 'bframes/v360-bf.mp4', name: 'bf' }, { file: 'hevc/v360-hevc.mp4', name: 'hevc' }]));
    const stream = h.registry.get('b')!;
    for (const t of stream.tracks.values()) {
      assert.deepEqual(t.segments().map((s) => s.msn), [1, 2]);
      for (const s of t.segments()) assert.ok(s.independent);
    }
    const bf = stream.tracks.get('bf')!;
    assert.ok(bf.segments()[0]!.chunks.some((c) => samplesOf(bf, bf.segments()[0]!, c).ctos.some((x) => x !== 0)));
  });
});
