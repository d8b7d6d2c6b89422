import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isSyncSample, parseMoof } from '../../src/isobmff/fragment.js';
import { hespPresentations, renderHespManifest } from '../../src/hesp/manifest.js';
import { entryPoints, initializationPacket, type EntryPoint } from '../../src/hesp/packets.js';
import { lookupPacket, packetRate, startSequence } from '../../src/hesp/sequence.js';
import type { Track } from '../../src/timeline/track.js';
import { run } from '../helpers/ffmpeg.js';
import { feed, Harness, LADDER, loadTracks } from '../helpers/feed.js';
import { HespManifest } from '../helpers/hesp-schema.js';
import { initOf, samplesOf, topLevelBoxes } from '../helpers/mp4.js';

const ladder = loadTracks(LADDER);

function live(): { h: Harness } {
  const h = new Harness();
  feed(h, 's', ladder, { untilSeconds: 7.1 });
  return { h };
}

function parseEmsg(box: Buffer): { scheme: string; value: string; timescale: number; delta: number; duration: number; data: unknown; version: number } {
  const version = box[8]!;
  let at = 12;
  const str = (): string => {
    const end = box.indexOf(0, at);
    const s = box.toString('utf8', at, end);
    at = end + 1;
    return s;
  };
  const scheme = str();
  const value = str();
  const timescale = box.readUInt32BE(at);
  const delta = box.readUInt32BE(at + 4);
  const duration = box.readUInt32BE(at + 8);
  return { version, scheme, value, timescale, delta, duration, data: JSON.parse(box.toString('utf8', at + 16)) };
}

function packetBoxes(bytes: Buffer): string[] {
  return topLevelBoxes(bytes).map((b) => b.data.toString('latin1', 4, 8));
}

function segmentBytes(track: Track, msn: number): Buffer {
  const seg = track.findSegment(msn)!;
  return Buffer.concat(track.residentBytes(seg)!.range(0, seg.byteLength) as Buffer[]);
}

/** The packet of an entry point (its segment's bytes are in memory here). */
function packetOf(track: Track, entry: EntryPoint): Buffer[] {
  return initializationPacket(track, entry, track.residentBytes(entry.segment)!);
}

describe('HESP manifest', () => {
  const { h } = live();
  const stream = h.registry.get('s')!;
  const text = renderHespManifest(stream, { utcUrl: '/utc' })!;
  const manifest = JSON.parse(text);

  it('satisfies the draft-06 field table and THEO validator rules', () => {
    const r = HespManifest.safeParse(manifest);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
    assert.equal(manifest.streamType, 'live');
    assert.equal(manifest.activePresentation, manifest.presentations[0].id);
    assert.equal(manifest.creationDate, new Date(h.nowMs).toISOString());
  });

  it('describes the tracks: codecs, bandwidth, resolution, frame rate, sample rate, language, patterns, base URLs', () => {
    const p = manifest.presentations[0];
    const [video] = p.video;
    assert.deepEqual(video.tracks.map((t: { id: string }) => t.id), ['v360', 'v180']);
    const hi = video.tracks[0];
    assert.equal(hi.codecs, 'avc1.4d401e');
    assert.deepEqual(hi.resolution, { width: 640, height: 360 });
    assert.deepEqual(hi.frameRate, { value: 25 });
    assert.equal(hi.baseUrl, `v360/${stream.tag}/`);
    assert.ok(hi.bandwidth > 0 && hi.averageBandwidth > 0);
    assert.deepEqual(hi.segmentDuration, { value: 25600, scale: 12800 });
    assert.equal(video.initializationPattern, 'hesp-{initId}.mp4');
    assert.equal(video.continuationPattern, '{segmentId}.m4s');
    const [audio] = p.audio;
    assert.equal(audio.codecs, 'mp4a.40.2');
    assert.equal(audio.sampleRate, 48000);
    assert.equal(audio.samplesPerFrame, 1024);
    assert.equal(audio.language, 'und');
    assert.equal(audio.channels, 2);
    assert.ok(!('protection' in audio) && !('protection' in video), 'no empty protection');
  });

  it('starts the Presentation where the first packet of every track covers it, with startSequenceNumber at that time', () => {
    const [p] = hespPresentations(stream);
    const start = p!.startMs / 1000;
    for (const t of stream.tracks.values()) {
      const first = entryPoints(t)[0]!;
      const chunk = first.segment.chunks[first.chunkIndex]!;
      assert.ok(first.time <= start && start < first.time + chunk.duration / t.timescale, `${t.name} covers the start`);
      assert.equal(startSequence(p!, packetRate(t)), Math.floor(start * (t.kind === 'video' ? 25 : 46.875)));
    }
  });
});

