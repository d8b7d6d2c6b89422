import { malformed } from '../errors.js';
import { checkNalUnits } from './codecs/nal.js';
import type { TrackInfo } from './init.js';
import type { SampleRun } from './sample-run.js';

/** Most samples one track fragment may carry (a 10 s fragment at 1,000 frames/s). */
export const MAX_RUN_SAMPLES = 10_000;
/** Longest single sample accepted, in seconds (an 11 s AAC frame is a corrupt or hostile input). */
export const MAX_SAMPLE_SECONDS = 10;
/** Longest track fragment accepted, in seconds. */
export const MAX_RUN_SECONDS = 60;
/** Largest composition offset accepted, in seconds. */
const MAX_CTO_SECONDS = 10;
/** ADTS aac_frame_length has 13 bits and counts the 7-byte header (ISO/IEC 13818-7 6.2). */
const MAX_AAC_FRAME = 0x1fff - 7;
const MAX_U64 = (1n << 64n) - 1n;

/**
 * Checks a track fragment's sample table and samples against what the timeline and every writer
 * can represent, before any of it is used: every sample has bytes and a duration, no sample or
 * fragment lasts implausibly long, `tfdt` plus the fragment's duration fits 64 bits, composition
 * offsets are bounded, H.264/HEVC samples are whole NAL units, AAC frames fit ADTS. Linear in
 * the samples (and the NAL units) of the fragment.
 */
export function checkRun(run: SampleRun, info: TrackInfo): void {
  const n = run.durations.length;
  if (n > MAX_RUN_SAMPLES) throw malformed(`track ${info.trackId}: a fragment of ${n} samples (at most ${MAX_RUN_SAMPLES})`);
  const ts = info.timescale;
  const maxSample = MAX_SAMPLE_SECONDS * ts;
  const maxCto = MAX_CTO_SECONDS * ts;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = run.durations[i]!;
    if (d === 0) throw malformed(`track ${info.trackId}: sample ${i} has duration 0`);
    if (d > maxSample) throw malformed(`track ${info.trackId}: sample ${i} lasts ${(d / ts).toFixed(3)} s (at most ${MAX_SAMPLE_SECONDS} s)`);
    if (run.sizes[i] === 0) throw malformed(`track ${info.trackId}: sample ${i} has no bytes`);
    const c = run.ctos[i]!;
    if (c > maxCto || c < -maxCto) throw malformed(`track ${info.trackId}: sample ${i} has a composition offset of ${(c / ts).toFixed(3)} s`);
    total += d;
  }
  if (total > MAX_RUN_SECONDS * ts) throw malformed(`track ${info.trackId}: a fragment of ${(total / ts).toFixed(3)} s (at most ${MAX_RUN_SECONDS} s)`);
  if (run.baseMediaDecodeTime + BigInt(total) > MAX_U64) throw malformed(`track ${info.trackId}: tfdt ${run.baseMediaDecodeTime} plus the fragment's duration overflows 64 bits`);
  const lengthSize = info.nalLengthSize;
  if (lengthSize !== undefined) {
    let at = 0;
    for (let i = 0; i < n; i++) {
      const size = run.sizes[i]!;
      checkNalUnits(run.payload, at, at + size, lengthSize);
      at += size;
    }
  } else if (info.sampleEntry === 'mp4a') {
    for (let i = 0; i < n; i++) if (run.sizes[i]! > MAX_AAC_FRAME) throw malformed(`track ${info.trackId}: an AAC frame of ${run.sizes[i]} bytes (at most ${MAX_AAC_FRAME})`);
  }
}
