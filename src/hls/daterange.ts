import type { Cue } from '../scte35/cue.js';
import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { AttributeList, decimal, tag } from './attributes.js';

/** What a media playlist writes for SCTE-35 cues: EXT-X-DATERANGE, and optionally the legacy EXT-X-CUE-* tags too. */
export type CueTags = 'daterange' | 'daterange+cue-out';

const TOLERANCE = 1e-3;

/**
 * Wall clock of a cue: the PROGRAM-DATE-TIME of the segment of `track` that holds it, plus its
 * offset in that segment (what a player computes from the playlist), else the stream's clock.
 */
export function cueDateMs(stream: Stream, track: Track, cue: Cue): number {
  const msn = stream.grid.containing(cue.time, TOLERANCE)?.msn;
  const s = msn === undefined ? undefined : track.findSegment(msn);
  if (s && s.state !== 'gap') return s.programDateTimeMs + Math.round((cue.time - s.startTime / s.timescale) * 1000);
  return stream.wallClockMs(cue.time);
}

function breakEnd(stream: Stream, out: Cue): number {
  const back = stream.cues.inFor(out);
  if (back) return back.time;
  return out.duration !== null ? out.time + out.duration : Infinity;
}

/**
 * The tags for the cues a segment holds (`[start, end)`, its splice point at or near its start):
 * RFC 8216bis 4.4.5.1.1 "Mapping SCTE-35 into EXT-X-DATERANGE": the out with START-DATE,
 * PLANNED-DURATION and SCTE35-OUT; its in with the same ID (so the same START-DATE, "any
 * AttributeName that appears in both tags MUST have the same AttributeValue"), DURATION and
 * SCTE35-IN; other commands as SCTE35-CMD. With `daterange+cue-out`, EXT-X-CUE-OUT,
 * EXT-X-CUE-OUT-CONT and EXT-X-CUE-IN as ad insertion services read them.
 */
export function cueTagLines(stream: Stream, track: Track, s: Segment, mode: CueTags): string[] {
  const cues = stream.cues;
  if (cues.all.length === 0) return [];
  // The stream's boundaries, not this track's samples: every rendition (audio frames end a little
  // off the video's) puts a cue on the same segment number.
  const start = stream.grid.get(s.msn)?.time ?? s.startTime / s.timescale;
  const end = stream.grid.get(s.msn + 1)?.time ?? s.endTime / s.timescale;
  const lines: string[] = [];
  const legacy = mode === 'daterange+cue-out';
  let cueIn = false;
  let cueOut = false;
  for (const cue of cues.within(start, end)) {
    const date = cueDateMs(stream, track, cue);
    const a = new AttributeList().quoted('ID', cue.id);
    if (cue.type === 'out') {
      a.quoted('START-DATE', new Date(date).toISOString());
      if (cue.duration !== null) a.decimal('PLANNED-DURATION', cue.duration, 3);
      a.hex('SCTE35-OUT', cue.section);
      if (legacy && !cueOut) lines.push(cue.duration === null ? '#EXT-X-CUE-OUT' : `#EXT-X-CUE-OUT:DURATION=${decimal(cue.duration, 3)}`);
      cueOut = true;
    } else if (cue.type === 'in') {
      const out = cues.outFor(cue);
      a.quoted('START-DATE', new Date(out ? cueDateMs(stream, track, out) : date).toISOString());
      if (out) a.decimal('DURATION', cue.time - out.time, 3);
      a.hex('SCTE35-IN', cue.section);
      cueIn = true;
    } else {
      a.quoted('START-DATE', new Date(date).toISOString());
      a.hex('SCTE35-CMD', cue.section);
    }
    lines.push(tag('#EXT-X-DATERANGE', a));
  }
  if (!legacy || cueOut) return lines;
  if (cueIn) return ['#EXT-X-CUE-IN', ...lines];
  // A break that began before this segment: still on (its elapsed time), or over since the previous segment.
  let open: Cue | undefined;
  for (const c of cues.all) if (c.type === 'out' && c.time < start - TOLERANCE) open = c;
  if (!open) return lines;
  const until = breakEnd(stream, open);
  if (start < until - TOLERANCE) return [`#EXT-X-CUE-OUT-CONT:ElapsedTime=${decimal(start - open.time, 3)},Duration=${decimal(open.duration ?? until - open.time, 3)}`, ...lines];
  const previous = stream.grid.get(s.msn - 1);
  if (previous && previous.time < until - TOLERANCE && previous.time >= open.time - TOLERANCE) return ['#EXT-X-CUE-IN', ...lines];
  return lines;
}
