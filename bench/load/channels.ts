// Load client of the channels benchmark (bench/channels.ts forks it, IPC): "edges" that follow
// every rendition of every stream, each edge both ways a CDN edge fetches low-latency media:
// - LL-HLS: a blocking playlist reload for the preload hint (_HLS_msn/_HLS_part), then a GET of
//   each part the new playlist lists, then the next reload, on one keep-alive connection;
// - LL-DASH: a GET of the segment in production, read as it grows, then the next segment.
// The encoder writes each fragment's index into its first payload bytes (MARKER): a chunk counts
// as received at the end of its part (LL-HLS), or at the last read that carried its bytes before
// the next marker (LL-DASH). Receipt times are process.hrtime, shared with the encoder's process.
import { MARKER } from '../lib/encoder.js';
import { parseHintBytes, type Hint } from '../lib/live.js';
import { RawConnection } from '../lib/raw-http.js';

export interface FollowMessage {
  readonly type: 'follow';
  readonly host: string;
  readonly port: number;
  readonly edges: number;
  /** hrtime (ns, decimal) that receipt times are counted from, in ms. */
  readonly base: string;
  readonly streams: readonly { readonly name: string; readonly tracks: readonly string[] }[];
}

/** `mark`: the measurement starts (the counters restart); `collect`: report and forget the receipts so far. */
export interface CollectMessage {
  readonly type: 'mark' | 'collect';
}

export interface FollowerReport {
  readonly stream: string;
  readonly track: string;
  readonly protocol: 'll-hls' | 'll-dash';
  /** Pairs: fragment index, ms after `base` it was received; since the last collect. */
  readonly receipts: number[];
}

export type FollowerReply = { readonly type: 'ready' } | { readonly type: 'receipts'; readonly followers: FollowerReport[]; readonly errors: number; readonly requests: number };

/** Bytes that may precede a chunk's marker in the same read: moof, mdat header, NAL length. */
const HEADER_ALLOWANCE = 512;
const CARRY = MARKER.length + 3;

let base = 0n;
let errors = 0;
let requests = 0;
let stopping = false;
const followers: (HlsFollower | DashFollower)[] = [];

/** Finds markers across the reads of one response, including one split between two reads. */
class MarkerScanner {
  private carry: Buffer | null = null;

  reset(): void {
    this.carry = null;
  }

  /** Calls `found` with each marker's index and its offset in `b` (negative: it began in the previous read). */
  scan(b: Buffer, found: (index: number, at: number) => void): void {
    if (this.carry) {
      const joint = Buffer.concat([this.carry, b.subarray(0, CARRY)]);
      for (let at = joint.indexOf(MARKER); at >= 0 && at < this.carry.length; at = joint.indexOf(MARKER, at + 1)) {
        if (at + 8 <= joint.length) found(joint.readUInt32BE(at + 4), at - this.carry.length);
      }
    }
    for (let at = b.indexOf(MARKER); at >= 0 && at + 8 <= b.length; at = b.indexOf(MARKER, at + 8)) found(b.readUInt32BE(at + 4), at);
    this.carry = Buffer.from(b.subarray(Math.max(0, b.length - CARRY)));
  }
}

const ms = (t: bigint): number => Number(t - base) / 1e6;

abstract class Follower {
  readonly receipts: number[] = [];
  protected readonly conn: RawConnection;
  protected status = 0;
  protected readonly scanner = new MarkerScanner();
  private started: () => void = () => {};
  readonly ready = new Promise<void>((resolve) => (this.started = resolve));

  constructor(
    host: string,
    port: number,
    readonly stream: string,
    readonly track: string,
  ) {
    this.conn = new RawConnection(host, port, () => {
      if (!stopping) errors++;
    });
    this.conn.socket.once('connect', () => this.begin());
  }

  protected get(path: string): void {
    if (stopping) return;
    requests++;
    this.conn.get(path, this);
  }

  protected began(): void {
    this.started();
  }

  protected abstract begin(): void;
  abstract head(status: number): void;
  abstract data(b: Buffer, now: bigint): void;
  abstract end(now: bigint): void;

  close(): void {
    this.conn.close();
  }
}

const PART = /#EXT-X-PART:[^\n]*URI="([^"/]+)\/(\d+)\.(\d+)\.m4s"/g;
const PART_TAG = Buffer.from('#EXT-X-PART:');

class HlsFollower extends Follower {
  readonly protocol = 'll-hls' as const;
  private readonly dir = `/live/${this.stream}/${this.track}/`;
  private body: Buffer[] = [];
  private mode: 'playlist' | 'part' = 'playlist';
  /** The newest part fetched (or passed over at the start). */
  private last: { msn: number; part: number } | null = null;
  private queue: string[] = [];
  private hint: Hint | null = null;
  /** The fragment the part being read continues (a fragment cut by a segment boundary spans two parts). */
  private fragment = -1;
  private partMarkers: number[] = [];

  protected begin(): void {
    this.get(this.dir + 'index.m3u8');
  }

  head(status: number): void {
    this.status = status;
    this.body = [];
    this.partMarkers = [];
    this.scanner.reset();
  }

  data(b: Buffer): void {
    if (this.mode === 'playlist') this.body.push(Buffer.from(b));
    else this.scanner.scan(b, (index) => this.partMarkers.push(index));
  }

