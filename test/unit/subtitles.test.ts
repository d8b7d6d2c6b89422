import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { renderMpd } from '../../src/dash/mpd.js';
import { loadLoopTrack, type LoopTrack } from '../../src/demo/demo-source.js';
import { renderMediaPlaylist } from '../../src/hls/media-playlist.js';
import { renderMultivariantPlaylist } from '../../src/hls/multivariant.js';
import { renderVttPlaylist, webVttLowLatency } from '../../src/hls/subtitle-playlist.js';
import { renderWebVtt, timestampMapMpegts, wvttCues } from '../../src/hls/webvtt.js';
import { webVttOf } from '../../src/http/subtitle-routes.js';
import { scanCaptions } from '../../src/isobmff/codecs/captions.js';
import type { SampleRun } from '../../src/isobmff/sample-run.js';
import type { Stream } from '../../src/timeline/stream.js';
import { feed, Harness, LADDER, loadTracks } from '../helpers/feed.js';
import { completeSegments, parseMaster, parseMedia } from '../helpers/hls.js';
import { initOf, mp4boxTracks, topLevelBoxes } from '../helpers/mp4.js';
import { forEachBox } from '../../src/isobmff/boxes.js';
import { fourccToString, MOOV } from '../../src/isobmff/fourcc.js';
import { parseInit, singleTrackInit } from '../../src/isobmff/init.js';
import { periodicCues, textFragment, textInit, textSamples, type Cue, type TextFormat } from '../helpers/text-track.js';

/** The EXT-X-STREAM-INF variants (hls-parser lists the I-frame ones among them too). */
const streamVariants = <V extends { isIFrameOnly?: boolean }>(pl: { variants: V[] }): V[] => pl.variants.filter((v) => !v.isIFrameOnly);

const ladder = loadTracks(LADDER);
const dir = mkdtempSync(join(tmpdir(), 'subs-'));

/** A text track of `seconds` 1 s fragments, loaded the way the demo loops fixtures. */
function textTrack(format: TextFormat, name: string, seconds: number, language = 'fra', sampleFlags?: number): LoopTrack {
  const cues = periodicCues(Math.ceil(seconds / 2));
  const parts = [textInit(format, { language })];
  for (let s = 0; s < seconds; s++) parts.push(textFragment(s + 1, BigInt(s * 1000), textSamples(format, cues, s, s + 1), 1, sampleFlags));
  const path = join(dir, `${name}.mp4`);
  writeFileSync(path, Buffer.concat(parts));
  return loadLoopTrack(path, name);
}

/** Emulation prevention (ITU-T H.264 7.4.1): 00 00 followed by 00..03 gets a 03 in between. */
function escapeRbsp(rbsp: readonly number[]): number[] {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out;
}

/**
 * An H.264 SEI NAL unit (length-prefixed) as x264 writes it: a user_data_unregistered message
 * (a zero UUID: emulation prevention bytes the parser must undo) then ATSC A/53 cc_data with one
 * CEA-608 field-1 pair.
 */
function captionSei(): Buffer {
  const unregistered = [0x05, 18, ...new Array<number>(16).fill(0), 0x00, 0x01];
  const cc = [0xb5, 0x00, 0x31, 0x47, 0x41, 0x39, 0x34, 0x03, 0x42, 0xff, 0xfc, 0x94, 0x20, 0xf8, 0x00, 0x00, 0xff];
  const nal = Buffer.from([0x06, ...escapeRbsp([...unregistered, 0x04, cc.length, ...cc, 0x80])]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(nal.length);
  return Buffer.concat([len, nal]);
}

/** A video track whose every fragment's first sample starts with a caption SEI. */
function withCaptions(track: LoopTrack): LoopTrack {
  const sei = captionSei();
  const runs = track.runs.map((r): SampleRun => {
    const sizes = Uint32Array.from(r.sizes);
    sizes[0] = sizes[0]! + sei.length;
    return { ...r, sizes, payload: Buffer.concat([sei, r.payload]) };
  });
  return { ...track, runs };
}

function fed(options: { captions?: boolean } = {}): Stream {
  const h = new Harness();
  const video = options.captions ? ladder.filter((t) => t.name !== 'audio').map(withCaptions) : ladder.filter((t) => t.name !== 'audio');
  feed(h, 's', [...video, ladder.find((t) => t.name === 'audio')!, textTrack('wvtt', 'subs', 8), textTrack('stpp', 'imsc', 8, 'deu')]);
  return h.registry.get('s')!;
}

type Node = Record<string, unknown>;
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['Period', 'AdaptationSet', 'Representation', 'Role', 'Accessibility'].includes(name) });

