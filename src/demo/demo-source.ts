import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BoxReader } from '../isobmff/box-reader.js';
import { MDAT, MOOF, MOOV } from '../isobmff/fourcc.js';
import { parseMoof } from '../isobmff/fragment.js';
import { parseInit, type TrackKind } from '../isobmff/init.js';
import { runDuration, runFromFragment, sliceRun, writeRunHeader, type SampleRun } from '../isobmff/sample-run.js';
import { IngestSession, type IngestObserver } from '../ingest/session.js';
import type { StreamRegistry } from '../timeline/registry.js';

export const DEMO_FIXTURES = fileURLToPath(new URL('../../fixtures/ladder/', import.meta.url));
export const DEMO_FILES = ['v360.mp4', 'v180.mp4', 'audio.mp4'];

/** One fragmented MP4 file split into its CMAF header and sample runs. */
export interface LoopTrack {
  readonly name: string;
  readonly init: Buffer;
  readonly timescale: number;
  readonly kind: TrackKind;
  readonly runs: readonly SampleRun[];
  /** Decode time of the first sample. */
  readonly start: bigint;
}

export function loadLoopTrack(path: string, name: string): LoopTrack {
  const file = readFileSync(path);
  const reader = new BoxReader({ maxBoxSize: file.length });
  let init: Buffer | undefined;
  let info: ReturnType<typeof parseInit> | undefined;
  let moof: { data: Buffer; headerSize: number; offset: number } | undefined;
  const runs: SampleRun[] = [];
  reader.push(file, (box) => {
    if (box.type === MOOV) {
      info = parseInit(undefined, box.data, box.headerSize);
      init = file.subarray(0, box.offset + box.data.length);
    } else if (box.type === MOOF) moof = box;
    else if (box.type === MDAT && moof && info) {
      const defaults = new Map(info.tracks.map((t) => [t.trackId, t.defaults]));
      const fragment = parseMoof(moof.data, moof.headerSize, moof.offset, (id) => defaults.get(id));
      for (const traf of fragment.trafs) {
        const r = traf.dataRanges[0]!;
        const start = r.start - (box.offset - moof.offset);
        const length = traf.dataRanges.reduce((n, x) => n + x.length, 0);
        runs.push(runFromFragment(traf, fragment.sequenceNumber, box.data.subarray(start, start + length)));
      }
      moof = undefined;
    }
  });
  if (!init || !info || runs.length === 0) throw new Error(`${path} is not a fragmented MP4 with media`);
  const track = info.tracks[0]!;
  return { name, init, timescale: track.timescale, kind: track.kind, runs, start: runs[0]!.baseMediaDecodeTime };
}

/**
 * Plays looped fixture tracks as a live encoder would: each fragment is written to an
 * IngestSession (the same code path as an HTTP push) when the wall clock reaches its end,
 * retimed so timestamps keep rising; samples past the loop length are cut.
 */
export class LoopingSource {
  private readonly sessions: IngestSession[];
  private readonly loopSeconds: number;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly cursors: { loop: number; index: number }[];
  private stopped = false;

  constructor(
    private readonly tracks: readonly LoopTrack[],
    streams: StreamRegistry,
    stream: string,
    private readonly now: () => number,
    options: { maxBoxSize: number; observer?: IngestObserver },
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    const videos = tracks.filter((t) => t.kind === 'video');
    const lengths = (videos.length > 0 ? videos : tracks).map((t) => t.runs.reduce((n, r) => n + runDuration(r), 0) / t.timescale);
    this.loopSeconds = Math.min(...lengths);
    this.sessions = tracks.map((t) => new IngestSession(streams, stream, t.name, { maxBoxSize: options.maxBoxSize, now, ...(options.observer ? { observer: options.observer } : {}) }));
    this.cursors = tracks.map(() => ({ loop: 0, index: 0 }));
  }

  start(): void {
    this.startedAt = this.now();
    this.tracks.forEach((t, i) => this.sessions[i]!.write(t.init));
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.sessions) {
      try {
        s.abort();
      } catch (err) {
        s.fail();
        this.onError(err);
      }
    }
  }

  private dueMs(i: number): number {
    const track = this.tracks[i]!;
    const c = this.cursors[i]!;
    const run = track.runs[c.index]!;
    const end = Number(run.baseMediaDecodeTime - track.start + BigInt(runDuration(run))) / track.timescale;
    return this.startedAt + (c.loop * this.loopSeconds + Math.min(end, this.loopSeconds)) * 1000;
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.now();
    let next = Infinity;
    try {
      for (let i = 0; i < this.tracks.length; i++) {
        for (let due = this.dueMs(i); due <= now; due = this.dueMs(i)) this.emit(i);
        next = Math.min(next, this.dueMs(i));
      }
    } catch (err) {
      this.onError(err);
      this.stop();
      return;
    }
    this.timer = setTimeout(() => this.tick(), Math.max(1, next - now));
  }

  private emit(i: number): void {
    const track = this.tracks[i]!;
    const c = this.cursors[i]!;
    const run = track.runs[c.index]!;
    const loopTicks = Math.round(this.loopSeconds * track.timescale);
    const offset = run.baseMediaDecodeTime - track.start;
    let count = 0;
    let t = Number(offset);
    while (count < run.durations.length && t < loopTicks) t += run.durations[count++]!;
    if (count > 0) {
      const kept = count === run.durations.length ? run : sliceRun(run, 0, count);
      const retimed: SampleRun = { ...kept, baseMediaDecodeTime: kept.baseMediaDecodeTime + BigInt(c.loop * loopTicks), sequenceNumber: c.loop * track.runs.length + c.index + 1 };
      this.sessions[i]!.write(writeRunHeader(retimed));
      this.sessions[i]!.write(retimed.payload);
    }
    c.index++;
    if (c.index === track.runs.length || t >= loopTicks) {
      c.index = 0;
      c.loop++;
    }
  }
}

/** The built-in demo stream: the committed H.264/AAC ladder, looped. */
export function createDemo(
  streams: StreamRegistry,
  stream: string,
  now: () => number,
  options: { maxBoxSize: number; observer?: IngestObserver },
  onError?: (err: unknown) => void,
): LoopingSource {
  const tracks = DEMO_FILES.map((f) => loadLoopTrack(DEMO_FIXTURES + f, f.replace(/\.mp4$/, '')));
  return new LoopingSource(tracks, streams, stream, now, options, onError);
}
