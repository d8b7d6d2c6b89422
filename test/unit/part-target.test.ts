import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FALLBACK_PART_TARGET, fragmentCadence, partTargetFromChunk } from '../../src/timeline/part-target.js';

const aac48 = 1024 / 48000;
const aac44 = 1024 / 44100;

describe('part target from the encoder\'s fragment cadence', () => {
  it('reads the same cadence from every track of a 200 ms push', () => {
    const chunks: [string, number, number][] = [
      ['25 fps video', 0.2, 0.04],
      ['30 fps video', 0.2, 1 / 30],
      ['23.976 fps video', (5 * 1001) / 24000, 1001 / 24000],
      ['48 kHz AAC (10 frames)', 10 * aac48, aac48],
      ['44.1 kHz AAC (9 frames)', 9 * aac44, aac44],
    ];
    for (const [what, chunk, sample] of chunks) {
      assert.equal(fragmentCadence(chunk, sample), 0.2, what);
      assert.equal(partTargetFromChunk(chunk, sample, 2), 0.215, what);
    }
  });

  it('holds every full chunk of those tracks and keeps a full video chunk above 85 % of it', () => {
    const pt = partTargetFromChunk(0.2, 0.04, 2);
    for (const chunk of [0.2, (5 * 1001) / 24000, 10 * aac48, 9 * aac44]) assert.ok(chunk <= pt, `${chunk} fits`);
    assert.ok(0.2 >= 0.85 * pt);
  });

  it('follows other cadences: 500 ms, 1 s', () => {
    assert.equal(partTargetFromChunk(0.52, 0.04, 4), 0.515);
    assert.equal(partTargetFromChunk(24 * aac48, aac48, 4), 0.515);
    assert.equal(partTargetFromChunk(1, 0.04, 4), 1.015);
  });

  it('falls back when the chunks say nothing usable: a fragment per frame, a fragment per segment, no round cadence', () => {
    assert.equal(partTargetFromChunk(0.04, 0.04, 2), FALLBACK_PART_TARGET);
    assert.equal(partTargetFromChunk(aac48, aac48, 2), FALLBACK_PART_TARGET);
    assert.equal(partTargetFromChunk(2, 0.04, 2), FALLBACK_PART_TARGET);
    assert.equal(partTargetFromChunk(9 * aac48, aac48, 2), FALLBACK_PART_TARGET);
    assert.equal(partTargetFromChunk(0.04, 0.04, 1), FALLBACK_PART_TARGET);
  });
});
