import { MDAT, MOOF } from '../isobmff/fourcc.js';
import { isSyncSample, parseMoof } from '../isobmff/fragment.js';
import type { Keyframe, Segment } from './segment.js';
import type { Track } from './track.js';

/** What is read of a stored segment to find its first keyframe: `[prft|emsg]* moof` and the mdat header fit. */
const HEAD_BYTES = 16 * 1024;

/**
 * The sync sample a segment starts with, from the first bytes of the segment (`head`): its `moof`
 * (after any prft/emsg) and its `mdat` up to the end of that sample. Null when the head does not
 * hold the whole moof, or its first sample is not a sync sample.
 */
export function firstKeyframe(track: Track, segment: Segment, head: Buffer): Keyframe | null {
  let at = 0;
  while (at + 8 <= head.length) {
    const size = head.readUInt32BE(at);
    const type = head.readUInt32BE(at + 4);
    if (size < 8) return null;
    if (type === MOOF) break;
    at += size;
  }
  const moofSize = at + 8 <= head.length ? head.readUInt32BE(at) : 0;
  const mdat = at + moofSize;
  if (moofSize < 8 || mdat + 16 > head.length || head.readUInt32BE(mdat + 4) !== MDAT) return null;
  const defaults = (track.findInit(segment.initId)?.info ?? track.info).defaults;
  const traf = parseMoof(head.subarray(at, mdat), 8, 0, () => defaults).trafs[0];
  if (!traf || traf.sampleCount === 0 || !isSyncSample(traf.flags[0]!)) return null;
  const mdatHeader = head.readUInt32BE(mdat) === 1 ? 16 : 8;
  const time = segment.startTime + Number(traf.baseMediaDecodeTime - (segment.baseMediaDecodeTime ?? traf.baseMediaDecodeTime));
  return { byteOffset: at, byteLength: moofSize + mdatHeader + traf.sizes[0]!, time };
}

/**
 * Makes sure every complete segment of `segments` knows the keyframe it starts with: those
 * restored from the DVR index read their first bytes from the store, once (a failed read or an
 * unreadable head leaves them none: gaps in the I-frame list). Whether any changed.
 */
export async function loadKeyframes(track: Track, segments: readonly Segment[]): Promise<boolean> {
  let changed = false;
  for (const s of segments) {
    if (s.keyframes !== null || s.state !== 'complete') continue;
    changed = true;
    try {
      const store = track.host.store;
      const head = store.resident(s.key) ?? (await store.read(s.key, 0, Math.min(s.byteLength, HEAD_BYTES)));
      const k = firstKeyframe(track, s, head);
      s.keyframes = k ? [k] : [];
    } catch {
      // Lost bytes are the store's to report.
      s.keyframes = [];
    }
  }
  return changed;
}

/** Whether some complete segment of `segments` does not know its keyframes yet. */
export function keyframesMissing(segments: readonly Segment[]): boolean {
  return segments.some((s) => s.keyframes === null && s.state === 'complete');
}
