// `npm run bench`: every benchmark, medians of several runs, each next to its reference measured
// in the same run, as a table; a full run also rewrites bench/RESULTS.md. The machine is shared
// and noisy: read the ratios to the references, not the absolute figures.
//   npm run bench                      all, then bench/RESULTS.md
//   npm run bench -- playlist held1k   only those (names below), no RESULTS.md
//   npm run bench -- edge1k edge5k     fan-out through the Varnish edge against direct
//   npm run bench -- --quick           one run of each, shorter
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchEdgeFanout, benchFanout, benchHeld, benchPlaylist, benchSegment, type EdgeFanoutResult, type FanoutResult, type HeldResult, type Measured, type Throughput } from './http.js';
import { benchMemory, benchParse } from './ingest.js';
import { startNginx } from './lib/nginx.js';
import { hasVarnish } from './lib/varnish.js';
import { fmt, kilo, median } from './lib/stats.js';
import { CLIENT_CPU, describeMachine, has, pinSelf, SERVER_CPU } from './lib/system.js';
import { benchTs } from './mpegts.js';
import { benchDvrMemory, benchDvrThroughput, benchStartOver } from './dvr.js';

interface Row {
  readonly benchmark: string;
  readonly result: string;
  readonly reference: string;
  readonly ratio: string;
  readonly target: string;
  readonly verdict: 'met' | 'not met' | '-';
}

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.filter((a) => !a.startsWith('--'));
const RUNS = quick ? 1 : 3;
const SECONDS = quick ? 3 : 5;
const HELD_SECONDS = quick ? 4 : 8;

const verdict = (ok: boolean): Row['verdict'] => (ok ? 'met' : 'not met');
const rps = (m: Measured): string => `${kilo(m.requestsPerSecond)} req/s`;
const mbps = (m: Measured): string => `${fmt(m.bytesPerSecond / 1e6, 0)} MB/s`;
const size = (b: number): string => (b >= 1e6 ? `${fmt(b / 1e6, 2)} MB` : b >= 1e3 ? `${fmt(b / 1e3, 1)} kB` : `${b} B`);
const cpu = (share: number): string => `${fmt(share * 100, 0)} % CPU`;

/** Field-wise medians of several runs of a latency benchmark. */
function medianFields<T extends object>(runs: readonly T[]): T {
  const out: Record<string, unknown> = { ...(runs[0] as Record<string, unknown>) };
  for (const [k, v] of Object.entries(runs[0]!)) {
    if (typeof v === 'number') out[k] = median(runs.map((r) => (r as Record<string, number>)[k]!));
  }
  return out as T;
}

async function repeat<T>(times: number, once: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < times; i++) out.push(await once());
  return out;
}

function throughputRows(name: string, t: Throughput, show: (m: Measured) => string, target: number): Row {
  const nginx = t.nginx;
  const ratio = nginx ? t.origin.requestsPerSecond / nginx.requestsPerSecond : NaN;
  const floorRatio = t.origin.requestsPerSecond / t.floor.requestsPerSecond;
  return {
    benchmark: `${name} (${size(t.bytes)}, ${t.origin.tool})`,
    result: `${show(t.origin)}, p99 ${fmt(t.origin.p99Ms)} ms, ${cpu(t.origin.cpu)}${t.origin.errors ? `, ${t.origin.errors} errors` : ''}`,
    reference: `${nginx ? `nginx ${show(nginx)}` : 'nginx missing'}; node:http floor ${show(t.floor)} (origin ${fmt(floorRatio, 2)}×)`,
    ratio: nginx ? `${fmt(ratio, 2)}× nginx` : '-',
    target: `≥ ${target}× nginx`,
    verdict: nginx ? verdict(ratio >= target) : '-',
  };
}

