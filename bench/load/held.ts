// Load client: N players chaining LL-HLS blocking playlist reloads on one rendition, as hls.js and
// AVPlayer do: request the preload hint's part, read the response, request the next hint.
// It is also the encoder, so "part published" is the moment this process handed the fragment
// that completes the part to the ingest socket. Prints one JSON line.
import { LivePublisher, SyntheticEncoder } from '../lib/encoder.js';
import { clientArgs, metric, parseHint, parseHintBytes, waitForPlaylist, type Hint } from '../lib/live.js';
import { RawConnection } from '../lib/raw-http.js';
import { percentile, sleep } from '../lib/stats.js';
import { cpuMeter, rssBytes } from '../lib/system.js';

const args = clientArgs();
const base = `http://${args.host}:${args.playbackPort}`;
const playlistPath = '/live/bench/v/index.m3u8';

const publisher = new LivePublisher(args.host, args.ingestPort, '/live/bench/v.mp4', new SyntheticEncoder({ bitsPerSecond: 1_000_000 }));
await publisher.start(args.prefillSeconds);
const initial = await waitForPlaylist(base + playlistPath, 55);
const first = parseHint(initial)!;
await sleep(500);

// Phase 1: no part is published while every player joins and waits: server RSS per held request.
publisher.pause();
await sleep(300);
const start = parseHint((await waitForPlaylist(base + playlistPath, 1)) ?? '') ?? first;
const rssBefore = rssBytes(args.serverPid);

let measuring = false;
let stopping = false;
let errors = 0;
let immediate = 0;
const latencies: number[] = [];
const perRelease = new Map<number, number>();

class Player {
  private readonly conn: RawConnection;
  private body: Buffer[] = [];
  private status = 0;
  private sentAt = 0n;

  constructor(hint: Hint) {
    this.conn = new RawConnection(args.host, args.playbackPort, () => {
      if (!stopping) errors++;
    });
    this.conn.socket.once('connect', () => this.send(hint));
  }

  send(hint: Hint): void {
    if (stopping) return;
    this.sentAt = process.hrtime.bigint();
    this.conn.get(`${playlistPath}?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`, this);
  }

  head(status: number): void {
    this.status = status;
    this.body = [];
  }

  data(bytes: Buffer): void {
    this.body.push(Buffer.from(bytes)); // the read buffer is reused
  }

  end(now: bigint): void {
    const hint = this.status === 200 ? parseHintBytes(this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body)) : undefined;
    if (!hint) {
      if (!stopping) errors++;
      setTimeout(() => this.send(latestHint), 50);
      return;
    }
    if (hint.msn > latestHint.msn || (hint.msn === latestHint.msn && hint.part > latestHint.part)) latestHint = hint;
    const i = publisher.latestAt(now);
    if (measuring && i >= 0) {
      if (this.sentAt > publisher.published[i]!) immediate++;
      else {
        const ms = Number(now - publisher.published[i]!) / 1e6;
        latencies.push(ms);
        perRelease.set(i, Math.max(perRelease.get(i) ?? 0, ms));
      }
    }
    this.next = hint;
    chain(this);
  }

  next: Hint = start;

  close(): void {
    this.conn.close();
  }
}

let latestHint = start;

// Chained requests go out after this poll phase's reads are timestamped: a player's next
// request is not urgent (the next part is a part duration away), a late receive time would
// be charged to the server.
let chained: Player[] = [];
function chain(p: Player): void {
  if (chained.length === 0) setImmediate(flushChained);
  chained.push(p);
}
function flushChained(): void {
  const list = chained;
  chained = [];
  for (const p of list) p.send(p.next);
}
const players: Player[] = [];
const BATCH = 250;
for (let i = 0; i < args.clients; i += BATCH) {
  for (let j = i; j < Math.min(args.clients, i + BATCH); j++) players.push(new Player(start));
  await sleep(15);
}
await sleep(500);
const held = await metric(base, 'origin_held_requests');
const rssHeld = rssBytes(args.serverPid);

// Phase 2: parts every 200 ms; every held player is released and chains its next request.
publisher.resume();
await sleep(1000);
measuring = true;
const cpu = cpuMeter(args.serverPid);
const t0 = performance.now();
await sleep(args.seconds * 1000);
const cpuShare = cpu.stop();
const elapsed = (performance.now() - t0) / 1000;
measuring = false;
stopping = true;
const rssLoaded = rssBytes(args.serverPid);
for (const p of players) p.close();
await publisher.stop();

const lastOfRelease = [...perRelease.values()];
console.log(
  JSON.stringify({
    clients: args.clients,
    held,
    playlistBytes: Buffer.byteLength(initial),
    rssPerHeldBytes: (rssHeld - rssBefore) / (Number.isNaN(held) ? args.clients : Math.max(1, held)),
    rssBefore,
    rssLoaded,
    releases: perRelease.size,
    responsesPerSecond: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: percentile(latencies, 1),
    lastP50: percentile(lastOfRelease, 0.5),
    lastP99: percentile(lastOfRelease, 0.99),
    immediate,
    errors,
    serverCpu: cpuShare,
  }),
);
process.exit(0);
