import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Port of an http://host:port base URL. */
export function portOf(base: string): number {
  return Number(new URL(base).port);
}

function parse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) {
      const name = line.slice(0, i).toLowerCase();
      headers[name] = headers[name] === undefined ? line.slice(i + 1).trim() : `${headers[name]}, ${line.slice(i + 1).trim()}`;
    }
  }
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: end < 0 ? '' : text.slice(end + 4) };
}

/**
 * Sends bytes exactly as given (a request no HTTP client would send) and reads the answer until
 * the server closes or `Content-Length` is complete. Resolves status 0 if the server closed
 * without answering.
 */
export function rawRequest(port: number, request: string | Buffer, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1', ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks).toString('latin1')));
    };
    const timer = setTimeout(() => {
      done = true;
      socket.destroy();
      reject(new Error(`no answer in ${options.timeoutMs ?? 5000} ms to ${String(request).slice(0, 80)}`));
    }, options.timeoutMs ?? 5000);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const r = parse(Buffer.concat(chunks).toString('latin1'));
      const length = r.headers['content-length'];
      if (length !== undefined && Buffer.byteLength(r.body, 'latin1') >= Number(length) && Buffer.concat(chunks).includes('\r\n\r\n')) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', finish);
    socket.write(request);
  });
}

/** A GET with the given target and extra header lines, exactly as written. */
export function rawGet(port: number, target: string, headers: readonly string[] = [], options: { localAddress?: string } = {}): Promise<RawResponse> {
  return rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`, options);
}
