import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { parseEmsg } from '../../src/isobmff/emsg.js';
import { parseSpliceInfo, splicePts, withPtsAdjustment, writeSpliceInsert, writeTimeSignal } from '../../src/scte35/splice.js';
import { fetchMpd, seconds } from '../helpers/dvr.js';
import { run } from '../helpers/ffmpeg.js';
import { LADDER, loadTracks } from '../helpers/feed.js';
import { get, getText, parseMaster, parseMedia, waitFor } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { bearer, push } from '../helpers/push.js';
import { EmsgPusher, readTsScte35, scteEmsg, topLevelEmsg } from '../helpers/scte35.js';

const TOKEN = 'scte35-test-token-0123456789';
/** tfdt of media time 0, seconds: 33-bit pts_time wraps here. */
const OFFSET = 1_700_000_000;
const pts90 = (t: number): number => ((OFFSET + t) * 90000) % 2 ** 33;

interface Expected {
  readonly name: string;
  /** Media time from the push's start, seconds. */
  readonly at: number;
  readonly type: 'out' | 'in';
  section: Buffer;
}

/** EXT-X-DATERANGE tags of a playlist with the PROGRAM-DATE-TIME and URI of the segment each precedes. */
function dateRanges(text: string): { attrs: Record<string, string>; pdt: number; uri: string; tags: string[] }[] {
  const out: { attrs: Record<string, string>; pdt: number; uri: string; tags: string[] }[] = [];
  let pending: Record<string, string>[] = [];
  let tags: string[] = [];
  let pdt = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25));
    else if (line.startsWith('#EXT-X-DATERANGE:')) {
      const attrs: Record<string, string> = {};
      for (const m of line.slice(17).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) attrs[m[1]!] = m[2]!.replace(/^"|"$/g, '');
      pending.push(attrs);
    } else if (line.startsWith('#EXT-X-CUE')) tags.push(line);
    else if (line !== '' && !line.startsWith('#')) {
      for (const attrs of pending) out.push({ attrs, pdt, uri: line, tags });
      pending = [];
      tags = [];
    }
  }
  return out;
}

/** Legacy EXT-X-CUE-* tags per segment URI. */
function cueTagsByUri(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let tags: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-CUE')) tags.push(line.replace(/:.*/, ''));
    else if (line !== '' && !line.startsWith('#')) {
      out.set(line, tags);
      tags = [];
    }
  }
  return out;
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['Period', 'AdaptationSet', 'Representation', 'Event', 'EventStream', 'InbandEventStream'].includes(name) });

