import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoxReader } from '../../src/isobmff/box-reader.js';
import { CmafChunker, type IngestChunk } from '../../src/isobmff/chunker.js';
import type { InitSegment } from '../../src/isobmff/init.js';
import { joinAdjacent, readRun, sliceRun, writeRunHeader, type SampleRun } from '../../src/isobmff/sample-run.js';
import { fixture, randomPieces } from '../helpers/fixtures.js';

function chunks(file: string, pieces?: (b: Buffer) => Buffer[]): { init: InitSegment; chunks: IngestChunk[] } {
  const data = fixture(file);
  let init: InitSegment | undefined;
  const out: IngestChunk[] = [];
  const chunker = new CmafChunker({ init: (i) => (init = i), chunk: (c) => out.push(c), lastSegment: () => {}, endOfFile: () => {} }, () => init);
  const reader = new BoxReader({ maxBoxSize: 1 << 24 });
  for (const p of pieces ? pieces(data) : [data]) reader.push(p, (b) => chunker.box(b));
  return { init: init!, chunks: out };
}

function sameRun(a: SampleRun, b: SampleRun): void {
  assert.equal(a.trackId, b.trackId);
  assert.equal(a.baseMediaDecodeTime, b.baseMediaDecodeTime);
  assert.deepEqual([...a.durations], [...b.durations]);
  assert.deepEqual([...a.sizes], [...b.sizes]);
  assert.deepEqual([...a.flags], [...b.flags]);
  assert.deepEqual([...a.ctos], [...b.ctos]);
  assert.ok(a.payload.equals(b.payload));
}

describe('readRun: samples read back from a chunk as served', () => {
  for (const file of ['ladder/v360.mp4', 'bframes/v360-bf.mp4', 'ladder/audio.mp4']) {
    it(`gives the ingested samples for ${file}: original bytes, in pieces, and rewritten slices`, () => {
      const { init, chunks: all } = chunks(file, (b) => randomPieces(b, 3, 5000));
      const defaults = init.tracks[0]!.defaults;
      assert.ok(all.length > 5);
      for (const c of all) {
        assert.ok(c.wire, 'passed through');
        sameRun(readRun(c.wire!, defaults), c.run);
        // The same bytes split differently (views of one copy).
        const whole = Buffer.concat([...c.wire!]);
        sameRun(readRun([whole], defaults), c.run);
        const n = c.run.durations.length;
        if (n > 2) {
          const tail = sliceRun(c.run, 1, n);
          sameRun(readRun([writeRunHeader(tail), tail.payload], defaults), tail);
        }
      }
    });
  }

  it('rejects bytes without a moof', () => {
    const { init } = chunks('ladder/v360.mp4');
    assert.throws(() => readRun([Buffer.from([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65])], init.tracks[0]!.defaults), /no moof/);
  });
});

describe('joinAdjacent', () => {
  it('joins views that are adjacent in one memory, keeps the rest, drops empty ones', () => {
    const mem = Buffer.from('abcdefghij');
    const other = Buffer.from('XYZ');
    const joined = joinAdjacent([mem.subarray(0, 3), mem.subarray(3, 6), Buffer.alloc(0), other, mem.subarray(6, 10)]);
    assert.deepEqual(
      joined.map((b) => b.toString()),
      ['abcdef', 'XYZ', 'ghij'],
    );
    assert.equal(joined[0]!.buffer, mem.buffer, 'a view, not a copy');
    assert.deepEqual(joinAdjacent([mem.subarray(0, 2), mem.subarray(5, 7)]).map((b) => b.toString()), ['ab', 'fg']);
  });
});
