// HTTP benchmarks: the server in its own process on the server CPU, the load on the other CPU.
// References in the same run: nginx serving the same bytes from files (throughput), and the
// node:http floor (bench/floor-server.mjs) doing the same job with no media logic (all four).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { LivePublisher, SyntheticEncoder } from './lib/encoder.js';
import { startFloor, type Floor } from './lib/floor.js';
import { load, type LoadResult } from './lib/load.js';
import { parseHint, waitForPlaylist } from './lib/live.js';
import { startNginx, type Nginx } from './lib/nginx.js';
import { startOriginProcess, type OriginProcess } from './lib/origin.js';
import { median } from './lib/stats.js';
import { CLIENT_CPU, cpuMeter, has } from './lib/system.js';
import { startEdge } from './lib/varnish.js';

const HOST = '127.0.0.1';

export type Measured = LoadResult & { readonly cpu: number };

export interface Throughput {
  readonly origin: Measured;
  readonly nginx: Measured | undefined;
  readonly floor: Measured;
  readonly bytes: number;
}

async function measured(pid: number, url: string, connections: number, seconds: number): Promise<Measured> {
  const meter = cpuMeter(pid);
  const r = await load(url, connections, seconds);
  return { ...r, cpu: meter.stop() };
}

function medianOf(results: Measured[]): Measured {
  const m = median(results.map((r) => r.requestsPerSecond));
  const chosen = results.find((r) => r.requestsPerSecond === m)!;
  return { ...chosen, errors: results.reduce((n, r) => n + r.errors, 0) };
}

async function bytesOf(url: string): Promise<Buffer> {
  const r = await request(url);
  if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode}`);
  return Buffer.from(await r.body.arrayBuffer());
}

/**
 * The origin's URL, then nginx and the floor with a snapshot of the same bytes taken just
 * before their turn, `runs` times in rotation; medians.
 */
async function sideBySide(origin: OriginProcess, nginx: Nginx | undefined, floor: Floor, path: string, snapshot: () => Promise<Buffer>, name: string, connections: number, seconds: number, runs: number): Promise<Throughput> {
  const mine: Measured[] = [];
  const ref: Measured[] = [];
  const bare: Measured[] = [];
  let bytes = 0;
  // Warm-up: compiled code and caches, as in a server that has been serving for a while.
  await load(`http://${HOST}:${origin.playbackPort}${path}`, connections, 1);
  for (let r = 0; r < runs; r++) {
    mine.push(await measured(origin.pid, `http://${HOST}:${origin.playbackPort}${path}`, connections, seconds));
    const now = await snapshot();
    bytes = now.length;
    if (nginx) ref.push(await measured(nginx.pid, `http://${HOST}:${nginx.port}${nginx.put(name, now)}`, connections, seconds));
    bare.push(await measured(floor.pid, `http://${HOST}:${floor.playbackPort}${await floor.put('/' + name, now)}`, connections, seconds));
  }
  return { origin: medianOf(mine), nginx: ref.length ? medianOf(ref) : undefined, floor: medianOf(bare), bytes };
}

/**
 * One origin fed by a 4 Mbit/s encoder (2 s segments of ~1 MB, 200 ms parts) that has filled
 * its two-minute window, as a stream live for a while; then `body`.
 */
async function withLiveOrigin<T>(body: (origin: OriginProcess, nginx: Nginx | undefined, floor: Floor, base: string, playlist: string) => Promise<T>): Promise<T> {
  const origin = await startOriginProcess(['--part-duration', '0.2']);
  const nginx = await startNginx();
  const floor = await startFloor('static');
  const publisher = new LivePublisher(HOST, origin.ingestPort, '/live/bench/v.mp4', new SyntheticEncoder({ bitsPerSecond: 4_000_000 }));
  try {
    await publisher.start(120);
    const base = `http://${HOST}:${origin.playbackPort}/live/bench/v/`;
    return await body(origin, nginx, floor, base, await waitForPlaylist(base + 'index.m3u8', 55));
  } finally {
    await publisher.stop();
    await Promise.all([origin.stop(), nginx?.stop(), floor.stop()]);
  }
}

/** The live LL-HLS media playlist (no blocking directives), 100 keep-alive connections. */
export function benchPlaylist(runs: number, seconds: number): Promise<Throughput> {
  // The live playlist changes every part: the references get the bytes of the moment.
  return withLiveOrigin((origin, nginx, floor, base) => sideBySide(origin, nginx, floor, '/live/bench/v/index.m3u8', () => bytesOf(base + 'index.m3u8'), 'index.m3u8', 100, seconds, runs));
}

