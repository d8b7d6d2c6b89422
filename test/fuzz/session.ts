import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildOrigin, type ChildOrigin } from '../helpers/child-origin.js';
import { targetDurationOf } from './replay.js';

/** Ingest idle timeout and window of a fuzzing origin: junk streams age out within seconds. */
export const FUZZ_IDLE_MS = 1000;
export const FUZZ_WINDOW_S = 6;
/** What junk streams may hold in memory: each, and all of them together (the demo included). */
export const FUZZ_STREAM_BYTES = 8 << 20;
export const FUZZ_TOTAL_BYTES = 128 << 20;

/**
 * An origin configured for fuzzing, in its own process: the demo stream plays (the live stream
 * that must keep advancing), junk streams age out fast.
 */
export async function startFuzzOrigin(env?: Readonly<Record<string, string>>): Promise<{ origin: ChildOrigin; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'origin-fuzz-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ingest: { idleTimeoutMs: FUZZ_IDLE_MS }, window: { seconds: FUZZ_WINDOW_S }, ingestLimits: { maxStreamBytes: FUZZ_STREAM_BYTES, maxTotalBytes: FUZZ_TOTAL_BYTES } }));
  const origin = await startChildOrigin({ args: ['--config', config], demo: true, ...(env ? { env } : {}) });
  return { origin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Streams the origin holds, from /healthz. */
export async function liveStreams(playback: string): Promise<number> {
  const res = await fetch(`${playback}/healthz`, { signal: AbortSignal.timeout(10_000) });
  return ((await res.json()) as { streams: number }).streams;
}

/** The fuzzed streams (`fz0` … `fz{count-1}`) still served, with their EXT-X-TARGETDURATION (they go that much later). */
export async function fuzzedTargets(playback: string, count: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const name = `fz${i}`;
    const master = await fetch(`${playback}/live/${name}/master.m3u8`, { signal: AbortSignal.timeout(10_000) });
    if (!master.ok) continue;
    const uri = (await master.text()).split('\n').find((l) => l !== '' && !l.startsWith('#'));
    const media = uri ? await fetch(new URL(uri, `${playback}/live/${name}/master.m3u8`), { signal: AbortSignal.timeout(10_000) }) : null;
    out.set(name, media?.ok ? targetDurationOf(await media.text()) : 0);
  }
  return out;
}
