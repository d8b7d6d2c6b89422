// DVR benchmarks: segments read back from disk against nginx sendfile of the same files, memory
// with a 2-hour DVR against a 2-minute one, disk bytes per media byte, the restart, and a 2-hour
// start-over playlist.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { LIVE, type ViewRequest } from '../src/dvr/view.js';
import { renderMediaPlaylist } from '../src/hls/media-playlist.js';
import { StreamRegistry } from '../src/timeline/registry.js';
import type { Segment } from '../src/timeline/segment.js';
import type { SegmentStore, StoreKey } from '../src/timeline/store.js';
import { IngestSession } from '../src/ingest/session.js';
import { SyntheticEncoder } from './lib/encoder.js';
import { loadPaths, type LoadResult } from './lib/load.js';
import { metric } from './lib/live.js';
import { startNginx } from './lib/nginx.js';
import { startOriginProcess, type OriginProcess } from './lib/origin.js';
import { median, sleep } from './lib/stats.js';
import { cpuMeter, rssBytes } from './lib/system.js';

const HOST = '127.0.0.1';

/** Tracks of a compressed-time push: name and bit rate. */
type Ladder = readonly { readonly name: string; readonly bitsPerSecond: number }[];

/**
 * Pushes `seconds` of synthetic media per track over one chunked PUT each, as fast as the origin
 * takes it (the timestamps are media time; the origin's clock is the arrival one). Returns the
 * media bytes sent.
 */
async function pushCompressed(ingestPort: number, stream: string, ladder: Ladder, seconds: number): Promise<number> {
  const tracks = ladder.map((t) => {
    const encoder = new SyntheticEncoder({ bitsPerSecond: t.bitsPerSecond, fragmentSeconds: 0.2, gopSeconds: 2 });
    const req = httpRequest({ host: HOST, port: ingestPort, path: `/live/${stream}/${t.name}.cmfv`, method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    req.on('response', (r) => r.resume());
    req.write(encoder.init);
    return { encoder, req };
  });
  let media = 0;
  const fragments = Math.round(seconds / 0.2);
  for (let i = 0; i < fragments; i++) {
    for (const t of tracks) {
      const [header, ...payload] = t.encoder.next();
      t.req.write(header!);
      let ok = true;
      for (const p of payload) {
        media += p.length;
        ok = t.req.write(p);
      }
      if (!ok) await new Promise((r) => t.req.once('drain', r));
    }
  }
  await Promise.all(tracks.map((t) => new Promise<void>((r) => t.req.end(r))));
  return media;
}

async function text(url: string): Promise<string> {
  const r = await request(url);
  const body = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${body}`);
  return body;
}

/** Waits until the origin's DVR has written everything it was given (its written bytes stand still). */
async function settled(origin: OriginProcess): Promise<void> {
  let last = -1;
  for (let i = 0; i < 600; i++) {
    const n = await metric(`http://${HOST}:${origin.playbackPort}`, 'origin_dvr_written_bytes_total');
    if (n === last && n > 0) return;
    last = n;
    await sleep(500);
  }
  throw new Error('the DVR did not settle');
}

function duBytes(dir: string): { files: number; bytes: number; media: number } {
  let files = 0;
  let bytes = 0;
  let media = 0;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else {
        files++;
        bytes += st.size;
        if (name.endsWith('.cmf')) media += st.size;
      }
    }
  };
  walk(dir);
  return { files, bytes, media };
}

