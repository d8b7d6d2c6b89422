import type { Stream } from '../timeline/stream.js';

/** The LL-HLS constants of a stream: decided once, identical in every rendition and every reload. */
export interface LowLatencyParams {
  readonly targetDuration: number;
  readonly partTarget: number;
  /** Apple AS 14.3: "PART-HOLD-BACK MUST be at least three times the Part Target Duration". */
  readonly partHoldBack: number;
  /** RFC 8216bis 4.4.3.8: HOLD-BACK MUST be at least three times the Target Duration. */
  readonly holdBack: number;
  /** RFC 8216bis 4.4.3.8: the Skip Boundary MUST be at least six times the Target Duration. */
  readonly canSkipUntil: number;
  /** RFC 8216bis 6.2.5.2: how far past the last part a blocking request may point. */
  readonly advancePartLimit: number;
}

const roundUp3 = (x: number): number => Math.ceil(x * 1000 - 1e-6) / 1000;

const decided = new WeakMap<Stream, LowLatencyParams>();

/** Decided once, when the stream's target duration and part target are (and never again). */
export function lowLatencyParams(stream: Stream): LowLatencyParams | null {
  const known = decided.get(stream);
  if (known) return known;
  const td = stream.targetDuration;
  const pt = stream.partTarget;
  if (td === null || pt === null) return null;
  const params: LowLatencyParams = {
    targetDuration: td,
    partTarget: pt,
    partHoldBack: roundUp3(3 * pt),
    holdBack: 3 * td,
    canSkipUntil: 6 * td,
    // "three divided by the Part Target Duration if it is less than one second, else three"
    advancePartLimit: pt < 1 ? 3 / pt : 3,
  };
  decided.set(stream, params);
  return params;
}
