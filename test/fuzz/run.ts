// `npm run fuzz [-- --bodies N --seed S --concurrency C]`: a long mutation campaign (100,000
// bodies by default) against the origin in its own process, for before a release. Failing inputs
// are written to fuzz-failures/ as replayable regression cases (see fixtures/repro/README.md).
import { runCampaign } from './campaign.js';
import { liveStreams, startFuzzOrigin } from './session.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const bodies = arg('bodies', 100_000);
const seed = arg('seed', Date.now() % 2 ** 31);
const concurrency = arg('concurrency', 4);
const { origin, cleanup } = await startFuzzOrigin();
const rss0 = origin.rss();
const t0 = performance.now();
console.log(`fuzz: seed ${seed}, ${bodies} bodies, origin pid ${origin.pid}, RSS ${(rss0 / 1e6).toFixed(0)} MB`);
let peak = rss0;
const result = await runCampaign({
  seed,
  bodies,
  concurrency,
  ingest: origin.ingest,
  playback: origin.playback,
  streams: 12,
  checkEvery: 25,
  failureDir: 'fuzz-failures',
  progress(done, r) {
    peak = Math.max(peak, origin.rss());
    console.log(`${done} bodies, ${((performance.now() - t0) / 1000).toFixed(0)} s, RSS ${(origin.rss() / 1e6).toFixed(0)} MB, failures ${r.failures.length}, alive ${origin.alive()}`);
  },
});
const seconds = (performance.now() - t0) / 1000;
const rss1 = origin.rss();
let streams = await liveStreams(origin.playback).catch(() => -1);
for (let i = 0; i < 40 && streams > 1; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  streams = await liveStreams(origin.playback).catch(() => -1);
}
console.log(JSON.stringify({ seed, seconds: Math.round(seconds), ...result, rssBeforeMB: Math.round(rss0 / 1e6), rssPeakMB: Math.round(peak / 1e6), rssAfterMB: Math.round(rss1 / 1e6), rssAgedOutMB: Math.round(origin.rss() / 1e6), streamsLeft: streams, alive: origin.alive() }, null, 2));
const faults = origin.errorLines();
for (const line of faults.slice(0, 5)) console.log('fault:', JSON.stringify(line).slice(0, 600));
console.log(`faults: ${faults.length}`);
const code = origin.alive() && result.failures.length === 0 && faults.length === 0 ? 0 : 1;
if (!origin.alive()) console.log(origin.stderr().slice(-4000));
await origin.stop();
cleanup();
process.exit(code);
