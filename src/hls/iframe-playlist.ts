import type { Keyframe, Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { AttributeList, decimal, tag } from './attributes.js';
import { FMP4_VERSION, LL_HLS_VERSION } from './media-playlist.js';
import { lowLatencyParams } from './low-latency.js';
import { iframePlaylistUri, initUri, segmentUri, type IframeFlavor } from '../urls.js';
import { LIVE, viewWindow, type ViewRequest } from '../dvr/view.js';
import { measureBitrate } from '../timeline/bitrate.js';

/**
 * The I-frame entry of a segment: the sync sample it starts with (a video segment always does).
 * One entry per segment, so the entries keep the segments' Media Sequence Numbers: a number per
 * sync sample would depend on how much of the stream an origin has seen, and "the Media Sequence
 * Number of each segment" must not change between reloads (RFC 8216bis 6.2.1). Null when the
 * segment has no known keyframe (a gap, or bytes the DVR lost).
 */
export function iframeOf(s: Segment): Keyframe | null {
  if (s.state !== 'complete') return null;
  const k = s.keyframes?.[0];
  return k && k.time === s.startTime ? k : null;
}

/**
 * The I-frame media playlist of a video track (trick play): each complete segment of the view as
 * the byte range of its first sync sample (`moof` + `mdat` up to the end of that sample), with
 * the segment's EXT-X-MAP, PDT, discontinuities and gaps. No parts, hints, skips or blocking
 * reload: partial segments SHOULD NOT be used with EXT-X-I-FRAMES-ONLY (RFC 8216bis 4.4.4.9), and
 * without parts the playlist changes once a segment, like the L-HLS one. Null until the track has
 * a listed segment.
 */
export function renderIframePlaylist(stream: Stream, track: Track, flavor: IframeFlavor, request: ViewRequest = LIVE): string | null {
  const ll = lowLatencyParams(stream);
  const view = viewWindow(stream, track, request.view);
  const listed = view.segments;
  const first = listed[0];
  if (!first || !ll) return null;
  // The multivariant playlist's version (validators flag a mismatch); "EXT-X-MAP ... [with] EXT-X-I-FRAMES-ONLY REQUIRES ... 5 or greater" (7).
  const version = flavor === 'll-hls' ? LL_HLS_VERSION : FMP4_VERSION;
  const lines: string[] = ['#EXTM3U', `#EXT-X-VERSION:${version}`, `#EXT-X-TARGETDURATION:${ll.targetDuration}`];
  if (view.type) lines.push(`#EXT-X-PLAYLIST-TYPE:${view.type}`);
  if (view.startAt !== null) {
    lines.push(tag('#EXT-X-START', new AttributeList().decimal('TIME-OFFSET', Math.max(0, view.startAt - first.startTime / first.timescale), 3).enumerated('PRECISE', 'YES')));
  }
  const grid = stream.grid;
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${first.msn}`, `#EXT-X-DISCONTINUITY-SEQUENCE:${grid.discontinuitiesBefore(first.msn)}`, '#EXT-X-I-FRAMES-ONLY');
  let mapped = '';
  for (const s of listed) {
    if (grid.get(s.msn)?.discontinuity ?? s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (s.initId !== mapped) {
      lines.push(`#EXT-X-MAP:URI="${initUri(stream.tag, s.initId)}"`);
      mapped = s.initId;
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTimeMs).toISOString()}`);
    const k = iframeOf(s);
    // "the time between the presentation time of the I-frame ... and ... of the next I-frame in the Playlist" (4.4.3.6): the next segment's start.
    lines.push(`#EXTINF:${decimal(s.seconds)},`);
    if (k) lines.push(`#EXT-X-BYTERANGE:${k.byteLength}@${k.byteOffset}`);
    else lines.push('#EXT-X-GAP');
    lines.push(segmentUri(stream.tag, s.msn));
  }
  if (view.ended) lines.push('#EXT-X-ENDLIST');
  lines.push('');
  return lines.join('\n');
}

/** Segments shorter than this don't set the peak (as in bitrate.ts). */
const MIN_PEAK_SECONDS = 0.5;

/**
 * Bit rate of the I-frame playlist over the track's listed segments: "the peak segment bit rate"
 * (4.4.6.3) of its entries, each its byte range over its EXTINF; the video's own peak when no
 * keyframe is known yet (segments restored from the DVR index, before a first I-frame request).
 */
export function iframeBitrate(track: Track): { peak: number; average: number } {
  let bytes = 0;
  let seconds = 0;
  let peak = 0;
  for (const s of track.listedSegments()) {
    const k = iframeOf(s);
    const sec = s.seconds;
    if (!k || !(sec > 0)) continue;
    bytes += k.byteLength;
    seconds += sec;
    if (sec >= MIN_PEAK_SECONDS) peak = Math.max(peak, (k.byteLength * 8) / sec);
  }
  if (seconds === 0) {
    const video = measureBitrate(track) ?? { peak: 0, average: 0 };
    return { peak: video.peak, average: video.average };
  }
  const average = (bytes * 8) / seconds;
  return { peak: Math.ceil(Math.max(peak, average)), average: Math.ceil(average) };
}

/** EXT-X-I-FRAME-STREAM-INF of each video track, for a multivariant playlist of `flavor`. */
export function iframeStreamInfs(videos: readonly Track[], flavor: IframeFlavor, suffix: string): string[] {
  return videos.map((v) => {
    const rate = iframeBitrate(v);
    const a = new AttributeList().integer('BANDWIDTH', rate.peak).integer('AVERAGE-BANDWIDTH', rate.average).quoted('CODECS', v.info.codec);
    if (v.info.width && v.info.height) a.resolution('RESOLUTION', v.info.width, v.info.height);
    a.quoted('URI', iframePlaylistUri(v.name, flavor) + suffix);
    return tag('#EXT-X-I-FRAME-STREAM-INF', a);
  });
}