/** The newest complete segment (~1 MB), 50 keep-alive connections; nginx uses sendfile. */
export function benchSegment(runs: number, seconds: number): Promise<Throughput> {
  return withLiveOrigin(async (origin, nginx, floor, base, text) => {
    const hint = parseHint(text)!;
    const msn = Math.max(...[...text.matchAll(/^(?:[^#\s]+\/)?(\d+)\.m4s$/gm)].map((m) => Number(m[1])));
    const path = `${hint.tag}/${msn}.m4s`;
    const bytes = await bytesOf(base + path);
    return sideBySide(origin, nginx, floor, `/live/bench/v/${path}`, async () => bytes, 'segment.m4s', 50, seconds, runs);
  });
}

const LOAD_DIR = fileURLToPath(new URL('./load/', import.meta.url));

interface Server {
  readonly pid: number;
  readonly playbackPort: number;
  readonly ingestPort: number;
}

/** Runs a load client (bench/load/*.ts) pinned to the client CPU; it prints one JSON line. */
function runClient<T>(script: string, server: Server, args: Record<string, unknown>): Promise<T> {
  const payload = JSON.stringify({ host: HOST, playbackPort: server.playbackPort, ingestPort: server.ingestPort, serverPid: server.pid, ...args });
  const pin = has('taskset') ? ['taskset', '-c', String(CLIENT_CPU)] : [];
  const command = [...pin, process.execPath, '--import', 'tsx', LOAD_DIR + script, payload].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise<T>((resolve, reject) => {
    execFile('bash', ['-c', `ulimit -n $(ulimit -Hn); exec ${command}`], { maxBuffer: 1 << 20, timeout: 180_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script}: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as T);
    });
  });
}

export interface HeldResult {
  readonly clients: number;
  readonly held: number;
  readonly playlistBytes: number;
  readonly rssPerHeldBytes: number;
  readonly releases: number;
  readonly responsesPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly lastP50: number;
  readonly lastP99: number;
  readonly immediate: number;
  readonly errors: number;
  readonly serverCpu: number;
}

/** N players chaining blocking reloads: against the origin, then against the floor. */
export async function benchHeld(clients: number, seconds: number): Promise<{ origin: HeldResult; floor: HeldResult }> {
  const origin = await startOriginProcess(['--part-duration', '0.2']);
  let mine: HeldResult;
  try {
    mine = await runClient<HeldResult>('held.ts', origin, { clients, seconds, prefillSeconds: 120 });
  } finally {
    await origin.stop();
  }
  const floor = await startFloor('held', mine.playlistBytes);
  try {
    return { origin: mine, floor: await runClient<HeldResult>('held.ts', floor, { clients, seconds, prefillSeconds: 0 }) };
  } finally {
    await floor.stop();
  }
}

export interface FanoutResult {
  readonly clients: number;
  readonly chunks: number;
  readonly deliveries: number;
  readonly expected: number;
  readonly megabytesPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly everyReaderP50: number;
  readonly everyReaderP99: number;
  readonly errors: number;
  readonly serverCpu: number;
  readonly rss: number;
}

/** N readers of the growing segment at 3 Mbit/s: against the origin, then against the floor. */
export async function benchFanout(clients: number, seconds: number): Promise<{ origin: FanoutResult; floor: FanoutResult }> {
  const args = { clients, seconds, bitsPerSecond: 3_000_000 };
  const origin = await startOriginProcess([]);
  let mine: FanoutResult;
  try {
    mine = await runClient<FanoutResult>('fanout.ts', origin, { ...args, prefillSeconds: 120 });
  } finally {
    await origin.stop();
  }
  const floor = await startFloor('fanout');
  try {
    return { origin: mine, floor: await runClient<FanoutResult>('fanout.ts', floor, { ...args, prefillSeconds: 0 }) };
  } finally {
    await floor.stop();
  }
}

export interface EdgeFanoutResult extends FanoutResult {
  readonly edgeCpu: number;
  readonly originRequestsPerSegment: number;
}

/**
 * N readers of the growing segment at 3 Mbit/s straight from the origin, then the same through
 * Varnish (docker/varnish/origin.vcl, pinned with the origin to the server CPU), each with a
 * fresh origin; origin CPU and origin requests per segment for both.
 */
export async function benchEdgeFanout(clients: number, seconds: number): Promise<{ direct: EdgeFanoutResult; edge: EdgeFanoutResult }> {
  const args = { clients, seconds, bitsPerSecond: 3_000_000, prefillSeconds: 120 };
  const direct = await startOriginProcess([]);
  let mine: EdgeFanoutResult;
  try {
    mine = await runClient<EdgeFanoutResult>('fanout.ts', direct, args);
  } finally {
    await direct.stop();
  }
  const origin = await startOriginProcess([]);
  try {
    const edge = await startEdge(`http://${HOST}:${origin.playbackPort}`, clients);
    try {
      return { direct: mine, edge: await runClient<EdgeFanoutResult>('fanout.ts', origin, { ...args, readPort: edge.port, edgePid: edge.workerPid() }) };
    } finally {
      await edge.stop();
    }
  } finally {
    await origin.stop();
  }
}