function heldRow(h: { origin: HeldResult; floor: HeldResult }, limitMs: number): Row {
  const o = h.origin;
  const f = h.floor;
  return {
    benchmark: `blocking reload release, ${kilo(o.clients)} held (playlist ${size(o.playlistBytes)})`,
    result: `last held response p50 ${fmt(o.lastP50)} / p99 ${fmt(o.lastP99)} ms; every response p50 ${fmt(o.p50)} / p99 ${fmt(o.p99)} ms; ${kilo(o.responsesPerSecond)} resp/s, ${cpu(o.serverCpu)}${o.errors ? `, ${o.errors} errors` : ''}`,
    reference: `node:http floor: last p50 ${fmt(f.lastP50)} / p99 ${fmt(f.lastP99)} ms, ${kilo(f.responsesPerSecond)} resp/s, ${cpu(f.serverCpu)}`,
    ratio: `${fmt(o.lastP99 / f.lastP99, 2)}× floor p99`,
    target: `p99 ≤ ${limitMs} ms`,
    verdict: verdict(o.lastP99 <= limitMs),
  };
}

function fanoutRow(r: { origin: FanoutResult; floor: FanoutResult }, limitMs: number | undefined): Row {
  const o = r.origin;
  const f = r.floor;
  const delivered = o.deliveries / o.expected;
  return {
    benchmark: `growing-segment fan-out, ${kilo(o.clients)} readers × 3 Mbit/s, a chunk per frame`,
    result: `every reader p50 ${fmt(o.everyReaderP50)} / p99 ${fmt(o.everyReaderP99)} ms; each p50 ${fmt(o.p50)} / p99 ${fmt(o.p99)} ms; ${fmt(delivered * 100, 1)} % delivered, ${fmt(o.megabytesPerSecond, 0)} MB/s, ${cpu(o.serverCpu)}, RSS ${fmt(o.rss / 1e6, 0)} MB${o.errors ? `, ${o.errors} errors` : ''}`,
    reference: `node:http floor: every reader p50 ${fmt(f.everyReaderP50)} / p99 ${fmt(f.everyReaderP99)} ms, ${fmt((f.deliveries / f.expected) * 100, 1)} % delivered, ${cpu(f.serverCpu)}`,
    ratio: `${fmt(o.everyReaderP99 / f.everyReaderP99, 2)}× floor p99`,
    target: limitMs === undefined ? `${kilo(o.clients)} readers held` : `p99 ≤ ${limitMs} ms`,
    verdict: limitMs === undefined ? verdict(o.errors === 0 && delivered > 0.99) : verdict(o.everyReaderP99 <= limitMs),
  };
}

function edgeRow(r: { direct: EdgeFanoutResult; edge: EdgeFanoutResult }): Row {
  const e = r.edge;
  const d = r.direct;
  const delivered = (x: FanoutResult): string => `${fmt((x.deliveries / x.expected) * 100, 1)} % delivered`;
  return {
    benchmark: `growing-segment fan-out through Varnish, ${kilo(e.clients)} readers × 3 Mbit/s`,
    result: `every reader p50 ${fmt(e.everyReaderP50)} / p99 ${fmt(e.everyReaderP99)} ms; ${fmt(e.originRequestsPerSegment, 2)} origin requests per segment, origin ${cpu(e.serverCpu)}, Varnish ${cpu(e.edgeCpu)}; ${delivered(e)}${e.errors ? `, ${e.errors} errors` : ''}`,
    reference: `direct: every reader p50 ${fmt(d.everyReaderP50)} / p99 ${fmt(d.everyReaderP99)} ms; ${fmt(d.originRequestsPerSegment, 0)} origin requests per segment, origin ${cpu(d.serverCpu)}; ${delivered(d)}`,
    ratio: `${fmt(e.everyReaderP99 / d.everyReaderP99, 2)}× direct p99`,
    target: '1 origin request per segment, p99 ≤ direct',
    verdict: verdict(e.originRequestsPerSegment <= 1.05 && e.everyReaderP99 <= d.everyReaderP99),
  };
}

/** Field-wise medians, each run printed first (edge CPU moves a lot with the machine's load). */
function medianEdge(runs: readonly { direct: EdgeFanoutResult; edge: EdgeFanoutResult }[]): { direct: EdgeFanoutResult; edge: EdgeFanoutResult } {
  for (const { direct: d, edge: e } of runs) {
    console.log(`  run: direct p50 ${fmt(d.everyReaderP50)} / p99 ${fmt(d.everyReaderP99)} ms, origin ${cpu(d.serverCpu)}; edge p50 ${fmt(e.everyReaderP50)} / p99 ${fmt(e.everyReaderP99)} ms, origin ${cpu(e.serverCpu)}, Varnish ${cpu(e.edgeCpu)}, ${fmt(e.originRequestsPerSegment, 2)} origin requests per segment`);
  }
  return { direct: medianFields(runs.map((r) => r.direct)), edge: medianFields(runs.map((r) => r.edge)) };
}

