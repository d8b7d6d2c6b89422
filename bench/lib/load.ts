// Closed-loop request/response load: wrk pinned to the client CPU when installed, else our own
// undici generator (which is itself Node and may be the bottleneck; the table says which ran).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { CLIENT_CPU, has } from './system.js';
import { percentile } from './stats.js';

export interface LoadResult {
  readonly tool: 'wrk' | 'undici';
  readonly requestsPerSecond: number;
  readonly bytesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

const UNIT: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, m: 60_000 };
const BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

function wrkLatency(out: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
  return m ? Number(m[1]) * UNIT[m[2]!]! : NaN;
}

function runWrk(url: string, connections: number, seconds: number, script?: string): Promise<LoadResult> {
  const args = ['-c', String(CLIENT_CPU), 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s', ...(script ? ['-s', script] : []), url];
  return new Promise((resolve, reject) => {
    execFile(has('taskset') ? 'taskset' : 'wrk', has('taskset') ? args : args.slice(2), { maxBuffer: 1 << 20 }, (err, out) => {
      if (err) return reject(err);
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const tps = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out);
      const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      if (!rps) return reject(new Error(`unexpected wrk output: ${out}`));
      resolve({
        tool: 'wrk',
        requestsPerSecond: Number(rps[1]),
        bytesPerSecond: tps ? Number(tps[1]) * BYTES[tps[2]!]! : NaN,
        p50Ms: wrkLatency(out, '50'),
        p99Ms: wrkLatency(out, '99'),
        errors: Number(non2xx?.[1] ?? 0) + (sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0),
      });
    });
  });
}

export function load(url: string, connections: number, seconds: number): Promise<LoadResult> {
  if (has('wrk')) return runWrk(url, connections, seconds);
  const u = new URL(url);
  return runUndici(u.origin, [u.pathname + u.search], connections, seconds, false);
}

/**
 * Closed-loop load over many URLs of one server, each connection taking the next path in turn
 * (wrk with a Lua script when installed, else undici). With `once`, every path is fetched exactly
 * once (a cold pass, undici).
 */
export async function loadPaths(origin: string, paths: readonly string[], connections: number, seconds: number, once = false): Promise<LoadResult> {
  if (!once && has('wrk')) {
    // wrk takes the paths in turn through a request() of its Lua API.
    const dir = mkdtempSync(join(tmpdir(), 'wrk-'));
    const script = join(dir, 'paths.lua');
    writeFileSync(script, `local paths = {${paths.map((p) => JSON.stringify(p)).join(',')}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format("GET", paths[(i % #paths) + 1])\nend\n`);
    try {
      return await runWrk(origin + paths[0], connections, seconds, script);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return runUndici(origin, paths, connections, seconds, once);
}

/** undici connections, each taking the next path in turn, for `seconds` (or each path once). */
async function runUndici(origin: string, paths: readonly string[], connections: number, seconds: number, once: boolean): Promise<LoadResult> {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const latencies: number[] = [];
  let bytes = 0;
  let errors = 0;
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (once ? next < paths.length : performance.now() < end) {
      const path = paths[next++ % paths.length]!;
      const t0 = performance.now();
      try {
        const r = await pool.request({ path, method: 'GET' });
        for await (const c of r.body) bytes += (c as Buffer).length;
        if (r.statusCode >= 400) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  await pool.close();
  return { tool: 'undici', requestsPerSecond: latencies.length / elapsed, bytesPerSecond: bytes / elapsed, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), errors };
}
