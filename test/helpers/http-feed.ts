import { request, type ClientRequest } from 'node:http';
import type { LoopTrack } from '../../src/demo/demo-source.js';
import { runDuration, type SampleRun } from '../../src/isobmff/sample-run.js';
import { LoopSchedule, prftBox, runBytes, type ScheduledRun } from './feed.js';
import { sleep } from './hls.js';

/**
 * An encoder over HTTP made of looped fixture tracks: one long-running chunked PUT per track to
 * `{ingest}/live/{stream}/{track}.cmfv`, fragments retimed so the tfdt counts from the Unix epoch
 * (`startUnixSeconds` at the first sample, the origin's `epoch` clock). `pushUntil` sends what
 * ends by a media time as fast as the connection takes it (a fast push, many times real time);
 * `paceUntil` sends it as a live encoder would, each fragment when its media has been captured.
 */
export class HttpFeeder {
  readonly schedule: LoopSchedule;
  private readonly puts = new Map<string, ClientRequest>();
  private readonly failures: Error[] = [];
  /** Media time (seconds from the start) pushed so far. */
  position = 0;
  /** What was sent per track, in decode order (what a served segment must carry). */
  readonly sent = new Map<string, SampleRun[]>();

  constructor(
    private readonly ingest: string,
    private readonly stream: string,
    tracks: readonly LoopTrack[],
    readonly startUnixSeconds: number,
    private readonly options: { prft?: boolean; keep?: boolean } = {},
  ) {
    this.schedule = new LoopSchedule(tracks, startUnixSeconds);
  }

  private put(track: LoopTrack): ClientRequest {
    let req = this.puts.get(track.name);
    if (!req) {
      req = request(`${this.ingest}/live/${this.stream}/${track.name}.cmf${track.kind === 'video' ? 'v' : 'a'}`, { method: 'PUT', headers: { 'Content-Type': 'video/mp4', 'Transfer-Encoding': 'chunked' } });
      req.on('error', (err) => this.failures.push(err));
      req.on('response', (res) => res.resume());
      req.write(track.init);
      this.puts.set(track.name, req);
    }
    return req;
  }

  private async send(e: ScheduledRun): Promise<void> {
    const req = this.put(e.track);
    if (this.options.prft) req.write(prftBox(e.run.trackId, (this.startUnixSeconds + e.end) * 1000 - (runDuration(e.run) * 1000) / e.track.timescale, e.run.baseMediaDecodeTime));
    const [header, payload] = runBytes(e.run);
    req.write(header);
    if (this.options.keep !== false) {
      let runs = this.sent.get(e.track.name);
      if (!runs) this.sent.set(e.track.name, (runs = []));
      runs.push(e.run);
    }
    if (!req.write(payload)) await new Promise((r) => req.once('drain', r));
  }

  /** Sends, as fast as the origin takes them, every fragment that ends by media time `seconds`. */
  async pushUntil(seconds: number): Promise<void> {
    this.check();
    for (const e of this.schedule.take(seconds)) await this.send(e);
    this.position = Math.max(this.position, seconds);
    this.check();
  }

  /** Sends the fragments that end by media time `seconds`, each when the wall clock reaches its end. */
  async paceUntil(seconds: number, signal?: { stopped: boolean }): Promise<void> {
    for (const e of this.schedule.take(seconds)) {
      if (signal?.stopped) return;
      const wait = (this.startUnixSeconds + e.end) * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      await this.send(e);
      this.position = Math.max(this.position, e.end);
    }
    this.check();
  }

  /** Media time (seconds from the start) that the wall clock has reached. */
  nowSeconds(): number {
    return Date.now() / 1000 - this.startUnixSeconds;
  }

  /** Ends every PUT cleanly (the encoder stops). */
  async end(): Promise<void> {
    await Promise.all([...this.puts.values()].map((req) => new Promise<void>((r) => req.end(r))));
    this.puts.clear();
  }

  /** Cuts every PUT (the encoder dies, or the origin did). */
  abort(): void {
    for (const req of this.puts.values()) req.destroy();
    this.puts.clear();
  }

  private check(): void {
    const err = this.failures.shift();
    if (err) throw err;
  }
}
