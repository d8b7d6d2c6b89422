import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideClock } from '../../src/timeline/clock.js';

describe('the stream clock from its first chunk', () => {
  const arrivalMs = 1_795_719_775_000;
  const first = { startSec: 10, endSec: 10.2, originSec: 0n, arrivalMs };

  it('maps media time to the prft wall clock', () => {
    assert.deepEqual(decideClock({ ...first, prft: { wallMs: arrivalMs - 150, streamSec: 10 } }), { kind: 'prft', zeroMs: arrivalMs - 150 - 10_000 });
  });

  it('reads a prft whose media time is far from its fragment (ffmpeg 5.1 DASH: AV_NOPTS_VALUE) as the fragment start', () => {
    const nopts = Number(2n ** 63n) / 24_000;
    assert.deepEqual(decideClock({ ...first, prft: { wallMs: arrivalMs - 150, streamSec: nopts } }), { kind: 'prft', zeroMs: arrivalMs - 150 - 10_000 });
  });
});
