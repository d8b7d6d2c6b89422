import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { renderMpd, type MpdOptions } from '../../src/dash/mpd.js';
import { escapeXml, XmlWriter, xsDuration } from '../../src/dash/xml.js';
import type { Stream } from '../../src/timeline/stream.js';
import { feed, Harness, LADDER, LiveFeeder, loadTracks } from '../helpers/feed.js';
import { samplesOf } from '../helpers/mp4.js';

const ladder = loadTracks(LADDER);
const LL: MpdOptions = { mode: 'number', targetLatency: 2.5, utcUrl: '/utc' };
const TIMELINE: MpdOptions = { mode: 'timeline', targetLatency: 2.5, utcUrl: '/utc' };

type Node = Record<string, unknown>;
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, isArray: (name) => ['Period', 'AdaptationSet', 'Representation', 'S', 'UTCTiming', 'SupplementalProperty'].includes(name) });

/** Validates (fast-xml-parser) and parses an MPD. */
function parse(xml: string): Node {
  const valid = XMLValidator.validate(xml);
  assert.equal(valid, true, JSON.stringify(valid));
  return (parser.parse(xml) as { MPD: Node }).MPD;
}

function periods(mpd: Node): Node[] {
  return mpd.Period as Node[];
}

function sets(period: Node): Node[] {
  return period.AdaptationSet as Node[];
}

function reps(set: Node): Node[] {
  return set.Representation as Node[];
}

function seconds(duration: string): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$/.exec(duration)!;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function render(stream: Stream, options = LL): Node {
  return parse(renderMpd(stream, options)!);
}

