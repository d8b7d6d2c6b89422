// `npm run bench`: every benchmark, a table of medians and ratios to the reference measured in the
// same run. The machine is shared and noisy; compare ratios, not absolute figures.
import { benchMemory, benchParse } from './ingest.js';
import { benchTs } from './mpegts.js';

const rows: string[][] = [['benchmark', 'result', 'reference (same run)', 'ratio']];

const parse = benchParse();
rows.push([
  'ingest parse (box reader + chunker + timeline), 300 kbit/s 360p',
  `${parse.usPerFragment.toFixed(1)} µs/fragment (${Math.round(parse.bytesPerFragment)} B), ${parse.gbitPerSecond.toFixed(2)} Gbit/s`,
  `memcpy of the same bytes ${parse.memcpyGbitPerSecond.toFixed(1)} Gbit/s`,
  (parse.gbitPerSecond / parse.memcpyGbitPerSecond).toFixed(3),
]);

const mem = await benchMemory();
rows.push([
  'memory, 1 stream × 3 tracks, 120 s window',
  `${(mem.heapBytes / 1e6).toFixed(2)} MB heap+buffers for ${mem.segments} segments`,
  `${(mem.mediaBytes / 1e6).toFixed(2)} MB of media retained`,
  mem.ratio.toFixed(3),
]);

const ts = benchTs();
rows.push([
  `fMP4 → TS remux, cold (${ts.label})`,
  `${ts.msPerMb.toFixed(3)} ms/MB (${ts.segmentMs.toFixed(2)} ms per ${(ts.segmentBytes / 1e6).toFixed(2)} MB segment)`,
  `memcpy ${ts.memcpyMsPerMb.toFixed(3)} ms/MB`,
  (ts.msPerMb / ts.memcpyMsPerMb).toFixed(1),
]);
rows.push(['fMP4 → TS remux, cached segment', `${ts.cachedNs.toFixed(0)} ns per hit`, '-', '-']);

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
}