  end(now: bigint): void {
    if (this.status !== 200) {
      if (!stopping) errors++;
      this.mode = 'playlist';
      setTimeout(() => this.reload(), 50);
      return;
    }
    if (this.mode === 'part') {
      if (this.partMarkers.length === 0 && this.fragment >= 0) this.receipts.push(this.fragment, ms(now));
      for (const index of this.partMarkers) this.receipts.push(index, ms(now));
      if (this.partMarkers.length) this.fragment = this.partMarkers[this.partMarkers.length - 1]!;
      return this.fetchNext();
    }
    const playlist = this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body);
    this.hint = parseHintBytes(playlist) ?? null;
    if (!this.hint) errors++;
    const from = playlist.indexOf(PART_TAG);
    const first = this.last === null;
    for (const m of from < 0 ? [] : playlist.toString('latin1', from).matchAll(PART)) {
      const msn = Number(m[2]);
      const part = Number(m[3]);
      if (this.last && (msn < this.last.msn || (msn === this.last.msn && part <= this.last.part))) continue;
      this.last = { msn, part };
      if (!first) this.queue.push(`${this.dir}${m[1]}/${msn}.${part}.m4s`);
    }
    if (first) this.began();
    this.fetchNext();
  }

  private fetchNext(): void {
    const path = this.queue.shift();
    if (path === undefined) return this.reload();
    this.mode = 'part';
    this.get(path);
  }

  private reload(): void {
    this.mode = 'playlist';
    this.get(this.hint ? `${this.dir}index.m3u8?_HLS_msn=${this.hint.msn}&_HLS_part=${this.hint.part}` : this.dir + 'index.m3u8');
  }
}

const MEDIA = /<Representation id="([^"]+)"[\s\S]*?media="([^"]+)"/g;

class DashFollower extends Follower {
  readonly protocol = 'll-dash' as const;
  private template = '';
  private number = 0;
  private mode: 'mpd' | 'hint' | 'segment' = 'mpd';
  private body: Buffer[] = [];
  /** The chunk being received and the time of the last read that carried its bytes. */
  private current = -1;
  private lastRead = 0n;
  /** Bytes since the last marker not yet known to be the current chunk's. */
  private unattributed = 0;

  protected begin(): void {
    this.get(`/live/${this.stream}/manifest.mpd`);
  }

  head(status: number): void {
    this.status = status;
    this.body = [];
    this.scanner.reset();
  }

  data(b: Buffer, now: bigint): void {
    if (this.mode !== 'segment') {
      this.body.push(Buffer.from(b));
      return;
    }
    // Bytes before a marker are the header of its chunk when there are few of them; the origin
    // may write that header as an HTTP chunk of its own (a data call without the marker).
    let first = true;
    this.scanner.scan(b, (index, at) => {
      if (this.current >= 0) this.complete(this.current, first && this.unattributed + Math.max(0, at) <= HEADER_ALLOWANCE ? this.lastRead : now);
      first = false;
      this.current = index;
      this.unattributed = 0;
    });
    if (!first) this.lastRead = now;
    else if ((this.unattributed += b.length) > HEADER_ALLOWANCE && this.current >= 0) {
      this.lastRead = now;
      this.unattributed = 0;
    }
  }

  private complete(index: number, at: bigint): void {
    this.receipts.push(index, ms(at));
  }

  end(): void {
    if (this.status !== 200) {
      if (!stopping) errors++;
      this.mode = this.template ? 'hint' : 'mpd';
      this.current = -1;
      setTimeout(() => this.restart(), 50);
      return;
    }
    const text = () => (this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body)).toString('latin1');
    if (this.mode === 'mpd') {
      for (const m of text().matchAll(MEDIA)) if (m[1] === this.track) this.template = `/live/${this.stream}/${m[2]!.replace('$RepresentationID$', this.track)}`;
      if (!this.template) errors++;
      this.mode = 'hint';
      return this.restart();
    }
    if (this.mode === 'hint') {
      // The segment in production: the one the LL-HLS playlist's preload hint is in.
      const hint = parseHintBytes(this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body));
      if (!hint) {
        errors++;
        return void setTimeout(() => this.restart(), 50);
      }
      this.number = hint.msn;
      this.mode = 'segment';
      this.began();
    } else this.number++;
    this.get(this.template.replace('$Number$', String(this.number)));
  }

  /** After an error: the MPD again if it had none, else the segment in production again. */
  private restart(): void {
    if (this.mode === 'mpd') this.begin();
    else this.get(`/live/${this.stream}/${this.track}/index.m3u8`);
  }
}

process.on('message', (m: FollowMessage | CollectMessage) => {
  if (m.type === 'follow') {
    base = BigInt(m.base);
    const added: (HlsFollower | DashFollower)[] = [];
    for (const s of m.streams) {
      for (let e = 0; e < m.edges; e++) {
        for (const track of s.tracks) added.push(new HlsFollower(m.host, m.port, s.name, track), new DashFollower(m.host, m.port, s.name, track));
      }
    }
    followers.push(...added);
    void Promise.all(added.map((f) => f.ready)).then(() => process.send!({ type: 'ready' } satisfies FollowerReply));
    return;
  }
  if (m.type === 'collect') {
    const reports = followers.map((f) => ({ stream: f.stream, track: f.track, protocol: f.protocol, receipts: f.receipts.splice(0) }));
    process.send!({ type: 'receipts', followers: reports, errors, requests } satisfies FollowerReply);
  }
  errors = 0;
  requests = 0;
});

process.on('disconnect', () => {
  stopping = true;
  for (const f of followers) f.close();
  process.exit(0);
});