describe('MPD (low latency, $Number$)', () => {
  const h = new Harness();
  feed(h, 's', ladder);
  const stream = h.registry.get('s')!;
  const mpd = render(stream);

  it('is a dynamic isoff-live MPD with fixed AST, publishTime, MUP, TSBD = window, maxSegmentDuration ≥ every segment', () => {
    assert.equal(mpd.type, 'dynamic');
    assert.equal(mpd.profiles, 'urn:mpeg:dash:profile:isoff-live:2011');
    assert.equal(mpd.availabilityStartTime, new Date(stream.availabilityStartTimeMs!).toISOString());
    assert.equal(periods(mpd)[0]!.start, 'PT0S');
    assert.ok(Date.parse(mpd.publishTime as string) > Date.parse(mpd.availabilityStartTime as string));
    assert.equal(mpd.minimumUpdatePeriod, 'PT2S');
    // The window is 120 s, but only 6 s of complete media exist: the time-shift buffer is what exists.
    assert.equal(mpd.timeShiftBufferDepth, 'PT6S');
    const h2 = new Harness({ windowSeconds: 6 });
    let sessions;
    for (let loop = 0; loop < 3; loop++) sessions = feed(h2, 'w', ladder, { offsetSeconds: loop * 8, startMs: 1_700_000_000_000 + loop * 8000, ...(sessions ? { sessions } : {}) });
    assert.equal(render(h2.registry.get('w')!).timeShiftBufferDepth, 'PT6S', 'and the window once the stream is older');
    assert.ok(mpd.minBufferTime);
    const longest = Math.max(...[...stream.tracks.values()].flatMap((t) => t.segments().filter((s) => s.state === 'complete').map((s) => s.seconds)));
    assert.ok(longest > 2, 'audio segments overshoot 2 s');
    assert.ok(seconds(mpd.maxSegmentDuration as string) >= longest);
  });

  it('keeps availabilityStartTime and Period ids fixed across updates', () => {
    const h2 = new Harness();
    const sessions = feed(h2, 's', ladder, { untilSeconds: 4.1 });
    const a = render(h2.registry.get('s')!, LL);
    feed(h2, 's', ladder, { sessions });
    const b = render(h2.registry.get('s')!, LL);
    assert.equal(a.availabilityStartTime, b.availabilityStartTime);
    assert.deepEqual(periods(a).map((p) => [p.id, p.start]), periods(b).map((p) => [p.id, p.start]));
    assert.notEqual(a.publishTime, b.publishTime);
  });

  it('has one AdaptationSet per content type, mimeType exactly video/mp4 and audio/mp4, segmentAlignment and startWithSAP', () => {
    const [video, audio] = sets(periods(mpd)[0]!);
    assert.equal(video!.contentType, 'video');
    assert.equal(video!.mimeType, 'video/mp4');
    assert.equal(audio!.contentType, 'audio');
    assert.equal(audio!.mimeType, 'audio/mp4');
    for (const s of [video!, audio!]) {
      assert.equal(s.segmentAlignment, 'true');
      assert.equal(s.startWithSAP, '1');
    }
  });

  it('describes Representations: codecs, measured bandwidth, width/height/frameRate, audioSamplingRate and channels', () => {
    const [video, audio] = sets(periods(mpd)[0]!);
    const [hi, lo] = reps(video!);
    assert.deepEqual([hi!.id, hi!.codecs, hi!.width, hi!.height, hi!.frameRate], ['v360', 'avc1.4d401e', '640', '360', '25']);
    assert.equal(lo!.id, 'v180');
    assert.ok(Number(hi!.bandwidth) > Number(lo!.bandwidth));
    const a = reps(audio!)[0]!;
    assert.equal(a.audioSamplingRate, '48000');
    const channels = a.AudioChannelConfiguration as Node;
    assert.equal(channels.schemeIdUri, 'urn:mpeg:dash:23003:3:audio_channel_configuration:2011');
    assert.equal(channels.value, '2');
  });

  it('addresses segments with $Number$ and a nominal @duration; each number matches its media time', () => {
    for (const set of sets(periods(mpd)[0]!)) {
      for (const rep of reps(set)) {
        const tpl = rep.SegmentTemplate as Node;
        assert.match(tpl.media as string, new RegExp(`^\\$RepresentationID\\$/${stream.tag}/\\$Number\\$\\.m4s$`));
        assert.match(tpl.initialization as string, new RegExp(`^\\$RepresentationID\\$/${stream.tag}/init-[0-9a-f]{12}\\.mp4$`));
        const ts = Number(tpl.timescale);
        const d = Number(tpl.duration);
        assert.equal(d / ts, 2);
        const track = stream.tracks.get(rep.id as string)!;
        for (const seg of track.segments()) {
          const ept = samplesOf(track, seg, seg.chunks[0]!).baseMediaDecodeTime;
          // N = startNumber + round((EPT − PTO) / d)
          assert.equal(Number(tpl.startNumber) + Math.round(Number(ept - BigInt(tpl.presentationTimeOffset as string)) / d), seg.msn);
        }
      }
    }
  });

  it('sets availabilityTimeOffset = segment − chunk duration and availabilityTimeComplete=false on the SegmentTemplate', () => {
    for (const set of sets(periods(mpd)[0]!)) {
      for (const rep of reps(set)) {
        const tpl = rep.SegmentTemplate as Node;
        assert.equal(tpl.availabilityTimeComplete, 'false');
        const chunk = 1024 * 10 / 48000; // the longest chunk: 10 AAC frames
        assert.equal(Number(tpl.availabilityTimeOffset), Math.floor((2 - chunk) * 1000) / 1000);
      }
    }
  });

  it('carries ServiceDescription latency and playback rates, no suggestedPresentationDelay (shaka-player would add it to the target) and the DVB low-latency property', () => {
    const sd = mpd.ServiceDescription as Node;
    assert.deepEqual(sd.Latency, { target: '2500', min: '1875', max: '5000' });
    assert.deepEqual(sd.PlaybackRate, { min: '0.9', max: '1.1' });
    assert.equal(mpd.suggestedPresentationDelay, undefined);
    for (const set of sets(periods(mpd)[0]!)) {
      assert.ok((set.SupplementalProperty as Node[]).some((p) => p.schemeIdUri === 'urn:dvb:dash:lowlatency:critical:2019' && p.value === 'true'));
    }
  });

  it('points UTCTiming (http-iso and http-head) at the origin clock', () => {
    const timing = (mpd.UTCTiming as Node[]).map((u) => [u.schemeIdUri, u.value]);
    assert.deepEqual(timing, [
      ['urn:mpeg:dash:utc:http-iso:2014', '/utc'],
      ['urn:mpeg:dash:utc:http-head:2014', '/utc'],
    ]);
  });

  it('gives ProducerReferenceTime where the input carries prft, referenced by the Latency', () => {
    const h2 = new Harness();
    feed(h2, 'p', ladder, { prft: true });
    const withPrft = render(h2.registry.get('p')!);
    const sd = withPrft.ServiceDescription as Node;
    assert.equal((sd.Latency as Node).referenceId, '0');
    const prts = sets(periods(withPrft)[0]!).flatMap(reps).map((r) => r.ProducerReferenceTime as Node);
    assert.ok(prts.every((p) => p && p.inband === 'true' && p.type === 'captured'));
    // The format of @wallClockTime (xs:dateTime), which shaka-player reads as NTP without it.
    for (const p of prts) {
      assert.deepEqual([p.UTCTiming].flat().map((u) => (u as Node).schemeIdUri), ['urn:mpeg:dash:utc:http-iso:2014']);
      assert.ok(!Number.isNaN(Date.parse(p.wallClockTime as string)));
    }
    assert.equal(prts.filter((p) => p.id === '0').length, 1);
    assert.ok(!('ProducerReferenceTime' in reps(sets(periods(mpd)[0]!)[0]!)[0]!), 'no PRT without prft');
  });

  it('starts a new Period with period-continuity when a segment breaks the ±50 % rule', () => {
    const h2 = new Harness();
    const sessions = feed(h2, 'drift', ladder);
    // The encoder loses 1.5 s of input: timestamps jump by less than a discontinuity, but the next
    // segment starts 1.5 s (> d/2) away from its $Number$ position.
    h2.nowMs += 1500;
    feed(h2, 'drift', ladder, { sessions, offsetSeconds: 9.5, startMs: h2.nowMs });
    const m = render(h2.registry.get('drift')!);
    const [p1, p2] = periods(m);
    assert.ok(p2, 'a second Period');
    const second = sets(p2!);
    assert.ok(second.every((s) => (s.SupplementalProperty as Node[]).some((p) => p.schemeIdUri === 'urn:mpeg:dash:period-continuity:2015' && p.value === p1!.id)));
    assert.deepEqual(second.map((s) => s.id), sets(p1!).map((s) => s.id), 'AdaptationSet ids carry over');
    const tpl = reps(second[0]!)[0]!.SegmentTemplate as Node;
    assert.equal(Number(tpl.startNumber), Number((p2!.id as string).slice(1)));
    assert.equal(Number(tpl.presentationTimeOffset), Math.round(seconds(p2!.start as string) * 12800));
  });

  it('starts a new Period without continuity after an encoder restart', () => {
    const h2 = new Harness();
    feed(h2, 'r', ladder);
    const s = h2.registry.get('r')!;
    for (const t of s.tracks.values()) t.interrupt();
    h2.nowMs += 3000;
    feed(h2, 'r', ladder, { startMs: h2.nowMs, untilSeconds: 4.1 });
    const [, p2] = periods(render(s));
    assert.ok(p2);
    assert.ok(sets(p2).every((x) => !(x.SupplementalProperty as Node[]).some((p) => p.schemeIdUri === 'urn:mpeg:dash:period-continuity:2015')));
    // Timestamps restarted at 0: the new Period's PTO is the new tfdt origin.
    assert.equal(Number((reps(sets(p2)[0]!)[0]!.SegmentTemplate as Node).presentationTimeOffset), 0);
  });
});

