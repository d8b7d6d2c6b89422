// The node:http floor server (bench/floor-server.mjs) as a pinned child process.
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { onLines, SERVER_CPU, spawnPinned, stopChild } from './system.js';

const SCRIPT = fileURLToPath(new URL('../floor-server.mjs', import.meta.url));

export interface Floor {
  readonly pid: number;
  readonly playbackPort: number;
  readonly ingestPort: number;
  /** static mode: serves `bytes` at `path`. */
  put(path: string, bytes: Buffer): Promise<string>;
  stop(): Promise<void>;
}

export function startFloor(mode: 'static' | 'held' | 'fanout', bodyBytes = 4096): Promise<Floor> {
  const child = spawnPinned(SERVER_CPU, process.execPath, [SCRIPT, JSON.stringify({ mode, bodyBytes })]);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
    onLines(child, (line) => {
      const { playback, ingest } = JSON.parse(line) as { playback: number; ingest: number };
      resolve({
        pid: child.pid!,
        playbackPort: playback,
        ingestPort: ingest,
        async put(path, bytes) {
          const r = await request(`http://127.0.0.1:${playback}${path}`, { method: 'PUT', body: bytes });
          await r.body.dump();
          return path;
        },
        stop: () => stopChild(child),
      });
    });
  });
}
