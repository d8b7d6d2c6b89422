// The machine and its processes: pinning, limits, CPU time and RSS from procfs.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function version(command: string, args: string[], pattern: RegExp): string | undefined {
  // nginx -v and wrk -v print to stderr (wrk exits 1).
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return pattern.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1];
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly nginx: string | undefined;
  readonly wrk: string | undefined;
  readonly taskset: boolean;
  readonly load: string;
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    nginx: has('nginx') ? version('nginx', ['-v'], /nginx\/(\S+)/) : undefined,
    wrk: has('wrk') ? (version('wrk', ['-v'], /wrk (\S+)/) ?? 'present') : undefined,
    taskset: has('taskset'),
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

/** CPUs for the server and for the load generator: different ones when the machine has two. */
export const SERVER_CPU = 0;
export const CLIENT_CPU = cpus().length > 1 ? 1 : 0;

/**
 * Spawns `command` pinned to `cpu` (when taskset exists) with the open-file limit raised to the
 * hard limit: ten thousand held connections need ten thousand descriptors.
 */
export function spawnPinned(cpu: number, command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const pin = has('taskset') ? `taskset -c ${cpu} ` : '';
  return spawn('bash', ['-c', `ulimit -n $(ulimit -Hn); exec ${pin}${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
}

/** Pins this process (every thread) to `cpu`. */
export function pinSelf(cpu: number): void {
  if (!has('taskset')) return;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  } catch {
    // Not allowed here: run unpinned.
  }
}

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5), counted from the state field (3).
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU use of `pid` over an interval: call `stop` at its end for the fraction of one core. */
export function cpuMeter(pid: number): { stop(): number } {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  return {
    stop() {
      return (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
    },
  };
}

/**
 * Share of an interval that the main thread of `pid` was runnable but waiting for a CPU (the
 * second field of /proc/PID/schedstat): how much a shared machine held it back. NaN without
 * schedstats.
 */
export function runQueueMeter(pid: number): { stop(): number } {
  const waited = (): number => {
    try {
      return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    } catch {
      return NaN;
    }
  };
  const w0 = waited();
  const t0 = performance.now();
  return {
    stop() {
      return (waited() - w0) / ((performance.now() - t0) / 1000);
    },
  };
}

/** Lines of a child's stdout, as they come. */
export function onLines(child: ChildProcess, each: (line: string) => void): void {
  let rest = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    rest += d;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      each(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
  });
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
