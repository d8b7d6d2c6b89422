import type { SampleRun } from '../isobmff/sample-run.js';
import type { SegmentGrid } from './grid.js';

/**
 * A text run whose samples never straddle a segment boundary of the grid: a sample that does is
 * carried twice, cut at the boundary (a cue spanning samples is carried by each, ISO/IEC 14496-30
 * 7.3; a TTML document's times are the track's, so it stays true over either piece). `t0` is the
 * run's start on the stream timeline, in ticks. Runs that need no cut come back as they were.
 */
export function splitAtBoundaries(run: SampleRun, t0: number, timescale: number, grid: SegmentGrid): SampleRun {
  const n = run.durations.length;
  const cuts: number[][] = [];
  let any = false;
  let t = t0;
  for (let i = 0; i < n; i++) {
    const d = run.durations[i]!;
    const inside: number[] = [];
    // Boundaries strictly inside (t, t + d), at whole ticks.
    let b = grid.containing((t + d) / timescale, 0);
    while (b && Math.round(b.time * timescale) > t) {
      const at = Math.round(b.time * timescale);
      if (at < t + d) inside.unshift(at - t);
      b = grid.get(b.msn - 1);
    }
    cuts.push(inside);
    if (inside.length > 0) any = true;
    t += d;
  }
  if (!any) return run;
  const durations: number[] = [];
  const sizes: number[] = [];
  const flags: number[] = [];
  const ctos: number[] = [];
  const payload: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = run.sizes[i]!;
    const data = run.payload.subarray(at, at + size);
    at += size;
    let from = 0;
    for (const edge of [...cuts[i]!, run.durations[i]!]) {
      durations.push(edge - from);
      sizes.push(size);
      flags.push(run.flags[i]!);
      ctos.push(run.ctos[i]!);
      payload.push(data);
      from = edge;
    }
  }
  return { ...run, durations: Uint32Array.from(durations), sizes: Uint32Array.from(sizes), flags: Uint32Array.from(flags), ctos: Int32Array.from(ctos), payload: Buffer.concat(payload) };
}
