import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginError } from '../../src/errors.js';
import { aacCodecString, parseAudioSpecificConfig } from '../../src/isobmff/codecs/aac.js';
import { hevcCodecString } from '../../src/isobmff/codecs/video.js';
import { singleTrackInit } from '../../src/isobmff/init.js';
import { fixture } from '../helpers/fixtures.js';
import { initOf, mp4boxTracks } from '../helpers/mp4.js';

describe('init segment parsing', () => {
  const cases: { file: string; tracks: { codec: string; kind: string; timescale: number; width?: number; height?: number; sampleRate?: number; channels?: number }[] }[] = [
    { file: 'ladder/v360.mp4', tracks: [{ codec: 'avc1.4d401e', kind: 'video', timescale: 12800, width: 640, height: 360 }] },
    { file: 'ladder/v180.mp4', tracks: [{ codec: 'avc1.42c00c', kind: 'video', timescale: 12800, width: 320, height: 180 }] },
    { file: 'ladder/audio.mp4', tracks: [{ codec: 'mp4a.40.2', kind: 'audio', timescale: 48000, sampleRate: 48000, channels: 2 }] },
    { file: 'bframes/v360-bf.mp4', tracks: [{ codec: 'avc1.64001e', kind: 'video', timescale: 12800, width: 640, height: 360 }] },
    { file: 'hevc/v360-hevc.mp4', tracks: [{ codec: 'hvc1.1.6.L63.90', kind: 'video', timescale: 12800, width: 640, height: 360 }] },
    { file: 'opus/audio-opus.mp4', tracks: [{ codec: 'opus', kind: 'audio', timescale: 48000, sampleRate: 48000, channels: 1 }] },
    {
      file: 'muxed/av.mp4',
      tracks: [
        { codec: 'avc1.64000c', kind: 'video', timescale: 12800, width: 320, height: 180 },
        // The mp4a sample entry says 2 channels; the AudioSpecificConfig (what decoders use) says 1.
        { codec: 'mp4a.40.2', kind: 'audio', timescale: 48000, sampleRate: 48000, channels: 1 },
      ],
    },
  ];
  for (const c of cases) {
    it(`reads codec strings and properties of ${c.file}`, () => {
      const init = initOf(fixture(c.file));
      assert.deepEqual(
        init.tracks.map((t) => ({ codec: t.codec, kind: t.kind, timescale: t.timescale, ...(t.width ? { width: t.width, height: t.height } : {}), ...(t.sampleRate ? { sampleRate: t.sampleRate, channels: t.channels } : {}) })),
        c.tracks,
      );
    });
    it(`agrees with mp4box.js on ${c.file}`, () => {
      const ours = initOf(fixture(c.file)).tracks;
      const theirs = mp4boxTracks(fixture(c.file));
      assert.equal(ours.length, theirs.length);
      ours.forEach((t, i) => {
        const m = theirs[i]!;
        assert.equal(t.trackId, m.id);
        assert.equal(t.codec, m.codec === 'Opus' ? 'opus' : m.codec);
        assert.equal(t.timescale, m.timescale);
        if (t.kind === 'video') assert.deepEqual([t.width, t.height], [m.width, m.height]);
      });
    });
  }

  it('splits a muxed init into single-track inits that parse back to one track each', () => {
    const init = initOf(fixture('muxed/av.mp4'));
    for (const t of init.tracks) {
      const single = singleTrackInit(init, t.trackId);
      const back = initOf(single);
      assert.equal(back.tracks.length, 1);
      assert.equal(back.tracks[0]!.trackId, t.trackId);
      assert.equal(back.tracks[0]!.codec, t.codec);
      assert.deepEqual(mp4boxTracks(single).map((x) => x.id), [t.trackId]);
    }
  });

  it('computes HEVC codec strings per ISO/IEC 14496-15 Annex E', () => {
    const hvcC = (b1: number, compat: number, constraints: number[], level: number): Buffer => {
      const b = Buffer.alloc(23);
      b[0] = 1;
      b[1] = b1;
      b.writeUInt32BE(compat >>> 0, 2);
      constraints.forEach((c, i) => (b[6 + i] = c));
      b[12] = level;
      return b;
    };
    // Main profile, Main tier, level 3.1, progressive source flag only.
    assert.equal(hevcCodecString('hvc1', hvcC(0x01, 0x60000000, [0x90, 0, 0, 0, 0, 0], 93)), 'hvc1.1.6.L93.90');
    // Main 10, High tier, level 5.1, two constraint bytes.
    assert.equal(hevcCodecString('hev1', hvcC(0x22, 0x20000000, [0xb0, 0x01, 0, 0, 0, 0], 153)), 'hev1.2.4.H153.B0.1');
    // Profile space 1 ('A') and the lowest compatibility bit set (reverses to the top bit).
    assert.equal(hevcCodecString('hvc1', hvcC(0x41, 0x00000001, [0, 0, 0, 0, 0, 0], 60)), 'hvc1.A1.80000000.L60');
  });

  it('reads AAC object types, including HE-AAC explicit signalling', () => {
    assert.equal(aacCodecString(parseAudioSpecificConfig(Buffer.from([0x11, 0x90]))), 'mp4a.40.2');
    // AOT 5 (SBR), core 24 kHz, stereo, extension 48 kHz, then AAC LC.
    const he = parseAudioSpecificConfig(Buffer.from([0x2b, 0x11, 0x88, 0x00]));
    assert.equal(aacCodecString(he), 'mp4a.40.5');
    assert.equal(he.outputSamplingFrequency, 48000);
    assert.equal(he.channels, 2);
  });

  it('refuses unsupported codecs with UNSUPPORTED_MEDIA (415)', () => {
    const data = Buffer.from(fixture('ladder/v360.mp4'));
    const at = data.indexOf('avc1', 0, 'latin1');
    data.write('av01', at, 'latin1');
    assert.throws(() => initOf(data), (err: unknown) => err instanceof OriginError && err.code === 'UNSUPPORTED_MEDIA' && /av01/.test(err.message));
  });
});
