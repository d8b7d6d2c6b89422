import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginError } from '../../src/errors.js';
import { parseEmsg } from '../../src/isobmff/emsg.js';
import { crc32Mpeg } from '../../src/mpegts/crc32.js';
import { readInbandEvents } from '../../src/scte35/inband.js';
import { parseCueRequest } from '../../src/scte35/api.js';
import { CueList, cueOf } from '../../src/scte35/cue.js';
import { parseSpliceInfo, splicePts, withPtsAdjustment, writeSpliceInsert, writeTimeSignal } from '../../src/scte35/splice.js';
import { renderMpd } from '../../src/dash/mpd.js';
import { renderMediaPlaylist } from '../../src/hls/media-playlist.js';
import type { IngestSession } from '../../src/ingest/session.js';
import { Harness, LADDER, loadTracks, LoopSchedule, runBytes, type ScheduledRun } from '../helpers/feed.js';
import { parseMedia } from '../helpers/hls.js';
import { scteEmsg } from '../helpers/scte35.js';

// ANSI/SCTE 35 14.2 (splice_insert, with an avail_descriptor) and 14.1 (time_signal with a segmentation_descriptor).
const SPEC_INSERT = Buffer.from('/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=', 'base64');
const SPEC_TIME_SIGNAL = Buffer.from('/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg==', 'base64');

function recrc(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c.writeUInt32BE(crc32Mpeg(c, 0, c.length - 4), c.length - 4);
  return c;
}

function rejects(bytes: Buffer, reason: RegExp): void {
  assert.throws(
    () => parseSpliceInfo(bytes),
    (err: unknown) => err instanceof OriginError && err.status === 400 && reason.test(err.message),
  );
}

describe('SCTE-35 splice_info_section', () => {
  it('reads the specification examples (splice_insert, time_signal)', () => {
    const insert = parseSpliceInfo(SPEC_INSERT);
    assert.deepEqual(insert.command, {
      type: 'splice_insert',
      spliceEventId: 0x4800008f,
      cancel: false,
      outOfNetwork: true,
      immediate: false,
      ptsTime: 0x07369c02e,
      breakDuration: { autoReturn: true, duration: 0x0052ccf5 },
      uniqueProgramId: 0,
      availNum: 0,
      availsExpected: 0,
    });
    assert.equal(insert.tier, 0xfff);
    assert.equal(insert.descriptors.length, 10);
    const signal = parseSpliceInfo(SPEC_TIME_SIGNAL);
    assert.deepEqual(signal.command, { type: 'time_signal', ptsTime: 0x072bd0050 });
    assert.equal(signal.descriptors.length, 30);
  });

  it('writes splice_insert and time_signal that read back the same, 33-bit times included', () => {
    const out = writeSpliceInsert({ spliceEventId: 42, outOfNetwork: true, ptsTime: 2 ** 33 - 5, breakDuration: 30 * 90000 });
    const info = parseSpliceInfo(out);
    assert.equal(info.command.type, 'splice_insert');
    if (info.command.type !== 'splice_insert') return;
    assert.equal(info.command.spliceEventId, 42);
    assert.equal(info.command.outOfNetwork, true);
    assert.equal(info.command.ptsTime, 2 ** 33 - 5);
    assert.deepEqual(info.command.breakDuration, { autoReturn: true, duration: 2_700_000 });
    const back = parseSpliceInfo(writeSpliceInsert({ spliceEventId: 42, outOfNetwork: false, ptsTime: 90000, breakDuration: null }));
    assert.equal(back.command.type === 'splice_insert' && back.command.outOfNetwork, false);
    assert.deepEqual(parseSpliceInfo(writeTimeSignal(12345)).command, { type: 'time_signal', ptsTime: 12345 });
  });

  it('rejects what is not a well-formed section, naming the fault', () => {
    const good = writeSpliceInsert({ spliceEventId: 1, outOfNetwork: true, ptsTime: 1000, breakDuration: 90000 });
    const flipped = Buffer.from(good);
    flipped[20]! ^= 0x01;
    rejects(flipped, /CRC_32/);
    rejects(good.subarray(0, good.length - 1), /section_length/);
    rejects(Buffer.alloc(10), /shorter/);
    const table = Buffer.from(good);
    table[0] = 0xfd;
    rejects(recrc(table), /table_id/);
    const length = Buffer.from(good);
    length[12] = length[12]! + 1; // splice_command_length one too many
    rejects(recrc(length), /splice_command_length|descriptor_loop_length/);
    const reserved = Buffer.from(good);
    reserved[13] = 0x03;
    rejects(recrc(reserved), /reserved/);
    const encrypted = Buffer.from(good);
    encrypted[4] = encrypted[4]! | 0x80;
    rejects(recrc(encrypted), /encrypted/);
    const loop = Buffer.from(good);
    loop.writeUInt16BE(4, loop.length - 6); // a descriptor_loop_length past the CRC
    rejects(recrc(loop), /descriptor_loop_length/);
  });

  it('moves pts_adjustment without touching anything else, so pts_time + pts_adjustment follows', () => {
    const s = writeSpliceInsert({ spliceEventId: 7, outOfNetwork: true, ptsTime: 2 ** 33 - 10, breakDuration: 90000 });
    const moved = withPtsAdjustment(s, 90000);
    assert.equal(moved.length, s.length);
    assert.deepEqual(moved.subarray(9, moved.length - 4), s.subarray(9, s.length - 4));
    assert.equal(splicePts(parseSpliceInfo(moved)), 90000 - 10);
    assert.deepEqual(withPtsAdjustment(moved, 0), s);
  });
});

