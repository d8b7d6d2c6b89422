import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideBlocking, isSatisfied, lookupPart, normalize } from '../../src/hls/blocking.js';
import { endsWithBareHint, hintedPart } from '../../src/hls/boundary.js';
import { lowLatencyParams } from '../../src/hls/low-latency.js';
import { renderMediaPlaylist } from '../../src/hls/media-playlist.js';
import type { Track } from '../../src/timeline/track.js';
import { Harness, LADDER, LiveFeeder, loadTracks } from '../helpers/feed.js';
import { parseMedia } from '../helpers/hls.js';

const ladder = loadTracks(LADDER);

interface Case {
  readonly name: string;
  readonly targetDuration: number;
  readonly partTarget: number;
  /** Parts of every complete video segment. */
  readonly parts: number;
  /** Seconds of media per segment (the fixture's GOP is 1 s). */
  readonly segment: number;
}

// The fixture: 25 fps video with a keyframe every second, AAC audio, 200 ms fragments.
const CASES: Case[] = [
  { name: '3 parts per segment (the last one short), GOP shorter than the target', targetDuration: 2, partTarget: 0.68, parts: 3, segment: 2 },
  { name: '4 parts per segment (the last one short), GOP shorter than the target', targetDuration: 2, partTarget: 0.52, parts: 4, segment: 2 },
  { name: '5 parts per segment filling it exactly, GOP shorter than the target', targetDuration: 2, partTarget: 0.4, parts: 5, segment: 2 },
  { name: '5 parts per segment (the last one a single frame), GOP longer than the target', targetDuration: 0.5, partTarget: 0.25, parts: 5, segment: 1 },
];

const key = (msn: number, index: number): string => `${msn}.${index}`;

/**
 * Steps a live ladder through segment boundaries one fragment at a time and checks, after every
 * change of every track, the LL-HLS rules at the boundary.
 */