const BENCHMARKS: Record<string, () => Promise<Row[]>> = {
  async playlist() {
    return [throughputRows('live LL-HLS media playlist, 100 keep-alive connections', await benchPlaylist(RUNS, SECONDS), rps, 0.9)];
  },
  async segment() {
    return [throughputRows('complete segment, 50 keep-alive connections', await benchSegment(RUNS, SECONDS), mbps, 1.5)];
  },
  async held1k() {
    const h = medianFieldsPair(await repeat(RUNS, () => benchHeld(1000, HELD_SECONDS)));
    return [heldRow(h, 10), rssRow(h.origin)];
  },
  async held10k() {
    const h = medianFieldsPair(await repeat(quick ? 1 : 2, () => benchHeld(10_000, HELD_SECONDS)));
    return [heldRow(h, 60), rssRow(h.origin)];
  },
  async fanout1k() {
    return [fanoutRow(medianFieldsPair(await repeat(RUNS, () => benchFanout(1000, HELD_SECONDS))), 10)];
  },
  async fanout5k() {
    return [fanoutRow(medianFieldsPair(await repeat(quick ? 1 : 2, () => benchFanout(5000, HELD_SECONDS))), undefined)];
  },
  async edge1k() {
    if (!hasVarnish()) throw new Error('varnishd missing (apt-get install varnish)');
    return [edgeRow(medianEdge(await repeat(RUNS, () => benchEdgeFanout(1000, HELD_SECONDS))))];
  },
  async edge5k() {
    if (!hasVarnish()) throw new Error('varnishd missing (apt-get install varnish)');
    return [edgeRow(medianEdge(await repeat(quick ? 1 : 2, () => benchEdgeFanout(5000, HELD_SECONDS))))];
  },
  async parse() {
    const p = benchParse();
    return [
      {
        benchmark: 'ingest parse: box reader + chunker + timeline, one core',
        result: `${fmt(p.gbitPerSecond, 2)} Gbit/s (${fmt(p.usPerFragment)} µs per ${size(p.bytesPerFragment)} fragment)`,
        reference: `memcpy of the same bytes ${fmt(p.memcpyGbitPerSecond, 1)} Gbit/s`,
        ratio: `${fmt(p.gbitPerSecond / p.memcpyGbitPerSecond, 3)}× memcpy`,
        target: '≥ 2 Gbit/s',
        verdict: verdict(p.gbitPerSecond >= 2),
      },
    ];
  },
  async ts() {
    const t = benchTs();
    return [
      {
        benchmark: `fMP4 → TS remux, cold (${t.label})`,
        result: `${fmt(t.msPerMb, 3)} ms/MB (${fmt(t.segmentMs, 2)} ms per ${fmt(t.segmentBytes / 1e6, 2)} MB segment); into new memory ${fmt(t.freshMsPerMb, 3)} ms/MB`,
        reference: `memcpy of the media ${fmt(t.memcpyMsPerMb, 3)} ms/MB`,
        ratio: `${fmt(t.msPerMb / t.memcpyMsPerMb, 1)}× memcpy`,
        target: '≤ 0.3 ms/MB',
        verdict: verdict(t.msPerMb <= 0.3),
      },
      { benchmark: 'fMP4 → TS remux, cached', result: `${fmt(t.cachedNs, 0)} ns per hit`, reference: '-', ratio: '-', target: '-', verdict: '-' },
    ];
  },
  async dvrdisk() {
    const t = await benchDvrThroughput(RUNS, SECONDS);
    const rows: Row[] = [];
    const show = (x: { bytesPerSecond: number; p99Ms: number; errors: number }): string => `${fmt(x.bytesPerSecond / 1e6, 0)} MB/s, p99 ${fmt(x.p99Ms)} ms${x.errors ? `, ${x.errors} errors` : ''}`;
    if (t.cold) {
      const r = t.cold.origin.bytesPerSecond / t.cold.nginx.bytesPerSecond;
      rows.push({ benchmark: `DVR segments from disk, cold page cache (${t.segments} × ${size(t.segmentBytes)}, one pass each, 8 connections, median of ${RUNS})`, result: show(t.cold.origin), reference: `nginx sendfile ${show(t.cold.nginx)}`, ratio: `${fmt(r, 2)}× nginx`, target: '≥ 0.8× nginx', verdict: verdict(r >= 0.8) });
    } else {
      rows.push({ benchmark: 'DVR segments from disk, cold page cache', result: 'not measured: the page cache cannot be dropped here (not root)', reference: '-', ratio: '-', target: '≥ 0.8× nginx', verdict: '-' });
    }
    const w = t.warm.origin.bytesPerSecond / t.warm.nginx.bytesPerSecond;
    rows.push({
      benchmark: `DVR segments from disk, warm page cache, read cache off (${t.segments} × ${size(t.segmentBytes)} in rotation, 20 connections, ${t.warm.origin.tool})`,
      result: `${show(t.warm.origin)}, ${cpu(t.warm.originCpu)}`,
      reference: `nginx sendfile ${show(t.warm.nginx)}, ${cpu(t.warm.nginxCpu)}`,
      ratio: `${fmt(w, 2)}× nginx`,
      target: '≥ 0.8× nginx',
      verdict: verdict(w >= 0.8),
    });
    const c = t.cached.origin.bytesPerSecond / t.warm.nginx.bytesPerSecond;
    rows.push({
      benchmark: `DVR segments, read cache on (the default, 256 MB; same load)`,
      result: `${show(t.cached.origin)}, ${cpu(t.cached.originCpu)}`,
      reference: `nginx sendfile ${show(t.warm.nginx)}`,
      ratio: `${fmt(c, 2)}× nginx`,
      target: '≥ 0.8× nginx',
      verdict: verdict(c >= 0.8),
    });
    return rows;
  },
  async dvrmemory() {
    const m = await benchDvrMemory(quick ? 0.5 : 2);
    const ratio = m.rssLong / m.rssShort;
    const overhead = m.disk.bytes / m.mediaBytes - 1;
    return [
      { benchmark: `RSS, ${m.hours} h DVR of a 3-track 5 Mbit/s stream (fed in compressed time)`, result: `${fmt(m.rssLong / 1e6, 0)} MB`, reference: `2-minute DVR, same feed: ${fmt(m.rssShort / 1e6, 0)} MB`, ratio: `${fmt(ratio, 3)}×`, target: '≤ 1.1×', verdict: verdict(ratio <= 1.1) },
      { benchmark: `DVR disk bytes per media byte (${m.hours} h, ${m.disk.files} files)`, result: `${size(m.disk.bytes)} on disk`, reference: `${size(m.mediaBytes)} of media pushed`, ratio: `${fmt(overhead * 100, 3)} % overhead`, target: '≤ 1 %', verdict: verdict(overhead <= 0.01) },
      { benchmark: `restart with a ${m.hours} h DVR (${m.restoredSegments} segments per track)`, result: `listening ${fmt(m.restartMs, 0)} ms after spawn; first whole-DVR playlist at ${fmt(m.firstPlaylistMs, 0)} ms`, reference: '-', ratio: '-', target: '-', verdict: '-' },
    ];
  },
  async startover() {
    const s = await benchStartOver();
    return [
      {
        benchmark: `2-hour start-over LL-HLS playlist (${s.segments} segments)`,
        result: `render ${fmt(s.renderMs, 2)} ms, ${size(s.bytes)} (${size(s.gzipBytes)} gzip); delta update ${size(s.deltaBytes)} in ${fmt(s.deltaRenderMs, 3)} ms`,
        reference: `live window playlist: ${size(s.liveBytes)} in ${fmt(s.liveRenderMs, 3)} ms`,
        ratio: `delta ${fmt(s.deltaBytes / s.bytes, 3)}× full`,
        target: 'rendered once per version',
        verdict: '-',
      },
    ];
  },
  async memory() {
    const m = await benchMemory();
    return [
      {
        benchmark: `memory per stream: 3 tracks, 120 s window (${m.segments} segments)`,
        result: `${fmt(m.heapBytes / 1e6, 2)} MB heap + buffers`,
        reference: `${fmt(m.mediaBytes / 1e6, 2)} MB of media in the window`,
        ratio: `${fmt(m.ratio, 3)}× window bytes`,
        target: '≤ 1.10× window bytes',
        verdict: verdict(m.ratio <= 1.1),
      },
    ];
  },
};

