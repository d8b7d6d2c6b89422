import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ALLOCATOR_ENV } from '../../src/memory.js';

/** The checkout whose origin runs; ORIGIN_ROOT points at another (an older commit, for a before/after). */
const ROOT = process.env.ORIGIN_ROOT ?? fileURLToPath(new URL('../../', import.meta.url));

export interface ChildOriginOptions {
  /** More command-line arguments (after the helper's own, so they win). */
  readonly args?: readonly string[];
  /** More environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Run the demo stream (off by default). */
  readonly demo?: boolean;
  /** Fixed ports (a restart takes the same ones again); ephemeral by default. */
  readonly ports?: { readonly playback?: number; readonly ingest?: number };
}

export interface ChildOrigin {
  readonly process: ChildProcess;
  readonly pid: number;
  /** http://127.0.0.1:PORT */
  readonly playback: string;
  readonly ingest: string;
  readonly playbackPort: number;
  readonly ingestPort: number;
  /** Resolves with the exit code (or signal name) once the process exits. */
  readonly exited: Promise<number | string>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** The last 5,000 log lines (JSON objects) the process printed. */
  logs(): Record<string, unknown>[];
  /** Log lines printed so far at `error` (50) or above. */
  errorLines(): Record<string, unknown>[];
  /** Raw stderr so far (a crash prints its stack there). */
  stderr(): string;
  /** Stderr plus the log lines at warn and above: what to show when something went wrong. */
  output(): string;
  /** RSS of the process in bytes, from /proc. */
  rss(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code once it exited. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL (gone at once, sockets reset, as a crash); resolves once it exited. */
  kill(): Promise<number | string>;
  /** Sends a signal without waiting. */
  signal(signal: NodeJS.Signals): void;
}

/**
 * The origin as operators run it, in its own process (`src/cli.ts` through tsx, with the
 * allocator settings `npm start` uses): a crash or an exit shows as an exit, not as a failed test
 * runner. Loopback ports, demo off unless asked; resolves once both listeners are bound.
 */
export async function startChildOrigin(options: ChildOriginOptions = {}): Promise<ChildOrigin> {
  const ports = options.ports ?? {};
  const args = ['--import', 'tsx', 'src/cli.ts', ...(options.demo ? [] : ['--no-demo']), '--host', '127.0.0.1', '--port', String(ports.playback ?? 0), '--ingest-port', String(ports.ingest ?? 0), '--log-level', 'info', ...(options.args?.includes('--dvr-window') ? [] : ['--dvr-window', '0']), ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...ALLOCATOR_ENV, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Never outlive the test process that started it.
  const orphanGuard = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', orphanGuard);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  void exited.then(() => process.off('exit', orphanGuard));
  let running = true;
  void exited.then(() => (running = false));
  const lines: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  let err = '';
  let warnings = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const listening = new Promise<{ playback: string; ingest: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`origin did not start in 30 s: ${err}`)), 30_000);
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      const split = (partial + d.toString()).split('\n');
      partial = split.pop()!;
      for (const line of split) {
        if (line.trim() === '') continue;
        try {
          const obj = JSON.parse(line) as Record<string, unknown>;
          lines.push(obj);
          if (lines.length > 5000) lines.splice(0, 1000);
          if (typeof obj.level === 'number' && obj.level >= 40) warnings += line + '\n';
          if (typeof obj.level === 'number' && obj.level >= 50) errors.push(obj);
          if (obj.msg === 'origin listening') {
            clearTimeout(timer);
            resolve({ playback: String(obj.playback), ingest: String(obj.ingest) });
          }
        } catch {
          lines.push({ msg: line });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`origin exited (${code}) before listening: ${err}`));
    });
  });
  const urls = await listening;
  return {
    process: child,
    pid: child.pid!,
    playback: urls.playback,
    ingest: urls.ingest,
    playbackPort: Number(new URL(urls.playback).port),
    ingestPort: Number(new URL(urls.ingest).port),
    exited,
    alive: () => running,
    logs: () => lines,
    errorLines: () => errors,
    stderr: () => err,
    output: () => err + warnings,
    rss() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    async stop(graceMs = 5000) {
      if (!running) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => running && child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill() {
      if (running) child.kill('SIGKILL');
      return exited;
    },
    signal(signal) {
      if (running) child.kill(signal);
    },
  };
}
