import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawConnection, type ResponseHandler } from '../../bench/lib/raw-http.js';
import { Harness, LADDER, LiveFeeder, loadTracks } from '../helpers/feed.js';
import { get, sleep, waitFor, type Fetched } from '../helpers/hls.js';
import { segmentBuffer } from '../helpers/mp4.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { fullGc } from '../../src/memory.js';
import { startVarnish, threadParams, type TestEdge } from '../helpers/varnish.js';
import { createServer } from 'node:net';

const ladder = loadTracks(LADDER);
const CLIENTS = 500;
const STREAM = 'edge';

/** The origin's own count of playback requests of one route class (all statuses). */
async function originRequests(o: TestOrigin, route: string): Promise<number> {
  const metric = o.origin.metrics.registry.getSingleMetric('origin_http_requests_total')!;
  let n = 0;
  for (const v of (await metric.get()).values) if (v.labels.listener === 'playback' && v.labels.route === route) n += v.value;
  return n;
}

interface Received {
  status: number;
  head: string;
  firstByteNs: bigint;
  endNs: bigint;
  chunks: Buffer[];
}

/** CLIENTS raw keep-alive connections to the edge, all connected before anything is asked. */
async function connectAll(port: number, n: number): Promise<RawConnection[]> {
  const errors: Error[] = [];
  const conns = Array.from({ length: n }, () => new RawConnection('127.0.0.1', port, (e) => errors.push(e)));
  await Promise.all(conns.map((c) => new Promise((resolve) => (c.socket.connecting ? c.socket.once('connect', resolve) : resolve(undefined)))));
  assert.deepEqual(errors, []);
  return conns;
}

/** Sends one GET on every connection at once; resolves with every response once all ended. */
function getAll(conns: readonly RawConnection[], path: (i: number) => string, headers = ''): Promise<Received[]> {
  return Promise.all(
    conns.map(
      (c, i) =>
        new Promise<Received>((resolve) => {
          const r: Received = { status: 0, head: '', firstByteNs: 0n, endNs: 0n, chunks: [] };
          const handler: ResponseHandler = {
            head(status, head, now) {
              r.status = status;
              r.head = head;
              r.firstByteNs = now;
            },
            data(bytes) {
              r.chunks.push(Buffer.from(bytes));
            },
            end(now) {
              r.endNs = now;
              resolve(r);
            },
          };
          c.get(path(i), handler, headers);
        }),
    ),
  );
}

function header(r: Received, name: string): string | undefined {
  return new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(r.head)?.[1];
}

async function counter(edge: TestEdge, name: string): Promise<number> {
  return (await edge.stats()).get(name) ?? 0;
}

