import { spawn, type ChildProcess } from 'node:child_process';
import { request, type ClientRequest } from 'node:http';

interface Sink {
  readonly req: ClientRequest;
  /** Fragments flow once the next moof starts (a late join begins on a fragment boundary). */
  started: boolean;
  dead: boolean;
}

/**
 * One encoder copied to several origins, as a redundant pair is fed: ffmpeg writes one
 * fragmented MP4 to stdout, and each attached origin gets it over its own long-running chunked
 * PUT. An origin attached later (or again, after a restart) gets the init segment (ftyp + moov),
 * then the fragments from the next moof on, as a reconnecting encoder sends them.
 */
export class TeePush {
  private readonly child: ChildProcess;
  private readonly sinks = new Map<string, Sink>();
  private init: Buffer[] = [];
  private initDone = false;
  private pending: Buffer = Buffer.alloc(0);
  private stderr = '';

  constructor(ffmpegArgs: readonly string[], urls: readonly string[]) {
    this.child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...ffmpegArgs, 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdout!.on('data', (d: Buffer) => this.read(d));
    for (const url of urls) this.attach(url);
  }

  get errors(): string {
    return this.stderr;
  }

  /** Starts (or restarts) the PUT to `url`. */
  attach(url: string): void {
    this.detach(url);
    const req = request(url, { method: 'PUT', headers: { 'Content-Type': 'video/mp4', 'Transfer-Encoding': 'chunked' } });
    const sink: Sink = { req, started: false, dead: false };
    req.on('error', () => (sink.dead = true));
    req.on('response', (res) => {
      res.resume();
      sink.dead = true;
    });
    if (this.initDone) for (const b of this.init) req.write(b);
    this.sinks.set(url, sink);
  }

  detach(url: string): void {
    const sink = this.sinks.get(url);
    if (!sink) return;
    this.sinks.delete(url);
    sink.dead = true;
    sink.req.destroy();
  }

  stop(): void {
    for (const url of [...this.sinks.keys()]) this.detach(url);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private read(d: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, d]) : d;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(0);
      if (size < 8) throw new Error(`TeePush: unsupported box size ${size}`);
      if (this.pending.length < size) break;
      const box = Buffer.from(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
      this.box(box.toString('latin1', 4, 8), box);
    }
  }

  private box(type: string, box: Buffer): void {
    if (!this.initDone && (type === 'ftyp' || type === 'moov')) {
      this.init.push(box);
      if (type === 'moov') {
        this.initDone = true;
        for (const sink of this.sinks.values()) for (const b of this.init) sink.req.write(b);
      }
      return;
    }
    for (const sink of this.sinks.values()) {
      if (sink.dead) continue;
      if (!sink.started && type !== 'moof') continue;
      sink.started = true;
      sink.req.write(box);
    }
  }
}
