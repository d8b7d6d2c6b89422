import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { checkNalUnits, nalLengthSize } from '../../src/isobmff/codecs/nal.js';
import type { TrackInfo } from '../../src/isobmff/init.js';
import type { SampleRun } from '../../src/isobmff/sample-run.js';
import { checkRun, MAX_RUN_SAMPLES } from '../../src/isobmff/validate.js';
import { guarded } from '../../src/http/guard.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { renderMultivariantPlaylist } from '../../src/hls/multivariant.js';
import { renderMediaPlaylist } from '../../src/hls/media-playlist.js';
import { feed, Harness, LADDER, loadTracks } from '../helpers/feed.js';
import { parseMaster, parseMedia } from '../helpers/hls.js';

const VIDEO: TrackInfo = {
  trackId: 1,
  kind: 'video',
  timescale: 90000,
  language: 'und',
  sampleEntry: 'avc1',
  codec: 'avc1.64001f',
  codecConfig: Buffer.alloc(0),
  nalLengthSize: 4,
  defaults: { trackId: 1, sampleDescriptionIndex: 1, sampleDuration: 0, sampleSize: 0, sampleFlags: 0 },
  editMediaTime: 0n,
};
const AAC: TrackInfo = { ...VIDEO, kind: 'audio', timescale: 48000, sampleEntry: 'mp4a', codec: 'mp4a.40.2', nalLengthSize: undefined };

/** One NAL unit of `n` bytes with a 4-byte length field. */
function nal(n: number): Buffer {
  const b = Buffer.alloc(4 + n, 0x41);
  b.writeUInt32BE(n, 0);
  return b;
}

function run(samples: readonly Buffer[], durations: readonly number[], extra: Partial<SampleRun> = {}): SampleRun {
  return {
    trackId: 1,
    sequenceNumber: 1,
    sampleDescriptionIndex: 1,
    baseMediaDecodeTime: 0n,
    durations: Uint32Array.from(durations),
    sizes: Uint32Array.from(samples.map((s) => s.length)),
    flags: new Uint32Array(samples.length),
    ctos: new Int32Array(samples.length),
    payload: Buffer.concat(samples),
    ...extra,
  };
}

describe('sample table checks before the timeline (linear in the samples)', () => {
  it('accepts whole NAL units and sane durations', () => {
    assert.doesNotThrow(() => checkRun(run([Buffer.concat([nal(5), nal(20)]), nal(3)], [3600, 3600]), VIDEO));
  });

  it('refuses a NAL unit that overruns its sample, an empty one, and a truncated length field', () => {
    const over = nal(10);
    over.writeUInt32BE(211288064, 0);
    assert.throws(() => checkRun(run([over], [3600]), VIDEO), /NAL unit of 211288064 bytes overruns/);
    assert.throws(() => checkRun(run([Buffer.concat([nal(4), Buffer.from([0, 0, 0, 0])])], [3600]), VIDEO), /empty NAL unit/);
    assert.throws(() => checkRun(run([Buffer.concat([nal(4), Buffer.from([0, 0])])], [3600]), VIDEO), /inside a NAL length field/);
  });

  it('refuses zero and implausibly long durations, empty samples and long fragments', () => {
    assert.throws(() => checkRun(run([nal(3)], [0]), VIDEO), /duration 0/);
    assert.throws(() => checkRun(run([Buffer.alloc(10)], [48000 * 11.5]), AAC), /lasts 11\.500 s/);
    assert.throws(() => checkRun(run([Buffer.alloc(0)], [1024]), AAC), /no bytes/);
    const many = Array.from({ length: 7 }, () => Buffer.alloc(10));
    assert.throws(() => checkRun(run(many, many.map(() => 48000 * 9)), AAC), /a fragment of 63\.000 s/);
  });

  it('refuses a tfdt whose fragment would end past 2^64, and accepts one that ends at it', () => {
    const max = (1n << 64n) - 1n;
    assert.throws(() => checkRun(run([Buffer.alloc(10)], [1024], { baseMediaDecodeTime: max - 1000n }), AAC), /overflows 64 bits/);
    assert.doesNotThrow(() => checkRun(run([Buffer.alloc(10)], [1024], { baseMediaDecodeTime: max - 1024n }), AAC));
  });

  it('refuses composition offsets beyond 10 s, AAC frames ADTS cannot carry, and more than the sample cap', () => {
    assert.throws(() => checkRun(run([nal(3)], [3600], { ctos: Int32Array.from([-90000 * 11]) }), VIDEO), /composition offset/);
    assert.throws(() => checkRun(run([Buffer.alloc(8185)], [1024]), AAC), /AAC frame of 8185 bytes/);
    const n = MAX_RUN_SAMPLES + 1;
    assert.throws(() => checkRun(run(Array.from({ length: n }, () => Buffer.alloc(1)), new Array<number>(n).fill(1)), AAC), /10001 samples/);
  });

  it('reads the NAL length size of avcC and hvcC: "shall be one of 0, 1, or 3" (ISO/IEC 14496-15)', () => {
    const avcC = Buffer.from([1, 0x64, 0, 0x1f, 0xfc | 3]);
    assert.equal(nalLengthSize('avc', avcC), 4);
    assert.equal(nalLengthSize('avc', Buffer.from([1, 0x64, 0, 0x1f, 0xfc | 1])), 2);
    assert.throws(() => nalLengthSize('avc', Buffer.from([1, 0x64, 0, 0x1f, 0xfc | 2])), /length size of 3/);
    const hvcC = Buffer.alloc(23);
    hvcC[21] = 3;
    assert.equal(nalLengthSize('hevc', hvcC), 4);
    assert.throws(() => nalLengthSize('hevc', Buffer.alloc(10)), /truncated/);
    assert.doesNotThrow(() => checkNalUnits(Buffer.from([0, 2, 0x65, 0]), 0, 4, 2));
  });
});