describe('SCTE-35 ad markers', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('carries in-band emsg and API cues to LL-HLS, TS, DASH and the TS SCTE-35 PID at the same media time, cuts segments there, answers 201/400/401, and keeps cues over a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scte35-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = { hls: { cueTags: 'daterange+cue-out' as const }, auth: { ingestToken: TOKEN }, dvr: { windowSeconds: 600, dataDir: dir }, ingest: { idleTimeoutMs: 600_000 } };
    let o: TestOrigin = await startOrigin(config);
    cleanups.push(() => o.stop());
    const pusher = new EmsgPusher(o.ingest, 'ads', loadTracks(LADDER), OFFSET, bearer(TOKEN));

    const out5: Expected = { name: 'out5', at: 5, type: 'out', section: writeSpliceInsert({ spliceEventId: 77, outOfNetwork: true, ptsTime: pts90(5), breakDuration: 4 * 90000 }) };
    const in9: Expected = { name: 'in9', at: 9, type: 'in', section: writeSpliceInsert({ spliceEventId: 77, outOfNetwork: false, ptsTime: pts90(9), breakDuration: null }) };
    const bad = Buffer.from(writeTimeSignal(pts90(7)));
    bad[bad.length - 1]! ^= 0x5a;
    // The encoder writes each emsg into both video renditions one second ahead of its splice point (a preroll).
    pusher.pushUntil(12, (e, start) => {
      if (e.track.kind !== 'video') return [];
      if (Math.abs(start - 4) < 1e-6) return [scteEmsg(1, { id: 1001, section: out5.section, timescale: 90000, presentationTime: BigInt(OFFSET + 5) * 90000n, duration: 4 * 90000 })];
      if (Math.abs(start - 6) < 1e-6) return [scteEmsg(1, { id: 1003, section: bad, timescale: 90000, presentationTime: BigInt(OFFSET + 7) * 90000n })];
      if (Math.abs(start - 8) < 1e-6) return [scteEmsg(0, { id: 1002, section: in9.section, timescale: 1000, delta: 1000 })];
      return [];
    });
    await waitFor('media up to 11 s', async () => (o.origin.streams.get('ads')?.frontier() ?? 0) > 0 && (await get(`${o.playback}/live/ads/v360/index.m3u8`)).status === 200 ? true : undefined);
    await waitFor('media up to 11 s', () => {
      const s = o.origin.streams.get('ads')!;
      return s.frontier()! - s.mediaShiftSeconds - OFFSET >= 11.9 ? true : undefined;
    });

    // The API: same token as the ingest, a strict body, a strict section.
    const post = (stream: string, body: string, headers = bearer(TOKEN)) => push(o.ingest, 'POST', `/live/${stream}/cues`, body, { 'content-type': 'application/json', ...headers }).answer;
    assert.equal((await post('ads', JSON.stringify({ id: 'ad-2', type: 'out', duration: 2 }), {})).status, 401);
    assert.equal((await post('ads', JSON.stringify({ id: 'ad-2', type: 'out', duration: 2 }), bearer('wrong-token-0123456789'))).status, 401);
    const noJson = await post('ads', '{"id":');
    assert.equal(noJson.status, 400);
    assert.match(noJson.body, /not JSON/);
    const noDuration = await post('ads', JSON.stringify({ id: 'ad-2', type: 'out' }));
    assert.equal(noDuration.status, 400);
    assert.match(noDuration.body, /needs a duration/);
    const badSection = await post('ads', JSON.stringify({ id: 'ad-x', type: 'out', duration: 2, scte35: '0x' + bad.toString('hex') }));
    assert.equal(badSection.status, 400);
    assert.match(badSection.body, /CRC_32/);
    assert.equal((await post('nosuch', JSON.stringify({ id: 'ad-2', type: 'in' }))).status, 404);
    assert.equal((await push(o.ingest, 'GET', '/live/ads/cues', '', bearer(TOKEN)).answer).status, 405);
    const created = await post('ads', JSON.stringify({ id: 'ad-2', type: 'out', duration: 2, at: OFFSET + 13 }));
    assert.equal(created.status, 201, created.body);
    const outApi = JSON.parse(created.body) as { id: string; type: string; mediaTime: number; scte35: string; duration: number };
    assert.equal(outApi.id, 'ad-2');
    assert.equal(outApi.mediaTime, OFFSET + 13);
    assert.equal(outApi.duration, 2);
    const backApi = JSON.parse((await post('ads', JSON.stringify({ id: 'ad-2', type: 'in', at: OFFSET + 15 }))).body) as { scte35: string };
    assert.equal((await post('ads', JSON.stringify({ id: 'ad-2', type: 'in', at: OFFSET + 15 }))).status, 200, 'the same cue again');
    const out13: Expected = { name: 'out13', at: 13, type: 'out', section: Buffer.from(outApi.scte35.slice(2), 'hex') };
    const in15: Expected = { name: 'in15', at: 15, type: 'in', section: Buffer.from(backApi.scte35.slice(2), 'hex') };
    const apiOut = parseSpliceInfo(out13.section);
    assert.equal(splicePts(apiOut), pts90(13));

    pusher.pushUntil(20);
    await waitFor('media up to 19 s', () => {
      const s = o.origin.streams.get('ads')!;
      return s.frontier()! - s.mediaShiftSeconds - OFFSET >= 19.9 ? true : undefined;
    });
    const cues = [out5, in9, out13, in15];
    const base = `${o.playback}/live/ads`;

    // Every playlist parses strictly.
    for (const path of ['master.m3u8', 'master-lhls.m3u8', 'master-ts.m3u8']) parseMaster(await getText(`${base}/${path}`));
    const texts = new Map<string, string>();
    for (const track of ['v360', 'v180', 'audio']) {
      for (const file of ['index.m3u8', 'lhls.m3u8', 'ts.m3u8']) {
        if (track === 'audio' && file === 'ts.m3u8') continue;
        const text = await getText(`${base}/${track}/${file}`);
        try {
          parseMedia(text);
        } catch (err) {
          console.log(track, file, text);
          throw err;
        }
        texts.set(`${track}/${file}`, text);
      }
    }
    const ll = dateRanges(texts.get('v360/index.m3u8')!);
    const tsList = dateRanges(texts.get('v360/ts.m3u8')!);
    const llParsed = parseMedia(texts.get('v360/index.m3u8')!);
    const { mpd } = await fetchMpd(`${base}/manifest.mpd`);
    const doc = xml.parse((await get(`${base}/manifest.mpd`)).body.toString()) as { MPD: { availabilityStartTime: string; Period: Record<string, unknown>[] } };
    const ast = Date.parse(doc.MPD.availabilityStartTime);
    assert.ok(mpd.Period.length >= 1);
    // A splice point moves the segments off the $Number$ cadence: the low-latency MPD continues in a new Period there.
    type MpdEvent = { presentationTime: string; duration?: string; id: string; Signal: { xmlns: string; Binary: string }; periodStart: number };
    const events: MpdEvent[] = [];
    for (const period of doc.MPD.Period) {
      const streams = (period.EventStream ?? []) as { schemeIdUri: string; timescale: string; Event: MpdEvent[] }[];
      assert.ok(streams.length <= 1);
      for (const es of streams) {
        assert.equal(es.schemeIdUri, 'urn:scte:scte35:2014:xml+bin');
        assert.equal(es.timescale, '90000');
        for (const e of es.Event) events.push({ ...e, periodStart: seconds(period.start as string) });
      }
      const sets = period.AdaptationSet as { contentType: string; InbandEventStream?: { schemeIdUri: string }[] }[];
      for (const set of sets) {
        if (set.contentType === 'video') assert.deepEqual(set.InbandEventStream?.map((e) => e.schemeIdUri), ['urn:scte:scte35:2013:bin']);
        else assert.equal(set.InbandEventStream, undefined);
      }
    }

    for (const cue of cues) {
      const hex = '0x' + cue.section.toString('hex').toUpperCase();
      const key = cue.type === 'out' ? 'SCTE35-OUT' : 'SCTE35-IN';
      const entry = ll.find((d) => d.attrs[key] === hex);
      assert.ok(entry, `${cue.name}: an EXT-X-DATERANGE with ${key} in the LL-HLS playlist`);
      const seg = llParsed.segments.find((s) => s.uri === entry.uri)!;
      // The splice point starts its segment (a keyframe is there): the cue is at the segment's PROGRAM-DATE-TIME.
      const cueDate = seg.programDateTime!.getTime();
      const out = cue.type === 'out' ? cue : cues[cues.indexOf(cue) - 1]!;
      const outEntry = ll.find((d) => d.attrs['SCTE35-OUT'] === '0x' + out.section.toString('hex').toUpperCase())!;
      assert.equal(entry.attrs.ID, outEntry.attrs.ID, `${cue.name}: out and in share the ID`);
      if (cue.type === 'out') {
        assert.equal(Date.parse(entry.attrs['START-DATE']!), cueDate, `${cue.name}: START-DATE is where the segment starts`);
        assert.equal(Number(entry.attrs['PLANNED-DURATION']), cue === out5 ? 4 : 2);
        assert.deepEqual(entry.tags, ['#EXT-X-CUE-OUT:DURATION=' + (cue === out5 ? '4.000' : '2.000')]);
      } else {
        assert.equal(entry.attrs['START-DATE'], outEntry.attrs['START-DATE'], `${cue.name}: the same START-DATE as its out`);
        assert.equal(Number(entry.attrs.DURATION), cue.at - out.at);
        assert.equal(cueDate - Date.parse(outEntry.attrs['START-DATE']!), (cue.at - out.at) * 1000);
        assert.deepEqual(entry.tags, ['#EXT-X-CUE-IN']);
      }
      // The segment before it ends at the splice point (cut short of its 2 s slot where the cue is mid-slot).
      const before = llParsed.segments[llParsed.segments.indexOf(seg) - 1]!;
      assert.equal(before.programDateTime!.getTime() + Math.round(before.duration * 1000), cueDate);
      if (cue.at % 2 === 1) assert.equal(before.duration, 1);

      // The TS playlist: the same tag on the same segment number, at the same date.
      const tsEntry = tsList.find((d) => d.attrs[key] === hex);
      assert.ok(tsEntry, `${cue.name}: in the TS playlist`);
      assert.equal(tsEntry.attrs['START-DATE'], entry.attrs['START-DATE']);
      assert.equal(tsEntry.uri.replace(/\.ts$/, ''), entry.uri.replace(/\.m4s$/, ''));

      // DASH: an Event at the same time (AST + Period@start + presentationTime), the same section in base64.
      const event = events.find((e) => Buffer.from(e.Signal.Binary, 'base64').equals(cue.section));
      assert.ok(event, `${cue.name}: an Event in the EventStream`);
      assert.equal(event.Signal.xmlns, 'http://www.scte.org/schemas/35/2016');
      assert.ok(Math.abs(ast + (event.periodStart + Number(event.presentationTime) / 90000) * 1000 - cueDate) <= 1, `${cue.name}: Event time ${event.presentationTime}`);
      if (cue === out5) assert.equal(event.duration, String(4 * 90000));
      if (cue === out5) assert.equal(event.id, '1001');

      // The TS segment carries the same section on its SCTE-35 PID, at the PTS of its first frame.
      const ts = await get(`${base}/v360/${tsEntry.uri}`);
      assert.equal(ts.status, 200);
      const carried = readTsScte35(ts.body);
      assert.equal(carried.cuei, true, 'CUEI registration descriptor');
      assert.equal(carried.pid, 0x102);
      assert.equal(carried.sections.length, 1);
      const info = parseSpliceInfo(carried.sections[0]!);
      assert.deepEqual(withPtsAdjustment(carried.sections[0]!, info.ptsAdjustment - 90000), cue.section, `${cue.name}: the same splice_info_section`);
      assert.equal(splicePts(info), carried.firstVideoPts, `${cue.name}: pts_time + pts_adjustment is the PTS of the splice point`);
      assert.equal(splicePts(info), (pts90(cue.at) + 90000) % 2 ** 33);
      if (cue === out5) {
        // ffmpeg's demuxer finds the program's SCTE-35 stream by the CUEI registration and stream_type 0x86.
        const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,codec_type,id', '-of', 'json', `${base}/v360/${tsEntry.uri}`]);
        assert.equal(probe.code, 0, probe.stderr);
        const found = (JSON.parse(probe.stdout) as { streams: { codec_name?: string; codec_type: string; id: string }[] }).streams;
        assert.ok(found.some((st) => st.codec_name === 'scte_35' && st.codec_type === 'data' && st.id === '0x102'), probe.stdout);
      }
    }

    // In-band: the emsg stay in the segments that carried them in, one second ahead of the splice
    // (version 1, absolute time); the bad one is gone.
    const inband = [out5, in9].map((cue) => ll.find((d) => d.attrs[cue.type === 'out' ? 'SCTE35-OUT' : 'SCTE35-IN'] === '0x' + cue.section.toString('hex').toUpperCase())!);
    for (const [i, entry] of inband.entries()) {
      const ahead = llParsed.segments[llParsed.segments.findIndex((s) => s.uri === entry.uri) - 1]!;
      const seg = await get(`${base}/v360/${ahead.uri}`);
      const boxes = topLevelEmsg(seg.body).map((b) => parseEmsg(b, 8));
      assert.equal(boxes.length, 1);
      assert.equal(boxes[0]!.version, 1);
      assert.equal(boxes[0]!.presentationTime, i === 0 ? BigInt(OFFSET + 5) * 90000n : BigInt(OFFSET + 9) * 1000n);
      assert.deepEqual(boxes[0]!.messageData, [out5, in9][i]!.section);
    }
    assert.equal(events.length, 4, 'the dropped section is nowhere');
    assert.ok(!texts.get('v360/index.m3u8')!.includes(bad.toString('hex').toUpperCase()));

    // Legacy tags: inside the break every segment says how far in it is.
    const legacy = cueTagsByUri(texts.get('v360/index.m3u8')!);
    const between = llParsed.segments.filter((s) => s.programDateTime!.getTime() > Date.parse(inband[0]!.attrs['START-DATE']!) && s.programDateTime!.getTime() < Date.parse(inband[0]!.attrs['START-DATE']!) + 4000);
    assert.ok(between.length >= 2);
    for (const s of between) assert.deepEqual(legacy.get(s.uri), ['#EXT-X-CUE-OUT-CONT']);
    // Every rendition has its boundaries at the splice points.
    for (const track of ['v180', 'audio']) {
      const other = dateRanges(texts.get(`${track}/index.m3u8`)!);
      assert.deepEqual(other.map((d) => [d.attrs.ID, d.attrs['START-DATE'], d.uri.split('/').pop()]), ll.map((d) => [d.attrs.ID, d.attrs['START-DATE'], d.uri.split('/').pop()]));
    }

    // A restart serves the same cues from the DVR.
    await pusher.end();
    const before = ll.map((d) => d.attrs);
    await o.stop();
    o = await startOrigin(config);
    const restored = await waitFor('restored playlist', async () => {
      const r = await get(`${o.playback}/live/ads/v360/index.m3u8?dvr=1`);
      return r.status === 200 ? r.body.toString() : undefined;
    });
    parseMedia(restored);
    assert.deepEqual(dateRanges(restored).map((d) => d.attrs), before);
  });
});
