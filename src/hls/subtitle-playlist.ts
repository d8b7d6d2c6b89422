import { LIVE, viewWindow, type ViewRequest } from '../dvr/view.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { vttSegmentUri } from '../urls.js';
import { AttributeList, decimal, tag } from './attributes.js';
import { lowLatencyParams } from './low-latency.js';
import { FMP4_VERSION, TS_VERSION } from './media-playlist.js';

/**
 * The L-HLS and MPEG-TS media playlist of a WebVTT track: its segments as `.vtt` text, same
 * numbers, durations, discontinuities and dates as the media; whole segments only (the LL-HLS one
 * is `webVttLowLatency`). Null until the track has a listed segment.
 */
export function renderVttPlaylist(stream: Stream, track: Track, flavor: 'l-hls' | 'ts', request: ViewRequest = LIVE): string | null {
  const ll = lowLatencyParams(stream);
  const view = viewWindow(stream, track, request.view);
  const listed = view.segments;
  const first = listed[0];
  if (!first || !ll) return null;
  // The multivariant playlist's EXT-X-VERSION (validators flag a mismatch).
  const version = flavor === 'ts' ? TS_VERSION : FMP4_VERSION;
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

const MAP = /^#EXT-X-MAP:.*\n/gm;
const MEDIA_URI = /(\/\d+(?:\.\d+)?)\.m4s(?="|$)/gm;

/**
 * The LL-HLS media playlist of a WebVTT track from the one its fMP4 would have (rendered with
 * URI parts): the same segments, parts, hints, skips and reports, as `.vtt` text with no
 * EXT-X-MAP. hls.js 1.7 loads subtitle parts at the live edge; with whole segments only, its
 * playhead (PART-HOLD-BACK behind the edge) passes each segment before it is listed.
 */
export function webVttLowLatency(fmp4Playlist: string): string {
  return fmp4Playlist.replace(MAP, '').replace(MEDIA_URI, '$1.vtt');
}
