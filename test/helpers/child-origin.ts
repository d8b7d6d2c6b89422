import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The checkout whose origin runs; ORIGIN_ROOT points at another (an older commit, for a before/after). */
const ROOT = process.env.ORIGIN_ROOT ?? fileURLToPath(new URL('../../', import.meta.url));

export interface ChildOrigin {
  readonly process: ChildProcess;
  readonly pid: number;
  /** http://127.0.0.1:PORT */
  readonly playback: string;
  readonly ingest: string;
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
  /** RSS of the process in bytes, from /proc. */
  rss(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * The origin as operators run it, in its own process (`src/cli.ts` through tsx): a crash or an
 * exit shows as an exit, not as a failed test runner. Ephemeral loopback ports, demo off unless
 * the arguments say otherwise; resolves once both listeners are bound.
 */
export async function startChildOrigin(args: readonly string[] = [], env: Record<string, string> = {}, options: { demo?: boolean } = {}): Promise<ChildOrigin> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...(options.demo ? [] : ['--no-demo']), '--port', '0', '--ingest-port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...(args.includes('--dvr-window') ? [] : ['--dvr-window', '0']), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Never outlive the test process that started it.
  const orphanGuard = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', orphanGuard);
  void exitedOnce(child).then(() => process.off('exit', orphanGuard));
  const lines: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  let partial = '';
  let err = '';
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let running = true;
  void exited.then(() => (running = false));
  const listening = new Promise<{ playback: string; ingest: string }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const text = partial + d.toString();
      const split = text.split('\n');
      partial = split.pop()!;
      for (const line of split) {
        if (line.trim() === '') continue;
        try {
          const obj = JSON.parse(line) as Record<string, unknown>;
          lines.push(obj);
          if (lines.length > 5000) lines.splice(0, 1000);
          if (typeof obj.level === 'number' && obj.level >= 50) errors.push(obj);
          if (obj.msg === 'origin listening') resolve({ playback: String(obj.playback), ingest: String(obj.ingest) });
        } catch {
          lines.push({ msg: line });
        }
      }
    });
    void exited.then((code) => reject(new Error(`origin exited (${code}) before listening: ${err}`)));
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const urls = await listening;
  return {
    process: child,
    pid: child.pid!,
    playback: urls.playback,
    ingest: urls.ingest,
    exited,
    alive: () => running,
    logs: () => lines,
    errorLines: () => errors,
    stderr: () => err,
    rss() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmRSS:\s+(\d+) kB/.exec(status);
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
    kill(signal = 'SIGKILL') {
      if (running) child.kill(signal);
    },
  };
}

function exitedOnce(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