describe('MPD (?mode=timeline)', () => {
  it('lists every complete segment with its exact ingest time and duration, without availabilityTimeOffset', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const stream = h.registry.get('s')!;
    const mpd = render(stream, TIMELINE);
    for (const set of sets(periods(mpd)[0]!)) {
      for (const rep of reps(set)) {
        const tpl = rep.SegmentTemplate as Node;
        assert.equal(tpl.availabilityTimeOffset, undefined);
        assert.equal(tpl.duration, undefined);
        const entries = ((tpl.SegmentTimeline as Node).S as Node[]).flatMap((s) => Array.from({ length: Number(s.r ?? 0) + 1 }, (_, i) => [BigInt(s.t as string) + BigInt(i) * BigInt(s.d as string), Number(s.d)]));
        const track = stream.tracks.get(rep.id as string)!;
        const complete = track.segments().filter((s) => s.state === 'complete');
        assert.deepEqual(entries, complete.map((s) => [samplesOf(track, s, s.chunks[0]!).baseMediaDecodeTime, s.duration]));
        assert.equal(Number(tpl.startNumber), complete[0]!.msn);
      }
    }
  });

  it('asks for three segments of delay, in suggestedPresentationDelay and in the ServiceDescription target alike', () => {
    const h = new Harness();
    feed(h, 's', ladder);
    const mpd = render(h.registry.get('s')!, TIMELINE);
    assert.equal(mpd.suggestedPresentationDelay, 'PT6S');
    assert.equal((mpd.ServiceDescription as Node).Latency && ((mpd.ServiceDescription as Node).Latency as Node).target, '6000');
  });
});

/** Every S entry of every Representation: its $Number$ (startNumber + index) and $Time$ (S@t expanded). */
function timelineEntries(mpd: Node): { period: string; track: string; number: number; t: bigint; d: number }[] {
  const out: { period: string; track: string; number: number; t: bigint; d: number }[] = [];
  for (const period of periods(mpd)) {
    for (const set of sets(period)) {
      for (const rep of reps(set)) {
        const tpl = rep.SegmentTemplate as Node;
        let number = Number(tpl.startNumber);
        let t = 0n;
        for (const e of (tpl.SegmentTimeline as Node).S as Node[]) {
          if (e.t !== undefined) t = BigInt(e.t as string);
          for (let i = 0; i <= Number(e.r ?? 0); i++) {
            out.push({ period: period.id as string, track: rep.id as string, number: number++, t, d: Number(e.d) });
            t += BigInt(e.d as string);
          }
        }
      }
    }
  }
  return out;
}

