import { sliceRun, writeRunHeader } from '../isobmff/sample-run.js';
import type { Chunk, Segment, SegmentBytes } from '../timeline/segment.js';
import type { Track } from '../timeline/track.js';
import { writeEmsg } from './emsg.js';

export const HESP_SCHEME = 'urn:theo:hesp:2020';

/** Where an Initialization Packet continues: a Continuation Segment and a byte offset in it. */
export interface Continuation {
  readonly index: number;
  readonly offset: number;
}

/** A point of a track where playback can start: an IDR (video) or a chunk start (audio). */
export interface EntryPoint {
  readonly segment: Segment;
  /** The chunk that starts at the entry point. */
  readonly chunkIndex: number;
  /** Stream time (s) of the entry point. */
  readonly time: number;
  readonly next: Continuation;
}

/**
 * The entry points of a track, oldest first. Video: each IDR, which the timeline keeps alone in
 * its chunk, whose following sample already exists. Audio: each chunk start (every AAC frame is
 * independent). The single-encoder "Compatibility Profile" reading of draft-theo-hesp-06 App. C.2.
 */
export function entryPoints(track: Track): EntryPoint[] {
  const out: EntryPoint[] = [];
  const segments = track.segments();
  for (let s = 0; s < segments.length; s++) {
    const seg = segments[s]!;
    if (seg.state === 'gap') continue;
    let offset = 0;
    seg.chunks.forEach((chunk, c) => {
      const start = offset;
      offset += chunk.byteLength;
      const time = chunk.startTime / seg.timescale;
      if (track.kind === 'audio') {
        out.push({ segment: seg, chunkIndex: c, time, next: { index: seg.msn, offset: start } });
        return;
      }
      if (!chunk.independent) return;
      const next = nextAfter(segments, s, c, offset);
      if (next) out.push({ segment: seg, chunkIndex: c, time, next });
    });
  }
  return out;
}

/** The sample after the IDR chunk `c` of segment index `s`: the next chunk, or the next segment's start. */
function nextAfter(segments: readonly Segment[], s: number, c: number, offsetAfter: number): Continuation | null {
  const seg = segments[s]!;
  const chunk = seg.chunks[c]!;
  // The sample after the IDR must start a box; the timeline keeps each IDR alone in its chunk.
  if (chunk.sampleCount > 1) return null;
  if (c + 1 < seg.chunks.length) return { index: seg.msn, offset: offsetAfter };
  if (seg.state === 'open') return null;
  const following = segments[s + 1];
  if (following && following.msn === seg.msn + 1 && following.state !== 'gap') return { index: following.msn, offset: 0 };
  return null;
}

/**
 * An Initialization Packet (draft-theo-hesp-06 §4.2): the CMAF header, an `initdata` emsg whose
 * JSON names the Continuation Segment and byte offset of the next sample, and for video a
 * moof/mdat holding only the IDR (same tfdt as in the Continuation Stream).
 */
export function initializationPacket(track: Track, entry: EntryPoint, bytes: SegmentBytes): Buffer[] {
  const init = track.findInit(entry.segment.initId) ?? track.init;
  const chunk: Chunk = entry.segment.chunks[entry.chunkIndex]!;
  const video = track.kind === 'video';
  const run = video ? track.samples(bytes, chunk) : null;
  const idr = run ? (chunk.sampleCount === 1 ? run : sliceRun(run, 0, 1)) : null;
  // THEO's validator has no default for offset: it is always written.
  const message = Buffer.from(JSON.stringify({ index: entry.next.index, offset: entry.next.offset }));
  const emsg = writeEmsg({
    schemeIdUri: HESP_SCHEME,
    value: 'initdata',
    timescale: video ? entry.segment.timescale : 1,
    presentationTimeDelta: 0,
    eventDuration: idr ? idr.durations[0]! : 0,
    id: 0,
    messageData: message,
  });
  return idr ? [init.bytes, emsg, writeRunHeader(idr), idr.payload] : [init.bytes, emsg];
}