describe('Varnish in front of one origin', () => {
  let o: TestOrigin;
  let h: Harness;
  let feeder: LiveFeeder;
  let edge: TestEdge;
  let tag: string;
  const base = (): string => `/live/${STREAM}/v360/${tag}`;
  const track = () => o.origin.streams.get(STREAM)!.tracks.get('v360')!;

  before(async () => {
    const clock = { h: undefined as Harness | undefined };
    o = await startOrigin({}, () => clock.h!.nowMs);
    h = clock.h = new Harness({}, o.origin.streams);
    feeder = new LiveFeeder(h, STREAM, ladder);
    feeder.advanceTo(7.1);
    tag = o.origin.streams.get(STREAM)!.tag;
    edge = await startVarnish(o.playback, { params: threadParams(CLIENTS) });
  });

  after(async () => {
    await edge?.stop();
    await o?.stop();
  });

  /** Moves the stream on in real time, 0.1 s of media every 100 ms, until `done`. */
  async function playUntil(done: () => boolean, limitSeconds = 10): Promise<void> {
    for (let i = 0; i < limitSeconds * 10 && !done(); i++) {
      await sleep(100);
      feeder.advanceTo(feeder.position + 0.1);
    }
  }

  it(`serves the segment in production to ${CLIENTS} clients with one backend request: the same bytes, first bytes within 50 ms`, async () => {
    // Early in a segment: its first chunk exists, the rest is to come.
    feeder.advanceTo(Math.ceil(feeder.position / 2) * 2 + 0.3);
    const seg = track().openSegment!;
    assert.equal(seg.state, 'open');
    const conns = await connectAll(edge.port, CLIENTS);
    const before = await originRequests(o, 'segment');
    // The readers and the origin share this process: a major collection now, not while they read.
    fullGc()?.();
    const responses = getAll(conns, () => `${base()}/${seg.msn}.m4s`);
    await playUntil(() => seg.state === 'complete');
    const got = await responses;
    for (const c of conns) c.close();
    assert.equal(seg.state, 'complete');
    const whole = await segmentBuffer(track(), seg.msn);
    for (const r of got) {
      assert.equal(r.status, 200);
      assert.ok(Buffer.concat(r.chunks).equals(whole), 'byte-identical to the complete segment');
    }
    assert.ok(got.some((r) => header(r, 'transfer-encoding') === 'chunked'), 'streamed while it grew');
    assert.equal((await originRequests(o, 'segment')) - before, 1, 'one backend request');
    const first = got.map((r) => Number(r.firstByteNs) / 1e6);
    const spread = Math.max(...first) - Math.min(...first);
    const streamed = got.map((r) => Number(r.endNs - r.firstByteNs) / 1e6);
    console.log(`# ${CLIENTS} readers of segment ${seg.msn} in production: first-byte spread ${spread.toFixed(1)} ms; each read it for ${Math.min(...streamed).toFixed(0)}–${Math.max(...streamed).toFixed(0)} ms`);
    assert.ok(spread <= 50, `first bytes spread over ${spread.toFixed(1)} ms`);
  });

  it(`coalesces ${CLIENTS} held blocking reloads for the next part into one backend request, answered within a part duration of its ingest`, async () => {
    // Early in a segment, so that the next part is in the same segment.
    feeder.advanceTo(Math.ceil(feeder.position / 2) * 2 + 0.7);
    const last = track().lastCompletePart()!;
    const next = { msn: last.msn, part: last.index + 1 };
    const partMs = (o.origin.streams.get(STREAM)!.partTarget ?? 0.5) * 1000;
    const conns = await connectAll(edge.port, CLIENTS);
    const before = await originRequests(o, 'playlist');
    const sleeping = await counter(edge, 'MAIN.busy_sleep');
    // Half of the players write the directives in the other order: one object all the same.
    const query = (i: number): string => (i % 2 ? `_HLS_part=${next.part}&_HLS_msn=${next.msn}` : `_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
    const responses = getAll(conns, (i) => `/live/${STREAM}/v360/index.m3u8?${query(i)}`);
    await waitFor('every request but one on the waiting list', async () => ((await counter(edge, 'MAIN.busy_sleep')) - sleeping >= CLIENTS - 1 ? true : undefined), 10_000, 50);
    let ingestNs = 0n;
    while (track().lastCompletePart()!.msn === last.msn && track().lastCompletePart()!.index === last.index) {
      ingestNs = process.hrtime.bigint();
      feeder.advanceTo(feeder.position + 0.04);
    }
    const got = await responses;
    for (const c of conns) c.close();
    assert.equal((await originRequests(o, 'playlist')) - before, 1, 'one backend request');
    const body = Buffer.concat(got[0]!.chunks);
    const late = got.map((r) => Number(r.endNs - ingestNs) / 1e6);
    console.log(`# ${CLIENTS} blocking reloads for ${next.msn}.${next.part}: answered ${Math.min(...late).toFixed(1)}–${Math.max(...late).toFixed(1)} ms after the part's ingest (part ${partMs} ms)`);
    for (const r of got) {
      assert.equal(r.status, 200);
      assert.ok(Buffer.concat(r.chunks).equals(body), 'the same playlist for all');
    }
    assert.match(body.toString(), new RegExp(`${tag}/${next.msn}\\.${next.part}\\.m4s`));
    assert.ok(Math.max(...late) <= partMs, `the last answer came ${Math.max(...late).toFixed(1)} ms after the part's ingest`);
  });

  it('coalesces requests for the next segment (L-HLS prefetch, LL-DASH) and for the hinted part, each into one backend request', async () => {
    feeder.advanceTo(Math.ceil(feeder.position / 2) * 2 + 0.7);
    const next = track().lastMsn! + 1;
    const hinted = track().nextPart()!;
    const conns = await connectAll(edge.port, 200);
    const segmentsBefore = await originRequests(o, 'segment');
    const partsBefore = await originRequests(o, 'part');
    const responses = getAll(conns, (i) => (i % 2 ? `${base()}/${next}.m4s` : `${base()}/${hinted.msn}.${hinted.index}.m4s`));
    await playUntil(() => track().findSegment(next)?.state === 'complete');
    const got = await responses;
    for (const c of conns) c.close();
    const segment = await segmentBuffer(track(), next);
    const seg = track().findSegment(hinted.msn)!;
    const part = seg.parts[hinted.index]!;
    const partBytes = (await segmentBuffer(track(), hinted.msn)).subarray(part.byteOffset, part.byteOffset + part.byteLength);
    got.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.ok(Buffer.concat(r.chunks).equals(i % 2 ? segment : partBytes), i % 2 ? 'the next segment, whole' : 'the hinted part, whole');
    });
    assert.equal((await originRequests(o, 'segment')) - segmentsBefore, 1, 'one backend request for the next segment');
    assert.equal((await originRequests(o, 'part')) - partsBefore, 1, 'one backend request for the hinted part');
  });

  it('does not keep a no-store 404 for a future segment: the moment it exists, the edge serves it', async () => {
    const future = track().lastMsn! + 2;
    const url = `${edge.url}${base()}/${future}.m4s`;
    const gone = await get(url);
    assert.equal(gone.status, 404);
    assert.equal(gone.headers['cache-control'], 'no-store');
    const before = await originRequests(o, 'segment');
    assert.equal((await get(url)).status, 404);
    assert.equal((await originRequests(o, 'segment')) - before, 1, 'the second 404 came from the origin too');
    // The encoder catches up at once: the segment is in production right after the 404s.
    const t404 = Date.now();
    while (!track().findSegment(future)) feeder.advanceTo(feeder.position + 0.1);
    const now = get(url);
    const asked = Date.now() - t404;
    await playUntil(() => track().findSegment(future)!.state === 'complete');
    const got: Fetched = await now;
    assert.equal(got.status, 200, `asked ${asked} ms after the 404`);
    assert.ok(got.body.equals(await segmentBuffer(track(), future)));
  });

  it('forwards an open-ended Range on a growing segment (a HESP continuation, a byte-range part) and shares it', async () => {
    feeder.advanceTo(Math.ceil(feeder.position / 2) * 2 + 0.7);
    const seg = track().openSegment!;
    const from = seg.chunks[1]!.byteOffset;
    const conns = await connectAll(edge.port, 20);
    const before = await originRequests(o, 'segment');
    const responses = getAll(conns, () => `${base()}/${seg.msn}.m4s`, `Range: bytes=${from}-\r\n`);
    await playUntil(() => seg.state === 'complete');
    const got = await responses;
    for (const c of conns) c.close();
    const whole = await segmentBuffer(track(), seg.msn);
    for (const r of got) {
      assert.equal(r.status, 206);
      assert.match(header(r, 'content-range') ?? '', new RegExp(`^bytes ${from}-\\d+/\\*$`));
      assert.ok(Buffer.concat(r.chunks).equals(whole.subarray(from)), 'the bytes from the range start to the segment end');
    }
    assert.equal((await originRequests(o, 'segment')) - before, 1, 'one backend request for every reader of that range');
    const plain = await get(`${edge.url}${base()}/${seg.msn}.m4s`);
    assert.equal(plain.status, 200);
    assert.ok(plain.body.equals(whole), 'the range object is not the whole object');
  });

  it('answers every request waiting behind a blocking reload that timed out at once, with one backend request', async () => {
    const last = track().lastCompletePart()!;
    const conns = await connectAll(edge.port, 50);
    const before = await originRequests(o, 'playlist');
    const sleeping = await counter(edge, 'MAIN.busy_sleep');
    const responses = getAll(conns, () => `/live/${STREAM}/v360/index.m3u8?_HLS_msn=${last.msn}&_HLS_part=${last.index + 1}`);
    await waitFor('the waiting list', async () => ((await counter(edge, 'MAIN.busy_sleep')) - sleeping >= 49 ? true : undefined), 10_000, 50);
    // The encoder stalls: no part for three target durations (on the origin's clock), after a
    // hold long enough for the edge to tell a held answer from an immediate one.
    await sleep(1200);
    h.nowMs += 6100;
    const got = await responses;
    for (const c of conns) c.close();
    assert.deepEqual(new Set(got.map((r) => r.status)), new Set([503]));
    const spread = Number(got.reduce((a, r) => (r.endNs > a ? r.endNs : a), 0n) - got.reduce((a, r) => (r.endNs < a ? r.endNs : a), got[0]!.endNs)) / 1e6;
    assert.ok(spread < 1000, `the waiting requests were answered over ${spread.toFixed(0)} ms, not together`);
    assert.equal((await originRequests(o, 'playlist')) - before, 1, 'one backend request');
    feeder.advanceTo(feeder.position + 1);
  });

  it('bans one stream by its path prefix, from loopback only', async () => {
    const msn = track().lastCompleteMsn()!;
    const url = `${edge.url}${base()}/${msn}.m4s`;
    await get(url);
    const cached = await get(url);
    assert.equal(cached.headers['x-cache'], 'hit');
    const ban = await fetch(`${edge.url}/live/${STREAM}/`, { method: 'BAN' });
    assert.equal(ban.status, 200, await ban.text());
    const refetched = await get(url);
    assert.equal(refetched.headers['x-cache'], 'miss');
    assert.ok(refetched.body.equals(cached.body));
    assert.equal((await fetch(`${edge.url}/live/`, { method: 'BAN' })).status, 400, 'one stream at a time');
  });
});

