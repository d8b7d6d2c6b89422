import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OriginError } from '../../src/errors.js';
import { BoxReader } from '../../src/isobmff/box-reader.js';
import { CmafChunker, type IngestChunk } from '../../src/isobmff/chunker.js';
import { isSyncSample, parseMoof } from '../../src/isobmff/fragment.js';
import { singleTrackInit, type InitSegment } from '../../src/isobmff/init.js';
import { runDuration, sliceRun, writeRunHeader } from '../../src/isobmff/sample-run.js';
import { fixture, randomPieces } from '../helpers/fixtures.js';
import { run } from '../helpers/ffmpeg.js';
import { topLevelBoxes } from '../helpers/mp4.js';

function chunkAll(data: Buffer, pieces = [data]): { init: InitSegment; chunks: IngestChunk[]; ended: boolean } {
  let init: InitSegment | undefined;
  const chunks: IngestChunk[] = [];
  let ended = false;
  const chunker = new CmafChunker(
    {
      init: (i) => (init = i),
      chunk: (c) => chunks.push(c),
      lastSegment: () => {},
      endOfFile: () => (ended = true),
    },
    () => init,
  );
  const reader = new BoxReader({ maxBoxSize: 1 << 24 });
  for (const p of pieces) reader.push(p, (b) => chunker.box(b));
  reader.end((b) => chunker.box(b));
  return { init: init!, chunks, ended };
}

function chunkBytes(c: IngestChunk): Buffer {
  return Buffer.concat(c.wire ? [...c.wire] : [...c.prefix, writeRunHeader(c.run), c.run.payload]);
}

describe('CMAF chunker', () => {
  it('passes single-track chunks through as their original bytes', () => {
    const data = fixture('ladder/v360.mp4');
    const { chunks, ended } = chunkAll(data);
    assert.equal(chunks.length, 40);
    assert.ok(ended, 'the mfra ends the file');
    for (const c of chunks) {
      assert.ok(c.wire, 'passthrough');
      assert.ok(data.includes(chunkBytes(c)), 'bytes are the original moof+mdat');
    }
    assert.equal(chunks[0]!.run.baseMediaDecodeTime, 0n);
    assert.ok(isSyncSample(chunks[0]!.run.flags[0]!));
    assert.equal(chunks.reduce((n, c) => n + runDuration(c.run), 0), 8 * 12800);
  });

  it('gives the same chunks whatever the TCP chunking', () => {
    const data = fixture('muxed/av.mp4');
    const whole = chunkAll(data).chunks.map(chunkBytes);
    for (const seed of [3, 99]) {
      const again = chunkAll(data, randomPieces(data, seed, 500)).chunks.map(chunkBytes);
      assert.deepEqual(again, whole);
    }
  });

  it('reads composition time offsets of B-frames', () => {
    const { chunks } = chunkAll(fixture('bframes/v360-bf.mp4'));
    const ctos = chunks.flatMap((c) => [...c.run.ctos]);
    assert.ok(ctos.some((x) => x !== 0), 'B-frames carry composition offsets');
  });

  it('splits a muxed moof into single-track chunks whose rewritten moof addresses the right bytes', async () => {
    const data = fixture('muxed/av.mp4');
    const { init, chunks } = chunkAll(data);
    assert.deepEqual(
      [...new Set(chunks.map((c) => c.run.trackId))].sort(),
      [1, 2],
    );
    for (const c of chunks) {
      assert.equal(c.wire, null, 'muxed chunks are rewritten');
      const bytes = chunkBytes(c);
      const [moof, mdat] = topLevelBoxes(bytes);
      const defaults = new Map(init.tracks.map((t) => [t.trackId, t.defaults]));
      const back = parseMoof(moof!.data, moof!.headerSize, 0, (id) => defaults.get(id));
      assert.equal(back.trafs.length, 1);
      const traf = back.trafs[0]!;
      assert.equal(traf.trackId, c.run.trackId);
      assert.equal(traf.baseMediaDecodeTime, c.run.baseMediaDecodeTime);
      assert.deepEqual([...traf.durations], [...c.run.durations]);
      assert.deepEqual([...traf.sizes], [...c.run.sizes]);
      const r = traf.dataRanges[0]!;
      assert.ok(bytes.subarray(r.start, r.start + r.length).equals(c.run.payload));
      assert.equal(r.start, moof!.data.length + 8);
      assert.equal(mdat!.data.length, 8 + c.run.payload.length);
    }
    // Each track rebuilt as its own file decodes cleanly.
    const dir = mkdtempSync(join(tmpdir(), 'chunker-'));
    for (const t of init.tracks) {
      const file = join(dir, `track${t.trackId}.mp4`);
      writeFileSync(file, Buffer.concat([singleTrackInit(init, t.trackId), ...chunks.filter((c) => c.run.trackId === t.trackId).map(chunkBytes)]));
      const r = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '');
    }
  });

  it('keeps 64-bit tfdt values exact above 2^53', () => {
    const { chunks, init } = chunkAll(fixture('ladder/audio.mp4'));
    const big = (1n << 60n) + 12345n;
    const c = chunks[3]!;
    const shifted = { ...c.run, baseMediaDecodeTime: big };
    const bytes = Buffer.concat([writeRunHeader(shifted), shifted.payload]);
    const [moof] = topLevelBoxes(bytes);
    const back = parseMoof(moof!.data, 8, 0, () => init.tracks[0]!.defaults);
    assert.equal(back.trafs[0]!.baseMediaDecodeTime, big);
    const tail = sliceRun(shifted, 2, shifted.durations.length);
    assert.equal(tail.baseMediaDecodeTime, big + BigInt(shifted.durations[0]! + shifted.durations[1]!));
  });

  it('answers INIT_REQUIRED (412) for a fragment before any init', () => {
    const data = fixture('ladder/v360.mp4');
    const boxes = topLevelBoxes(data);
    const firstMoof = boxes.findIndex((b) => b.data.toString('latin1', 4, 8) === 'moof');
    const body = Buffer.concat(boxes.slice(firstMoof, firstMoof + 2).map((b) => b.data));
    assert.throws(
      () => chunkAll(body),
      (err: unknown) => err instanceof OriginError && err.code === 'INIT_REQUIRED',
    );
  });

  it('answers MALFORMED_MEDIA (400) when a trun points outside its mdat', () => {
    const data = Buffer.from(fixture('ladder/v360.mp4'));
    const boxes = topLevelBoxes(data);
    const moof = boxes.find((b) => b.data.toString('latin1', 4, 8) === 'moof')!;
    const trun = data.indexOf('trun', moof.offset, 'latin1');
    data.writeInt32BE(1 << 20, trun + 12); // data_offset
    assert.throws(
      () => chunkAll(data),
      (err: unknown) => err instanceof OriginError && err.code === 'MALFORMED_MEDIA',
    );
  });
});