/** $Number$ and $Time$ of every listed entry name the segment the HLS playlists list under that MSN, and nothing listed is left out. */
function assertTimelineMatchesHls(stream: Stream, mpd: Node, at: string): void {
  const entries = timelineEntries(mpd);
  for (const track of stream.tracks.values()) {
    const mine = entries.filter((e) => e.track === track.name);
    const listed = track.listedSegments();
    const media = listed.filter((s) => s.state === 'complete');
    assert.deepEqual(mine.filter((e) => track.findSegment(e.number)?.state !== 'gap').map((e) => e.number), media.map((s) => s.msn), `${at}: ${track.name} lists the MSNs of the HLS window`);
    for (const e of mine) {
      const seg = track.findSegment(e.number);
      assert.ok(seg && listed.includes(seg), `${at}: ${track.name} $Number$ ${e.number} is listed in HLS`);
      if (seg.state === 'gap') continue;
      assert.equal(e.t, samplesOf(track, seg, seg.chunks[0]!).baseMediaDecodeTime, `${at}: ${track.name} ${e.number}: $Time$ is the segment's tfdt`);
      assert.equal(e.d, seg.duration, `${at}: ${track.name} ${e.number}: S@d is its duration`);
    }
  }
}

describe('MPD (?mode=timeline) over a long run', () => {
  it('keeps startNumber on the first listed S entry as the window slides, across a restart, new Periods and an audio gap', () => {
    const h = new Harness();
    let feeder = new LiveFeeder(h, 'long', ladder);
    const stream = (): Stream => h.registry.get('long')!;
    const check = (at: string): Node => {
      const mpd = render(stream(), TIMELINE);
      assertTimelineMatchesHls(stream(), mpd, at);
      return mpd;
    };
    for (let t = 10; t <= 300; t += 10) {
      feeder.advanceTo(t);
      check(`${t} s`);
    }
    const slid = timelineEntries(check('300 s'));
    assert.ok(slid[0]!.number > 60, `the window has slid (first $Number$ ${slid[0]!.number})`);

    // Audio goes away for 6 s while video goes on, then resumes with the same clock: a gap in
    // the middle of the Period, listed so that the numbers after it still match.
    const audio = stream().tracks.get('audio')!;
    feeder.advanceTo(301);
    audio.interrupt();
    feeder.skip('audio', 307);
    for (let t = 302; t <= 330; t++) {
      feeder.advanceTo(t);
      check(`${t} s (audio gap)`);
    }
    const gaps = audio.segments().filter((s) => s.state === 'gap');
    assert.ok(gaps.length >= 2, `the audio track has gap segments (${gaps.length})`);
    const audioNumbers = timelineEntries(check('330 s')).filter((e) => e.track === 'audio').map((e) => e.number);
    for (const g of gaps) assert.ok(audioNumbers.includes(g.msn), `gap ${g.msn} keeps its place in the timeline`);

    // The encoder restarts with timestamps from 0: a new Period; then the old one slides away.
    for (const t of stream().tracks.values()) t.interrupt();
    h.nowMs += 3000;
    feeder = new LiveFeeder(h, 'long', ladder, h.nowMs);
    for (let t = 10; t <= 200; t += 10) {
      feeder.advanceTo(t);
      const mpd = check(`restart + ${t} s`);
      if (t === 10) assert.equal(periods(mpd).length, 2, 'a second Period after the restart');
    }
    const after = render(stream(), TIMELINE);
    assert.equal(periods(after).length, 1, 'the first Period left the window');
    assert.notEqual(periods(after)[0]!.id, 'p1');
  });
});

describe('XML writer', () => {
  it('escapes every value and refuses bad names', () => {
    const x = new XmlWriter().open('MPD', [['id', 'a&b"c<d>\'e']]).leaf('BaseURL', [], 'http://x/?a=1&b=<2>').close();
    const text = x.toString();
    assert.equal(XMLValidator.validate(text), true);
    assert.match(text, /id="a&amp;b&quot;c&lt;d&gt;&apos;e"/);
    assert.match(text, /http:\/\/x\/\?a=1&amp;b=&lt;2&gt;/);
    assert.throws(() => new XmlWriter().open('bad name'));
    assert.throws(() => new XmlWriter().leaf('X', [['a b', 1]]));
    assert.equal(new XmlWriter().leaf('X', [['flag', false], ['gone', undefined]]).toString().trim().split('\n')[1], '<X flag="false"/>');
    assert.equal(escapeXml('&'), '&amp;');
  });

  it('formats xs:duration with milliseconds', () => {
    assert.equal(xsDuration(2), 'PT2S');
    assert.equal(xsDuration(2.5), 'PT2.5S');
    assert.equal(xsDuration(2.0053333), 'PT2.005S');
    assert.equal(xsDuration(120), 'PT120S');
  });
});
