// fMP4 → MPEG-TS remux cost: ms per MB of TS output, cold (every render from scratch) and cached.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLoopTrack, type LoopTrack } from '../src/demo/demo-source.js';
import { runDuration, writeRunHeader } from '../src/isobmff/sample-run.js';
import { IngestSession } from '../src/ingest/session.js';
import { renderTsSegment, type TsSource } from '../src/mpegts/segment.js';
import { RecycledMemory } from '../src/http/recycled-memory.js';
import { TsCache } from '../src/http/ts-routes.js';
import { StreamRegistry } from '../src/timeline/registry.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/ladder/', import.meta.url));

/** A 720p30 5 Mbit/s H.264 (B-frames) + AAC source made with ffmpeg; the small ladder without ffmpeg. */
function sources(): { tracks: LoopTrack[]; label: string } {
  try {
    const dir = mkdtempSync(join(tmpdir(), 'bench-ts-'));
    const common = ['-hide_banner', '-loglevel', 'error', '-y', '-t', '20', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '20', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
    const frag = ['-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000'];
    execFileSync('ffmpeg', [...common, '-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '5M', ...frag, join(dir, 'v.mp4'), '-map', '1:a', '-c:a', 'aac', '-b:a', '128k', ...frag, join(dir, 'a.mp4')]);
    return { tracks: [loadLoopTrack(join(dir, 'v.mp4'), 'v'), loadLoopTrack(join(dir, 'a.mp4'), 'a')], label: '720p30 5 Mbit/s H.264 + AAC' };
  } catch {
    return { tracks: [loadLoopTrack(FIXTURES + 'v360.mp4', 'v'), loadLoopTrack(FIXTURES + 'audio.mp4', 'a')], label: '360p 300 kbit/s H.264 + AAC (no ffmpeg here)' };
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface TsBench {
  readonly label: string;
  /** Every segment rendered into recycled memory: the steady state once the TS cache is full. */
  readonly msPerMb: number;
  /** The same into freshly allocated memory: the first renders after start. */
  readonly freshMsPerMb: number;
  /** Copying the segments' media bytes once into warm memory (the floor of any remux). */
  readonly memcpyMsPerMb: number;
  readonly segmentMs: number;
  readonly segmentBytes: number;
  readonly cachedNs: number;
}

export function benchTs(runs = 15): TsBench {
  const { tracks, label } = sources();
  let now = 0;
  const streams = new StreamRegistry({ targetDuration: 2, partTarget: 0.5, windowSeconds: 600, dvrSeconds: 0, maxTracksPerStream: 4, maxStreams: 1, idleTimeoutMs: 1e9 }, () => now);
  const events = tracks.flatMap((t) => {
    const s = new IngestSession(streams, 'b', t.name, { maxBoxSize: 1 << 26, now: () => now });
    s.write(t.init);
    return t.runs.map((r) => ({ s, end: Number(r.baseMediaDecodeTime - t.start + BigInt(runDuration(r))) / t.timescale, bytes: [writeRunHeader(r), r.payload] }));
  });
  events.sort((a, b) => a.end - b.end);
  for (const e of events) {
    now = e.end * 1000;
    for (const b of e.bytes) e.s.write(b);
  }
  const stream = streams.get('b')!;
  const video = stream.tracks.get('v')!;
  const audio = stream.tracks.get('a')!;
  const sourcesOf: { msn: number; source: TsSource; media: Buffer[] }[] = [];
  for (const seg of video.segments()) {
    const a = audio.findSegment(seg.msn);
    if (seg.state === 'complete' && a?.state === 'complete') {
      const vb = video.residentBytes(seg)!;
      const ab = audio.residentBytes(a)!;
      sourcesOf.push({ msn: seg.msn, source: { video: { track: video, segment: seg, bytes: vb }, audio: { track: audio, segment: a, bytes: ab } }, media: [...vb.range(0, seg.byteLength), ...ab.range(0, a.byteLength)] });
    }
  }
  const memory = new RecycledMemory(64 << 20);
  const recycled: number[] = [];
  const fresh: number[] = [];
  const copies: number[] = [];
  let bytes = 0;
  const scratch = Buffer.alloc(16 << 20);
  for (let r = 0; r < runs; r++) {
    bytes = 0;
    let t0 = process.hrtime.bigint();
    for (const { msn, source } of sourcesOf) {
      let block: Buffer | undefined;
      bytes += renderTsSegment(msn, source, (size) => (block = memory.take(size))).length;
      memory.give(block!);
    }
    recycled.push(Number(process.hrtime.bigint() - t0) / 1e6);
    t0 = process.hrtime.bigint();
    for (const { msn, source } of sourcesOf) renderTsSegment(msn, source);
    fresh.push(Number(process.hrtime.bigint() - t0) / 1e6);
    t0 = process.hrtime.bigint();
    for (const { media } of sourcesOf) {
      let at = 0;
      for (const b of media) at += b.copy(scratch, at);
    }
    copies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const mb = bytes / 1e6;
  const cache = new TsCache(1 << 30);
  const first = sourcesOf[0]!;
  const render = (allocate: Parameters<Parameters<TsCache['lease']>[1]>[0]): Buffer => renderTsSegment(first.msn, first.source, allocate);
  cache.lease('k', render).done();
  const n = 200_000;
  const h0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) cache.lease('k', render).done();
  const cachedNs = Number(process.hrtime.bigint() - h0) / n;
  return {
    label,
    msPerMb: median(recycled) / mb,
    freshMsPerMb: median(fresh) / mb,
    memcpyMsPerMb: median(copies) / mb,
    segmentMs: median(recycled) / sourcesOf.length,
    segmentBytes: bytes / sourcesOf.length,
    cachedNs,
  };
}
