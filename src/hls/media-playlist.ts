import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { AttributeList, decimal, tag } from './attributes.js';
import { hintedPart } from './boundary.js';
import { lowLatencyParams } from './low-latency.js';
import { initUri, partUri, segmentUri, siblingPlaylistUri } from '../urls.js';
import { LIVE, viewWindow, type ViewRequest } from '../dvr/view.js';

/** EXT-X-VERSION 9: EXT-X-SKIP (RFC 8216bis 8); used for every LL-HLS playlist so it never varies. */
export const LL_HLS_VERSION = 9;
/** EXT-X-VERSION 6: EXT-X-MAP in a media playlist that is not I-frames only. */
export const FMP4_VERSION = 6;
/** EXT-X-VERSION 3: decimal EXTINF, no EXT-X-MAP (MPEG-TS segments carry their own PAT/PMT). */
export const TS_VERSION = 3;

export type PartAddressing = 'uri' | 'byterange';

export type MediaPlaylistOptions =
  | {
      readonly flavor: 'll-hls';
      readonly partAddressing: PartAddressing;
      /** `_HLS_skip=YES`: a delta update. */
      readonly skip?: boolean;
    }
  | { readonly flavor: 'l-hls' }
  | {
      readonly flavor: 'ts';
      /** The audio muxed into this video track's TS segments: a segment is listed once its audio is complete too. */
      readonly muxedAudio?: Track | null;
    };

/**
 * The media playlist of a track, rendered from the timeline as it is now. LL-HLS, L-HLS and the
 * MPEG-TS variant are options of this one renderer. Null until the stream's first segment completes.
 */
export function renderMediaPlaylist(stream: Stream, track: Track, options: MediaPlaylistOptions, request: ViewRequest = LIVE): string | null {
  const ll = lowLatencyParams(stream);
  const view = viewWindow(stream, track, request.view);
  const listed = view.segments;
  const first = listed[0];
  if (!first || !ll) return null;
  const ended = view.ended;
  // Parts, hints and blocking reloads belong to the live edge: a VOD or time-shifted view has none.
  const lowLatency = options.flavor === 'll-hls' && view.edge;
  const version = options.flavor === 'll-hls' ? LL_HLS_VERSION : options.flavor === 'ts' ? TS_VERSION : FMP4_VERSION;
  const lines: string[] = ['#EXTM3U', `#EXT-X-VERSION:${version}`, `#EXT-X-TARGETDURATION:${ll.targetDuration}`];
  if (view.type) lines.push(`#EXT-X-PLAYLIST-TYPE:${view.type}`);
  if (view.startAt !== null) {
    // Start-over: players begin where the viewer asked, not at the live edge.
    lines.push(tag('#EXT-X-START', new AttributeList().decimal('TIME-OFFSET', Math.max(0, view.startAt - first.startTime / first.timescale), 3).enumerated('PRECISE', 'YES')));
  }
  if (lowLatency) {
    lines.push(
      tag(
        '#EXT-X-SERVER-CONTROL',
        new AttributeList()
          .enumerated('CAN-BLOCK-RELOAD', 'YES')
          .decimal('CAN-SKIP-UNTIL', ll.canSkipUntil, 3)
          .decimal('HOLD-BACK', ll.holdBack, 3)
          .decimal('PART-HOLD-BACK', ll.partHoldBack, 3),
      ),
      tag('#EXT-X-PART-INF', new AttributeList().decimal('PART-TARGET', ll.partTarget, 5)),
    );
  }
  // Discontinuities are the stream's, so every rendition numbers them alike (6.2.4).
  const grid = stream.grid;
  const discontinuous = (s: Segment): boolean => grid.get(s.msn)?.discontinuity ?? s.discontinuity;
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${first.msn}`, `#EXT-X-DISCONTINUITY-SEQUENCE:${grid.discontinuitiesBefore(first.msn)}`);

  let shown = listed;
  if (options.flavor === 'll-hls' && options.skip && !ended) {
    const kept = keptBySkipBoundary(listed, ll.canSkipUntil);
    if (kept < listed.length) {
      // "MUST replace the skipped Media Segments with ... EXT-X-SKIP", after MEDIA-SEQUENCE (hls.js PR #7905).
      lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${listed.length - kept}`);
      shown = listed.slice(listed.length - kept);
    }
  }

  const open = view.edge ? track.openSegment : null;
  const openParts = open ? open.parts.filter((p) => p.complete) : [];
  let mapped = '';
  const head = (s: Segment): void => {
    if (discontinuous(s)) lines.push('#EXT-X-DISCONTINUITY');
    if (options.flavor === 'ts') mapped = s.initId;
    if (s.initId !== mapped) {
      lines.push(`#EXT-X-MAP:URI="${initUri(stream.tag, s.initId)}"`);
      mapped = s.initId;
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTimeMs).toISOString()}`);
  };

  if (options.flavor === 'ts') {
    const audio = options.muxedAudio;
    // A TS segment is whole (and gets its Content-Length) once the audio muxed into it is.
    while (audio && shown.length > 0 && !audioSettled(stream, audio, shown[shown.length - 1]!.msn)) shown = shown.slice(0, -1);
    for (const s of shown) {
      head(s);
      segmentLines(lines, stream, s, 'ts');
    }
  } else if (options.flavor === 'l-hls' || !lowLatency) {
    for (const s of shown) {
      head(s);
      segmentLines(lines, stream, s);
    }
    if (options.flavor === 'l-hls' && view.edge && !ended) prefetchLines(lines, stream, track, mapped, discontinuous);
  } else {
    // "EXT-X-PART tags SHOULD be removed ... after they are greater than three Target Durations
    // from the end of the Playlist" (6.2.2): parts stay on the newest three entries, counting the
    // segment in production (hls-parser's strict reading of the same rule).
    // A track with a listed segment always has a next part.
    const next = hintedPart(stream, track)!;
    const entries: (Segment | null)[] = [...shown, ...(open && openParts.length > 0 ? [open] : [])];
    // A hint into a segment with no listed part yet opens an entry of its own.
    if (!ended && next.index === 0) entries.push(null);
    const withParts = new Set(entries.slice(-3));
    for (const s of shown) {
      // Tags that apply to a parent segment come before its first EXT-X-PART (4.4.4.9).
      head(s);
      if (withParts.has(s)) partLines(lines, stream, s, s.parts, options.partAddressing);
      segmentLines(lines, stream, s);
    }
    if (open && openParts.length > 0) {
      head(open);
      partLines(lines, stream, open, openParts, options.partAddressing);
    }
    if (!ended) {
      // hls.js loops without a preload hint (gohlslib); "MUST NOT" appear with EXT-X-ENDLIST.
      const hint = new AttributeList().enumerated('TYPE', 'PART');
      if (options.partAddressing === 'byterange') hint.quoted('URI', segmentUri(stream.tag, next.msn)).integer('BYTERANGE-START', next.byteOffset);
      else hint.quoted('URI', partUri(stream.tag, next.msn, next.index));
      lines.push(tag('#EXT-X-PRELOAD-HINT', hint));
    }
    // Other renditions are reported as of this playlist's newest part: what two origins fed the
    // same media report alike, whichever connection's bytes happened to land first.
    const edge = track.lastCompletePartEnd();
    for (const other of stream.orderedTracks()) {
      if (other === track) continue;
      const last = edge === null ? null : other.lastCompletePartBy(edge);
      if (!last || other.listedSegments().length === 0) continue;
      lines.push(tag('#EXT-X-RENDITION-REPORT', new AttributeList().quoted('URI', siblingPlaylistUri(other.name) + request.suffix).integer('LAST-MSN', last.msn).integer('LAST-PART', last.index)));
    }
  }
  if (ended) lines.push('#EXT-X-ENDLIST');
  lines.push('');
  return lines.join('\n');
}

function segmentLines(lines: string[], stream: Stream, s: Segment, extension: 'm4s' | 'ts' = 'm4s'): void {
  if (s.state === 'gap') lines.push('#EXT-X-GAP');
  lines.push(`#EXTINF:${decimal(s.seconds)},`, segmentUri(stream.tag, s.msn, extension));
}