function medianFieldsPair<T extends object>(runs: readonly { origin: T; floor: T }[]): { origin: T; floor: T } {
  return { origin: medianFields(runs.map((r) => r.origin)), floor: medianFields(runs.map((r) => r.floor)) };
}

function rssRow(h: HeldResult): Row {
  return {
    benchmark: `memory per held request (${kilo(h.clients)} held)`,
    result: `${fmt(h.rssPerHeldBytes / 1024, 1)} KB RSS each`,
    reference: '-',
    ratio: '-',
    target: '≤ 25 KB',
    verdict: verdict(h.rssPerHeldBytes <= 25 * 1024),
  };
}

function table(rows: readonly Row[], markdown: boolean): string {
  const head = ['benchmark', 'result', 'reference (same run)', 'ratio', 'target', 'verdict'];
  const cells = rows.map((r) => [r.benchmark, r.result, r.reference, r.ratio, r.target, r.verdict]);
  if (markdown) {
    return [head, head.map(() => '---'), ...cells].map((r) => `| ${r.join(' | ')} |`).join('\n');
  }
  return cells.map((c) => c.map((v, i) => `${head[i]!.padEnd(21)} ${v}`).join('\n')).join('\n\n');
}

const unknown = only.filter((n) => !(n in BENCHMARKS));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
pinSelf(CLIENT_CPU);
const machine = describeMachine();
const missing = [!machine.nginx && 'nginx (throughput references)', !machine.wrk && 'wrk (load generator; undici used instead)', !machine.taskset && 'taskset (no pinning)'].filter(Boolean);
if (missing.length) console.log(`missing: ${missing.join(', ')}`);
if (machine.nginx && !(await startNginx().then(async (n) => (await n?.stop(), n !== undefined)))) console.log('nginx is installed but did not start: throughput references missing');

