import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';

/*
 * LL-HLS at a segment boundary.
 * - The preload hint names the part that comes next (hintedPart): once every part of the segment
 *   in production is complete and the segment ends there, the first part of the next segment.
 * - A request for a part is held while that part may still come and answered 404 the moment its
 *   segment closes without it (blocking.ts lookupPart, 6.2.6).
 * - `_HLS_part` past the last part of a closed segment is part 0 of the next (blocking.ts
 *   normalize, 6.2.5.2): a client that counted the hint as a part of the closing segment waits
 *   for exactly the part the hint named.
 * - Between a segment's close and the first complete part of the next one the playlist ends with
 *   a complete segment and a bare hint (endsWithBareHint), for at most a part target; blocking
 *   responses in that state are not cached (hls-routes.ts).
 */

/** A Partial Segment position, with its byte offset in its segment (BYTERANGE-START). */
export interface PartPosition {
  readonly msn: number;
  readonly index: number;
  readonly byteOffset: number;
}

/**
 * The playlist ends with a complete segment and a bare hint: the segment after it has no complete
 * part yet (for at most a part target). Such a playlist is not cached (hls-routes.ts): from it
 * video.js 8 (VHS 3.17) keeps the parts of its previous reload as those of the segment in
 * production and asks again for a part of the closed segment, with the very URL it has just been
 * answered on; cached for 6 × TD, that answer came back from the browser cache until it expired
 * (a 10-12 s stall at a segment boundary).
 */
export function endsWithBareHint(track: Track): boolean {
  const open = track.openSegment;
  if (!open || open.parts.some((p) => p.complete)) return false;
  return track.findSegment(open.msn - 1)?.state === 'complete';
}

/**
 * Whether the segment in production ends with the media it holds now: its next sample opens the
 * next segment. Known when the grid has the next boundary (another rendition cut there, or the
 * video did for the audio); predicted for the track that decides it: where the next segment
 * slot starts, or one GOP after the segment start when the encoder's GOP is longer than a slot.
 */
export function segmentEndsHere(stream: Stream, track: Track, open: Segment): boolean {
  const ts = open.timescale;
  const end = open.endTime / ts;
  const halfSample = track.sampleDuration / ts / 2;
  const next = stream.grid.get(open.msn + 1);
  if (next) return end >= next.time - halfSample;
  // Audio cuts where the video does: until the video has decided, the boundary is unknown.
  if (track.kind !== 'video' && stream.hasActiveVideo()) return false;
  const start = stream.grid.get(open.msn)?.time ?? open.startTime / ts;
  const nominal = stream.nominalSegmentDuration ?? stream.options.targetDuration;
  const expected = track.kind === 'video' && nominal > stream.options.targetDuration * 1.25 ? start + nominal : stream.slotEnd(open.msn);
  return end >= expected - Math.max(halfSample, 0.001);
}

/**
 * The part the preload hint names (4.4.5.3, "the next Partial Segment"): the part in production;
 * when every part of the segment in production is complete, the first part of the next segment
 * if the segment ends here, else the next part of the same one; the first part of the next
 * segment when none is in production.
 */
export function hintedPart(stream: Stream, track: Track): PartPosition | null {
  const next = track.nextPart();
  const open = track.openSegment;
  if (next && open && next.msn === open.msn && next.index > 0 && next.index === open.parts.length && segmentEndsHere(stream, track, open)) {
    return { msn: open.msn + 1, index: 0, byteOffset: 0 };
  }
  return next;
}
