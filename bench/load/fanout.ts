// Load client: N readers of the segment in production (LL-DASH chunked CMAF, L-HLS prefetch):
// each GETs the open segment, receives chunks as they are ingested, and at its end GETs the
// next. It is also the encoder: one chunk per frame, as ffmpeg's `-ldash 1 -streaming 1` sends,
// each carrying its index in its first payload bytes, so a reader knows when it has received
// all of a chunk: at the last read before the next chunk's marker. Prints one JSON line.
import { LivePublisher, MARKER, SyntheticEncoder } from '../lib/encoder.js';
import { clientArgs, getText, parseHint, waitForPlaylist, type ClientArgs } from '../lib/live.js';
import { RawConnection } from '../lib/raw-http.js';
import { percentile, sleep } from '../lib/stats.js';
import { cpuMeter, rssBytes } from '../lib/system.js';

const args = clientArgs<
  ClientArgs & {
    readonly bitsPerSecond: number;
    /** Where the readers go (a Varnish edge in front of the origin); the origin's playback port if absent. */
    readonly readPort?: number;
    /** The edge's process, for its CPU. */
    readonly edgePid?: number;
  }
>();
const base = `http://${args.host}:${args.playbackPort}`;
const readPort = args.readPort ?? args.playbackPort;
const encoder = new SyntheticEncoder({ bitsPerSecond: args.bitsPerSecond, fragmentSeconds: 1 / 30, marked: true });
const publisher = new LivePublisher(args.host, args.ingestPort, '/live/bench/v.mp4', encoder);
await publisher.start(args.prefillSeconds);
const hint = parseHint(await waitForPlaylist(`${base}/live/bench/v/index.m3u8`, args.prefillSeconds > 0 ? 55 : 1))!;
const segmentPath = (msn: number): string => `/live/bench/v/${hint.tag}/${msn}.m4s`;
/** Bytes that may precede a chunk's marker in the same write: moof, mdat header, chunk framing. */
const HEADER_ALLOWANCE = 512;

let windowStart = 0n;
let windowEnd = 0n;
let stopping = false;
let errors = 0;
let bytes = 0;
let latestMsn = hint.msn;
const latencies: number[] = [];
const slowest = new Map<number, number>();

function complete(index: number, at: bigint): void {
  const pub = publisher.published[index];
  if (pub === undefined || pub < windowStart || pub >= windowEnd) return;
  const ms = Number(at - pub) / 1e6;
  latencies.push(ms);
  slowest.set(index, Math.max(slowest.get(index) ?? 0, ms));
}

class Reader {
  private readonly conn: RawConnection;
  private msn: number;
  private status = 0;
  /** The chunk being received and the time of the last read that carried its bytes. */
  private current = -1;
  private lastRead = 0n;

  constructor(msn: number) {
    this.msn = msn;
    this.conn = new RawConnection(args.host, readPort, () => {
      if (!stopping) errors++;
    });
    this.conn.socket.once('connect', () => this.send());
  }

  send(): void {
    if (!stopping) this.conn.get(segmentPath(this.msn), this);
  }

  head(status: number): void {
    this.status = status;
  }

  data(b: Buffer, now: bigint): void {
    if (now >= windowStart && now < windowEnd) bytes += b.length;
    let from = 0;
    for (;;) {
      const at = b.indexOf(MARKER, from);
      if (at < 0 || at + 8 > b.length) break;
      if (this.current >= 0) complete(this.current, at - from > HEADER_ALLOWANCE || from > 0 ? now : this.lastRead);
      this.current = b.readUInt32BE(at + 4);
      from = at + 8;
    }
    if (this.current >= 0 && (from > 0 || b.length > HEADER_ALLOWANCE)) this.lastRead = now;
  }

  end(): void {
    if (this.status !== 200) {
      if (!stopping) errors++;
      this.msn = latestMsn;
      setTimeout(() => this.send(), 50);
      return;
    }
    latestMsn = Math.max(latestMsn, this.msn);
    this.msn++;
    this.send();
  }

  /** The last chunk of the run counts as received at its last read. */
  settle(): void {
    if (this.current >= 0) complete(this.current, this.lastRead);
    this.current = -1;
  }

  close(): void {
    this.conn.close();
  }
}

const readers: Reader[] = [];
const BATCH = 250;
for (let i = 0; i < args.clients; i += BATCH) {
  for (let j = i; j < Math.min(args.clients, i + BATCH); j++) readers.push(new Reader(latestMsn));
  await sleep(15);
}
await sleep(1500);
/**
 * Segment requests the origin has finished answering (a reader's request of a growing segment
 * finishes with the segment), and the newest complete segment.
 */
async function originSegments(): Promise<{ requests: number; msn: number }> {
  const [{ text }, playlist] = await Promise.all([getText(`${base}/metrics`), getText(`${base}/live/bench/v/index.m3u8`)]);
  let requests = 0;
  for (const line of text.split('\n')) if (line.startsWith('origin_http_requests_total{') && line.includes('route="segment"')) requests += Number(line.slice(line.lastIndexOf(' ') + 1));
  return { requests, msn: Math.max(...[...playlist.text.matchAll(/\/(\d+)\.m4s$/gm)].map((m) => Number(m[1]))) };
}
const segmentsBefore = await originSegments();
windowStart = process.hrtime.bigint();
windowEnd = windowStart + BigInt(args.seconds * 1e9);
const cpu = cpuMeter(args.serverPid);
const edgeCpu = args.edgePid ? cpuMeter(args.edgePid) : undefined;
await sleep(args.seconds * 1000);
const cpuShare = cpu.stop();
const edgeCpuShare = edgeCpu?.stop() ?? NaN;
const segmentsAfter = await originSegments();
const rss = rssBytes(args.serverPid);
await sleep(500);
stopping = true;
for (const r of readers) r.settle();
for (const r of readers) r.close();
await publisher.stop();

const chunks = slowest.size;
const byEveryReader = [...slowest.values()];
console.log(
  JSON.stringify({
    clients: args.clients,
    chunks,
    deliveries: latencies.length,
    expected: chunks * args.clients,
    megabytesPerSecond: bytes / args.seconds / 1e6,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: percentile(latencies, 1),
    everyReaderP50: percentile(byEveryReader, 0.5),
    everyReaderP99: percentile(byEveryReader, 0.99),
    errors,
    serverCpu: cpuShare,
    edgeCpu: edgeCpuShare,
    originRequestsPerSegment: (segmentsAfter.requests - segmentsBefore.requests) / Math.max(1, segmentsAfter.msn - segmentsBefore.msn),
    rss,
    ...(process.env.BENCH_DEBUG ? { series: [...slowest.entries()].sort((a, b) => a[0] - b[0]).map(([i, ms]) => `${i}:${ms.toFixed(0)}`).join(' ') } : {}),
  }),
);
process.exit(0);
