// A synthetic live encoder: CMAF fragments of a chosen bitrate behind the header of the ladder's
// 360p fixture. The origin never decodes video samples, so their bytes are filler; sizes, timing
// and sync flags are what it works with.
import { fileURLToPath } from 'node:url';
import { loadLoopTrack } from '../../src/demo/demo-source.js';
import { writeRunHeader, type SampleRun } from '../../src/isobmff/sample-run.js';
import { ChunkedPut } from './raw-http.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/ladder/v360.mp4', import.meta.url));
const SYNC = 0x02000000;
const NON_SYNC = 0x01010000;

export interface EncoderOptions {
  readonly bitsPerSecond: number;
  readonly fragmentSeconds?: number;
  readonly gopSeconds?: number;
  /** Writes MARKER and the fragment's index at the start of each fragment's payload. */
  readonly marked?: boolean;
}

/** Opens a marked fragment (after the first NAL length), followed by its index (uint32 BE). */
export const MARKER = Buffer.from([0xf0, 0x9f, 0x8e, 0xac]);

export class SyntheticEncoder {
  readonly init: Buffer;
  readonly fragmentMs: number;
  private readonly trackId: number;
  private readonly sampleDuration: number;
  private readonly samplesPerFragment: number;
  private readonly samplesPerGop: number;
  private readonly sampleSize: number;
  private readonly filler: Buffer;
  private readonly marked: boolean;
  private sample = 0;
  private sequence = 1;

  constructor(options: EncoderOptions) {
    const track = loadLoopTrack(FIXTURE, 'v');
    const first = track.runs[0]!;
    this.init = track.init;
    this.trackId = first.trackId;
    this.sampleDuration = first.durations[0]!;
    const fps = track.timescale / this.sampleDuration;
    this.samplesPerFragment = Math.max(1, Math.round((options.fragmentSeconds ?? 0.2) * fps));
    this.samplesPerGop = Math.max(1, Math.round((options.gopSeconds ?? 1) * fps));
    this.fragmentMs = (this.samplesPerFragment / fps) * 1000;
    this.sampleSize = Math.max(16, Math.round(options.bitsPerSecond / 8 / fps));
    // Each sample one NAL unit (a 4-byte length, as the fixture's avcC says), the rest filler:
    // the ingest checks that NAL lengths stay inside their sample.
    this.filler = Buffer.alloc(this.sampleSize * this.samplesPerFragment, 0x5a);
    for (let i = 0; i < this.samplesPerFragment; i++) this.filler.writeUInt32BE(this.sampleSize - 4, i * this.sampleSize);
    this.marked = options.marked ?? false;
  }

  /** The next fragment: `moof` + `mdat` header, then the payload. */
  next(): Buffer[] {
    const n = this.samplesPerFragment;
    const flags = new Uint32Array(n);
    for (let i = 0; i < n; i++) flags[i] = (this.sample + i) % this.samplesPerGop === 0 ? SYNC : NON_SYNC;
    const run: SampleRun = {
      trackId: this.trackId,
      sequenceNumber: this.sequence++,
      sampleDescriptionIndex: 1,
      baseMediaDecodeTime: BigInt(this.sample * this.sampleDuration),
      durations: new Uint32Array(n).fill(this.sampleDuration),
      sizes: new Uint32Array(n).fill(this.sampleSize),
      flags,
      ctos: new Int32Array(n),
      payload: this.filler,
    };
    this.sample += n;
    if (!this.marked) return [writeRunHeader(run), this.filler];
    const marker = Buffer.allocUnsafe(8);
    MARKER.copy(marker);
    marker.writeUInt32BE(run.sequenceNumber - 1, 4);
    // Inside the first NAL unit, after its length.
    return [writeRunHeader(run), this.filler.subarray(0, 4), marker, this.filler.subarray(12)];
  }
}

/**
 * Pushes a SyntheticEncoder's output in real time over one chunked PUT and remembers when each
 * fragment was handed to the socket (process.hrtime, shared by every process on the host).
 */
export class LivePublisher {
  readonly published: bigint[] = [];
  private readonly put: ChunkedPut;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(
    host: string,
    port: number,
    path: string,
    readonly encoder: SyntheticEncoder,
  ) {
    this.put = new ChunkedPut(host, port, path);
  }

  /**
   * Sends the header, then `prefillSeconds` of media at once (a full DVR window without waiting
   * for it), then one fragment per fragment duration.
   */
  async start(prefillSeconds = 0): Promise<void> {
    await this.put.ready;
    this.put.send([this.encoder.init]);
    for (let t = 0; t < prefillSeconds * 1000; t += this.encoder.fragmentMs) this.published.push(this.put.send(this.encoder.next()));
    const t0 = performance.now();
    let k = 0;
    const tick = (): void => {
      if (!this.paused) this.published.push(this.put.send(this.encoder.next()));
      k++;
      this.timer = setTimeout(tick, Math.max(0, t0 + k * this.encoder.fragmentMs - performance.now()));
    };
    tick();
  }

  /** Stops sending fragments (media time stands still) until `resume`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Index of the newest fragment published at or before `t`, or -1. */
  latestAt(t: bigint): number {
    const p = this.published;
    let i = p.length - 1;
    while (i >= 0 && p[i]! > t) i--;
    return i;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.put.end();
  }
}
