import { LIVE, viewWindow, type ViewRequest } from '../dvr/view.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { vttSegmentUri, type PlaylistFlavor } from '../urls.js';
import { AttributeList, decimal, tag } from './attributes.js';
import { lowLatencyParams } from './low-latency.js';
import { FMP4_VERSION, LL_HLS_VERSION, TS_VERSION } from './media-playlist.js';

/**
 * The media playlist of a WebVTT track: its segments as `.vtt` text, same numbers, durations,
 * discontinuities and dates as the media. Whole segments only, in every flavor: partial segments
 * are optional per rendition ("EXT-X-PART-INF ... is REQUIRED if a Media Playlist contains one or
 * more EXT-X-PART tags", RFC 8216bis 4.4.3.7), and a cue lasts seconds, not a part. Null until the
 * track has a listed segment.
 */
export function renderVttPlaylist(stream: Stream, track: Track, flavor: PlaylistFlavor, request: ViewRequest = LIVE): string | null {
  const ll = lowLatencyParams(stream);
  const view = viewWindow(stream, track, request.view);
  const listed = view.segments;
  const first = listed[0];
  if (!first || !ll) return null;
  // The multivariant playlist's EXT-X-VERSION (validators flag a mismatch).
  const version = flavor === 'll-hls' ? LL_HLS_VERSION : flavor === 'ts' ? TS_VERSION : FMP4_VERSION;
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${version}`, `#EXT-X-TARGETDURATION:${ll.targetDuration}`];
  if (view.type) lines.push(`#EXT-X-PLAYLIST-TYPE:${view.type}`);
  if (view.startAt !== null) lines.push(tag('#EXT-X-START', new AttributeList().decimal('TIME-OFFSET', Math.max(0, view.startAt - first.startTime / first.timescale), 3).enumerated('PRECISE', 'YES')));
  const grid = stream.grid;
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${first.msn}`, `#EXT-X-DISCONTINUITY-SEQUENCE:${grid.discontinuitiesBefore(first.msn)}`);
  const media = flavor === 'ts' ? 'ts' : 'fmp4';
  for (const s of listed) {
    if (grid.get(s.msn)?.discontinuity ?? s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTimeMs).toISOString()}`);
    if (s.state === 'gap') lines.push('#EXT-X-GAP');
    lines.push(`#EXTINF:${decimal(s.seconds)},`, vttSegmentUri(stream.tag, s.msn, media));
  }
  if (view.ended) lines.push('#EXT-X-ENDLIST');
  lines.push('');
  return lines.join('\n');
}
