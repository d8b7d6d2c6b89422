import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { resolvePath } from '../helpers/hls.js';
import { loadCorpus, retime, type CorpusFile } from './corpus.js';
import { MUTATORS, MUTATOR_NAMES, Rng } from './mutate.js';
import { durationProblem, targetDurationOf } from './replay.js';

export interface CampaignOptions {
  readonly seed: number;
  readonly bodies: number;
  /** Ingest bodies in flight at once. */
  readonly concurrency: number;
  readonly ingest: string;
  readonly playback: string;
  /** Stream names used: `fz0` … `fz{streams-1}`. */
  readonly streams: number;
  /** A playback sweep of one fuzzed stream after this many bodies. */
  readonly checkEvery: number;
  /** Where the bodies behind a failure are written (steps.json + bodies), if anywhere. */
  readonly failureDir?: string;
  readonly progress?: (done: number, result: CampaignResult) => void;
  /** Stops sending after this many failures (a frozen origin would otherwise cost 5 s a body). */
  readonly maxFailures?: number;
  /** Bodies of each stream kept for a failure's dump (40 by default). */
  readonly historyLength?: number;
}

export interface Failure {
  readonly kind: 'ingest-5xx' | 'playback-5xx' | 'hang' | 'transport' | 'durations';
  readonly what: string;
  readonly status: number;
  readonly ms: number;
  readonly body?: number;
}

export interface CampaignResult {
  bodies: number;
  /** Ingest answers by status class ('2xx', '4xx', '5xx'), plus 'dropped' (the client cut the body). */
  readonly ingest: Record<string, number>;
  /** Ingest answers by exact status. */
  readonly ingestStatus: Record<string, number>;
  readonly playback: Record<string, number>;
  playbackRequests: number;
  slowestMs: number;
  /** The slowest ingest answer: a body is answered as soon as it has been read. */
  slowestIngestMs: number;
  /** Answers that took more than 1 s (a growing segment of a fuzzed stream may; a machine under load does). */
  slow: number;
  slowest: string;
  readonly failures: Failure[];
  /** Count of each mutator applied. */
  readonly mutations: Record<string, number>;
}

interface KeyState {
  readonly stream: string;
  readonly track: string;
  file: CorpusFile;
  cursor: number;
  loop: bigint;
  /** Added to every tfdt of this key (per track id). */
  base: bigint;
}

interface Sent {
  readonly index: number;
  readonly path: string;
  readonly bytes: Buffer;
  readonly dropAt: number | null;
}

const TRACKS = ['v', 'a', 'm', 'x'];
const SLOW_MS = 1000;
const HANG_MS = 5000;

/**
 * How long a GET of an object a media playlist lists may take: a TS segment waits for its audio,
 * and a request for the next segment is held, up to three target durations (then 404); a growing
 * segment streams until it completes. Past that (and 2 s of a loaded machine) it hangs.
 */
function heldLimitMs(targetSeconds: number): number {
  return Math.max(HANG_MS, 3 * targetSeconds * 1000 + 2000);
}

/**
 * A seeded mutation campaign against a running origin: real fixture fragments, retimed so each
 * (stream, track) looks like a live encoder, mutated by 0–3 operators, pushed over chunked PUTs
 * (some cut mid-body), with playback sweeps of the fuzzed streams in between. Every ingest and
 * playback answer is classified; a 5xx, an ingest body with no answer in 5 s or a GET past its
 * limit (a hang, heldLimitMs), or a media playlist whose durations are wrong is a
 * failure (a request over 1 s is counted), and the bodies that led to it are written to `failureDir`.
 */
