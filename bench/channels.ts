// Channels per origin core: 3-rendition streams pushed in real time into one origin process, each
// followed by two edges on every rendition (LL-HLS blocking reloads and parts, LL-DASH chunked
// segments; bench/load/channels.ts, a child process), stepping the number of streams up until
// p99 chunk latency (ingest send → edge receipt) is far past the limit or the origin saturates
// its core.
// The encoders run in this process, the followers in the child, both on the load CPU: the
// machine has two cores, one for the origin and one shared by all the load.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CollectMessage, FollowerReply, FollowMessage } from './load/channels.js';
import { LadderPublisher, SyntheticEncoder, type EncoderOptions } from './lib/encoder.js';
import { getText, waitForPlaylist } from './lib/live.js';
import { startOriginProcess } from './lib/origin.js';
import { fmt, kilo, percentile, sleep } from './lib/stats.js';
import { cpuMeter, rssBytes, runQueueMeter, stopChild } from './lib/system.js';

const HOST = '127.0.0.1';
const EDGES = 2;
/** Two steps in a row with p99 over this many times the limit end the curve. */
const PAST_LIMIT = 10;

/**
 * About 3 Mbit/s per stream: two video renditions (25 fps, a keyframe a second) and one audio,
 * 200 ms fragments (= parts). The audio is Opus: ten 20 ms frames make a fragment that ends where
 * the video's does. AAC frames (21.3 ms) give fragments that straddle segment boundaries, and the
 * origin holds such a fragment until the video's keyframe places the boundary (audio follows the
 * video grid, src/timeline/track.ts drain): up to a fragment of delay once per segment, whatever
 * the load, which is not what this benchmark measures.
 */
const LADDER: readonly { readonly track: string; readonly encoder: EncoderOptions }[] = [
  { track: 'hi', encoder: { bitsPerSecond: 2_000_000, fixture: 'ladder/v360.mp4', fragmentSeconds: 0.2, gopSeconds: 1, marked: true } },
  { track: 'lo', encoder: { bitsPerSecond: 800_000, fixture: 'ladder/v180.mp4', fragmentSeconds: 0.2, gopSeconds: 1, marked: true } },
  { track: 'audio', encoder: { bitsPerSecond: 128_000, fixture: 'opus/audio-opus.mp4', fragmentSeconds: 0.2, marked: true } },
];

export const CHANNEL_TRACKS = LADDER.length;
export const CHANNEL_MBITS = LADDER.reduce((n, r) => n + r.encoder.bitsPerSecond, 0) / 1e6;

export interface ChannelStep {
  readonly streams: number;
  /** Connections following the streams: edges × renditions × (LL-HLS + LL-DASH) per stream. */
  readonly followers: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Chunk receipts over chunks published in the window × followers of their rendition. */
  readonly delivered: number;
  readonly originCpu: number;
  /** Share of the window the origin's main thread was runnable but waiting for its CPU. */
  readonly originRunQueue: number;
  readonly originRss: number;
  /** Time the origin spent in garbage collection during the window, all kinds and major only. */
  readonly originGcMs: number;
  readonly originMajorGcMs: number;
  readonly originMajorGcs: number;
  /** Longest event-loop delay of the origin in the window (prom-client's monitor, 10 ms resolution). */
  readonly originLoopDelayMaxMs: number;
  readonly encoderCpu: number;
  readonly followerCpu: number;
  /** The same for the encoders' or the followers' main thread, whichever waited longer. */
  readonly loadRunQueue: number;
  readonly requestsPerSecond: number;
  readonly errors: number;
}

export interface ChannelsResult {
  readonly steps: readonly ChannelStep[];
  readonly limitMs: number;
  /** Largest stream count with p99 ≤ limitMs and ≥ 99.9 % delivered; 0 if none. */
  readonly knee: number;
  /** Why the curve ended where it did. */
  readonly stop: string;
}

interface Channel {
  readonly name: string;
  readonly publisher: LadderPublisher;
}

function startFollowers(): ChildProcess {
  const script = fileURLToPath(new URL('./load/channels.ts', import.meta.url));
  return fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function reply<T extends FollowerReply['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<FollowerReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`followers did not answer '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const on = (m: FollowerReply): void => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m as Extract<FollowerReply, { type: T }>);
    };
    child.on('message', on);
  });
}