describe('timeline: a CMAF header with another timescale mid-segment', () => {
  it('finishes the segment in production under the old header: no negative duration, bandwidths stay valid', () => {
    const h = new Harness();
    const [, , audio] = loadTracks(LADDER);
    feed(h, 's', [audio!], { untilSeconds: 3 });
    const track = h.registry.get('s')!.tracks.get('audio')!;
    assert.ok(track.openSegment, 'a segment is in production');
    // The same audio again with a 1 kHz media timescale (mdhd) and its timestamps rescaled.
    const init = Buffer.from(audio!.init);
    const mdhd = init.indexOf('mdhd');
    init.writeUInt32BE(1000, mdhd + 4 + (init[mdhd + 4] === 1 ? 20 : 12));
    const s = h.session('s', 'audio');
    s.write(init);
    assert.equal(track.timescale, 1000);
    assert.equal(track.openSegment, null, 'the old segment was finished');
    for (const seg of track.segments()) assert.ok(seg.duration >= 0, `segment ${seg.msn} lasts ${seg.duration}`);
    const master = renderMultivariantPlaylist(h.registry.get('s')!)!;
    assert.doesNotThrow(() => parseMaster(master));
    assert.doesNotThrow(() => parseMedia(renderMediaPlaylist(h.registry.get('s')!, track, { flavor: 'l-hls' })!));
  });
});

describe('the boundary of a response callback', () => {
  it('reports the fault, answers 500 before the head and cuts the connection after it', async () => {
    const streams = new Harness().registry;
    const metrics = createMetrics(streams);
    const sink = { metrics, logger: createLogger('silent') };
    const server = createServer((req, res) => {
      const boom = guarded(sink, 'held-request', req, res, false, (): boolean => {
        if (req.url === '/late') res.writeHead(200).write('partial');
        throw new Error('a bug');
      });
      setImmediate(() => assert.equal(boom(), false));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const early = await fetch(`http://127.0.0.1:${port}/early`);
    assert.equal(early.status, 500);
    assert.equal(await early.text(), '500 INTERNAL: internal error\n');
    const late = await new Promise<string>((resolve) => {
      const req = request(`http://127.0.0.1:${port}/late`, (res) => {
        res.resume();
        res.on('end', () => resolve('ended'));
        res.on('aborted', () => resolve('cut'));
        res.on('error', () => resolve('cut'));
      });
      req.on('error', () => resolve('cut'));
      req.end();
    });
    assert.equal(late, 'cut');
    assert.match(await metrics.registry.metrics(), /origin_faults_total\{site="held-request"\} 2/);
    server.closeAllConnections();
    server.close();
  });
});