describe('SCTE-35 emsg', () => {
  it('reads version 0 and 1, rewrites version 0 as version 1 at its absolute time, and keeps other schemes as they are', () => {
    const section = writeSpliceInsert({ spliceEventId: 9, outOfNetwork: true, ptsTime: 450000, breakDuration: 180000 });
    const v0 = scteEmsg(0, { id: 3, section, timescale: 1000, delta: 40 });
    const v1 = scteEmsg(1, { id: 4, section, timescale: 90000, presentationTime: 450000n });
    const other = Buffer.from(v0);
    other.write('urn:x', 12, 'latin1'); // another scheme, same length
    const r = readInbandEvents([v0, v1, other], 12800n * 5n, 12800);
    assert.deepEqual(r.errors, []);
    assert.equal(r.events.length, 2);
    assert.equal(r.events[0]!.presentationTime, 5040n);
    assert.equal(r.events[0]!.timescale, 1000);
    assert.equal(r.events[1]!.presentationTime, 450000n);
    const rewritten = parseEmsg(r.prefix[0]!, 8);
    assert.equal(rewritten.version, 1);
    assert.equal(rewritten.presentationTime, 5040n);
    assert.deepEqual(rewritten.messageData, section);
    assert.equal(r.prefix[1], v1);
    assert.equal(r.prefix[2], other);
  });

  it('drops a SCTE-35 emsg whose section is bad, with its reason, and keeps the chunk', () => {
    const section = Buffer.from(writeTimeSignal(1000));
    section[section.length - 1]! ^= 0xff;
    const r = readInbandEvents([scteEmsg(1, { id: 1, section, timescale: 90000, presentationTime: 1000n })], 0n, 90000);
    assert.equal(r.events.length, 0);
    assert.equal(r.prefix.length, 0);
    assert.match(r.errors[0]!, /SCTE-35 emsg dropped: .*CRC_32/);
    const truncated = scteEmsg(1, { id: 1, section: writeTimeSignal(1000), timescale: 90000, presentationTime: 1000n }).subarray(0, 30);
    assert.match(readInbandEvents([truncated], 0n, 90000).errors[0]!, /emsg/);
  });
});

describe('SCTE-35 cues', () => {
  it('pairs an out and its in by splice_event_id, keeps each cue once, and says where a segment must start', () => {
    const list = new CueList();
    const out = cueOf(parseSpliceInfo(writeSpliceInsert({ spliceEventId: 5, outOfNetwork: true, ptsTime: 0, breakDuration: 4 * 90000 })), 10, 1, 'inband')!;
    const back = cueOf(parseSpliceInfo(writeSpliceInsert({ spliceEventId: 5, outOfNetwork: false, ptsTime: 0, breakDuration: null })), 14, 2, 'inband')!;
    assert.equal(out.id, back.id);
    assert.equal(out.duration, 4);
    assert.ok(list.add(back));
    assert.ok(list.add(out));
    assert.equal(list.add({ ...out }), false);
    assert.deepEqual(list.all.map((c) => c.type), ['out', 'in']);
    assert.equal(list.outFor(back), out);
    assert.equal(list.inFor(out), back);
    assert.ok(list.splitsWithin(8, 10));
    assert.equal(list.splitsWithin(10, 12), false);
    assert.deepEqual(list.within(10, 12), [out]);
    const copy = new CueList();
    copy.restore(JSON.parse(JSON.stringify(list.saved())));
    assert.deepEqual(copy.all, list.all);
    assert.equal(cueOf(parseSpliceInfo(writeTimeSignal(5)), 1, 9, 'inband')!.type, 'cmd');
  });

  it('checks API requests: an out needs a duration, ids and times have a shape, no extra fields', () => {
    assert.deepEqual(parseCueRequest({ id: 'ad-1', type: 'out', duration: 30 }), { id: 'ad-1', type: 'out', duration: 30 });
    assert.deepEqual(parseCueRequest({ id: 'ad-1', type: 'in', at: '2026-01-01T00:00:00Z' }), { id: 'ad-1', type: 'in', at: '2026-01-01T00:00:00Z' });
    for (const [body, reason] of [
      [{ id: 'ad-1', type: 'out' }, /duration: an out needs a duration/],
      [{ id: 'a b', type: 'in' }, /id must be/],
      [{ id: 'x', type: 'pause' }, /type must be/],
      [{ id: 'x', type: 'in', at: -1 }, /at must be/],
      [{ id: 'x', type: 'in', extra: 1 }, /extra/],
      ['x', /expected object|object/i],
    ] as const) {
      assert.throws(
        () => parseCueRequest(body),
        (err: unknown) => err instanceof OriginError && err.status === 400 && reason.test(err.message),
        JSON.stringify(body),
      );
    }
  });
});

