import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecycledMemory } from '../../src/http/recycled-memory.js';
import { TsCache } from '../../src/http/ts-routes.js';

const render =
  (size: number, fill: number) =>
  (allocate: (n: number) => Buffer): Buffer => {
    const block = allocate(size);
    const out = block.subarray(0, size);
    out.fill(fill);
    return out;
  };

describe('RecycledMemory', () => {
  it('hands back a kept block that fits, rounded to 64 KiB, and never one that wastes a third', () => {
    const m = new RecycledMemory(1 << 30);
    const a = m.take(100_000);
    assert.equal(a.length, 128 * 1024);
    m.give(a);
    assert.equal(m.take(120_000), a, 'reused');
    m.give(a);
    assert.notEqual(m.take(60_000), a, 'too large for 60 kB');
    assert.notEqual(m.take(200_000), a, 'too small');
  });

  it('keeps no more than its limit', () => {
    const m = new RecycledMemory(100_000);
    m.give(Buffer.alloc(65_536));
    m.give(Buffer.alloc(65_536));
    assert.equal(m.idleBytes, 65_536);
  });

  it('lets go of kept blocks beyond a bound, largest first', () => {
    const m = new RecycledMemory(1 << 30);
    const blocks = [m.take(65_536), m.take(200_000), m.take(300_000)];
    for (const b of blocks) m.give(b);
    assert.equal(m.trim(1 << 20), 0);
    assert.equal(m.trim(65_536), 320 * 1024 + 256 * 1024);
    assert.equal(m.take(60_000), blocks[0], 'the smallest is kept');
  });
});

describe('TsCache', () => {
  it('renders once and recycles an evicted segment only after its last response is done', () => {
    const cache = new TsCache(1 << 20);
    const size = 300_000; // 320 KiB blocks: three fit in 1 MiB
    const first = cache.lease('1', render(size, 1));
    const again = cache.lease('1', render(size, 9));
    assert.equal(again.bytes, first.bytes, 'cached');
    assert.equal(cache.misses, 1);
    assert.equal(cache.hits, 1);
    const second = cache.lease('2', render(size, 2));
    second.done();
    cache.lease('3', render(size, 3)).done();
    // '4' evicts '1' while two responses still send it.
    const fourth = cache.lease('4', render(size, 4));
    assert.notEqual(fourth.bytes.buffer, first.bytes.buffer, 'memory in flight is not reused');
    assert.ok(first.bytes.every((b) => b === 1), 'bytes in flight stay intact');
    first.done();
    first.done(); // twice: counted once
    const fifth = cache.lease('5', render(size, 5));
    assert.notEqual(fifth.bytes.buffer, first.bytes.buffer, 'one response still sends it');
    again.done();
    // Free now: '2' (evicted by '5', not sent) and '1'.
    const sixth = cache.lease('6', render(size, 6));
    const seventh = cache.lease('7', render(size, 7));
    assert.deepEqual(new Set([sixth.bytes.buffer, seventh.bytes.buffer]), new Set([first.bytes.buffer, second.bytes.buffer]), 'both freed blocks are reused');
    assert.ok(sixth.bytes.every((b) => b === 6) && seventh.bytes.every((b) => b === 7));
    for (const l of [fourth, fifth, sixth, seventh]) l.done();
  });

  it('drops the renders of a removed stream with their memory, even those still being sent', () => {
    const cache = new TsCache(1 << 20);
    const sent = cache.lease('a|v|-|1', render(100_000, 1));
    cache.lease('a|v|-|2', render(100_000, 2)).done();
    cache.lease('b|v|-|1', render(100_000, 3)).done();
    cache.forget('a');
    assert.equal(cache.bytes, 128 * 1024, "only stream b's render is left");
    sent.done();
    assert.equal(cache.idleBytes, 0, 'nothing kept for reuse');
    assert.notEqual(cache.lease('b|v|-|2', render(100_000, 4)).bytes.buffer, sent.bytes.buffer);
  });

  it('keeps for reuse no more than the streams still there rendered in the last period', () => {
    const cache = new TsCache(256 * 1024);
    // Stream a renders 128 KiB blocks, b 64 KiB ones (too small to take a's): b's renders evict a's.
    for (let msn = 1; msn <= 2; msn++) cache.lease(`a|v|-|${msn}`, render(100_000, msn)).done();
    for (let msn = 1; msn <= 3; msn++) cache.lease(`b|v|-|${msn}`, render(30_000, msn)).done();
    assert.equal(cache.idleBytes, 2 * 128 * 1024);
    cache.forget('a');
    assert.equal(cache.idleBytes, 128 * 1024, "b's three renders (192 KiB) are the demand left");
    assert.equal(cache.trimIdle(), 0, 'b rendered that much during the period');
    assert.equal(cache.trimIdle(), 128 * 1024, 'no render for a whole period: all let go');
    assert.equal(cache.idleBytes, 0);
  });
});