function run(c: Case): { hints: number; boundaries: number } {
  const h = new Harness({ targetDuration: c.targetDuration, partTarget: c.partTarget });
  const feeder = new LiveFeeder(h, 's', ladder);
  const seen = new Map<Track, number>();
  const hinted = new Map<string, { track: Track; msn: number; index: number }>();
  const lastClosed = new Map<Track, number>();
  let boundaries = 0;
  for (let t = 0.01; t <= 6 * c.segment + 0.3; t += 0.01) {
    feeder.advanceTo(t);
    const stream = h.registry.get('s');
    if (!stream) continue;
    for (const track of stream.tracks.values()) {
      if (seen.get(track) === track.version) continue;
      seen.set(track, track.version);
      const ll = lowLatencyParams(stream);
      const text = renderMediaPlaylist(stream, track, { flavor: 'll-hls', partAddressing: 'uri' });
      if (!ll || !text) continue;
      const at = `${track.name} at ${t.toFixed(2)} s`;
      const pl = parseMedia(text);
      const hint: { msn: number; index: number } = hintedPart(stream, track)!;
      const hintLine = text.split('\n').find((l) => l.startsWith('#EXT-X-PRELOAD-HINT:'))!;
      assert.ok(hintLine.endsWith(`/${hint.msn}.${hint.index}.m4s"`), `${at}: ${hintLine} names ${key(hint.msn, hint.index)}`);
      hinted.set(`${track.name} ${key(hint.msn, hint.index)}`, { track, msn: hint.msn, index: hint.index });
      // A request for the hinted part is held until it is complete.
      assert.equal(lookupPart(stream, track, hint.msn, hint.index).kind, track.findSegment(hint.msn)?.parts[hint.index]?.complete ? 'ready' : 'wait', `${at}: the hinted part is held`);
      // The next part the client can name after the last listed one: the hinted part.
      const last = track.lastCompletePart()!;
      const listedParts = pl.segments.at(-1)!.parts.filter((p) => !p.hint).length;
      assert.ok(listedParts > 0 || endsWithBareHint(track), `${at}: the playlist ends with a part of the segment in production, or at a boundary`);
      // _HLS_part after the last part names the hinted part (the part after the last one of a
      // segment that is about to close is read as the next segment's first once it has closed).
      const afterLast = normalize(track, { msn: last.msn, part: last.index + 1 });
      const closing = hint.index === 0 && hint.msn === last.msn + 1 && afterLast.msn === last.msn && track.openSegment?.msn === last.msn;
      if (!closing) assert.deepEqual([afterLast.msn, afterLast.part], [hint.msn, hint.index], `${at}: _HLS_part after the last part names the hinted part`);
      assert.equal(decideBlocking(stream, track, { msn: last.msn, part: last.index + 1, skip: null }, ll).kind, 'wait', `${at}: a request for the part after the last one blocks`);
      assert.equal(isSatisfied(stream, track, { msn: last.msn, part: last.index }), true);

      const closed = track.lastCompleteMsn();
      if (closed !== null && closed !== lastClosed.get(track) && track.findSegment(closed)!.state === 'complete') {
        lastClosed.set(track, closed);
        const seg = track.findSegment(closed)!;
        const after = seg.parts.length;
        // The part after the last one of a closed segment will never exist: 404 from the moment it closed.
        const never = lookupPart(stream, track, closed, after);
        assert.equal(never.kind, 'missing', `${at}: ${key(closed, after)} is answered at once`);
        assert.equal(never.kind === 'missing' && never.reason, 'never');
        // ... and _HLS_part there means part 0 of the next segment.
        assert.deepEqual(normalize(track, { msn: closed, part: after }), { msn: closed + 1, part: 0 });
        assert.equal(isSatisfied(stream, track, { msn: closed, part: after }), track.findSegment(closed + 1)?.parts[0]?.complete === true);
        if (track.kind === 'video' && track.name === 'v360' && seg.msn > stream.msnAtTime(0)) {
          boundaries++;
          assert.equal(seg.parts.length, c.parts, `${at}: segment ${closed} has ${c.parts} parts`);
          assert.ok(Math.abs(seg.seconds - c.segment) < 1e-6, `${at}: segment ${closed} lasts ${seg.seconds} s`);
        }
      }
    }
  }
  // Every hint named a part that came to exist: the hint was exact at every boundary.
  for (const [name, x] of hinted) {
    const part = x.track.findSegment(x.msn)?.parts[x.index];
    if (x.msn <= (x.track.lastCompleteMsn() ?? 0)) assert.ok(part?.complete, `hinted ${name} exists`);
  }
  return { hints: hinted.size, boundaries };
}

describe('LL-HLS at a segment boundary: preload hint and blocking rules', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const { hints, boundaries } = run(c);
      assert.ok(boundaries >= 4, `${boundaries} boundaries checked`);
      assert.ok(hints >= boundaries * c.parts, `${hints} hints checked`);
    });
  }

  it('hints the next segment once the parts of the segment in production fill it, then holds that part', () => {
    const h = new Harness({ targetDuration: 2, partTarget: 0.4 });
    const feeder = new LiveFeeder(h, 's', ladder);
    feeder.advanceTo(5.9);
    const st = h.registry.get('s')!;
    const v = st.tracks.get('v360')!;
    // 4.0-5.9: parts 3.0-3.3 complete, 3.4 in production.
    assert.deepEqual(hintedPart(st, v), { msn: 3, index: 4, byteOffset: v.openSegment!.parts[4]!.byteOffset });
    feeder.advanceTo(6.0);
    // Segment 3 holds 2 s of media in five complete parts; the next sample is a keyframe.
    assert.equal(v.openSegment!.msn, 3);
    assert.ok(v.openSegment!.parts.every((p) => p.complete));
    assert.deepEqual(hintedPart(st, v), { msn: 4, index: 0, byteOffset: 0 });
    assert.equal(lookupPart(st, v, 4, 0).kind, 'wait');
    assert.equal(lookupPart(st, v, 3, 5).kind, 'wait', 'the part after the last is held while the segment is open');
    feeder.advanceTo(6.2);
    assert.equal(v.findSegment(3)!.state, 'complete');
    assert.equal(lookupPart(st, v, 3, 5).kind, 'missing');
    assert.equal(lookupPart(st, v, 4, 0).kind, v.findSegment(4)!.parts[0]!.complete ? 'ready' : 'wait');
  });
});
