import type { Track } from './track.js';

export interface Bitrate {
  /** Largest segment bit rate over the listed segments (bits/s). */
  readonly peak: number;
  /** Total bits over total seconds of the listed segments (bits/s). */
  readonly average: number;
}

/** Segments shorter than this don't set the peak: their rate says little (RFC 8216bis 4.4.6.2). */
const MIN_PEAK_SECONDS = 0.5;

/** Measured bit rate of a track over its listed segments; undefined before the first. */
export function measureBitrate(track: Track): Bitrate | undefined {
  let bytes = 0;
  let seconds = 0;
  let peak = 0;
  for (const s of track.listedSegments()) {
    const sec = s.seconds;
    if (s.state !== 'complete' || !(sec > 0)) continue;
    bytes += s.byteLength;
    seconds += sec;
    if (sec >= MIN_PEAK_SECONDS) peak = Math.max(peak, (s.byteLength * 8) / sec);
  }
  if (seconds === 0) return undefined;
  const average = (bytes * 8) / seconds;
  return { peak: Math.ceil(Math.max(peak, average)), average: Math.ceil(average) };
}