export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const corpus = loadCorpus();
  const rng = new Rng(options.seed);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency + 4 });
  const result: CampaignResult = { bodies: 0, ingest: {}, ingestStatus: {}, playback: {}, playbackRequests: 0, slowestMs: 0, slowestIngestMs: 0, slowest: '', slow: 0, failures: [], mutations: {} };
  const keys = new Map<string, KeyState>();
  const history = new Map<string, Sent[]>();
  const bump = (map: Record<string, number>, key: string): void => {
    map[key] = (map[key] ?? 0) + 1;
  };
  const timed = (what: string, ms: number): void => {
    if (ms > result.slowestMs) {
      result.slowestMs = ms;
      result.slowest = what;
    }
  };
  const fail = (f: Failure, stream?: string): void => {
    result.failures.push(f);
    if (options.failureDir && stream) dumpFailure(options.failureDir, options.seed, f, history.get(stream) ?? []);
  };

  const keyState = (stream: string, track: string): KeyState => {
    const id = `${stream}/${track}`;
    let k = keys.get(id);
    if (!k) {
      const bases = [0n, BigInt(rng.int(1 << 30)), 17_000_000_000_000_000n, 2n ** 63n, 2n ** 64n - 90000n * 30n];
      k = { stream, track, file: corpus[rng.int(corpus.length)]!, cursor: 0, loop: 0n, base: rng.chance(0.7) ? 0n : rng.pick(bases) };
      keys.set(id, k);
    }
    return k;
  };

  const makeBody = (): { stream: string; path: string; bytes: Buffer; dropAt: number | null } => {
    const stream = `fz${rng.int(options.streams)}`;
    const track = rng.pick(TRACKS);
    const k = keyState(stream, track);
    // Now and then the encoder behind a key changes codec or restarts its clock.
    if (rng.chance(0.03)) {
      k.file = corpus[rng.int(corpus.length)]!;
      k.cursor = 0;
    }
    if (rng.chance(0.02)) {
      k.loop = 0n;
      k.cursor = 0;
    }
    const shape = rng.next() % 10;
    const pieces: Buffer[] = [];
    if (shape < 7) pieces.push(k.file.init);
    if (shape >= 1) {
      const n = 1 + rng.int(8);
      for (let i = 0; i < n; i++) {
        const frag = k.file.fragments[k.cursor]!;
        const loop = k.loop;
        pieces.push(retime(frag, (id) => k.base + loop * (k.file.loopTicks.get(id) ?? 0n)));
        k.cursor++;
        if (k.cursor === k.file.fragments.length) {
          k.cursor = 0;
          k.loop++;
        }
      }
    }
    let bytes: Buffer = Buffer.concat(pieces);
    if (rng.chance(0.7)) {
      const count = 1 + rng.int(3);
      for (let i = 0; i < count; i++) {
        const name = rng.pick(MUTATOR_NAMES);
        bump(result.mutations, name);
        bytes = MUTATORS[name]!(bytes, rng);
      }
    }
    const dropAt = rng.chance(0.08) ? rng.int(Math.max(1, bytes.length)) : null;
    return { stream, path: `/live/${stream}/${track}.mp4`, bytes, dropAt };
  };

  const sendBody = (index: number, body: { stream: string; path: string; bytes: Buffer; dropAt: number | null }): Promise<void> =>
    new Promise((resolve) => {
      const list = history.get(body.stream) ?? [];
      list.push({ index, path: body.path, bytes: body.bytes, dropAt: body.dropAt });
      if (list.length > (options.historyLength ?? 40)) list.shift();
      history.set(body.stream, list);
      const started = performance.now();
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      };
      const req = request(options.ingest + body.path, { method: 'PUT', agent, headers: { 'transfer-encoding': 'chunked' } });
      const timer = setTimeout(() => {
        fail({ kind: 'hang', what: `PUT ${body.path}`, status: 0, ms: HANG_MS, body: index }, body.stream);
        req.destroy();
        settle();
      }, HANG_MS);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          const ms = performance.now() - started;
          const status = res.statusCode ?? 0;
          bump(result.ingest, `${Math.floor(status / 100)}xx`);
          bump(result.ingestStatus, String(status));
          timed(`PUT ${body.path}`, ms);
          result.slowestIngestMs = Math.max(result.slowestIngestMs, ms);
          if (status >= 500) fail({ kind: 'ingest-5xx', what: `PUT ${body.path}`, status, ms, body: index }, body.stream);
          else if (ms > SLOW_MS) result.slow++;
          settle();
        });
      });
      req.on('error', () => {
        if (body.dropAt === null && !settled) {
          // The origin may answer a rejected body and close before the client finished writing.
          bump(result.ingest, 'reset');
        }
        settle();
      });
      let at = 0;
      const limit = body.dropAt ?? body.bytes.length;
      while (at < limit) {
        const n = Math.min(limit - at, 1 + rng.int(16384));
        req.write(body.bytes.subarray(at, at + n));
        at += n;
      }
      if (body.dropAt !== null) {
        bump(result.ingest, 'dropped');
        setTimeout(() => {
          req.destroy();
          settle();
        }, rng.int(20));
      } else req.end();
    });

  const get = async (path: string, stream: string, limitMs = HANG_MS): Promise<{ status: number; text: string }> => {
    const started = performance.now();
    const out = await new Promise<{ status: number; text: string }>((resolve) => {
      const req = request(options.playback + path, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('latin1') }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, text: '' }));
      });
      const timer = setTimeout(() => {
        req.destroy();
        resolve({ status: -1, text: '' });
      }, limitMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', () => resolve({ status: -2, text: '' }));
      req.end();
    });
    const ms = performance.now() - started;
    result.playbackRequests++;
    bump(result.playback, out.status < 0 ? 'error' : `${Math.floor(out.status / 100)}xx`);
    timed(`GET ${path}`, ms);
    if (out.status === -1) fail({ kind: 'hang', what: `GET ${path}`, status: 0, ms }, stream);
    else if (out.status < 0) fail({ kind: 'transport', what: `GET ${path}`, status: out.status, ms }, stream);
    else if (out.status >= 500) fail({ kind: 'playback-5xx', what: `GET ${path} → ${out.text.slice(0, 200)}`, status: out.status, ms }, stream);
    else if (ms > SLOW_MS) result.slow++;
    return out;
  };

  /** Every manifest of a stream, its media playlists, and a few of the objects they list. */
  const sweep = async (stream: string): Promise<void> => {
    const base = `/live/${stream}/`;
    for (const manifest of ['manifest.mpd', 'manifest.mpd?mode=timeline', 'hesp.json']) await get(base + manifest, stream);
    for (const master of ['master.m3u8', 'master-lhls.m3u8', 'master-ts.m3u8']) {
      const m = await get(base + master, stream);
      if (m.status !== 200) continue;
      for (const uri of uris(m.text).slice(0, 4)) {
        const playlistPath = base + uri;
        const p = await get(playlistPath, stream);
        if (p.status !== 200) continue;
        const problem = durationProblem(p.text);
        if (problem) fail({ kind: 'durations', what: `GET ${playlistPath}: ${problem}`, status: p.status, ms: 0 }, stream);
        const dir = playlistPath.slice(0, playlistPath.lastIndexOf('/') + 1);
        const listed = uris(p.text);
        const target = targetDurationOf(p.text);
        for (let i = 0; i < 3 && listed.length > 0; i++) await get(resolvePath(dir, rng.pick(listed)), stream, heldLimitMs(target));
      }
    }
  };

  let next = 0;
  let sinceCheck = 0;
  const maxFailures = options.maxFailures ?? 10;
  const worker = async (): Promise<void> => {
    while (next < options.bodies && result.failures.length < maxFailures) {
      const index = next++;
      const body = makeBody();
      await sendBody(index, body);
      result.bodies++;
      if (++sinceCheck >= options.checkEvery) {
        sinceCheck = 0;
        await sweep(`fz${rng.int(options.streams)}`);
      }
      if (result.bodies % 500 === 0) options.progress?.(result.bodies, result);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  for (let i = 0; i < options.streams && result.failures.length < maxFailures; i++) await sweep(`fz${i}`);
  agent.destroy();
  return result;
}

/** URIs a playlist lists: media lines and the URI attributes of EXT-X-MAP, EXT-X-PART and EXT-X-MEDIA. */
function uris(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (!line.startsWith('#')) out.push(line.trim());
    else if (/^#EXT-X-(MAP|PART|MEDIA):/.test(line)) {
      const m = /URI="([^"]+)"/.exec(line);
      if (m) out.push(m[1]!);
    }
  }
  return out;
}

/** Writes the bodies a failing stream received (oldest first) as a replayable regression case. */
function dumpFailure(dir: string, seed: number, failure: Failure, sent: readonly Sent[]): void {
  const folder = join(dir, `seed${seed}-${failure.kind}-${failure.body ?? 'get'}-${Date.now() % 1e6}`);
  mkdirSync(folder, { recursive: true });
  const steps = sent.map((s, i) => {
    const file = `${String(i).padStart(2, '0')}.bin`;
    writeFileSync(join(folder, file), s.bytes);
    return { put: s.path, body: file, ...(s.dropAt !== null ? { dropAt: s.dropAt } : {}) };
  });
  writeFileSync(join(folder, 'steps.json'), JSON.stringify({ seed, failure, steps }, null, 2) + '\n');
}
