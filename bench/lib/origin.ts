// The origin under test, in its own process pinned to the server CPU, started as users start it.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onLines, SERVER_CPU, spawnPinned, stopChild } from './system.js';

// BENCH_ORIGIN_ROOT: another checkout (with node_modules) to measure instead, e.g. an older commit
// for a before/after table; the harness and references stay this checkout's.
const ROOT = process.env.BENCH_ORIGIN_ROOT || fileURLToPath(new URL('../../', import.meta.url));

export interface OriginProcess {
  readonly pid: number;
  readonly playbackPort: number;
  readonly ingestPort: number;
  readonly child: ChildProcess;
  /** A full collection in the origin (SIGUSR2 under --expose-gc); resolves once it logged its memory. */
  collect(): Promise<void>;
  stop(): Promise<void>;
}

let built = false;

/** `npm start` runs the compiled dist/, so the benchmarks do too: built once per run. */
function build(): void {
  if (built) return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

export function startOriginProcess(extraArgs: readonly string[] = []): Promise<OriginProcess> {
  build();
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  // No DVR (it writes to ./data) unless a benchmark asks; an older checkout (before the DVR) has no such flag.
  const dvr = extraArgs.includes('--dvr-window') || process.env.BENCH_ORIGIN_ROOT ? [] : ['--dvr-window', '0'];
  const args = [...profile, '--expose-gc', 'dist/cli.js', '--no-demo', '--host', '127.0.0.1', '--port', '0', '--ingest-port', '0', '--log-level', 'info', ...dvr, ...extraArgs];
  // As `npm start` runs it (package.json): a larger libuv pool for the DVR's positioned reads.
  const child = spawnPinned(SERVER_CPU, process.execPath, args, { cwd: ROOT, env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '16' } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`origin did not start: ${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`origin exited (${code}): ${stderr}`)));
    onLines(child, (line) => {
      if (!line.includes('origin listening')) return;
      const log = JSON.parse(line) as { playback: string; ingest: string };
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        playbackPort: Number(new URL(log.playback).port),
        ingestPort: Number(new URL(log.ingest).port),
        child,
        collect: () =>
          new Promise<void>((done) => {
            onLines(child, (l) => {
              if (l.includes('memory after a full collection')) done();
            });
            child.kill('SIGUSR2');
          }),
        stop: () => stopChild(child),
      });
    });
  });
}
