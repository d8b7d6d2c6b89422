import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface OriginProcess {
  readonly pid: number;
  readonly playback: string;
  readonly ingest: string;
  readonly playbackPort: number;
  readonly ingestPort: number;
  readonly exited: Promise<void>;
  /** Whether the process has exited, and its stderr (plus stdout lines at warn and above). */
  status(): { alive: boolean; output: string };
  /** SIGKILL: gone at once, sockets reset, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 3 s. */
  stop(): Promise<void>;
}

/**
 * The origin as `npm start` runs it (the CLI, here from source through tsx) in a child process,
 * on loopback ports (ephemeral unless given, so a restart can take the same ones again).
 */
export async function startOriginProcess(ports: { playback?: number; ingest?: number } = {}, extraArgs: readonly string[] = []): Promise<OriginProcess> {
  const args = ['--import', 'tsx', 'src/cli.ts', '--no-demo', '--host', '127.0.0.1', '--port', String(ports.playback ?? 0), '--ingest-port', String(ports.ingest ?? 0), '--log-level', 'info', ...(extraArgs.includes('--dvr-window') ? [] : ['--dvr-window', '0']), ...extraArgs];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const listening = await new Promise<{ playback: string; ingest: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`origin did not start: ${output}`)), 30_000);
    let rest = '';
    child.stdout!.on('data', (d: Buffer) => {
      rest += d.toString();
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (/"level":(40|50|60)/.test(line)) output += line + '\n';
        if (line.includes('"origin listening"')) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as { playback: string; ingest: string });
        }
      }
    });
    void exited.then(() => reject(new Error(`origin exited: ${output}`)));
  });
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, sig);
    await exited;
  };
  return {
    pid: child.pid!,
    playback: listening.playback,
    ingest: listening.ingest,
    playbackPort: Number(new URL(listening.playback).port),
    ingestPort: Number(new URL(listening.ingest).port),
    exited,
    status: () => ({ alive: child.exitCode === null && child.signalCode === null, output }),
    kill: () => signal('SIGKILL'),
    async stop() {
      const killer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 3000);
      await signal('SIGTERM');
      clearTimeout(killer);
    },
  };
}