describe('text tracks: CMAF header', () => {
  for (const format of ['wvtt', 'stpp'] as const) {
    it(`${format}: a text track with its codec and language (mdhd, or elng when present)`, () => {
      const init = initOf(textInit(format, { language: 'fra' }));
      const t = init.tracks[0]!;
      assert.equal(t.kind, 'text');
      assert.equal(t.codec, format === 'wvtt' ? 'wvtt' : 'stpp.ttml.im1t');
      assert.equal(t.language, 'fra');
      assert.equal(initOf(textInit(format, { language: 'fra', elng: 'fr-CA' })).tracks[0]!.language, 'fr-CA');
      if (format === 'wvtt') assert.equal(t.codecConfig.toString(), 'WEBVTT');
      // mp4box.js, an independent parser, reads the same sample entry.
      assert.equal(mp4boxTracks(textInit(format))[0]!.codec.split('.')[0], format);
    });
  }
});

describe('text tracks: muxed CMAF header', () => {
  it('a moov with a video and a wvtt trak gives both tracks, and each its own single-track header', () => {
    const video = ladder.find((t) => t.name === 'v180')!.init;
    const text = textInit('wvtt', { trackId: 2, language: 'swe' });
    const children = (file: Buffer): { type: string; bytes: Buffer }[] => {
      const moov = topLevelBoxes(file).find((b) => b.type === MOOV)!;
      const out: { type: string; bytes: Buffer }[] = [];
      forEachBox(moov.data, moov.headerSize, moov.data.length, (b) => void out.push({ type: fourccToString(b.type), bytes: moov.data.subarray(b.start, b.end) }));
      return out;
    };
    const trexOf = (file: Buffer): Buffer => {
      const mvex = children(file).find((c) => c.type === 'mvex')!.bytes;
      return mvex.subarray(8);
    };
    const v = children(video);
    const body = Buffer.concat([...v.filter((c) => c.type !== 'mvex').map((c) => c.bytes), children(text).find((c) => c.type === 'trak')!.bytes]);
    const mvexBody = Buffer.concat([trexOf(video), trexOf(text)]);
    const box = (type: string, payload: Buffer): Buffer => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(8 + payload.length, 0);
      head.write(type, 4, 'latin1');
      return Buffer.concat([head, payload]);
    };
    const moov = box('moov', Buffer.concat([body, box('mvex', mvexBody)]));
    const init = parseInit(undefined, moov);
    assert.deepEqual(init.tracks.map((t) => [t.trackId, t.kind, t.codec.split('.')[0], t.language]), [
      [1, 'video', 'avc1', 'und'],
      [2, 'text', 'wvtt', 'swe'],
    ]);
    assert.equal(initOf(singleTrackInit(init, 2)).tracks[0]!.kind, 'text');
  });
});

