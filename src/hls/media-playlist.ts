import type { Track } from '../timeline/track.js';
import { decimal } from './attributes.js';
import { initUri, segmentUri } from './uris.js';

/** Version 6: EXT-X-MAP in a media playlist that is not I-frames only (RFC 8216bis 8). */
export const MEDIA_PLAYLIST_VERSION = 6;

/** Renders the media playlist of a track from the timeline as it is now; null before its first segment. */
export function renderMediaPlaylist(track: Track): string | null {
  const stream = track.stream;
  const segments = track.listedSegments();
  const first = segments[0];
  if (!first || stream.targetDuration === null) return null;
  let discontinuitySequence = track.discontinuitySequence;
  for (const s of track.segments) {
    if (s === first) break;
    if (s.discontinuity) discontinuitySequence++;
  }
  const lines: string[] = [
    '#EXTM3U',
    `#EXT-X-VERSION:${MEDIA_PLAYLIST_VERSION}`,
    `#EXT-X-TARGETDURATION:${stream.targetDuration}`,
    `#EXT-X-MEDIA-SEQUENCE:${first.msn}`,
    // Apple AS 8.17: present whenever a live stream may ever carry a discontinuity.
    `#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`,
  ];
  let mapped = -1;
  for (const s of segments) {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (s.initId !== mapped) {
      lines.push(`#EXT-X-MAP:URI="${initUri(stream, s.initId)}"`);
      mapped = s.initId;
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTimeMs).toISOString()}`);
    if (s.state === 'gap') lines.push('#EXT-X-GAP');
    lines.push(`#EXTINF:${decimal(s.seconds)},`, segmentUri(stream, s));
  }
  if (stream.ended) lines.push('#EXT-X-ENDLIST');
  lines.push('');
  return lines.join('\n');
}
