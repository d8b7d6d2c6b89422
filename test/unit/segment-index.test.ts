import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Segment } from '../../src/timeline/segment.js';
import { SegmentIndex } from '../../src/timeline/segment-index.js';
import { MemorySegmentStore, storeKey } from '../../src/timeline/store.js';

function gaps(index: SegmentIndex, from: number, to: number, seconds: number): void {
  for (let msn = from; msn <= to; msn++) index.push(Segment.gap(msn, (msn - 1) * seconds * 1000, seconds * 1000, 1000, 'i', 0, storeKey('s', 't', 'v', msn)));
}

describe('segment index: trim', () => {
  it('forgets what ended more than the retention before the newest', () => {
    const index = new SegmentIndex(new MemorySegmentStore());
    gaps(index, 1, 10, 2);
    index.trim(6, 100);
    assert.deepEqual([index.first?.msn, index.last?.msn], [8, 10]);
  });

  it('keeps no more than the count it is given when time does not advance (media clamped behind the grid)', () => {
    const index = new SegmentIndex(new MemorySegmentStore());
    gaps(index, 1, 1000, 0);
    index.trim(6);
    assert.equal(index.size, 1000, 'no time passed: the retention alone keeps all');
    index.trim(6, 36);
    assert.deepEqual([index.size, index.first?.msn, index.last?.msn], [36, 965, 1000]);
  });
});