describe('WebVTT from wvtt samples', () => {
  const run = (cues: Cue[], from: number, to: number): SampleRun => {
    const samples = textSamples('wvtt', cues, from, to);
    return {
      trackId: 1,
      sequenceNumber: 1,
      sampleDescriptionIndex: 1,
      baseMediaDecodeTime: BigInt(Math.round(from * 1000)),
      durations: Uint32Array.from(samples.map((s) => s.duration)),
      sizes: Uint32Array.from(samples.map((s) => s.data.length)),
      flags: new Uint32Array(samples.length),
      ctos: new Int32Array(samples.length),
      payload: Buffer.concat(samples.map((s) => s.data)),
    };
  };

  it('joins a cue split over samples and times it from the segment start', () => {
    const cues = [
      { start: 10.5, end: 11.75, text: 'Hello\nworld', id: 'a' },
      { start: 11.0, end: 12.0, text: 'Overlap' },
    ];
    const runs = [run(cues, 10, 11), run(cues, 11, 12)];
    assert.deepEqual(wvttCues(runs, 10_000n, 1000), [
      { start: 0.5, end: 1.75, id: 'a', settings: '', payload: 'Hello\nworld' },
      { start: 1, end: 2, id: '', settings: '', payload: 'Overlap' },
    ]);
  });

  it('a cue that crosses a segment boundary appears in both, clipped to each', () => {
    const cues = [{ start: 1.5, end: 2.5, text: 'Across', id: 'x' }];
    // The pieces lose their identifier (hls.js would keep only the first of two cues named alike).
    assert.deepEqual(wvttCues([run(cues, 0, 2)], 0n, 1000).map((c) => [c.start, c.end, c.id]), [[1.5, 2, '']]);
    assert.deepEqual(wvttCues([run(cues, 2, 4)], 2000n, 1000).map((c) => [c.start, c.end, c.id]), [[0, 0.5, '']]);
  });

  it('a sample whose boxes do not parse shows nothing; the others still do', () => {
    const good = run([{ start: 0, end: 1, text: 'Fine' }], 0, 1);
    const junk = Buffer.from([0, 0, 0, 99, 0x76, 0x74, 0x74, 0x63, 1, 2]);
    const bad: SampleRun = { ...good, durations: Uint32Array.from([500, ...good.durations]), sizes: Uint32Array.from([junk.length, ...good.sizes]), flags: new Uint32Array(good.sizes.length + 1), ctos: new Int32Array(good.sizes.length + 1), payload: Buffer.concat([junk, good.payload]) };
    assert.deepEqual(wvttCues([bad], 0n, 1000).map((c) => [c.start, c.end, c.payload]), [[0.5, 1.5, 'Fine']]);
  });

  it('writes the header, X-TIMESTAMP-MAP of the segment start (fMP4 tfdt, or the TS PTS) and the cues', () => {
    assert.equal(timestampMapMpegts(2000n, 1000, 'fmp4'), 180000);
    assert.equal(timestampMapMpegts(2000n, 1000, 'ts'), 270000);
    // 33-bit wrap, exact for epoch-sized tfdt.
    assert.equal(timestampMapMpegts(1_700_000_000_000n, 1000, 'fmp4'), (1_700_000_000 * 90000) % 2 ** 33);
    const text = renderWebVtt('WEBVTT\n\nSTYLE\n::cue { color: yellow }', 180000, [{ start: 0.5, end: 1.5, id: 'c1', settings: 'line:0', payload: 'Hi' }]);
    assert.equal(text, 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:180000,LOCAL:00:00:00.000\n\nSTYLE\n::cue { color: yellow }\n\nc1\n00:00:00.500 --> 00:00:01.500 line:0\nHi\n');
  });
});

describe('closed captions in SEI', () => {
  it('finds CEA-608 in GA94 cc_data behind emulation prevention, and nothing in plain video', () => {
    const found = { cea608: false, cea708: false };
    const captioned = withCaptions(ladder[0]!);
    scanCaptions(captioned.runs[0]!, 4, false, found);
    assert.deepEqual(found, { cea608: true, cea708: false });
    const none = { cea608: false, cea708: false };
    for (const r of ladder[0]!.runs.slice(0, 5)) scanCaptions(r, 4, false, none);
    assert.deepEqual(none, { cea608: false, cea708: false });
  });
});

describe('HLS with subtitles', () => {
  it('multivariant: a SUBTITLES group of one format (language, name), CLOSED-CAPTIONS=NONE on every variant', () => {
    const stream = fed();
    const master = renderMultivariantPlaylist(stream)!;
    const pl = parseMaster(master);
    const subs = streamVariants(pl)[0]!.subtitles;
    // WebVTT and IMSC1 both pushed: the WebVTT ones (hls.js reads a group's format from CODECS).
    assert.deepEqual(subs.map((r) => [r.name, r.language, r.uri, r.groupId]), [['subs', 'fra', 'subs/index.m3u8', 'subs']]);
    for (const v of streamVariants(pl)) {
      assert.doesNotMatch(v.codecs ?? '', /stpp|wvtt/);
      assert.equal(v.closedCaptions.length, 0);
    }
    assert.equal(master.match(/CLOSED-CAPTIONS=NONE/g)!.length, streamVariants(pl).length);
    assert.match(master, /#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="subs",LANGUAGE="fra",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subs\/index.m3u8"/);
    // MPEG-TS: WebVTT only (IMSC1 needs fMP4 segments).
    const ts = renderMultivariantPlaylist(stream, 'ts')!;
    const tsPl = parseMaster(ts);
    assert.deepEqual(streamVariants(tsPl)[0]!.subtitles.map((r) => r.uri), ['subs/ts.m3u8']);
    assert.doesNotMatch(ts, /stpp/);
    parseMaster(renderMultivariantPlaylist(stream, 'l-hls')!);
  });

  it('IMSC1 alone: its group in the fMP4 multivariant playlists with stpp.ttml.im1t in CODECS, none in the TS one', () => {
    const h = new Harness();
    feed(h, 's', [...ladder, textTrack('stpp', 'imsc', 8, 'deu')]);
    const stream = h.registry.get('s')!;
    for (const flavor of ['ll-hls', 'l-hls'] as const) {
      const pl = parseMaster(renderMultivariantPlaylist(stream, flavor)!);
      assert.deepEqual(streamVariants(pl)[0]!.subtitles.map((r) => [r.name, r.language]), [['imsc', 'deu']]);
      for (const v of streamVariants(pl)) assert.match(v.codecs ?? '', /,stpp\.ttml\.im1t$/);
    }
    const ts = renderMultivariantPlaylist(stream, 'ts')!;
    assert.doesNotMatch(ts, /SUBTITLES|stpp/);
  });

  it('the WebVTT playlist has the media segment numbers and durations, as .vtt', () => {
    const stream = fed();
    const video = parseMedia(renderMediaPlaylist(stream, stream.tracks.get('v360')!, { flavor: 'll-hls', partAddressing: 'uri' })!);
    const ll = webVttLowLatency(renderMediaPlaylist(stream, stream.tracks.get('subs')!, { flavor: 'll-hls', partAddressing: 'uri' })!);
    for (const flavor of ['ll-hls', 'l-hls', 'ts'] as const) {
      const parsed = parseMedia(flavor === 'll-hls' ? ll : renderVttPlaylist(stream, stream.tracks.get('subs')!, flavor)!);
      const pl = { ...parsed, segments: completeSegments(parsed) };
      assert.equal(pl.mediaSequenceBase, video.mediaSequenceBase);
      assert.equal(pl.targetDuration, video.targetDuration);
      assert.deepEqual(pl.segments.map((s) => s.duration), completeSegments(video).map((s) => s.duration));
      assert.deepEqual(pl.segments.map((s) => s.programDateTime?.getTime()), completeSegments(video).map((s) => s.programDateTime?.getTime()));
      for (const s of pl.segments) assert.match(s.uri, new RegExp(`^${stream.tag}/\\d+${flavor === 'ts' ? '-ts' : ''}\\.vtt$`));
    }
    // IMSC1 is fMP4 with parts, like audio.
    const imsc = parseMedia(renderMediaPlaylist(stream, stream.tracks.get('imsc')!, { flavor: 'll-hls', partAddressing: 'uri' })!);
    assert.ok(imsc.segments.some((s) => s.parts.length > 0));
    // LL-HLS: the WebVTT playlist has the media's parts and hint, as .vtt, and no EXT-X-MAP.
    const llPl = parseMedia(ll);
    assert.doesNotMatch(ll, /EXT-X-MAP|\.m4s/);
    const parts = llPl.segments.flatMap((s) => s.parts);
    assert.ok(parts.length > 0);
    for (const p of parts) assert.match(p.uri, new RegExp(`^${stream.tag}/\\d+\\.\\d+\\.vtt$`));
    assert.match(ll, /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[a-z0-9]+\/\d+\.\d+\.vtt"/);
  });

  it('a text sample that straddles a segment boundary is cut there: the media boundaries, the cue in both segments', () => {
    const cues = [0, 1, 2].map((k) => ({ start: 3 * k, end: 3 * k + 3, text: `Long ${k}` }));
    const parts = [textInit('wvtt', { language: 'eng' })];
    for (let k = 0; k < 3; k++) parts.push(textFragment(k + 1, BigInt(k * 3000), textSamples('wvtt', cues, 3 * k, 3 * k + 3, { step: 3 })));
    const path = join(dir, 'long.mp4');
    writeFileSync(path, Buffer.concat(parts));
    const h = new Harness();
    feed(h, 's', [...ladder, loadLoopTrack(path, 'long')]);
    const stream = h.registry.get('s')!;
    const track = stream.tracks.get('long')!;
    const video = stream.tracks.get('v360')!;
    const listed = track.listedSegments().map((x) => [x.msn, x.startTime / x.timescale, x.seconds]);
    assert.ok(listed.length >= 2);
    assert.deepEqual(listed, video.listedSegments().slice(0, listed.length).map((x) => [x.msn, x.startTime / x.timescale, x.seconds]));
    const seg = track.findSegment(2)!;
    const cueLines = webVttOf(track, track.residentBytes(seg)!, 'fmp4').toString().split('\n').slice(3).join('\n');
    assert.equal(cueLines, '00:00:00.000 --> 00:00:01.000\nLong 0\n\n00:00:01.000 --> 00:00:02.000\nLong 1\n');
    // And at the part boundaries: parts no longer than PART-TARGET (hls-parser checks it).
    const ll = parseMedia(webVttLowLatency(renderMediaPlaylist(stream, track, { flavor: 'll-hls', partAddressing: 'uri' })!));
    const llParts = ll.segments.flatMap((x) => x.parts).filter((p) => !p.hint);
    assert.ok(llParts.length >= 8);
    for (const p of llParts) assert.ok((p.duration ?? Infinity) <= 0.5 + 1e-9, `part of ${p.duration} s`);
  });

  it('every text part is independent, even when the packager flags its samples as non-sync', () => {
    const h = new Harness();
    feed(h, 's', [...ladder, textTrack('stpp', 'imsc', 8, 'deu', 0x01010000)]);
    const stream = h.registry.get('s')!;
    const pl = parseMedia(renderMediaPlaylist(stream, stream.tracks.get('imsc')!, { flavor: 'll-hls', partAddressing: 'uri' })!);
    const parts = pl.segments.flatMap((s) => s.parts).filter((p) => !p.hint);
    assert.ok(parts.length > 0);
    for (const p of parts) assert.equal(p.independent, true);
  });

  it('a .vtt segment holds its cues relative to its start, mapped to its tfdt', () => {
    const stream = fed();
    const track = stream.tracks.get('subs')!;
    const seg = track.findSegment(2)!;
    const text = webVttOf(track, track.residentBytes(seg)!, 'fmp4').toString();
    assert.equal(text, 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:180000,LOCAL:00:00:00.000\n\nc1\n00:00:00.500 --> 00:00:01.500\nCue 1\n');
    assert.match(webVttOf(track, track.residentBytes(seg)!, 'ts').toString(), /MPEGTS:270000,/);
    // Its parts (0.5 s each): the cue in the two parts it covers, each timed from the part's start,
    // without its identifier (a piece: hls.js keeps one cue per identifier).
    const parts = seg.parts.map((p) => webVttOf(track, track.residentBytes(seg)!, 'fmp4', p).toString());
    assert.deepEqual(parts, [
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:180000,LOCAL:00:00:00.000\n',
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:225000,LOCAL:00:00:00.000\n\n00:00:00.000 --> 00:00:00.500\nCue 1\n',
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:270000,LOCAL:00:00:00.000\n\n00:00:00.000 --> 00:00:00.500\nCue 1\n',
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:315000,LOCAL:00:00:00.000\n',
    ]);
  });

  it('captions in the video SEI: CLOSED-CAPTIONS="cc" with INSTREAM-ID="CC1", and Accessibility in the MPD', () => {
    const stream = fed({ captions: true });
    const master = renderMultivariantPlaylist(stream)!;
    const pl = parseMaster(master);
    for (const v of streamVariants(pl)) assert.deepEqual(v.closedCaptions.map((c) => [c.groupId, c.instreamId]), [['cc', 'CC1']]);
    assert.doesNotMatch(master, /CLOSED-CAPTIONS=NONE/);
    assert.match(renderMultivariantPlaylist(stream, 'ts')!, /INSTREAM-ID="CC1"/);
    const mpd = xml.parse(renderMpd(stream, { mode: 'number', targetLatency: 2.5, utcUrl: '/utc' })!) as { MPD: Node };
    const sets = ((mpd.MPD.Period as Node[])[0]!.AdaptationSet as Node[]);
    const video = sets.find((s) => s.contentType === 'video')!;
    assert.deepEqual(video.Accessibility, [{ schemeIdUri: 'urn:scte:dash:cc:cea-608:2015', value: 'CC1=und' }]);
    // Saved with the track's state: a restarted origin declares the same (it scans no first segment again).
    assert.deepEqual(stream.tracks.get('v360')!.saved().captions, { cea608: true, cea708: false });
  });
});

describe('DASH with subtitles', () => {
  it('a text AdaptationSet per format and language: application/mp4, codecs, lang, Role subtitle', () => {
    const stream = fed();
    const text = renderMpd(stream, { mode: 'number', targetLatency: 2.5, utcUrl: '/utc' })!;
    assert.equal(XMLValidator.validate(text), true);
    const mpd = xml.parse(text) as { MPD: Node };
    const sets = ((mpd.MPD.Period as Node[])[0]!.AdaptationSet as Node[]).filter((s) => s.contentType === 'text');
    assert.deepEqual(
      sets.map((s) => [s.mimeType, s.lang, (s.Representation as Node[])[0]!.codecs, (s.Role as Node[])[0]]),
      [
        ['application/mp4', 'deu', 'stpp.ttml.im1t', { schemeIdUri: 'urn:mpeg:dash:role:2011', value: 'subtitle' }],
        ['application/mp4', 'fra', 'wvtt', { schemeIdUri: 'urn:mpeg:dash:role:2011', value: 'subtitle' }],
      ],
    );
    // The same SegmentTemplate scheme and numbers as the video.
    const video = ((mpd.MPD.Period as Node[])[0]!.AdaptationSet as Node[]).find((s) => s.contentType === 'video')!;
    const template = (set: Node): Node => ((set.Representation as Node[])[0]!.SegmentTemplate ?? set.SegmentTemplate) as Node;
    for (const s of sets) {
      assert.equal(template(s).startNumber, template(video).startNumber);
      assert.equal(template(s).media, template(video).media);
    }
  });
});
