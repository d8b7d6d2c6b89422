import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryReclaimer } from '../../src/memory.js';

describe('memory reclaimer', () => {
  it('collects three seconds after the last release (a stream removed, render memory trimmed), and once more a sweep later', () => {
    let now = 0;
    const r = new MemoryReclaimer(() => now, 3000);
    const tick = (): boolean => {
      now += 1000;
      return r.sweep();
    };
    assert.equal(tick(), false, 'nothing removed, nothing to do');
    r.released();
    assert.equal(tick(), false);
    r.released();
    assert.deepEqual([tick(), tick(), tick(), tick(), tick()], [false, false, true, true, false], 'and once more on the next sweep');
    assert.equal(r.collections, 2);
    r.released();
    now += 5000;
    assert.equal(r.sweep(true), false, 'uploads keep coming: V8 collects by itself');
    assert.equal(tick(), false);
    assert.equal(tick(), false);
    assert.equal(tick(), true);
    assert.equal(r.sweep(true), false, 'uploads came again: no second one');
    assert.equal(tick(), false);
    assert.equal(r.collections, 3);
  });
});
