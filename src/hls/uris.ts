import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';

/**
 * Inner URL design, relative to `/live/{stream}/`: media objects carry the stream instance tag so
 * a restarted stream never collides with what caches hold of the previous one.
 *   {track}/index.m3u8                 media playlist
 *   {track}/{tag}/init-{id}.mp4        CMAF header
 *   {track}/{tag}/{msn}.m4s            segment
 */
export function mediaPlaylistUri(track: Track): string {
  return `${track.name}/index.m3u8`;
}

/** Relative to the media playlist. */
export function segmentUri(stream: Stream, segment: Segment): string {
  return `${stream.tag}/${segment.msn}.m4s`;
}

/** Relative to the media playlist. */
export function initUri(stream: Stream, initId: number): string {
  return `${stream.tag}/init-${initId}.mp4`;
}
