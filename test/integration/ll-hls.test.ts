import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { isSyncSample, parseMoof } from '../../src/isobmff/fragment.js';
import { Harness, LADDER, LiveFeeder, loadTracks } from '../helpers/feed.js';
import { completeSegments, get, getText, parseMaster, parseMedia, sleep, type Fetched, type MediaPlaylist } from '../helpers/hls.js';
import { initOf, topLevelBoxes } from '../helpers/mp4.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

const ladder = loadTracks(LADDER);

interface Live {
  readonly o: TestOrigin;
  readonly h: Harness;
  readonly feeder: LiveFeeder;
  readonly base: string;
  readonly tag: () => string;
}

async function live(partAddressing: 'uri' | 'byterange' = 'uri', stream = 'll'): Promise<Live> {
  const clock = { h: undefined as Harness | undefined };
  // A configured part target (the fixtures' 200 ms chunks would give 0.215 s): the timings below cut 0.5 s parts.
  const o = await startOrigin({ hls: { partAddressing }, segment: { partTarget: 0.5 } }, () => clock.h!.nowMs);
  const h = (clock.h = new Harness({}, o.origin.streams));
  const feeder = new LiveFeeder(h, stream, ladder);
  return { o, h, feeder, base: `${o.playback}/live/${stream}`, tag: () => o.origin.streams.get(stream)!.tag };
}

/** Starts a request and reports whether it settled within `ms`. */
function pending(url: string, headers: Record<string, string> = {}): { settled: () => boolean; result: Promise<Fetched> } {
  let done = false;
  const result = get(url, headers).finally(() => (done = true));
  return { settled: () => done, result };
}

async function playlist(base: string, track = 'v360', query = ''): Promise<{ pl: MediaPlaylist; text: string; res: Fetched }> {
  const res = await get(`${base}/${track}/index.m3u8${query}`);
  assert.equal(res.status, 200, res.body.toString());
  const text = res.body.toString();
  return { pl: parseMedia(text), text, res };
}

function attr(text: string, tag: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(tag + ':'))?.slice(tag.length + 1);
}

