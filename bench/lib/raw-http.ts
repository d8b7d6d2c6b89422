// A minimal HTTP/1.1 client on a raw socket for load generators that hold thousands of
// connections: one request at a time per connection, Content-Length and chunked bodies, the
// receive time of each read. Generic clients count a blocking reload as a slow request and
// cannot say when a byte of a growing body arrived (../shared/research/perf-proxy.md §2.6).
import { connect, type Socket } from 'node:net';

export interface ResponseHandler {
  head(status: number, headers: string, now: bigint): void;
  data(bytes: Buffer, now: bigint): void;
  end(now: bigint): void;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const SHARED_READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer';

export class RawConnection {
  readonly socket: Socket;
  private pending: Buffer | null = null;
  private state: State = 'head';
  private remaining = 0;
  private handler: ResponseHandler | null = null;
  private readonly host: string;

  constructor(
    host: string,
    port: number,
    private readonly onError: (err: Error) => void,
  ) {
    this.host = `${host}:${port}`;
    // onread: reads land in one shared buffer with no stream machinery per read, so ten thousand
    // sockets cost the client little and receive times stay close to the kernel's.
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: SHARED_READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          this.read(Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        },
      },
    });
    this.socket.on('error', (err) => this.onError(err));
    this.socket.on('close', () => {
      if (this.handler) this.onError(new Error('connection closed mid-response'));
    });
  }

  get busy(): boolean {
    return this.handler !== null;
  }

  get(path: string, handler: ResponseHandler, extraHeaders = ''): void {
    if (this.handler) throw new Error('one request at a time');
    this.handler = handler;
    this.state = 'head';
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}\r\n${extraHeaders}\r\n`);
  }

  close(): void {
    this.handler = null;
    this.socket.destroy();
  }

  /** `d` is only valid during this call: what is kept is copied. */
  private read(d: Buffer): void {
    const now = process.hrtime.bigint();
    const buf = this.pending ? Buffer.concat([this.pending, d]) : d;
    this.pending = null;
    let at = 0;
    while (at < buf.length && this.handler) {
      const h = this.handler;
      switch (this.state) {
        case 'head': {
          const end = buf.indexOf(CRLF2, at);
          if (end < 0) {
            this.pending = Buffer.from(buf.subarray(at));
            return;
          }
          const head = buf.toString('latin1', at, end);
          at = end + 4;
          const status = Number(head.slice(9, 12));
          h.head(status, head, now);
          const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
          if (/\r\ntransfer-encoding: *chunked/i.test(head)) this.state = 'chunk-size';
          else {
            this.remaining = cl ? Number(cl[1]) : 0;
            this.state = 'length';
            if (this.remaining === 0) this.finish(now);
          }
          break;
        }
        case 'length': {
          const n = Math.min(this.remaining, buf.length - at);
          h.data(buf.subarray(at, at + n), now);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish(now);
          break;
        }
        case 'chunk-size': {
          const eol = buf.indexOf('\r\n', at);
          if (eol < 0) {
            this.pending = Buffer.from(buf.subarray(at));
            return;
          }
          this.remaining = parseInt(buf.toString('latin1', at, eol), 16);
          at = eol + 2;
          this.state = this.remaining === 0 ? 'trailer' : 'chunk-data';
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, buf.length - at);
          h.data(buf.subarray(at, at + n), now);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'chunk-crlf';
          break;
        }
        case 'chunk-crlf': {
          if (buf.length - at < 2) {
            this.pending = Buffer.from(buf.subarray(at));
            return;
          }
          at += 2;
          this.state = 'chunk-size';
          break;
        }
        case 'trailer': {
          const eol = buf.indexOf('\r\n', at);
          if (eol < 0) {
            this.pending = Buffer.from(buf.subarray(at));
            return;
          }
          const empty = eol === at;
          at = eol + 2;
          if (empty) this.finish(now);
          break;
        }
      }
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
  }

  private finish(now: bigint): void {
    const h = this.handler!;
    this.handler = null;
    this.state = 'head';
    h.end(now);
  }
}

/**
 * A long-running chunked PUT, as an encoder pushes CMAF: each `send` is one HTTP chunk, written
 * at once; returns the moment it was handed to the socket.
 */
export class ChunkedPut {
  private readonly socket: Socket;
  readonly ready: Promise<void>;

  constructor(host: string, port: number, path: string) {
    this.socket = connect({ host, port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('error', () => {});
    this.socket.write(`PUT ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n`);
  }

  send(data: readonly Buffer[]): bigint {
    let n = 0;
    for (const b of data) n += b.length;
    this.socket.cork();
    this.socket.write(`${n.toString(16)}\r\n`);
    for (const b of data) this.socket.write(b);
    this.socket.write('\r\n');
    const t = process.hrtime.bigint();
    this.socket.uncork();
    return t;
  }

  end(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.end('0\r\n\r\n', () => resolve());
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}
