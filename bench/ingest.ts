// Ingest benchmarks: the cost of parsing one fragment through the box reader, the chunker and the
// timeline, and the memory one stream of 3 tracks holds with a 2-minute window.
// Run with `npm run bench` (node --expose-gc).
import { loadLoopTrack, type LoopTrack } from '../src/demo/demo-source.js';
import { runDuration, writeRunHeader } from '../src/isobmff/sample-run.js';
import { IngestSession } from '../src/ingest/session.js';
import { StreamRegistry } from '../src/timeline/registry.js';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/ladder/', import.meta.url));

interface Fragment {
  readonly bytes: Buffer;
  readonly end: number;
}

/** A long live push of one track as the bytes an encoder would send: init, then retimed fragments. */
function pushBytes(track: LoopTrack, loops: number): { init: Buffer; fragments: Fragment[] } {
  const loopTicks = track.runs.reduce((n, r) => n + runDuration(r), 0);
  const fragments: Fragment[] = [];
  for (let loop = 0; loop < loops; loop++) {
    for (const run of track.runs) {
      const retimed = { ...run, baseMediaDecodeTime: run.baseMediaDecodeTime + BigInt(loop * loopTicks) };
      const end = Number(retimed.baseMediaDecodeTime + BigInt(runDuration(run))) / track.timescale;
      fragments.push({ bytes: Buffer.concat([writeRunHeader(retimed), retimed.payload]), end });
    }
  }
  return { init: track.init, fragments };
}

function registry(now: () => number, windowSeconds = 120): StreamRegistry {
  return new StreamRegistry({ targetDuration: 2, partTarget: 0.5, windowSeconds, dvrSeconds: 0, maxTracksPerStream: 16, maxStreams: 10, idleTimeoutMs: 1e9 }, now);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function benchParse(runs = 5): { usPerFragment: number; gbitPerSecond: number; memcpyGbitPerSecond: number; bytesPerFragment: number } {
  const track = loadLoopTrack(FIXTURES + 'v360.mp4', 'v360');
  const { init, fragments } = pushBytes(track, 40);
  const total = fragments.reduce((n, f) => n + f.bytes.length, 0);
  const perRun: number[] = [];
  const copyRates: number[] = [];
  const scratch = Buffer.allocUnsafe(total);
  for (let r = 0; r < runs; r++) {
    let now = 0;
    const streams = registry(() => now, 30);
    const session = new IngestSession(streams, 'bench', 'v360', { maxBoxSize: 1 << 24, now: () => now });
    session.write(init);
    const t0 = process.hrtime.bigint();
    for (const f of fragments) {
      now = f.end * 1000;
      session.write(f.bytes);
    }
    perRun.push(Number(process.hrtime.bigint() - t0));
    // Reference in the same run: copying the same bytes once (memcpy speed of this machine).
    const c0 = process.hrtime.bigint();
    let at = 0;
    for (const f of fragments) at += f.bytes.copy(scratch, at);
    copyRates.push(Number(process.hrtime.bigint() - c0));
  }
  const ns = median(perRun);
  return {
    usPerFragment: ns / fragments.length / 1000,
    gbitPerSecond: (total * 8) / ns,
    memcpyGbitPerSecond: (total * 8) / median(copyRates),
    bytesPerFragment: total / fragments.length,
  };
}

/** Full GC, twice, letting V8's concurrent array-buffer sweeper release freed backing stores. */
async function settle(gc: () => void): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pushes `loops` passes of the tracks into stream `name`, fragment by fragment, each in its own Buffer. */
function fill(streams: StreamRegistry, name: string, tracks: readonly LoopTrack[], loops: number, clock: { now: number }): void {
  const pushes = tracks.map((t) => pushBytes(t, loops));
  const sessions = tracks.map((t, i) => {
    const s = new IngestSession(streams, name, t.name, { maxBoxSize: 1 << 24, now: () => clock.now });
    s.write(pushes[i]!.init);
    return s;
  });
  const events = pushes.flatMap((p, i) => p.fragments.map((f) => ({ i, f }))).sort((a, b) => a.f.end - b.f.end);
  for (const e of events) {
    clock.now = e.f.end * 1000;
    // Each fragment arrives in its own buffer, as from a socket.
    sessions[e.i]!.write(Buffer.from(e.f.bytes));
  }
}

/**
 * What one more stream of 3 tracks (360p + 180p + audio, 120 s window) costs in memory, next to
 * the media bytes it holds. A first stream of the same length, dropped before the baseline,
 * brings the process-wide state (compiled code, V8's number-string cache) to its steady size,
 * so that is not charged to the stream.
 */
export async function benchMemory(inspect?: (phase: 'base' | 'full') => void): Promise<{ mediaBytes: number; heapBytes: number; ratio: number; segments: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const tracks = ['v360', 'v180', 'audio'].map((n) => loadLoopTrack(FIXTURES + n + '.mp4', n));
  const clock = { now: 0 };
  const streams = registry(() => clock.now);
  fill(streams, 'warm', tracks, 19, clock);
  streams.remove(streams.get('warm')!);
  await settle(gc);
  inspect?.('base');
  const base = process.memoryUsage();
  fill(streams, 'mem', tracks, 19, clock); // 152 s of media, more than the 120 s window
  await settle(gc);
  const used = process.memoryUsage();
  const stream = streams.get('mem')!;
  let mediaBytes = 0;
  let segments = 0;
  for (const t of stream.tracks.values()) {
    for (const s of t.segments()) {
      mediaBytes += s.byteLength;
      segments++;
    }
  }
  const heapBytes = used.heapUsed - base.heapUsed + (used.arrayBuffers - base.arrayBuffers);
  inspect?.('full');
  return { mediaBytes, heapBytes, ratio: heapBytes / mediaBytes, segments };
}
