import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './hls.js';

/** The shipped edge configuration: origin.vcl, which includes backends.vcl. */
export const VCL_DIR = fileURLToPath(new URL('../../docker/varnish/', import.meta.url));
export const VARNISHD = process.env.VARNISHD ?? '/usr/sbin/varnishd';

/**
 * Worker threads for `clients` at once: Varnish holds a thread per request being delivered (a
 * reader of a growing segment keeps one until its end), and a request arriving with no idle
 * thread waits behind thread_queue_limit or is dropped.
 */
export function threadParams(clients: number): Record<string, string> {
  return {
    thread_pools: '2',
    thread_pool_min: String(Math.max(100, Math.ceil((clients * 1.2) / 2))),
    thread_pool_max: String(Math.max(5000, clients * 2)),
    thread_queue_limit: String(Math.max(1000, clients)),
  };
}

export interface TestEdge {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** The management process (its child, the cache process, stops with it). */
  readonly pid: number;
  readonly dir: string;
  /** The cache process (the management process's child), which does all the work. */
  workerPid(): number | undefined;
  /** Every varnishstat counter, by name (MAIN.backend_req, VBE.boot.origin_a.req, …). */
  stats(): Promise<Map<string, number>>;
  adm(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface EdgeOptions {
  /** origin_b; origin_a's address when absent (one origin behind the edge). */
  readonly originB?: string;
  readonly params?: Readonly<Record<string, string>>;
  /** Extra varnishd arguments (e.g. a `-p` the test needs). */
  readonly args?: readonly string[];
  /** Starts the process (the benchmarks pin it to a CPU); plain spawn by default. */
  readonly spawn?: (command: string, args: readonly string[]) => ChildProcess;
}

function hostPort(url: string): { host: string; port: string } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port || '80' };
}

/** backends.vcl for the test's origins: the two backend names and nothing else, as the docker one. */
export function backendsVcl(originA: string, originB: string): string {
  return [originA, originB]
    .map((url, i) => {
      const { host, port } = hostPort(url);
      return `backend origin_${i === 0 ? 'a' : 'b'} {\n    .host = "${host}";\n    .port = "${port}";\n}\n`;
    })
    .join('\n');
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${command} ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout)));
  });
}

/**
 * A real varnishd with the shipped origin.vcl on an ephemeral loopback port, its working
 * directory (-n) and backends.vcl in a fresh temporary directory, in the foreground (-F) so it
 * is this process's child and is stopped by its PID. As root (CI) it runs with `-j none`: the
 * default unix jail would drop to the varnish user, which cannot read a private temp directory.
 */
export async function startVarnish(originA: string, options: EdgeOptions = {}): Promise<TestEdge> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-varnish-'));
  writeFileSync(join(dir, 'backends.vcl'), backendsVcl(originA, options.originB ?? originA));
  const params = { ...threadParams(100), ...options.params };
  const args = [
    '-F',
    '-n', join(dir, 'work'),
    '-a', '127.0.0.1:0',
    '-T', '127.0.0.1:0',
    '-f', join(VCL_DIR, 'origin.vcl'),
    '-p', `vcl_path=${dir}:${VCL_DIR}`,
    '-s', 'malloc,256m',
    ...(process.getuid?.() === 0 ? ['-j', 'none'] : []),
    ...Object.entries(params).flatMap(([k, v]) => ['-p', `${k}=${v}`]),
    ...(options.args ?? []),
  ];
  const child: ChildProcess = options.spawn ? options.spawn(VARNISHD, args) : spawn(VARNISHD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const work = join(dir, 'work');
  const adm = (...a: string[]): Promise<string> => run('varnishadm', ['-n', work, ...a]);

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM');
      const killed = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(killed);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  let port = 0;
  const deadline = Date.now() + 20_000;
  while (!port) {
    if (child.exitCode !== null || child.signalCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`varnishd exited: ${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`varnishd did not start: ${output}`);
    }
    // "a0 127.0.0.1 PORT" once the cache process listens.
    const listen = await adm('debug.listen_address').catch(() => '');
    const m = /^\S+ 127\.0\.0\.1 (\d+)$/m.exec(listen);
    if (m) port = Number(m[1]);
    else await sleep(100);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    dir,
    adm,
    workerPid() {
      try {
        const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        return children.length ? Number(children[0]) : undefined;
      } catch {
        return undefined;
      }
    },
    async stats() {
      const json = JSON.parse(await run('varnishstat', ['-n', work, '-1', '-j'])) as { counters?: Record<string, { value: number }> } & Record<string, unknown>;
      const counters = (json.counters ?? json) as Record<string, { value?: number }>;
      const out = new Map<string, number>();
      for (const [name, c] of Object.entries(counters)) if (typeof c?.value === 'number') out.set(name, c.value);
      return out;
    },
    stop,
  };
}