/** Drops the kernel's page cache (root only); whether it could. */
function dropCaches(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

export interface DvrThroughput {
  readonly segments: number;
  readonly segmentBytes: number;
  readonly cold: { readonly origin: LoadResult; readonly nginx: LoadResult } | null;
  /** Warm page cache, the origin's read cache off: every response a positioned read. */
  readonly warm: { readonly origin: LoadResult; readonly nginx: LoadResult; readonly originCpu: number; readonly nginxCpu: number };
  /** The same load with the origin's read cache on (its default). */
  readonly cached: { readonly origin: LoadResult; readonly originCpu: number };
}

const pick = (xs: LoadResult[]): LoadResult => {
  const m = median(xs.map((x) => x.bytesPerSecond));
  return xs.find((x) => x.bytesPerSecond === m)!;
};

/**
 * 1 MB DVR segments (4 Mbit/s, 2 s) read back from the origin's disk, against nginx sendfile of
 * the same bytes as files: cold passes over 200 segments after dropping the page cache (when
 * allowed; median of `runs`, alternating which server goes first), then warm closed-loop load rotating over them, with the origin's read cache off and
 * then on (the same data folder, restored by a restart).
 */
export async function benchDvrThroughput(runs: number, seconds: number): Promise<DvrThroughput> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-dvr-'));
  const noCache = join(dir, 'no-read-cache.json');
  writeFileSync(noCache, JSON.stringify({ dvr: { readCacheBytes: 0 } }));
  const data = join(dir, 'data');
  const args = ['--dvr-window', '7200', '--data-dir', data, '--window', '20'];
  let origin = await startOriginProcess([...args, '--config', noCache]);
  const nginx = await startNginx();
  try {
    if (!nginx) throw new Error('nginx missing (apt-get install nginx)');
    await pushCompressed(origin.ingestPort, 'dvr', [{ name: 'video', bitsPerSecond: 4_000_000 }], 480);
    await settled(origin);
    const playlist = await text(`http://${HOST}:${origin.playbackPort}/live/dvr/video/index.m3u8?dvr=1`);
    // Segments older than the live window: read from disk, never from memory.
    const uris = playlist.split('\n').filter((l) => l.endsWith('.m4s')).slice(0, -20).slice(-200);
    const paths = uris.map((u) => `/live/dvr/video/${u}`);
    const nginxPaths: string[] = [];
    let total = 0;
    for (const [i, p] of paths.entries()) {
      const r = await request(`http://${HOST}:${origin.playbackPort}${p}`);
      const bytes = Buffer.from(await r.body.arrayBuffer());
      total += bytes.length;
      nginxPaths.push(nginx.put(`dvr-${i}.m4s`, bytes));
    }
    const at = (o: OriginProcess): string => `http://${HOST}:${o.playbackPort}`;
    let cold: DvrThroughput['cold'] = null;
    if (dropCaches()) {
      // Each pass after dropping the page cache, the two servers in alternating order; medians.
      const o: LoadResult[] = [];
      const n: LoadResult[] = [];
      const passOrigin = async (): Promise<void> => {
        dropCaches();
        o.push(await loadPaths(at(origin), paths, 8, 0, true));
      };
      const passNginx = async (): Promise<void> => {
        dropCaches();
        n.push(await loadPaths(`http://${HOST}:${nginx.port}`, nginxPaths, 8, 0, true));
      };
      for (let r = 0; r < runs; r++) {
        if (r % 2 === 0) await passOrigin().then(passNginx);
        else await passNginx().then(passOrigin);
      }
      cold = { origin: pick(o), nginx: pick(n) };
    }
    const warmRuns = async (o: OriginProcess): Promise<{ result: LoadResult; cpu: number }> => {
      await loadPaths(at(o), paths, 20, 1);
      const results: LoadResult[] = [];
      let cpu = 0;
      for (let r = 0; r < runs; r++) {
        const meter = cpuMeter(o.pid);
        results.push(await loadPaths(at(o), paths, 20, seconds));
        cpu = meter.stop();
      }
      return { result: pick(results), cpu };
    };
    const plain = await warmRuns(origin);
    const ref: LoadResult[] = [];
    let nginxCpu = 0;
    await loadPaths(`http://${HOST}:${nginx.port}`, nginxPaths, 20, 1);
    for (let r = 0; r < runs; r++) {
      const meter = cpuMeter(nginx.pid);
      ref.push(await loadPaths(`http://${HOST}:${nginx.port}`, nginxPaths, 20, seconds));
      nginxCpu = meter.stop();
    }
    await origin.stop();
    origin = await startOriginProcess(args);
    const cached = await warmRuns(origin);
    return {
      segments: paths.length,
      segmentBytes: total / paths.length,
      cold,
      warm: { origin: plain.result, nginx: pick(ref), originCpu: plain.cpu, nginxCpu },
      cached: { origin: cached.result, originCpu: cached.cpu },
    };
  } finally {
    await nginx?.stop();
    await origin.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface DvrMemory {
  readonly hours: number;
  readonly rssLong: number;
  readonly rssShort: number;
  readonly mediaBytes: number;
  readonly disk: { readonly files: number; readonly bytes: number; readonly media: number };
  readonly restartMs: number;
  readonly restoredSegments: number;
  readonly firstPlaylistMs: number;
}

/** RSS once the push is over and a full collection ran: what the origin holds, not garbage awaiting a GC. */
async function heldRss(origin: OriginProcess): Promise<number> {
  await origin.collect();
  await sleep(500);
  return rssBytes(origin.pid);
}

/**
 * A 3-track 5 Mbit/s stream fed two hours in compressed time into an origin with a 2-hour DVR and
 * one with a 2-minute DVR: their RSS after a full collection, the disk bytes against the media bytes, and the restart of
 * the 2-hour one (spawn to listening, and to its first whole-DVR playlist).
 */
export async function benchDvrMemory(hours: number): Promise<DvrMemory> {
  const ladder: Ladder = [
    { name: 'v1080', bitsPerSecond: 4_000_000 },
    { name: 'v540', bitsPerSecond: 850_000 },
    { name: 'v270', bitsPerSecond: 150_000 },
  ];
  const seconds = hours * 3600;
  const measure = async (dvrSeconds: number): Promise<{ rss: number; media: number; dir: string; origin: OriginProcess }> => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-dvrmem-'));
    const origin = await startOriginProcess(['--dvr-window', String(dvrSeconds), '--data-dir', dir, '--window', '120']);
    const media = await pushCompressed(origin.ingestPort, 'mem', ladder, seconds);
    await settled(origin);
    return { rss: await heldRss(origin), media, dir, origin };
  };
  const short = await measure(120);
  await short.origin.stop();
  rmSync(short.dir, { recursive: true, force: true });
  const long = await measure(seconds);
  const disk = duBytes(long.dir);
  await long.origin.stop();
  const t0 = performance.now();
  const again = await startOriginProcess(['--dvr-window', String(seconds), '--data-dir', long.dir, '--window', '120']);
  const restartMs = performance.now() - t0;
  let restoredSegments = 0;
  const playlist = await text(`http://${HOST}:${again.playbackPort}/live/mem/v1080/index.m3u8?dvr=1`);
  const firstPlaylistMs = performance.now() - t0;
  restoredSegments = playlist.split('\n').filter((l) => l.endsWith('.m4s')).length;
  await again.stop();
  rmSync(long.dir, { recursive: true, force: true });
  return { hours, rssLong: long.rss, rssShort: short.rss, mediaBytes: long.media, disk, restartMs, restoredSegments, firstPlaylistMs };
}

/** A store that keeps no bytes: rendering needs only the records. */
class RecordsOnlyStore implements SegmentStore {
  readonly bytes = 0;
  put(_segment: Segment, _bytes: Buffer | null): void {}
  resident(_key: StoreKey): Buffer | undefined {
    return undefined;
  }
  read(): Promise<Buffer> {
    return Promise.reject(new Error('records only'));
  }
  cool(): boolean {
    return true;
  }
  remove(): void {}
}

export interface StartOver {
  readonly segments: number;
  readonly renderMs: number;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly deltaBytes: number;
  readonly deltaRenderMs: number;
  readonly liveRenderMs: number;
  readonly liveBytes: number;
}

/**
 * The LL-HLS playlist of a 2-hour start-over (`start=` two hours back: 3,600 segments of 2 s) on
 * a live stream: render time (median of 50), its bytes, and the delta update (`_HLS_skip=YES`)
 * players reload instead; the live window's playlist as the reference.
 */
export async function benchStartOver(): Promise<StartOver> {
  let now = 1_700_000_000_000;
  const registry = new StreamRegistry({ targetDuration: 2, partTarget: 0.5, windowSeconds: 120, dvrSeconds: 7200, maxTracksPerStream: 4, maxStreams: 1, idleTimeoutMs: 1e12 }, () => now, undefined, new RecordsOnlyStore());
  const encoder = new SyntheticEncoder({ bitsPerSecond: 2_000_000, fragmentSeconds: 0.2, gopSeconds: 2 });
  const session = new IngestSession(registry, 'so', 'video', { maxBoxSize: 1 << 24, now: () => now });
  session.write(encoder.init);
  for (let i = 0; i < 7210 / 0.2; i++) {
    for (const b of encoder.next()) session.write(b);
    now += 200;
  }
  const stream = registry.get('so')!;
  const track = stream.tracks.get('video')!;
  const zero = stream.availabilityStartTimeMs!;
  const newest = track.newestDone()!;
  const start = newest.endTime / newest.timescale - 7200;
  const view: ViewRequest = { view: { kind: 'range', start, end: null }, suffix: `?start=${(zero / 1000 + start).toFixed(3)}` };
  const time = (f: () => string | null): { ms: number; text: string } => {
    const samples: number[] = [];
    let out = '';
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      out = f()!;
      samples.push(performance.now() - t0);
    }
    return { ms: median(samples), text: out };
  };
  const full = time(() => renderMediaPlaylist(stream, track, { flavor: 'll-hls', partAddressing: 'uri' }, view));
  const delta = time(() => renderMediaPlaylist(stream, track, { flavor: 'll-hls', partAddressing: 'uri', skip: true }, view));
  const live = time(() => renderMediaPlaylist(stream, track, { flavor: 'll-hls', partAddressing: 'uri' }, LIVE));
  const { gzipSync } = await import('node:zlib');
  return {
    segments: full.text.split('\n').filter((l) => l.endsWith('.m4s')).length,
    renderMs: full.ms,
    bytes: Buffer.byteLength(full.text),
    gzipBytes: gzipSync(full.text).length,
    deltaBytes: Buffer.byteLength(delta.text),
    deltaRenderMs: delta.ms,
    liveRenderMs: live.ms,
    liveBytes: Buffer.byteLength(live.text),
  };
}
