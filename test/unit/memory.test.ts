import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryReclaimer } from '../../src/memory.js';

describe('memory reclaimer', () => {
  it('collects once, three seconds after the last stream was removed', () => {
    let now = 0;
    const r = new MemoryReclaimer(() => now, 3000);
    const tick = (): boolean => {
      now += 1000;
      return r.sweep();
    };
    assert.equal(tick(), false, 'nothing removed, nothing to do');
    r.streamRemoved();
    assert.equal(tick(), false);
    r.streamRemoved();
    assert.deepEqual([tick(), tick(), tick(), tick()], [false, false, true, false]);
    assert.equal(r.collections, 1);
    r.streamRemoved();
    now += 5000;
    assert.equal(r.sweep(true), false, 'uploads keep coming: V8 collects by itself');
    assert.equal(tick(), false);
    assert.equal(tick(), false);
    assert.equal(tick(), true);
  });
});
