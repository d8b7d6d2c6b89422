// The reference server: Debian's nginx, one worker, sendfile, serving files from a temp dir.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { has, onLines, SERVER_CPU, spawnPinned, stopChild } from './system.js';
import { sleep } from './stats.js';

export interface Nginx {
  readonly pid: number;
  readonly port: number;
  /** Writes a file under the document root; returns its URL path. */
  put(path: string, bytes: Buffer): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** nginx as perf-proxy.md §2.1 ran it; undefined when nginx is not installed. */
export async function startNginx(): Promise<Nginx | undefined> {
  if (!has('nginx')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  const www = join(dir, 'www');
  mkdirSync(www);
  const port = await freePort();
  const conf = `
worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 20000; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 10000000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { application/vnd.apple.mpegurl m3u8; video/mp4 m4s mp4; }
  server {
    listen 127.0.0.1:${port};
    root ${www};
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawnPinned(SERVER_CPU, 'nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')]);
  let out = '';
  onLines(child, (l) => (out += l + '\n'));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${out}`);
    try {
      const r = await request(`http://127.0.0.1:${port}/`);
      await r.body.dump();
      break;
    } catch {
      await sleep(100);
    }
  }
  return {
    pid: child.pid!,
    port,
    put(path, bytes) {
      writeFileSync(join(www, path), bytes);
      return `/${path}`;
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
