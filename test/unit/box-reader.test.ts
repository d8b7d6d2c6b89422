import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginError } from '../../src/errors.js';
import { BoxReader, type Box } from '../../src/isobmff/box-reader.js';
import { fourcc, fourccToString } from '../../src/isobmff/fourcc.js';
import { fixture, randomPieces } from '../helpers/fixtures.js';

const FILES = ['ladder/v360.mp4', 'ladder/audio.mp4', 'bframes/v360-bf.mp4', 'hevc/v360-hevc.mp4', 'muxed/av.mp4', 'opus/audio-opus.mp4'];

function readAll(pieces: readonly Buffer[], maxBoxSize = 1 << 24): Box[] {
  const reader = new BoxReader({ maxBoxSize });
  const boxes: Box[] = [];
  for (const p of pieces) reader.push(p, (b) => boxes.push(b));
  reader.end((b) => boxes.push(b));
  return boxes;
}

function box(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

function codeOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof OriginError) return err.code;
    throw err;
  }
  return 'none';
}

describe('BoxReader', () => {
  for (const file of FILES) {
    it(`gives the same boxes for ${file} whole and in random pieces`, () => {
      const data = fixture(file);
      const whole = readAll([data]);
      assert.ok(whole.length > 3);
      assert.equal(whole.reduce((n, b) => n + b.data.length, 0), data.length);
      for (const seed of [1, 7, 42, 1234]) {
        const pieces = randomPieces(data, seed, seed === 1 ? 7 : 3000);
        const again = readAll(pieces);
        assert.deepEqual(
          again.map((b) => [fourccToString(b.type), b.offset, b.headerSize]),
          whole.map((b) => [fourccToString(b.type), b.offset, b.headerSize]),
        );
        again.forEach((b, i) => assert.ok(b.data.equals(whole[i]!.data), `box ${i} bytes`));
      }
    });
  }

  it('hands out a box that lies inside one piece as a view, without copying', () => {
    const data = fixture('ladder/v360.mp4');
    const boxes = readAll([data]);
    assert.equal(boxes[0]!.data.buffer, data.buffer);
  });

  it('reads 64-bit (size == 1) boxes split anywhere', () => {
    const payload = Buffer.from('abcdefghij');
    const large = Buffer.alloc(16 + payload.length);
    large.writeUInt32BE(1, 0);
    large.write('free', 4, 'latin1');
    large.writeBigUInt64BE(BigInt(large.length), 8);
    payload.copy(large, 16);
    const stream = Buffer.concat([box('styp', Buffer.from('msdh\0\0\0\0msdh')), large, box('free', Buffer.alloc(3))]);
    for (let cut = 1; cut < stream.length; cut++) {
      const boxes = readAll([stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(boxes.map((b) => fourccToString(b.type)), ['styp', 'free', 'free']);
      assert.equal(boxes[1]!.headerSize, 16);
      assert.ok(boxes[1]!.data.subarray(16).equals(payload));
    }
  });

  it('reads a size-0 box as running to the end of the stream', () => {
    const head = Buffer.alloc(8);
    head.write('mdat', 4, 'latin1');
    const stream = Buffer.concat([box('styp', Buffer.from('msdh\0\0\0\0')), head, Buffer.from('payload-to-the-end')]);
    const boxes = readAll(randomPieces(stream, 3, 5));
    assert.deepEqual(boxes.map((b) => fourccToString(b.type)), ['styp', 'mdat']);
    assert.equal(boxes[1]!.data.subarray(8).toString(), 'payload-to-the-end');
  });

  it('refuses a box above the size limit with BOX_TOO_LARGE (413), before buffering it', () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(1 << 20, 0);
    head.write('mdat', 4, 'latin1');
    const reader = new BoxReader({ maxBoxSize: 4096 });
    assert.equal(codeOf(() => reader.push(Buffer.concat([box('styp', Buffer.alloc(8)), head]), () => {})), 'BOX_TOO_LARGE');
    const large = Buffer.alloc(16);
    large.writeUInt32BE(1, 0);
    large.write('mdat', 4, 'latin1');
    large.writeBigUInt64BE(1n << 40n, 8);
    assert.equal(codeOf(() => new BoxReader({ maxBoxSize: 4096 }).push(Buffer.concat([box('styp', Buffer.alloc(8)), large]), () => {})), 'BOX_TOO_LARGE');
  });

  it('says UNSUPPORTED_MEDIA (415) for a body that is not ISO BMFF', () => {
    const ts = Buffer.alloc(376, 0xff);
    ts[0] = 0x47;
    ts[188] = 0x47;
    assert.equal(codeOf(() => readAll([ts])), 'UNSUPPORTED_MEDIA');
    assert.equal(codeOf(() => readAll([Buffer.from('{"hello": "world", "this": "is json"}')])), 'UNSUPPORTED_MEDIA');
    assert.equal(codeOf(() => readAll([Buffer.from('#EXTM3U\n#EXT-X-VERSION:3\n')])), 'UNSUPPORTED_MEDIA');
  });

  it('says MALFORMED_MEDIA (400) for an impossible size, a garbage box type, or a stream cut inside a box', () => {
    const tiny = Buffer.alloc(8);
    tiny.writeUInt32BE(4, 0);
    tiny.write('moof', 4, 'latin1');
    assert.equal(codeOf(() => readAll([tiny])), 'MALFORMED_MEDIA');
    const garbage = Buffer.concat([box('styp', Buffer.alloc(8)), Buffer.from([0, 0, 0, 16, 1, 2, 3, 4]), Buffer.alloc(8)]);
    assert.equal(codeOf(() => readAll([garbage])), 'MALFORMED_MEDIA');
    const data = fixture('ladder/audio.mp4');
    assert.equal(codeOf(() => readAll([data.subarray(0, data.length - 10)])), 'MALFORMED_MEDIA');
  });

  it('compares fourccs as integers', () => {
    assert.equal(fourcc('moof'), 0x6d6f6f66);
    assert.equal(fourccToString(0x6d646174), 'mdat');
  });
});
