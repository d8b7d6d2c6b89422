import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildOrigin, type ChildOrigin } from '../helpers/child-origin.js';

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
export async function startFuzzOrigin(): Promise<{ origin: ChildOrigin; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'origin-fuzz-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ingest: { idleTimeoutMs: FUZZ_IDLE_MS }, window: { seconds: FUZZ_WINDOW_S }, ingestLimits: { maxStreamBytes: FUZZ_STREAM_BYTES, maxTotalBytes: FUZZ_TOTAL_BYTES } }));
  const origin = await startChildOrigin({ args: ['--config', config], demo: true });
  return { origin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Streams the origin holds, from /healthz. */
export async function liveStreams(playback: string): Promise<number> {
  const res = await fetch(`${playback}/healthz`);
  return ((await res.json()) as { streams: number }).streams;
}
