import { loadLoopTrack, type LoopTrack } from '../../src/demo/demo-source.js';
import { runDuration, sliceRun, writeRunHeader, type SampleRun } from '../../src/isobmff/sample-run.js';
import { IngestSession } from '../../src/ingest/session.js';
import { StreamRegistry, type RegistryOptions } from '../../src/timeline/registry.js';
import { FIXTURES } from './fixtures.js';

export const LADDER = [
  { file: 'ladder/v360.mp4', name: 'v360' },
  { file: 'ladder/v180.mp4', name: 'v180' },
  { file: 'ladder/audio.mp4', name: 'audio' },
];

export function loadTracks(files: readonly { file: string; name: string }[]): LoopTrack[] {
  return files.map((f) => loadLoopTrack(FIXTURES + f.file, f.name));
}

export const DEFAULT_OPTIONS: RegistryOptions = {
  targetDuration: 2,
  partTarget: 0.5,
  windowSeconds: 120,
  dvrSeconds: 0,
  maxTracksPerStream: 16,
  maxStreams: 10,
  idleTimeoutMs: 10_000,
};

/** A registry driven by a hand-moved clock. */
export class Harness {
  nowMs = 1_700_000_000_000;
  readonly registry: StreamRegistry;
  readonly warnings: string[] = [];

  constructor(options: Partial<RegistryOptions> = {}, registry?: StreamRegistry) {
    this.registry = registry ?? new StreamRegistry({ ...DEFAULT_OPTIONS, ...options }, () => this.nowMs, (w) => this.warnings.push(w.message));
  }

  session(stream: string, name: string): IngestSession {
    return new IngestSession(this.registry, stream, name, { maxBoxSize: 1 << 24, now: () => this.nowMs });
  }
}

export interface FeedOptions {
  /** Added to every tfdt (raw ticks of each track's timescale, as seconds). */
  readonly offsetSeconds?: number;
  /** Wall-clock ms at media time 0 of this feed. */
  readonly startMs?: number;
  /** Per-track delay of arrival, in ms. */
  readonly lateMs?: Record<string, number>;
  /** Only runs whose end is at most this many seconds. */
  readonly untilSeconds?: number;
  /** Sessions to reuse (else new ones are made and the init is sent). */
  readonly sessions?: Map<string, IngestSession>;
  /** Precede every fragment with a prft (v1, flags 24 "captured") stamped with its arrival time. */
  readonly prft?: boolean;
}

/** A prft box: producer reference time (ISO/IEC 14496-12 8.16.5), version 1. */
export function prftBox(trackId: number, wallMs: number, mediaTime: bigint, flags = 24): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32BE(32, 0);
  b.write('prft', 4, 'latin1');
  b.writeUInt32BE(((1 << 24) | flags) >>> 0, 8);
  b.writeUInt32BE(trackId, 12);
  const seconds = Math.floor(wallMs / 1000) + 2208988800;
  b.writeUInt32BE(seconds >>> 0, 16);
  b.writeUInt32BE(Math.round(((wallMs % 1000) / 1000) * 2 ** 32) >>> 0, 20);
  b.writeBigUInt64BE(mediaTime, 24);
  return b;
}

export function runBytes(run: SampleRun): Buffer[] {
  return [writeRunHeader(run), run.payload];
}

/**
 * Feeds tracks to a stream the way a live encoder would: every fragment at the wall-clock time
 * its last sample ends, all tracks interleaved in that order. Returns the sessions used.
 */
export function feed(h: Harness, stream: string, tracks: readonly LoopTrack[], options: FeedOptions = {}): Map<string, IngestSession> {
  const startMs = options.startMs ?? h.nowMs;
  const sessions = options.sessions ?? new Map<string, IngestSession>();
  const events: { at: number; track: LoopTrack; run: SampleRun }[] = [];
  for (const t of tracks) {
    if (!sessions.has(t.name)) {
      const s = h.session(stream, t.name);
      s.write(t.init);
      sessions.set(t.name, s);
    }
    for (const run of t.runs) {
      const end = Number(run.baseMediaDecodeTime - t.start + BigInt(runDuration(run))) / t.timescale;
      if (options.untilSeconds !== undefined && end > options.untilSeconds + 1e-9) continue;
      const shift = BigInt(Math.round((options.offsetSeconds ?? 0) * t.timescale));
      events.push({ at: startMs + end * 1000 + (options.lateMs?.[t.name] ?? 0), track: t, run: { ...run, baseMediaDecodeTime: run.baseMediaDecodeTime + shift } });
    }
  }
  events.sort((a, b) => a.at - b.at);
  for (const e of events) {
    h.nowMs = Math.max(h.nowMs, Math.round(e.at));
    const s = sessions.get(e.track.name)!;
    if (options.prft) s.write(prftBox(e.run.trackId, h.nowMs - runDuration(e.run) * 1000 / e.track.timescale, e.run.baseMediaDecodeTime));
    for (const b of runBytes(e.run)) s.write(b);
  }
  return sessions;
}