describe('LL-HLS playlists', () => {
  let L: Live;
  before(async () => {
    L = await live();
    L.feeder.advanceTo(7.1);
  });
  after(() => L.o.stop());

  it('advertises blocking reload, PART-HOLD-BACK ≥ 3×PART-TARGET, HOLD-BACK ≥ 3×TD and CAN-SKIP-UNTIL ≥ 6×TD', async () => {
    const { pl } = await playlist(L.base);
    const sc = pl.lowLatencyCompatibility!;
    assert.equal(sc.canBlockReload, true);
    assert.ok(sc.partHoldBack! >= 3 * pl.partTargetDuration! - 1e-9);
    assert.ok(sc.holdBack! >= 3 * pl.targetDuration);
    assert.ok(sc.canSkipUntil! >= 6 * pl.targetDuration);
  });

  it('keeps TARGETDURATION, PART-TARGET and SERVER-CONTROL identical in every rendition and every reload', async () => {
    const seen = new Set<string>();
    for (let t = 7.3; t < 13; t += 0.7) {
      L.feeder.advanceTo(t);
      for (const track of ['v360', 'v180', 'audio']) {
        const { text } = await playlist(L.base, track);
        seen.add([attr(text, '#EXT-X-TARGETDURATION'), attr(text, '#EXT-X-SERVER-CONTROL'), attr(text, '#EXT-X-PART-INF'), attr(text, '#EXT-X-VERSION')].join('|'));
      }
    }
    assert.equal(seen.size, 1, [...seen].join('\n'));
  });

  it('lists parts no longer than PART-TARGET, ≥ 85 % of it unless independent or last, INDEPENDENT exactly on keyframe parts', async () => {
    L.feeder.advanceTo(13.5);
    const url = `${L.base}/v360/index.m3u8`;
    const { pl } = await playlist(L.base);
    const pt = pl.partTargetDuration!;
    const init = initOf((await get(new URL(completeSegments(pl)[0]!.map!.uri, url).toString())).body);
    let checked = 0;
    for (const seg of pl.segments) {
      for (const [i, part] of seg.parts.entries()) {
        if (part.hint) continue;
        assert.ok(part.duration! <= pt + 1e-9, `part ${part.uri} lasts ${part.duration}`);
        const last = i === seg.parts.filter((p) => !p.hint).length - 1;
        if (!last && !part.independent) assert.ok(part.duration! >= 0.85 * pt - 1e-9, `part ${part.uri} lasts ${part.duration}`);
        const bytes = (await get(new URL(part.uri, url).toString())).body;
        const moof = topLevelBoxes(bytes).find((b) => b.data.toString('latin1', 4, 8) === 'moof')!;
        const frag = parseMoof(moof.data, moof.headerSize, 0, () => init.tracks[0]!.defaults);
        assert.equal(Boolean(part.independent), isSyncSample(frag.trafs[0]!.flags[0]!), `INDEPENDENT on ${part.uri}`);
        checked++;
      }
    }
    assert.ok(checked >= 8);
  });

  it('keeps parts on the newest three entries only and PROGRAM-DATE-TIME on every segment', async () => {
    const { pl } = await playlist(L.base);
    pl.segments.forEach((s, i) => {
      if (i < pl.segments.length - 3) assert.equal(s.parts.length, 0, `segment ${s.mediaSequenceNumber} still lists parts`);
      if (s.uri) assert.ok(s.programDateTime, `segment ${s.mediaSequenceNumber} has a PROGRAM-DATE-TIME`);
    });
    assert.ok(completeSegments(pl).length >= 5);
  });

  it('reports every other rendition with LAST-MSN and LAST-PART as up to date as the playlist', async () => {
    const { pl } = await playlist(L.base, 'audio');
    const reports = new Map(pl.renditionReports.map((r) => [r.uri, r]));
    assert.deepEqual([...reports.keys()].sort(), ['../v180/index.m3u8', '../v360/index.m3u8']);
    const video = L.o.origin.streams.get('ll')!.tracks.get('v360')!.lastCompletePart()!;
    assert.equal(reports.get('../v360/index.m3u8')!.lastMSN, video.msn);
    assert.equal(reports.get('../v360/index.m3u8')!.lastPart, video.index);
  });

  it('ends with exactly one preload hint for the next part, which the next version lists as a part', async () => {
    const { pl, text } = await playlist(L.base);
    assert.equal(text.match(/#EXT-X-PRELOAD-HINT/g)!.length, 1);
    const hint = pl.segments.at(-1)!.parts.find((p) => p.hint)!;
    assert.ok(hint);
    const last = L.o.origin.streams.get('ll')!.tracks.get('v360')!.lastCompletePart()!;
    L.feeder.advanceTo(L.feeder.position + 0.6);
    const { pl: next } = await playlist(L.base);
    const listed = next.segments.flatMap((s) => s.parts).filter((p) => !p.hint).map((p) => p.uri);
    assert.ok(listed.includes(hint.uri), `${hint.uri} is listed after ${last.msn}.${last.index}`);
  });

  it('answers _HLS_skip=YES with a delta update: EXT-X-SKIP, version ≥ 9, the newest segments within the skip boundary', async () => {
    L.feeder.advanceTo(31);
    const { pl: full } = await playlist(L.base);
    const { pl: delta, text } = await playlist(L.base, 'v360', '?_HLS_skip=YES');
    assert.ok(delta.version! >= 9);
    const skipped = Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(text)![1]);
    assert.ok(skipped > 0);
    const kept = completeSegments(full).slice(skipped);
    assert.equal(text.indexOf('#EXT-X-MEDIA-SEQUENCE') < text.indexOf('#EXT-X-SKIP'), true, 'MEDIA-SEQUENCE before SKIP');
    const keptSeconds = kept.reduce((n, s) => n + s.duration, 0);
    assert.ok(keptSeconds <= full.lowLatencyCompatibility!.canSkipUntil! + 1e-6);
    assert.ok(keptSeconds + completeSegments(full)[skipped - 1]!.duration > full.lowLatencyCompatibility!.canSkipUntil!, 'no more skipped than the boundary requires');
    assert.equal(delta.mediaSequenceBase, full.mediaSequenceBase);
    assert.match(text, new RegExp(`\\n${kept[0]!.uri}\\n`));
  });

  it('gzips playlists once per version, with short caching and no Age', async () => {
    const a = await get(`${L.base}/v360/index.m3u8`, { 'accept-encoding': 'gzip' });
    const b = await get(`${L.base}/v360/index.m3u8`, { 'accept-encoding': 'gzip' });
    assert.equal(a.headers['content-encoding'], 'gzip');
    assert.ok(a.body.equals(b.body), 'the same compressed bytes');
    assert.ok(gunzipSync(a.body).toString().startsWith('#EXTM3U'));
    assert.equal(a.headers['cache-control'], 'public, max-age=1');
    assert.equal(a.headers['age'], undefined);
  });

  it('lists the same multivariant version as the media playlists', async () => {
    const master = parseMaster(await getText(`${L.base}/master.m3u8`));
    assert.equal(master.version, 9);
    assert.equal(master.variants.filter((v) => !v.isIFrameOnly).length, 2);
  });
});

describe('LL-HLS blocking playlist reload', () => {
  let L: Live;
  before(async () => {
    L = await live('uri', 'blk');
    L.feeder.advanceTo(5.1);
  });
  after(() => L.o.stop());

  const last = (): { msn: number; index: number } => L.o.origin.streams.get('blk')!.tracks.get('v360')!.lastCompletePart()!;

  it('holds _HLS_msn/_HLS_part until that part exists, then answers with a playlist holding it, cacheable for 6×TD', async () => {
    const next = { msn: last().msn, index: last().index + 1 };
    const p = pending(`${L.base}/v360/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.index}`);
    await sleep(150);
    assert.equal(p.settled(), false, 'held while the part does not exist');
    L.feeder.advanceTo(L.feeder.position + 0.5);
    const res = await p.result;
    assert.equal(res.status, 200);
    const pl = parseMedia(res.body.toString());
    const seg = pl.segments.find((s) => s.mediaSequenceNumber === next.msn)!;
    assert.ok(seg.parts.filter((x) => !x.hint).length > next.index);
    assert.equal(res.headers['cache-control'], 'public, max-age=12');
  });

  it('holds _HLS_msn alone until that segment is complete', async () => {
    const msn = L.o.origin.streams.get('blk')!.tracks.get('v360')!.lastCompleteMsn()! + 1;
    const p = pending(`${L.base}/v360/index.m3u8?_HLS_msn=${msn}`);
    await sleep(100);
    assert.equal(p.settled(), false);
    L.feeder.advanceTo(L.feeder.position + 2.1);
    const pl = parseMedia((await p.result).body.toString());
    assert.ok(completeSegments(pl).some((s) => s.mediaSequenceNumber === msn));
  });

  it('reads a part index past the end of a complete segment as part 0 of the next', async () => {
    const t = L.o.origin.streams.get('blk')!.tracks.get('v360')!;
    // Just after a segment boundary: the new segment has no complete part yet.
    L.feeder.advanceTo(Math.ceil(L.feeder.position / 2) * 2 + 0.25);
    assert.equal(t.openSegment!.parts.filter((x) => x.complete).length, 0);
    const msn = t.lastCompleteMsn()!;
    const parts = t.findSegment(msn)!.parts.length;
    const p = pending(`${L.base}/v360/index.m3u8?_HLS_msn=${msn}&_HLS_part=${parts + 3}`);
    await sleep(100);
    assert.equal(p.settled(), false, 'waits for part 0 of the next segment');
    L.feeder.advanceTo(L.feeder.position + 0.5);
    assert.equal((await p.result).status, 200);
  });

  it('does not cache a blocking response that ends with a complete segment and a bare hint (video.js 8 asks again with the same URL)', async () => {
    const t = L.o.origin.streams.get('blk')!.tracks.get('v360')!;
    // Just after a boundary: the segment closed, the next one has no complete part yet.
    L.feeder.advanceTo(Math.ceil(L.feeder.position / 2) * 2 + 0.2);
    assert.equal(t.openSegment!.parts.filter((x) => x.complete).length, 0);
    const msn = t.lastCompleteMsn()!;
    const url = `${L.base}/v360/index.m3u8?_HLS_msn=${msn}&_HLS_part=0`;
    const bare = await get(url);
    assert.equal(bare.status, 200);
    assert.match(bare.body.toString(), new RegExp(`#EXTINF:[\\d.]+,\n[^\n]+/${msn}\\.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]+/${msn + 1}\\.0\\.m4s"`));
    assert.equal(bare.headers['cache-control'], 'no-cache');
    L.feeder.advanceTo(L.feeder.position + 0.5);
    const next = await get(url);
    assert.match(next.body.toString(), new RegExp(`/${msn + 1}\\.0\\.m4s",INDEPENDENT=YES`));
    assert.equal(next.headers['cache-control'], 'public, max-age=12');
  });

  it('answers at once for a part that exists and for an MSN that has left the playlist', async () => {
    const p = last();
    const now = await get(`${L.base}/v360/index.m3u8?_HLS_msn=${p.msn}&_HLS_part=${p.index}`);
    assert.equal(now.status, 200);
    const old = await get(`${L.base}/v360/index.m3u8?_HLS_msn=1`);
    assert.equal(old.status, 200);
  });

  it('answers 400 at once for _HLS_part without _HLS_msn, an MSN more than 2 ahead and a part past the advance limit', async () => {
    const lastMsn = L.o.origin.streams.get('blk')!.tracks.get('v360')!.lastCompleteMsn()!;
    const noMsn = await get(`${L.base}/v360/index.m3u8?_HLS_part=1`);
    assert.equal(noMsn.status, 400);
    assert.match(noMsn.body.toString(), /_HLS_part without _HLS_msn/);
    const far = await get(`${L.base}/v360/index.m3u8?_HLS_msn=${lastMsn + 3}`);
    assert.equal(far.status, 400);
    assert.equal(far.headers['cache-control'], 'public, max-age=8');
    const p = last();
    const tooFar = await get(`${L.base}/v360/index.m3u8?_HLS_msn=${p.msn}&_HLS_part=${p.index + 8}`);
    assert.equal(tooFar.status, 400);
    const garbage = await get(`${L.base}/v360/index.m3u8?_HLS_msn=abc`);
    assert.equal(garbage.status, 400);
    // Two ahead is allowed: held, not refused.
    const twoAhead = pending(`${L.base}/v360/index.m3u8?_HLS_msn=${lastMsn + 2}`);
    await sleep(100);
    assert.equal(twoAhead.settled(), false);
    L.feeder.advanceTo(L.feeder.position + 4.1);
    assert.equal((await twoAhead.result).status, 200);
    const metrics = (await get(`${L.o.playback}/metrics`)).body.toString();
    assert.match(metrics, /origin_hls_blocking_errors_total\{status="400",reason="msn-too-far"\} 1/);
    assert.match(metrics, /origin_hls_blocking_errors_total\{status="400",reason="part-too-far"\} 1/);
  });

  it('releases every held request of a version together, with the same bytes', async () => {
    const p = last();
    const held = Array.from({ length: 20 }, () => pending(`${L.base}/v360/index.m3u8?_HLS_msn=${p.msn}&_HLS_part=${p.index + 1}`));
    await sleep(150);
    assert.equal(held.filter((x) => x.settled()).length, 0);
    const metrics = (await get(`${L.o.playback}/metrics`)).body.toString();
    assert.match(metrics, /origin_held_requests 20/);
    L.feeder.advanceTo(L.feeder.position + 0.5);
    const bodies = await Promise.all(held.map((x) => x.result));
    for (const b of bodies) assert.ok(b.body.equals(bodies[0]!.body));
    const after = (await get(`${L.o.playback}/metrics`)).body.toString();
    assert.match(after, /origin_held_requests 0/);
    assert.match(after, /origin_hls_playlist_hold_seconds_count \d+/);
  });

  it('forgets a held request whose client went away', async () => {
    const p = last();
    const controller = new AbortController();
    const req = request(`${L.base}/v360/index.m3u8?_HLS_msn=${p.msn + 1}`, { signal: controller.signal }).catch(() => undefined);
    await sleep(100);
    assert.match((await get(`${L.o.playback}/metrics`)).body.toString(), /origin_held_requests 1/);
    controller.abort();
    await req;
    await sleep(100);
    assert.match((await get(`${L.o.playback}/metrics`)).body.toString(), /origin_held_requests 0/);
  });

  it('answers 503 when a request has been held longer than three target durations', async () => {
    const p = last();
    const held = pending(`${L.base}/v360/index.m3u8?_HLS_msn=${p.msn}&_HLS_part=${p.index + 1}`);
    await sleep(100);
    L.h.nowMs += 6100; // three target durations pass without a new part
    const res = await held.result;
    assert.equal(res.status, 503);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match((await get(`${L.o.playback}/metrics`)).body.toString(), /origin_hls_blocking_errors_total\{status="503",reason="hold-timeout"\} 1/);
  });
});

describe('LL-HLS end of stream', () => {
  it('releases held requests with the final playlist; a hinted part that will never exist is 404', async () => {
    const clock = { h: undefined as Harness | undefined };
    const o = await startOrigin({ segment: { partTarget: 0.4 } }, () => clock.h!.nowMs);
    try {
      const h = (clock.h = new Harness({}, o.origin.streams));
      const feeder = new LiveFeeder(h, 'end', ladder);
      // 0.4 s parts of 0.2 s chunks: at 4.8 s a part has just completed and the next is not started.
      feeder.advanceTo(4.8);
      const base = `${o.playback}/live/end`;
      const { pl } = await playlist(base);
      const hint = pl.segments.at(-1)!.parts.find((x) => x.hint)!;
      const t = o.origin.streams.get('end')!.tracks.get('v360')!;
      const last = t.lastCompletePart()!;
      assert.equal(hint.uri, `${o.origin.streams.get('end')!.tag}/${last.msn}.${last.index + 1}.m4s`);
      const held = pending(`${base}/v360/index.m3u8?_HLS_msn=${last.msn}&_HLS_part=${last.index + 1}`);
      const part = pending(new URL(hint.uri, `${base}/v360/index.m3u8`).toString());
      await sleep(100);
      assert.equal(held.settled(), false);
      assert.equal(part.settled(), false);
      feeder.end();
      const res = await held.result;
      assert.equal(res.status, 200);
      const final = parseMedia(res.body.toString());
      assert.equal(final.endlist, true);
      assert.equal(res.body.toString().includes('#EXT-X-PRELOAD-HINT'), false, 'no hint with ENDLIST');
      assert.equal((await part.result).status, 404);
      // With EXT-X-ENDLIST, directives are ignored: answered at once.
      const after = await get(`${base}/v360/index.m3u8?_HLS_msn=${last.msn + 2}&_HLS_part=3`);
      assert.equal(after.status, 200);
      assert.equal(parseMedia(after.body.toString()).endlist, true);
    } finally {
      await o.stop();
    }
  });
});

describe('LL-HLS hinted parts', () => {
  let L: Live;
  before(async () => {
    L = await live('uri', 'hint');
    L.feeder.advanceTo(4.1);
  });
  after(() => L.o.stop());

  it('holds a request for the hinted part and sends it whole once complete', async () => {
    const { pl } = await playlist(L.base);
    const hint = pl.segments.at(-1)!.parts.find((p) => p.hint)!;
    const url = new URL(hint.uri, `${L.base}/v360/index.m3u8`).toString();
    const p = pending(url);
    await sleep(150);
    assert.equal(p.settled(), false, 'nothing is sent before the whole part exists');
    L.feeder.advanceTo(L.feeder.position + 0.6);
    const res = await p.result;
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers['content-length']), res.body.length, 'sent whole, with a length');
    const { pl: next } = await playlist(L.base);
    assert.ok(next.segments.flatMap((s) => s.parts).some((x) => x.uri === hint.uri && !x.hint));
    const again = await get(url);
    assert.ok(again.body.equals(res.body));
    assert.equal(again.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it('answers 404 for parts that are not hinted, never cached when they may exist soon', async () => {
    const t = L.o.origin.streams.get('hint')!.tracks.get('v360')!;
    const next = t.nextPart()!;
    const ahead = await get(`${L.base}/v360/${L.tag()}/${next.msn}.${next.index + 2}.m4s`);
    assert.equal(ahead.status, 404);
    assert.equal(ahead.headers['cache-control'], 'no-store');
    const never = await get(`${L.base}/v360/${L.tag()}/1.40.m4s`);
    assert.equal(never.status, 404);
    assert.equal(never.headers['cache-control'], 'public, max-age=2');
  });
});

describe('LL-HLS byte-range addressing', () => {
  let L: Live;
  before(async () => {
    L = await live('byterange', 'br');
    L.feeder.advanceTo(4.1);
  });
  after(() => L.o.stop());

  it('lists parts as BYTERANGE of their segment and hints BYTERANGE-START', async () => {
    const { pl, text } = await playlist(L.base);
    const open = pl.segments.at(-1)!;
    const parts = open.parts.filter((p) => !p.hint);
    assert.ok(parts.length >= 1);
    let offset = 0;
    for (const p of parts) {
      assert.equal(p.uri, `${L.tag()}/${open.mediaSequenceNumber}.m4s`);
      assert.equal(p.byterange!.offset, offset);
      offset += p.byterange!.length;
    }
    assert.match(text, new RegExp(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${L.tag()}/${open.mediaSequenceNumber}\\.m4s",BYTERANGE-START=${offset}\\n`));
  });

  it('answers an open-ended range of the growing segment with 206 bytes N-LAST/*, part by part, until the segment ends', async () => {
    const t = L.o.origin.streams.get('br')!.tracks.get('v360')!;
    // Early in a segment: its first part is in production.
    L.feeder.advanceTo(Math.ceil(L.feeder.position / 2) * 2 + 0.25);
    const next = t.nextPart()!;
    assert.equal(next.index, 0);
    const url = `${L.base}/v360/${L.tag()}/${next.msn}.m4s`;
    const responded = request(url, { headers: { range: `bytes=${next.byteOffset}-9007199254740991` } });
    let headersAt = 0;
    void responded.then(() => (headersAt = L.feeder.position));
    await sleep(100);
    assert.equal(headersAt, 0, 'no status line before the first whole part exists');
    const received: Buffer[] = [];
    L.feeder.advanceTo(L.feeder.position + 0.5);
    const res = await responded;
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers['content-range'], `bytes ${next.byteOffset}-9007199254740991/*`);
    assert.equal(res.headers['content-length'], undefined);
    const reading = (async () => {
      for await (const piece of res.body) received.push(piece as Buffer);
    })();
    for (let i = 0; i < 8; i++) {
      L.feeder.advanceTo(L.feeder.position + 0.25);
      await sleep(20);
    }
    await reading;
    const seg = t.findSegment(next.msn)!;
    assert.equal(seg.state, 'complete');
    const whole = (await get(url)).body;
    assert.ok(Buffer.concat(received).equals(whole.subarray(next.byteOffset)));
    assert.equal(next.byteOffset + Buffer.concat(received).length, whole.length);
  });

  it('holds a closed range of the segment in production until its bytes are in complete parts', async () => {
    L.feeder.advanceTo(Math.ceil(L.feeder.position / 2) * 2 + 0.25);
    const t = L.o.origin.streams.get('br')!.tracks.get('v360')!;
    const open = t.openSegment!;
    const url = `${L.base}/v360/${L.tag()}/${open.msn}.m4s`;
    const p = pending(url, { range: 'bytes=0-999' });
    await sleep(150);
    assert.equal(p.settled(), false);
    L.feeder.advanceTo(L.feeder.position + 0.6);
    const res = await p.result;
    assert.equal(res.status, 206);
    assert.equal(res.headers['content-range'], 'bytes 0-999/*');
    assert.equal(res.body.length, 1000);
  });

  it('answers ranges of complete segments with their length, and 416 past the end', async () => {
    const t = L.o.origin.streams.get('br')!.tracks.get('v360')!;
    const msn = t.lastCompleteMsn()!;
    const url = `${L.base}/v360/${L.tag()}/${msn}.m4s`;
    const len = t.findSegment(msn)!.byteLength;
    const r = await get(url, { range: 'bytes=10-9007199254740991' });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-range'], `bytes 10-${len - 1}/${len}`);
    assert.equal((await get(url, { range: `bytes=${len}-` })).status, 416);
  });
});
