// Shrinks a failing case written by the fuzzer to the fewest steps that still fail (delta
// debugging), each trial on a fresh origin: `ORIGIN_ROOT=/old/checkout node --import tsx
// test/fuzz/minimize.ts fuzz-failures/CASE fixtures/repro/NAME`. The result is a regression case.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCase, replay, type Step } from './replay.js';
import { startFuzzOrigin } from './session.js';

const [from, to] = process.argv.slice(2);
if (!from || !to) throw new Error('usage: minimize.ts CASE_DIR OUT_DIR');
const { steps, bodies } = readCase(from);

async function fails(keep: readonly number[]): Promise<string | null> {
  const { origin, cleanup } = await startFuzzOrigin();
  try {
    const out = await replay(origin.ingest, origin.playback, keep.map((i) => steps[i]!), keep.map((i) => bodies[i]!));
    await new Promise((r) => setTimeout(r, 200));
    if (!origin.alive()) return `exited: ${origin.stderr().split('\n').find((l) => /Error/.test(l)) ?? ''}`;
    const bad = out.statuses.findIndex((s) => s >= 500 || s < 0);
    if (bad >= 0) return `step ${keep[bad]} answered ${out.statuses[bad]}`;
    // An older origin answered 503 for manifests of streams with no segment yet: not what we hunt.
    const playback = out.playbackFailures.filter((f) => !f.endsWith('→ 503'));
    if (playback.length > 0) return playback[0]!;
    return null;
  } finally {
    await origin.stop();
    cleanup();
  }
}

let keep = steps.map((_, i) => i);
let reason = await fails(keep);
if (!reason) throw new Error('the case does not fail on this origin');
console.log(`fails with all ${keep.length} steps: ${reason}`);
let chunk = Math.ceil(keep.length / 2);
while (chunk >= 1) {
  let removed = false;
  for (let at = 0; at < keep.length; at += chunk) {
    const trial = [...keep.slice(0, at), ...keep.slice(at + chunk)];
    if (trial.length === 0) continue;
    const r = await fails(trial);
    if (r) {
      keep = trial;
      reason = r;
      removed = true;
      console.log(`${keep.length} steps still fail: ${r}`);
      at -= chunk;
    }
  }
  if (!removed) chunk = Math.floor(chunk / 2);
}
mkdirSync(to, { recursive: true });
const out: Step[] = keep.map((i, n) => {
  const file = `${String(n).padStart(2, '0')}.bin`;
  copyFileSync(join(from, steps[i]!.body), join(to, file));
  return { ...steps[i]!, body: file };
});
writeFileSync(join(to, 'steps.json'), JSON.stringify({ failed: reason, steps: out }, null, 2) + '\n');
console.log(`${to}: ${out.length} steps (${reason})`);
