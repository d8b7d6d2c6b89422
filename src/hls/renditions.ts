import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { mediaPlaylistUri, type PlaylistFlavor } from '../urls.js';
import { AttributeList, tag } from './attributes.js';

export const SUBTITLES_GROUP = 'subs';
export const CAPTIONS_GROUP = 'cc';

/** A WebVTT track: served to HLS as `.vtt` text segments (Apple players do not read `wvtt` in fMP4). */
export function isWebVtt(track: Track): boolean {
  return track.kind === 'text' && track.info.sampleEntry === 'wvtt';
}

/**
 * The text tracks a multivariant playlist of this flavor offers, in one group of one format:
 * the WebVTT tracks, or else (fMP4 flavors only) the IMSC1 ones. hls.js 1.7 takes the format of
 * every rendition of a group from the variant's CODECS (`textCodec`): with stpp listed there, it
 * parses WebVTT segments as IMSC1 and shows nothing. Only tracks with a listed segment.
 */
export function subtitleTracks(stream: Stream, flavor: PlaylistFlavor): Track[] {
  const text = stream.orderedTracks().filter((t) => t.kind === 'text' && t.listedSegments().length > 0);
  const vtt = text.filter(isWebVtt);
  return vtt.length > 0 || flavor === 'ts' ? vtt : text;
}

/**
 * The INSTREAM-ID of the captions every video track carries (608 first), or null when one of them
 * carries none: with NONE, "all EXT-X-STREAM-INF tags MUST have this attribute with a value of
 * NONE" (RFC 8216bis 4.4.6.2), so captions are declared only when every video track has them.
 */
export function closedCaptions(stream: Stream): 'CC1' | 'SERVICE1' | null {
  const videos = stream.orderedTracks().filter((t) => t.kind === 'video');
  if (videos.length === 0) return null;
  if (videos.every((v) => v.captions.cea608)) return 'CC1';
  if (videos.every((v) => v.captions.cea708)) return 'SERVICE1';
  return null;
}

/** The EXT-X-MEDIA tags of the subtitle renditions and of the closed captions. */
export function textMediaTags(stream: Stream, flavor: PlaylistFlavor, suffix: string): string[] {
  const lines: string[] = [];
  for (const t of subtitleTracks(stream, flavor)) {
    const a = new AttributeList().enumerated('TYPE', 'SUBTITLES').quoted('GROUP-ID', SUBTITLES_GROUP).quoted('NAME', t.name);
    if (t.info.language !== 'und') a.quoted('LANGUAGE', t.info.language);
    a.enumerated('DEFAULT', 'NO').enumerated('AUTOSELECT', 'YES').enumerated('FORCED', 'NO').quoted('URI', mediaPlaylistUri(t.name, flavor) + suffix);
    lines.push(tag('#EXT-X-MEDIA', a));
  }
  const cc = closedCaptions(stream);
  if (cc) {
    const video = stream.orderedTracks().find((t) => t.kind === 'video')!;
    const a = new AttributeList().enumerated('TYPE', 'CLOSED-CAPTIONS').quoted('GROUP-ID', CAPTIONS_GROUP).quoted('NAME', cc === 'CC1' ? 'CC1' : 'Service 1');
    if (video.info.language !== 'und') a.quoted('LANGUAGE', video.info.language);
    a.enumerated('DEFAULT', 'NO').enumerated('AUTOSELECT', 'YES').quoted('INSTREAM-ID', cc);
    lines.push(tag('#EXT-X-MEDIA', a));
  }
  return lines;
}

/** The RFC 6381 codecs a variant gains from its subtitle group: IMSC1's `stpp.ttml.*` (WebVTT text segments have none). */
export function subtitleCodecs(stream: Stream, flavor: PlaylistFlavor): string[] {
  const codecs = new Set<string>();
  for (const t of subtitleTracks(stream, flavor)) if (!isWebVtt(t)) codecs.add(t.info.codec);
  return [...codecs];
}

/** SUBTITLES and CLOSED-CAPTIONS of a variant (CLOSED-CAPTIONS=NONE on every variant without captions). */
export function addTextGroups(a: AttributeList, stream: Stream, flavor: PlaylistFlavor, hasVideo: boolean): AttributeList {
  if (subtitleTracks(stream, flavor).length > 0) a.quoted('SUBTITLES', SUBTITLES_GROUP);
  const cc = closedCaptions(stream);
  if (cc && hasVideo) a.quoted('CLOSED-CAPTIONS', CAPTIONS_GROUP);
  else if (!cc) a.enumerated('CLOSED-CAPTIONS', 'NONE');
  return a;
}
