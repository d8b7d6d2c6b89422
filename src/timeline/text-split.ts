import type { SampleRun } from '../isobmff/sample-run.js';
import type { SegmentGrid } from './grid.js';

/**
 * A text run whose samples never straddle a segment boundary of the grid, nor a part boundary
 * (every `partSeconds` from a segment's start): a sample that does is carried again for each
 * piece (a cue spanning samples is carried by each, ISO/IEC 14496-30 7.3; a TTML document's times
 * are the track's, so it stays true over any piece). `t0` is the run's start on the stream
 * timeline, in ticks. A run that needs no cut comes back as it was.
 */
export function splitAtBoundaries(run: SampleRun, t0: number, timescale: number, grid: SegmentGrid, partSeconds: number): SampleRun {
  const n = run.durations.length;
  const part = Math.max(1, Math.round(partSeconds * timescale));
  const cuts: number[][] = [];
  let any = false;
  let t = t0;
  for (let i = 0; i < n; i++) {
    const d = run.durations[i]!;
    const inside: number[] = [];
    let b = grid.containing(t / timescale, 0);
    while (b) {
      const start = Math.round(b.time * timescale);
      if (start >= t + d) break;
      const next = grid.get(b.msn + 1);
      const end = next ? Math.round(next.time * timescale) : Infinity;
      for (let at = start; at < Math.min(end, t + d); at += part) if (at > t) inside.push(at - t);
      if (end < t + d && end > t) inside.push(end - t);
      b = next;
    }
    const unique = [...new Set(inside)].sort((x, y) => x - y);
    cuts.push(unique);
    if (unique.length > 0) any = true;
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
