import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IngestTee {
  /** http://127.0.0.1:PORT: point the encoder here. */
  readonly url: string;
  /** Requests forwarded so far. */
  readonly requests: () => number;
  close(): Promise<void>;
}

/**
 * One encoder's output copied byte for byte to several origins, whatever the ingest shape: every
 * request the encoder makes (a long-running PUT, ffmpeg's DASH push, a PUT per segment) is
 * replayed to each origin with the same method, path and body, each chunk forwarded as it
 * arrives. The encoder gets the first origin's answer. The shell equivalent for one PUT:
 * `ffmpeg … -f mp4 - | tee >(curl -sT - URL_A) | curl -sT - URL_B`.
 */
export async function startIngestTee(origins: readonly string[]): Promise<IngestTee> {
  let count = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    count++;
    const upstream = origins.map((base) =>
      request(base + (req.url ?? '/'), {
        method: req.method,
        headers: { 'transfer-encoding': 'chunked', ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}) },
      }),
    );
    const answers = upstream.map(
      (u) =>
        new Promise<{ status: number; body: string }>((resolve) => {
          u.on('response', (r) => {
            let body = '';
            r.on('data', (d: Buffer) => (body += d.toString()));
            r.on('end', () => resolve({ status: r.statusCode ?? 502, body }));
          });
          u.on('error', (e) => resolve({ status: 502, body: String(e) }));
        }),
    );
    // When each copy's last write reached the socket.
    const flushed = upstream.map(() => Promise.resolve());
    req.on('data', (d: Buffer) => {
      upstream.forEach((u, i) => (flushed[i] = new Promise<void>((resolve) => u.write(d, () => resolve()))));
    });
    req.on('end', () => {
      for (const u of upstream) u.end();
      void answers[0]!.then((a) => {
        res.writeHead(a.status, { 'content-type': 'text/plain' });
        res.end(a.body);
      });
    });
    // The encoder's connection died mid-body: so do the copies, once each has sent every byte the
    // encoder sent (the origins see the same cut, not whatever one socket had flushed).
    req.on('aborted', () => {
      upstream.forEach((u, i) => void flushed[i]!.then(() => u.destroy()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