describe('SCTE-35 on the timeline', () => {
  const OFFSET = 1_700_000_000;
  const ladder = loadTracks(LADDER);

  /** The ladder pushed to `until` seconds, `before` boxes written ahead of chosen fragments. */
  function pushLadder(h: Harness, sessions: Map<string, IngestSession>, schedule: LoopSchedule, until: number, before: (e: ScheduledRun, start: number) => Buffer[] = () => []): void {
    const start = 1_700_000_000_000;
    for (const e of schedule.take(until)) {
      let s = sessions.get(e.track.name);
      if (!s) {
        s = h.session('s', e.track.name);
        s.write(e.track.init);
        sessions.set(e.track.name, s);
      }
      h.nowMs = Math.max(h.nowMs, start + e.end * 1000);
      for (const b of before(e, Number(e.run.baseMediaDecodeTime) / e.track.timescale - OFFSET)) s.write(b);
      for (const b of runBytes(e.run)) s.write(b);
    }
  }

  it('cuts every rendition at an in-band splice point, warns about a bad section, and renders EXT-X-DATERANGE only by default', () => {
    const h = new Harness();
    const sessions = new Map<string, IngestSession>();
    const schedule = new LoopSchedule(ladder, OFFSET);
    const out = writeSpliceInsert({ spliceEventId: 3, outOfNetwork: true, ptsTime: ((OFFSET + 3) * 90000) % 2 ** 33, breakDuration: 90000 });
    const bad = Buffer.from(out);
    bad[10]! ^= 1;
    pushLadder(h, sessions, schedule, 8, (e, start) => {
      if (e.track.name !== 'v360') return [];
      if (Math.abs(start - 2) < 1e-6) return [scteEmsg(1, { id: 1, section: out, timescale: 90000, presentationTime: BigInt(OFFSET + 3) * 90000n })];
      if (Math.abs(start - 4) < 1e-6) return [scteEmsg(1, { id: 2, section: bad, timescale: 90000, presentationTime: BigInt(OFFSET + 5) * 90000n })];
      return [];
    });
    const stream = h.registry.get('s')!;
    assert.equal(stream.cues.all.length, 1);
    assert.ok(h.warnings.some((w) => /SCTE-35 emsg dropped: splice_info_section CRC_32 does not check/.test(w)), h.warnings.join('\n'));
    const at = OFFSET + 3 + stream.mediaShiftSeconds;
    for (const t of stream.tracks.values()) {
      const starts = t.segments().map((s) => s.startTime / s.timescale);
      assert.ok(starts.some((x) => Math.abs(x - at) <= 0.011), `${t.name} has a segment starting at the splice point: ${starts.join(' ')}`);
      const text = renderMediaPlaylist(stream, t, { flavor: 'll-hls', partAddressing: 'uri' })!;
      parseMedia(text);
      assert.equal((text.match(/#EXT-X-DATERANGE:ID="splice-3",START-DATE="[^"]+",PLANNED-DURATION=1.000,SCTE35-OUT=0x/g) ?? []).length, 1, text);
      assert.ok(!text.includes('#EXT-X-CUE'));
    }
    const mpd = renderMpd(stream, { mode: 'timeline', targetLatency: 2.5, utcUrl: '/utc' })!;
    assert.match(mpd, /<EventStream schemeIdUri="urn:scte:scte35:2014:xml\+bin" timescale="90000">/);
    assert.match(mpd, new RegExp(`<Binary>${out.toString('base64').replace(/[+/]/g, (c) => `\\${c}`)}</Binary>`));
    assert.equal((mpd.match(/<InbandEventStream schemeIdUri="urn:scte:scte35:2013:bin"\/>/g) ?? []).length, 1, 'on the video AdaptationSet only');
  });
});