async function startChannel(ingestPort: number, playbackPort: number, name: string): Promise<Channel> {
  const publisher = new LadderPublisher(HOST, ingestPort, name, LADDER.map((r) => ({ track: r.track, encoder: new SyntheticEncoder(r.encoder) })));
  // One segment at once, so the playlists are ready without waiting for a segment in real time.
  await publisher.start(2);
  await Promise.all(LADDER.map((r) => waitForPlaylist(`http://${HOST}:${playbackPort}/live/${name}/${r.track}/index.m3u8`, 1)));
  return { name, publisher };
}

/**
 * Steps the number of streams through `steps` on one origin (streams are added, never restarted),
 * measuring `seconds` of steady state at each; stops after two steps in a row far over `limitMs`
 * p99, or when the origin or the load generators use ≥ 90 % of their core.
 */
export async function benchChannels(steps: readonly number[], seconds: number, limitMs: number, log: (line: string) => void): Promise<ChannelsResult> {
  // The default limit of live streams (100) may be below the last step.
  const dir = mkdtempSync(join(tmpdir(), 'channels-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ limits: { maxStreams: Math.max(100, ...steps) } }));
  const origin = await startOriginProcess(['--config', config, '--part-duration', '0.2']).finally(() => rmSync(dir, { recursive: true, force: true }));
  const followers = startFollowers();
  const base = process.hrtime.bigint();
  const channels: Channel[] = [];
  const results: ChannelStep[] = [];
  let stop = `its last step (${steps[steps.length - 1]} streams)`;
  try {
    for (const n of steps) {
      const added: Channel[] = [];
      for (let i = channels.length; i < n; i += 8) {
        const batch = Array.from({ length: Math.min(8, n - i) }, (_, k) => startChannel(origin.ingestPort, origin.playbackPort, `ch${i + k + 1}`));
        added.push(...(await Promise.all(batch)));
      }
      channels.push(...added);
      const message: FollowMessage = { type: 'follow', host: HOST, port: origin.playbackPort, edges: EDGES, base: String(base), streams: added.map((c) => ({ name: c.name, tracks: LADDER.map((r) => r.track) })) };
      const ready = reply(followers, 'ready', 20_000);
      followers.send(message);
      await ready;
      await sleep(2000);
      const step = await measure(origin.pid, origin.playbackPort, followers, channels, base, seconds);
      results.push(step);
      log(`  ${n} stream${n === 1 ? '' : 's'}: p50 ${step.p50.toFixed(1)} / p99 ${step.p99.toFixed(1)} ms, ${(step.delivered * 100).toFixed(1)} % delivered, origin ${(step.originCpu * 100).toFixed(0)} % CPU (waited for it ${(step.originRunQueue * 100).toFixed(0)} %), RSS ${(step.originRss / 1e6).toFixed(0)} MB, GC ${step.originGcMs.toFixed(0)} ms (${step.originMajorGcs} major: ${step.originMajorGcMs.toFixed(0)} ms), event-loop delay max ${step.originLoopDelayMaxMs.toFixed(0)} ms; encoders ${(step.encoderCpu * 100).toFixed(0)} %, followers ${(step.followerCpu * 100).toFixed(0)} % CPU (waited ${(step.loadRunQueue * 100).toFixed(0)} %); ${step.errors} errors; load average ${loadavg()[0]!.toFixed(2)}`);
      // On this shared machine one stall of another process puts a step with few streams over
      // the limit; the curve goes on until it is far past it, twice in a row.
      const previous = results[results.length - 2];
      if (previous && previous.p99 > PAST_LIMIT * limitMs && step.p99 > PAST_LIMIT * limitMs) {
        stop = `p99 over ${PAST_LIMIT * limitMs} ms at two steps in a row (${previous.streams} and ${n} streams)`;
        break;
      }
      if (step.originCpu >= 0.9) {
        stop = `the origin using ${(step.originCpu * 100).toFixed(0)} % of its core at ${n} streams`;
        break;
      }
      if (step.encoderCpu + step.followerCpu >= 0.9) {
        stop = `the load generators using ${((step.encoderCpu + step.followerCpu) * 100).toFixed(0)} % of their core at ${n} streams (more would measure the load, not the origin)`;
        break;
      }
    }
  } finally {
    followers.disconnect();
    await stopChild(followers);
    await Promise.all(channels.map((c) => c.publisher.stop()));
    await origin.stop();
  }
  const ok = results.filter((s) => s.p99 <= limitMs && s.delivered >= 0.999);
  return { steps: results, limitMs, knee: ok.length ? Math.max(...ok.map((s) => s.streams)) : 0, stop };
}

/** What the origin's own /metrics say of its pauses: GC time so far, and event-loop delay since the last scrape. */
async function originPauses(playbackPort: number): Promise<{ gcSeconds: number; majorGcSeconds: number; majorGcs: number; loopDelayMax: number }> {
  const { text } = await getText(`http://${HOST}:${playbackPort}/metrics`);
  const value = (line: string): number => Number(line.slice(line.lastIndexOf(' ') + 1));
  let gcSeconds = 0;
  let majorGcSeconds = 0;
  let majorGcs = 0;
  let loopDelayMax = NaN;
  for (const line of text.split('\n')) {
    if (line.startsWith('nodejs_gc_duration_seconds_sum{')) {
      gcSeconds += value(line);
      if (line.includes('kind="major"')) majorGcSeconds += value(line);
    } else if (line.startsWith('nodejs_gc_duration_seconds_count{kind="major"}')) majorGcs += value(line);
    else if (line.startsWith('nodejs_eventloop_lag_max_seconds ')) loopDelayMax = value(line);
  }
  return { gcSeconds, majorGcSeconds, majorGcs, loopDelayMax };
}

async function measure(originPid: number, playbackPort: number, followers: ChildProcess, channels: readonly Channel[], base: bigint, seconds: number): Promise<ChannelStep> {
  // The scrape also restarts the origin's event-loop delay histogram (prom-client).
  const pauses0 = await originPauses(playbackPort);
  followers.send({ type: 'mark' } satisfies CollectMessage);
  const from = process.hrtime.bigint();
  const origin = cpuMeter(originPid);
  const originWait = runQueueMeter(originPid);
  const encoders = cpuMeter(process.pid);
  const load = cpuMeter(followers.pid!);
  const loadWait = [runQueueMeter(process.pid), runQueueMeter(followers.pid!)];
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const originCpu = origin.stop();
  const originRunQueue = originWait.stop();
  const encoderCpu = encoders.stop();
  const followerCpu = load.stop();
  const loadRunQueue = Math.max(...loadWait.map((m) => m.stop()));
  const to = process.hrtime.bigint();
  const originRss = rssBytes(originPid);
  const pauses = await originPauses(playbackPort);
  // A LL-DASH chunk is known complete when the next one begins: a fragment later.
  await sleep(600);
  const receipts = reply(followers, 'receipts', 10_000);
  const elapsed = (performance.now() - t0) / 1000;
  followers.send({ type: 'collect' } satisfies CollectMessage);
  const got = await receipts;

  const byName = new Map(channels.map((c) => [c.name, c]));
  const latencies: number[] = [];
  /** Per rendition and protocol, for BENCH_DEBUG. */
  const byKind = new Map<string, number[]>();
  let expected = 0;
  for (const f of got.followers) {
    const published = byName.get(f.stream)?.publisher.published.get(f.track);
    if (!published) continue;
    let n = 0;
    for (let i = published.length - 1; i >= 0 && published[i]! >= from; i--) if (published[i]! < to) n++;
    expected += n;
    const kind = byKind.get(`${f.track} ${f.protocol}`) ?? [];
    byKind.set(`${f.track} ${f.protocol}`, kind);
    // A fragment that a segment boundary cuts in two arrives in two parts: the later counts.
    const received = new Map<number, number>();
    for (let k = 0; k < f.receipts.length; k += 2) received.set(f.receipts[k]!, Math.max(received.get(f.receipts[k]!) ?? -Infinity, f.receipts[k + 1]!));
    for (const [index, at] of received) {
      const sent = published[index];
      if (sent === undefined || sent < from || sent >= to) continue;
      const latency = at - Number(sent - base) / 1e6;
      latencies.push(latency);
      kind.push(latency);
    }
  }
  if (process.env.BENCH_DEBUG) for (const [k, v] of byKind) console.log(`  ${k}: p50 ${percentile(v, 0.5).toFixed(1)} / p90 ${percentile(v, 0.9).toFixed(1)} / p99 ${percentile(v, 0.99).toFixed(1)} ms of ${v.length}`);
  return {
    streams: channels.length,
    followers: got.followers.length,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: percentile(latencies, 1),
    delivered: expected ? latencies.length / expected : 0,
    originCpu,
    originRunQueue,
    originRss,
    originGcMs: (pauses.gcSeconds - pauses0.gcSeconds) * 1000,
    originMajorGcMs: (pauses.majorGcSeconds - pauses0.majorGcSeconds) * 1000,
    originMajorGcs: pauses.majorGcs - pauses0.majorGcs,
    originLoopDelayMaxMs: pauses.loopDelayMax * 1000,
    encoderCpu,
    followerCpu,
    loadRunQueue,
    requestsPerSecond: got.requests / elapsed,
    errors: got.errors,
  };
}

/** BENCH_CHANNELS_STEPS (rising stream counts, `1,2,4`) and BENCH_CHANNELS_SECONDS (window per step). */
export function channelSettings(quick: boolean): { steps: number[]; seconds: number } {
  const rawSteps = process.env.BENCH_CHANNELS_STEPS;
  const steps = rawSteps ? rawSteps.split(',').map(Number) : quick ? [1, 4, 16] : [1, 2, 4, 8, 16, 24, 32, 48, 64];
  if (!steps.every((n, i) => Number.isInteger(n) && n > 0 && (i === 0 || n > steps[i - 1]!))) throw new Error(`BENCH_CHANNELS_STEPS='${rawSteps}': rising whole numbers, e.g. 1,2,4,8`);
  const rawSeconds = process.env.BENCH_CHANNELS_SECONDS;
  const seconds = rawSeconds ? Number(rawSeconds) : quick ? 6 : 15;
  if (!(seconds > 0)) throw new Error(`BENCH_CHANNELS_SECONDS='${rawSeconds}' is not a positive number of seconds`);
  return { steps, seconds };
}

/** The curve as a markdown table, with what it was measured on and its knee. */
export function curveTable(r: ChannelsResult): string {
  const head = ['streams', 'Mbit/s in', 'followers', 'p50 ms', 'p99 ms', 'max ms', 'delivered', 'origin CPU', 'origin waiting for CPU', 'origin GC ms (major GCs: ms)', 'origin event-loop delay max ms', 'origin RSS', 'encoders CPU', 'followers CPU', 'load waiting for CPU', 'follower req/s', 'follower errors'];
  const pct = (x: number): string => `${fmt(x * 100, 0)} %`;
  const lines = r.steps.map((s) => [String(s.streams), fmt(s.streams * CHANNEL_MBITS, 0), String(s.followers), fmt(s.p50), fmt(s.p99), fmt(s.max), `${fmt(s.delivered * 100, 2)} %`, pct(s.originCpu), pct(s.originRunQueue), `${fmt(s.originGcMs, 0)} (${s.originMajorGcs}: ${fmt(s.originMajorGcMs, 0)})`, fmt(s.originLoopDelayMaxMs, 0), `${fmt(s.originRss / 1e6, 0)} MB`, pct(s.encoderCpu), pct(s.followerCpu), pct(s.loadRunQueue), kilo(s.requestsPerSecond), String(s.errors)]);
  const waited = Math.max(...r.steps.map((s) => s.originRunQueue));
  return [
    `\nchannels per origin core: ${CHANNEL_TRACKS}-rendition streams of ${fmt(CHANNEL_MBITS, 2)} Mbit/s, 200 ms parts; per stream ${EDGES} edges × every rendition × (LL-HLS + LL-DASH) = ${EDGES * CHANNEL_TRACKS * 2} followers`,
    'this machine has 2 cores, shared by the origin and its load: the origin on one, the encoders (bench process) and the followers (child process) on the other;',
    'CPU in % of one core; "waiting for CPU": share of the window a main thread was runnable but not running (/proc/PID/schedstat), i.e. held back by other processes;',
    "GC and event-loop delay from the origin's /metrics over the window (the delay monitor has 10 ms resolution)\n",
    [head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n'),
    `\nknee: ${r.knee} streams (the largest step with p99 ≤ ${r.limitMs} ms and ≥ 99.9 % delivered); the curve ended at ${r.stop}`,
    waited > 0.05 ? `the origin waited for its CPU up to ${fmt(waited * 100, 0)} % of a window: other processes on this machine held it back, so the knee is a lower bound\n` : '',
  ].join('\n');
}
