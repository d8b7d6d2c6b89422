/**
 * PART-TARGET from the encoder's fragment cadence, when the configuration sets none: one CMAF
 * chunk is one part, so a part is published the moment its chunk lands.
 *
 * An encoder that cuts fragments by duration (ffmpeg's `-frag_duration F`, movenc) closes a
 * fragment at the first sample at or past F, so every full chunk lasts F plus less than one of
 * its samples: 200 ms of 25 fps video lasts 0.200 s, 200 ms of 48 kHz AAC 0.2133 s (10 frames),
 * of 44.1 kHz AAC 0.209 s. F is the multiple of CADENCE_STEP in (chunk − last sample, chunk],
 * the same value whichever track's chunk shows it, so every origin decides alike however it
 * joined. PART-TARGET is F plus HEADROOM, which holds the overshoot of the usual tracks at the
 * usual cadences (200 ms: 13.3 ms for 48 kHz AAC, 9 ms for 44.1 kHz, 8.5 ms for 23.976 fps; 500 ms:
 * at most 12 ms) and keeps a full video chunk above 85 % of it (RFC 8216bis 4.4.4.9: a Partial
 * Segment that is not the last of its parent nor INDEPENDENT "MUST" last at least 85 % of the
 * Part Target Duration). A chunk that overshoots more (HE-AAC, 32 kHz AAC) is split into two
 * parts; every audio part is INDEPENDENT, so any length is allowed there.
 */

export const CADENCE_STEP = 0.05;
export const HEADROOM = 0.015;
/** Below this cadence (a fragment per frame) a part groups several chunks: the fallback. */
export const MIN_CADENCE = 0.2;
/** When the chunks say nothing usable (per-frame fragments, a fragment per segment). */
export const FALLBACK_PART_TARGET = 0.5;

/** The encoder's fragment duration as one chunk shows it, in seconds, or null. */
export function fragmentCadence(chunkSeconds: number, lastSampleSeconds: number): number | null {
  const steps = Math.floor(chunkSeconds / CADENCE_STEP + 1e-6);
  const f = Math.round(steps * CADENCE_STEP * 1000) / 1000;
  return steps > 0 && f > chunkSeconds - lastSampleSeconds + 1e-6 ? f : null;
}

/**
 * The part target of a stream whose configuration sets none, from its first chunk: the
 * fragment cadence plus headroom, or FALLBACK_PART_TARGET when the cadence is under
 * MIN_CADENCE, unknown, or leaves fewer than two parts per segment.
 */
export function partTargetFromChunk(chunkSeconds: number, lastSampleSeconds: number, targetDuration: number): number {
  const f = fragmentCadence(chunkSeconds, lastSampleSeconds);
  if (f === null || f < MIN_CADENCE - 1e-9 || f + HEADROOM > targetDuration / 2) return Math.min(FALLBACK_PART_TARGET, targetDuration);
  return Math.round((f + HEADROOM) * 1000) / 1000;
}