/** A fragment of a looped fixture track, retimed: it ends at media time `end` (seconds from the feed's start). */
export interface ScheduledRun {
  readonly end: number;
  readonly track: LoopTrack;
  readonly run: SampleRun;
}

/**
 * Looped fixture tracks as an endless encoder output: every fragment retimed into its loop (and
 * by `offsetSeconds`, as tfdt seconds), all tracks interleaved by when they end.
 */
export class LoopSchedule {
  readonly loopSeconds: number;
  private readonly queue: ScheduledRun[] = [];
  private planned = 0;

  constructor(
    readonly tracks: readonly LoopTrack[],
    private readonly offsetSeconds = 0,
  ) {
    const video = tracks.find((t) => t.kind === 'video') ?? tracks[0]!;
    this.loopSeconds = video.runs.reduce((n, r) => n + runDuration(r), 0) / video.timescale;
  }

  private plan(untilLoop: number): void {
    for (; this.planned < untilLoop; this.planned++) {
      for (const t of this.tracks) {
        const loopTicks = Math.round(this.loopSeconds * t.timescale);
        const shift = BigInt(Math.round(this.offsetSeconds * t.timescale));
        for (const run of t.runs) {
          const offset = Number(run.baseMediaDecodeTime - t.start);
          if (offset >= loopTicks) continue;
          let n = 0;
          let end = offset;
          while (n < run.durations.length && end < loopTicks) end += run.durations[n++]!;
          const kept = n === run.durations.length ? run : sliceRun(run, 0, n);
          this.queue.push({
            end: this.planned * this.loopSeconds + end / t.timescale,
            track: t,
            run: { ...kept, baseMediaDecodeTime: kept.baseMediaDecodeTime + shift + BigInt(this.planned * loopTicks) },
          });
        }
      }
    }
    this.queue.sort((a, b) => a.end - b.end);
  }

  /** The fragments that end by media time `seconds`, in order (each once). */
  take(seconds: number): ScheduledRun[] {
    this.plan(Math.ceil(seconds / this.loopSeconds) + 1);
    let n = 0;
    while (n < this.queue.length && this.queue[n]!.end <= seconds + 1e-9) n++;
    return this.queue.splice(0, n);
  }

  /** Drops one track's fragments that end by media time `seconds`: an outage of that track's input. */
  skip(track: string, seconds: number): void {
    this.plan(Math.ceil(seconds / this.loopSeconds) + 1);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const e = this.queue[i]!;
      if (e.track.name === track && e.end <= seconds + 1e-9) this.queue.splice(i, 1);
    }
  }
}

/**
 * Plays looped fixture tracks into a stream on demand: `advanceTo(s)` delivers every fragment that
 * ends by media time `s` (wall clock moved to match), as a live encoder would have by then.
 */
export class LiveFeeder {
  private readonly sessions = new Map<string, IngestSession>();
  private readonly schedule: LoopSchedule;
  position = 0;

  constructor(
    private readonly h: Harness,
    private readonly stream: string,
    tracks: readonly LoopTrack[],
    private readonly startMs = h.nowMs,
  ) {
    this.schedule = new LoopSchedule(tracks);
  }

  /** Delivers everything that ends by media time `seconds`. */
  advanceTo(seconds: number): void {
    for (const e of this.schedule.take(seconds)) {
      let s = this.sessions.get(e.track.name);
      if (!s) {
        s = this.h.session(this.stream, e.track.name);
        s.write(e.track.init);
        this.sessions.set(e.track.name, s);
      }
      this.h.nowMs = Math.max(this.h.nowMs, Math.round(this.startMs + e.end * 1000));
      for (const b of runBytes(e.run)) s.write(b);
    }
    this.position = seconds;
    this.h.nowMs = Math.max(this.h.nowMs, Math.round(this.startMs + seconds * 1000));
  }

  /** Drops one track's fragments that end by media time `seconds`: an outage of that track's input. */
  skip(track: string, seconds: number): void {
    this.schedule.skip(track, seconds);
  }

  /** Ends every track (as an encoder's last segment would). */
  end(): void {
    for (const s of this.sessions.values()) s.end();
    const stream = this.h.registry.get(this.stream);
    for (const t of stream?.tracks.values() ?? []) t.end();
  }
}