/** A loopback port nothing listens on. */
function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('Varnish with origin_a down', () => {
  it('retries a request that failed before its first byte on origin_b, and the probe marks origin_a sick', async () => {
    const clock = { h: undefined as Harness | undefined };
    const o = await startOrigin({}, () => clock.h!.nowMs);
    const h = (clock.h = new Harness({}, o.origin.streams));
    new LiveFeeder(h, STREAM, ladder).advanceTo(5);
    const edge = await startVarnish(`http://127.0.0.1:${await deadPort()}`, { originB: o.playback });
    try {
      // Both start healthy (.initial): the first request goes to origin_a, is refused, and is retried.
      const r = await get(`${edge.url}/live/${STREAM}/master.m3u8`);
      assert.equal(r.status, 200, r.body.toString());
      const stats = await edge.stats();
      assert.ok((stats.get('MAIN.backend_fail') ?? 0) >= 1, 'origin_a refused the connection, origin_b answered the retry');
      await waitFor('origin_a sick', async () => (/origin_a\s+probe\s+\S+\s+sick/.test(await edge.adm('backend.list')) ? true : undefined), 10_000, 200);
      const again = await get(`${edge.url}/live/${STREAM}/v360/index.m3u8`);
      assert.equal(again.status, 200);
    } finally {
      await edge.stop();
      await o.stop();
    }
  });
});
