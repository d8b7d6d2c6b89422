/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import type { Browser } from 'playwright-core';
import { assertPlayed, launchChromium, playInPage, startPageServer, summarize, type PlayerName } from '../helpers/browser.js';
import { Harness, LADDER, LiveFeeder, loadTracks } from '../helpers/feed.js';
import { completeSegments, get, getText, parseMedia } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

const ladder = loadTracks(LADDER);
const PUSHED_SECONDS = 600;
const PLAY_SECONDS = 15;

type Node = Record<string, unknown>;
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, isArray: (name) => ['Period', 'AdaptationSet', 'Representation', 'S'].includes(name) });

/** tfdt baseMediaDecodeTime of the first fragment of a segment (the first `tfdt` box in it). */
function firstTfdt(segment: Buffer): bigint {
  const at = segment.indexOf('tfdt', 0, 'latin1');
  assert.ok(at > 4, 'the segment has a tfdt');
  return segment[at + 4] === 1 ? segment.readBigUInt64BE(at + 8) : BigInt(segment.readUInt32BE(at + 8));
}

interface Entry {
  readonly rep: string;
  readonly media: string;
  readonly number: number;
  readonly time: bigint;
}

/** Every S entry of the MPD with its $Number$ and $Time$, and its media URL (the template filled in). */
function entries(mpd: Node): Entry[] {
  const out: Entry[] = [];
  for (const period of mpd.Period as Node[]) {
    for (const set of period.AdaptationSet as Node[]) {
      for (const rep of set.Representation as Node[]) {
        const tpl = rep.SegmentTemplate as Node;
        let number = Number(tpl.startNumber);
        let time = 0n;
        for (const s of (tpl.SegmentTimeline as Node).S as Node[]) {
          if (s.t !== undefined) time = BigInt(s.t as string);
          for (let i = 0; i <= Number(s.r ?? 0); i++) {
            const media = (tpl.media as string).replace('$RepresentationID$', rep.id as string).replace('$Number$', String(number)).replace('$Time$', time.toString());
            out.push({ rep: rep.id as string, media, number, time });
            number++;
            time += BigInt(s.d as string);
          }
        }
      }
    }
  }
  return out;
}

/**
 * 10 minutes of the fixture ladder pushed faster than real time (the origin's clock moving with
 * the media), then live in real time: the SegmentTimeline MPD after its window has slid.
 */
describe('SegmentTimeline MPD after the window has slid', () => {
  let o: TestOrigin;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  let timer: NodeJS.Timeout | undefined;
  let skewMs = 0;
  const base = (): string => `${o.playback}/live/long`;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } }, () => Date.now() + skewMs);
    const h = new Harness({}, o.origin.streams);
    h.nowMs = Date.now();
    const startMs = h.nowMs;
    const feeder = new LiveFeeder(h, 'long', ladder, startMs);
    for (let t = 0.5; t <= PUSHED_SECONDS; t += 0.5) {
      feeder.advanceTo(t);
      skewMs = h.nowMs - Date.now();
    }
    // From here on in real time, as an encoder would.
    const live = (): void => feeder.advanceTo((Date.now() + skewMs - startMs) / 1000);
    timer = setInterval(live, 50);
    [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
  });

  after(async () => {
    clearInterval(timer);
    await browser?.close();
    await pages?.close();
    await o?.stop();
  });

  it('lists, for every entry, the $Number$ and $Time$ of the segment HLS lists under that MSN, and every listed URL answers 200', async () => {
    const mpd = (xml.parse(await getText(`${base()}/manifest.mpd?mode=timeline`)) as { MPD: Node }).MPD;
    const all = entries(mpd);
    const stream = o.origin.streams.get('long')!;
    for (const track of stream.tracks.values()) {
      const mine = all.filter((e) => e.rep === track.name);
      const pl = parseMedia(await getText(`${base()}/${track.name}/index.m3u8`));
      const hlsMsns = completeSegments(pl).map((s) => s.mediaSequenceNumber);
      // The window slid: the first listed MSN is far past the first segment of the stream.
      assert.ok(hlsMsns[0]! > (PUSHED_SECONDS - 150) / 2, `${track.name}: HLS starts at MSN ${hlsMsns[0]}`);
      // Both lists are rendered from the same timeline version only if nothing arrived in between:
      // they may differ by the newest segment at the live edge and the oldest at the window start.
      const shared = mine.filter((e) => hlsMsns.includes(e.number));
      assert.ok(shared.length >= mine.length - 2 && shared.length >= hlsMsns.length - 2, `${track.name}: MPD numbers ${mine[0]?.number}-${mine.at(-1)?.number}, HLS MSNs ${hlsMsns[0]}-${hlsMsns.at(-1)}`);
      for (const e of mine) {
        const seg = await get(`${base()}/${e.media}`);
        assert.equal(seg.status, 200, `${e.media}: ${seg.body.toString().slice(0, 200)}`);
        assert.equal(Number(seg.headers['content-length']), seg.body.length);
        assert.equal(firstTfdt(seg.body), e.time, `${e.media}: $Time$ is the segment's tfdt`);
        if (hlsMsns.includes(e.number)) {
          const uri = completeSegments(pl).find((s) => s.mediaSequenceNumber === e.number)!.uri;
          assert.equal(`${track.name}/${uri}`, e.media, `MSN ${e.number}: the HLS segment is the same object`);
        }
      }
    }
  });

  for (const player of ['dash.js', 'shaka', 'video.js'] as PlayerName[]) {
    it(`${player} plays ?mode=timeline for ${PLAY_SECONDS} s at the live edge, every request answered`, async () => {
      const { samples, errors, failures } = await playInPage(browser, pages.url, player, `${base()}/manifest.mpd?mode=timeline`, PLAY_SECONDS);
      summarize(`${player} (SegmentTimeline, window slid)`, samples);
      assert.deepEqual(errors.filter((e) => e.fatal), [], JSON.stringify(errors));
      assert.deepEqual(failures, []);
      assertPlayed(samples, PLAY_SECONDS);
      // dash.js and shaka keep media time = stream time: how far the last sample was behind the
      // newest media. video.js has a timeline of its own: how far behind its live point.
      const edge = (Date.now() + skewMs - o.origin.streams.get('long')!.availabilityStartTimeMs!) / 1000;
      const behind = player === 'video.js' ? samples.at(-1)!.latency! : edge - samples.at(-1)!.currentTime;
      console.log(`# ${player}: ${behind.toFixed(1)} s behind the live edge`);
      assert.ok(behind < 15, `${player} plays ${behind.toFixed(1)} s behind the live edge, not from the window's start`);
    });
  }
});
