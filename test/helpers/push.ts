import { request } from 'node:http';

export interface PushAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface Push {
  readonly answer: Promise<PushAnswer>;
  write(bytes: Buffer): void;
  end(): void;
  destroy(): void;
}

/** One ingest request (chunked): `body` written at once, then ended unless `open`. */
export function push(base: string, method: string, path: string, body: Buffer | string, headers: Record<string, string> = {}, options: { open?: boolean; localAddress?: string } = {}): Push {
  const req = request(base + path, { method, headers: { 'transfer-encoding': 'chunked', ...headers }, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
  const answer = new Promise<PushAnswer>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', () => resolve({ status: 0, body: '', headers: {} }));
  });
  if (body.length > 0) req.write(body);
  if (!options.open) req.end();
  return { answer, write: (b) => req.write(b), end: () => req.end(), destroy: () => req.destroy() };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