const started = Date.now();
const rows: Row[] = [];
for (const [name, run] of Object.entries(BENCHMARKS)) {
  if (only.length && !only.includes(name)) continue;
  const t0 = Date.now();
  process.stdout.write(`${name}… `);
  try {
    const got = await run();
    rows.push(...got);
    console.log(`${fmt((Date.now() - t0) / 1000, 0)} s`);
    console.log(table(got, false) + '\n');
  } catch (err) {
    console.log(`failed: ${(err as Error).message}`);
    rows.push({ benchmark: name, result: `failed: ${(err as Error).message.split('\n')[0]}`, reference: '-', ratio: '-', target: '-', verdict: 'not met' });
  }
}

const machineLine = `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, nginx ${machine.nginx ?? 'missing'}, wrk ${machine.wrk ?? 'missing (undici)'}, ${machine.taskset ? `origin pinned to CPU ${SERVER_CPU}, load to CPU ${CLIENT_CPU}` : 'no taskset: unpinned'}; load average at start ${machine.load}`;
console.log(`\n${table(rows, true)}\n\n${machineLine}; ${fmt((Date.now() - started) / 1000, 0)} s`);

if (!only.length && !process.env.BENCH_ORIGIN_ROOT) {
  const file = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
  const HISTORY = '<!-- history: kept across runs -->';
  let history = '';
  try {
    const old = readFileSync(file, 'utf8');
    const at = old.indexOf(HISTORY);
    if (at >= 0) history = old.slice(at);
  } catch {
    // first run
  }
  const mode = quick ? ' (--quick: one run of each)' : ` (median of ${RUNS} runs; 10k held and 5k readers: 2)`;
  writeFileSync(
    file,
    `# Benchmark results\n\nLast full \`npm run bench\`${mode}, ${new Date().toISOString().slice(0, 10)}, on ${machineLine}; took ${fmt((Date.now() - started) / 60_000, 1)} min.\n` +
      `Written by bench/run.ts. Every reference ran in the same run on the same machine; the machine is shared, so compare ratios.\n\n${table(rows, true)}\n\n${history || HISTORY + '\n'}`,
  );
  console.log(`wrote ${file}`);
}
if (!has('taskset')) console.log('note: taskset missing, server and load shared the CPUs');
process.exit(0);
