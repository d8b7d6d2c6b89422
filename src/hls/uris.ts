import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';

/**
 * Inner URL design, relative to `/live/{stream}/`: media objects carry the stream instance tag so
 * a restarted stream never collides with what caches hold of the previous one.
 *   {track}/index.m3u8                 LL-HLS media playlist
 *   {track}/lhls.m3u8                  L-HLS media playlist
 *   {track}/ts.m3u8                    MPEG-TS media playlist
 *   {track}/{tag}/{msn}.ts             MPEG-TS segment (video muxed with the default audio)
 *   {track}/{tag}/init-{id}.mp4        CMAF header
 *   {track}/{tag}/{msn}.m4s            segment
 *   {track}/{tag}/{msn}.{part}.m4s     partial segment
 */
export type PlaylistFlavor = 'll-hls' | 'l-hls' | 'ts';

export function mediaPlaylistUri(track: Track, flavor: PlaylistFlavor = 'll-hls'): string {
  return `${track.name}/${flavor === 'l-hls' ? 'lhls' : flavor === 'ts' ? 'ts' : 'index'}.m3u8`;
}

/** Relative to the media playlist. */
export function segmentUri(stream: Stream, segment: Segment | number, extension: 'm4s' | 'ts' = 'm4s'): string {
  return `${stream.tag}/${typeof segment === 'number' ? segment : segment.msn}.${extension}`;
}

/** Relative to the media playlist. */
export function partUri(stream: Stream, msn: number, index: number): string {
  return `${stream.tag}/${msn}.${index}.m4s`;
}

/** Relative to the media playlist. */
export function initUri(stream: Stream, initId: number): string {
  return `${stream.tag}/init-${initId}.mp4`;
}

/** Another rendition's media playlist, relative to this one. */
export function siblingPlaylistUri(track: Track, flavor: PlaylistFlavor = 'll-hls'): string {
  return `../${mediaPlaylistUri(track, flavor)}`;
}