function partLines(lines: string[], stream: Stream, s: Segment, parts: Segment['parts'], addressing: PartAddressing): void {
  for (const p of parts) {
    if (!p.complete) continue;
    const a = new AttributeList().decimal('DURATION', p.duration / s.timescale, 5);
    if (addressing === 'byterange') a.quoted('URI', segmentUri(stream.tag, s.msn)).quoted('BYTERANGE', `${p.byteLength}@${p.byteOffset}`);
    else a.quoted('URI', partUri(stream.tag, s.msn, p.index));
    // "EXT-X-PART ... INDEPENDENT=YES if the Partial Segment contains an independent frame"
    if (p.independent) a.enumerated('INDEPENDENT', 'YES');
    lines.push(tag('#EXT-X-PART', a));
  }
}

/** L-HLS: the segment in production and the next one, streamed as they are produced. */
function prefetchLines(lines: string[], stream: Stream, track: Track, mapped: string, discontinuous: (s: Segment) => boolean): void {
  const open = track.openSegment;
  // A prefetch segment cannot be preceded by EXT-X-MAP: one that needs a new header waits.
  if (open && open.initId !== mapped) return;
  if (open) {
    if (discontinuous(open)) lines.push('#EXT-X-PREFETCH-DISCONTINUITY');
    lines.push(`#EXT-X-PREFETCH:${segmentUri(stream.tag, open.msn)}`);
  }
  if (track.lastMsn !== null) lines.push(`#EXT-X-PREFETCH:${segmentUri(stream.tag, track.lastMsn + 1)}`);
}

/** Whether an audio track's part of segment `msn` is final: complete, a gap, or never coming. */
export function audioSettled(stream: Stream, audio: Track, msn: number): boolean {
  if (msn <= audio.quietThrough) return true;
  const seg = audio.findSegment(msn);
  if (seg) return seg.state !== 'open';
  return audio.state !== 'active' || stream.ended || (audio.lastMsn ?? -1) > msn;
}

/**
 * How many of the newest segments a delta update keeps: the longest suffix whose duration fits
 * the Skip Boundary (Apple's worked example: TD 4, CAN-SKIP-UNTIL 24 keeps exactly 24 s).
 */
export function keptBySkipBoundary(listed: readonly Segment[], skipBoundary: number): number {
  let total = 0;
  let kept = 0;
  for (let i = listed.length - 1; i >= 0; i--) {
    total += listed[i]!.seconds;
    if (total > skipBoundary + 1e-9) break;
    kept++;
  }
  return kept;
}