describe('HESP initialization packets', () => {
  const { h } = live();
  const stream = h.registry.get('s')!;
  const presentations = hespPresentations(stream);
  const video = stream.tracks.get('v360')!;
  const audio = stream.tracks.get('audio')!;

  it('carries header, initdata emsg and the IDR alone (video); header and emsg (audio)', () => {
    const entry = entryPoints(video)[1]!;
    const bytes = Buffer.concat(packetOf(video, entry));
    assert.deepEqual(packetBoxes(bytes), ['ftyp', 'moov', 'emsg', 'moof', 'mdat']);
    const boxes = topLevelBoxes(bytes);
    const e = parseEmsg(boxes[2]!.data);
    assert.deepEqual(e, { version: 0, scheme: 'urn:theo:hesp:2020', value: 'initdata', timescale: 12800, delta: 0, duration: 512, data: { index: entry.next.index, offset: entry.next.offset } });
    const defaults = initOf(bytes).tracks[0]!.defaults;
    const frag = parseMoof(boxes[3]!.data, 8, 0, () => defaults).trafs[0]!;
    assert.equal(frag.sampleCount, 1);
    assert.ok(isSyncSample(frag.flags[0]!));
    const chunk = entry.segment.chunks[entry.chunkIndex]!;
    assert.equal(frag.baseMediaDecodeTime, samplesOf(video, entry.segment, chunk).baseMediaDecodeTime, 'same tfdt as in the Continuation Stream');
    const a = Buffer.concat(packetOf(audio, entryPoints(audio)[3]!));
    assert.deepEqual(packetBoxes(a), ['ftyp', 'moov', 'emsg']);
    const ae = parseEmsg(topLevelBoxes(a)[2]!.data);
    assert.equal(ae.timescale, 1);
    assert.equal(ae.duration, 0);
    assert.ok('offset' in (ae.data as object), 'offset is always written');
  });

  it('exists at every IDR (1 s GOP) and points at a box boundary just after it', () => {
    const entries = entryPoints(video);
    assert.deepEqual(entries.map((e) => Math.round(e.time * 10) / 10), [0, 1, 2, 3, 4, 5, 6]);
    for (const e of entries) {
      const seg = segmentBytes(video, e.next.index);
      const box = topLevelBoxes(seg.subarray(e.next.offset))[0]!;
      assert.equal(box.data.toString('latin1', 4, 8), 'moof', `offset ${e.next.offset} of segment ${e.next.index} starts a moof`);
    }
  });

  it('answers every sequence number with the last valid packet, the future with nothing', () => {
    const rate = packetRate(video);
    const p = presentations[0]!;
    const start = startSequence(p, rate);
    const idrAt1s = lookupPacket(video, presentations, start + 25);
    assert.equal(idrAt1s.kind, 'packet');
    const midGop = lookupPacket(video, presentations, start + 37);
    assert.equal(midGop.kind, 'packet');
    if (idrAt1s.kind === 'packet' && midGop.kind === 'packet') {
      assert.equal(Math.round(idrAt1s.entry.time * 1000), 1000);
      assert.ok(Buffer.concat(packetOf(video, midGop.entry)).equals(Buffer.concat(packetOf(video, idrAt1s.entry))), 'a slot between IDRs gets the previous IDR packet');
    }
    assert.equal(lookupPacket(video, presentations, start + 25 * 60).kind, 'future');
    const now = lookupPacket(video, presentations, 'now');
    assert.equal(now.kind, 'packet');
    if (now.kind === 'packet') assert.equal(now.entry.time, entryPoints(video).at(-1)!.time);
    const audioNow = lookupPacket(audio, presentations, startSequence(p, packetRate(audio)) + 100);
    assert.equal(audioNow.kind, 'packet');
  });

  it('joins with the Continuation Stream into a stream ffmpeg decodes, timestamps continuing across the join', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hesp-'));
    const entry = entryPoints(video)[3]!; // the IDR at 3 s, mid-segment 2
    const packet = Buffer.concat(packetOf(video, entry));
    const rest = [segmentBytes(video, entry.next.index).subarray(entry.next.offset)];
    let frames = 1;
    const seg = entry.segment;
    for (let c = entry.chunkIndex + 1; c < seg.chunks.length; c++) frames += seg.chunks[c]!.sampleCount;
    for (let msn = entry.next.index + 1; video.findSegment(msn)?.state === 'complete'; msn++) {
      rest.push(segmentBytes(video, msn));
      frames += video.findSegment(msn)!.chunks.reduce((n, c) => n + c.sampleCount, 0);
    }
    const file = join(dir, 'joined.mp4');
    writeFileSync(file, Buffer.concat([packet, ...rest]));
    const decode = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    assert.equal(decode.code, 0, decode.stderr);
    assert.equal(decode.stderr.trim(), '');
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=dts', '-of', 'csv=p=0', file]);
    const dts = probe.stdout.trim().split('\n').filter(Boolean).map(Number);
    for (let i = 1; i < dts.length; i++) assert.equal(dts[i]! - dts[i - 1]!, 512, `frame ${i} follows ${i - 1}`);
    assert.equal(dts.length, frames, 'every frame of the packet and the continuation');
  });
});
