import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, run, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { waitForSegments } from '../helpers/verify.js';

const RUN_TIME = 20;

/** VLC refuses to run as root: as root, play as `nobody`. */
function asUser(): string[] {
  return process.getuid?.() === 0 ? ['setpriv', '--reuid=nobody', `--regid=${execFileSync('id', ['-g', 'nobody']).toString().trim()}`, '--clear-groups', '--'] : [];
}

interface VlcRun {
  /** The input's time (µs) each time VLC's adaptive demuxer logged it, in log order. */
  readonly times: number[];
  /** Index in `times` of the first `EOF reached` of the network input (times.length if none). */
  readonly eofAt: number;
  readonly media: number;
  readonly wallSeconds: number;
  readonly log: string;
}

/**
 * `cvlc --run-time 20 --play-and-exit -vv URL` and what its log says. VLC 3.0 stops an input when
 * the input's time reaches start-time + run-time (input.c MainLoopDemux), logging `EOF reached`;
 * for a live adaptive stream that time is the position in the playlist from its first segment
 * (HLS) or from the Period start (DASH), as `cached.i_time` says (PlaylistManager.cpp).
 */
async function playWithVlc(url: string): Promise<VlcRun> {
  const started = Date.now();
  const user = asUser();
  const [command, ...args] = [...user, 'cvlc', '--intf', 'dummy', '--vout', 'dummy', '--aout', 'dummy', '--run-time', String(RUN_TIME), '--play-and-exit', '-vv', url];
  const { stdout, stderr } = await run(command!, args, (RUN_TIME + 40) * 1000);
  const log = stdout + stderr;
  const lines = log.split('\n');
  const opened = lines.find((l) => l.includes(`\`${url}' successfully opened`));
  assert.ok(opened, `VLC opened ${url}:\n${log.slice(-2000)}`);
  const input = opened.slice(0, opened.indexOf(']') + 1);
  const times: number[] = [];
  let eofAt = -1;
  for (const line of lines) {
    const m = /adaptive demux debug: cached\.i_time \((-?\d+)\)/.exec(line);
    if (m) times.push(Number(m[1]));
    if (eofAt < 0 && line.startsWith(input) && line.endsWith('main input debug: EOF reached')) eofAt = times.length;
  }
  const media = lines.filter((l) => /adaptive demux debug: Retrieving http\S+\.(m4s|ts)$/.test(l)).length;
  return { times, eofAt: eofAt < 0 ? times.length : eofAt, media, wallSeconds: (Date.now() - started) / 1000, log };
}

/** Real ffmpeg push → origin → VLC 3.0 (Debian's `vlc`, headless) on every kind of manifest. */
describe('VLC plays the origin', () => {
  let o: TestOrigin;
  let push: FfmpegRun;

  before(async () => {
    o = await startOrigin({ log: { level: 'warn' } });
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '90',
      '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/vlc/v180.mp4`,
      '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/vlc/audio.mp4`,
    ]);
    // VLC counts --run-time from the start of the playlist's window: it joins while that is young.
    await waitForSegments(o.playback, 'vlc', 2);
  });

  after(async () => {
    push.kill();
    await o.stop();
  });

  it(`plays ${RUN_TIME} s of the LL-HLS, MPEG-TS and $Number$ DASH manifests, ending only at --run-time`, async () => {
    const [command, ...args] = [...asUser(), 'cvlc', '--version'];
    const version = (await run(command!, args)).stdout.split('\n')[0];
    const manifests = ['master.m3u8', 'master-ts.m3u8', 'manifest.mpd'];
    const runs = await Promise.all(manifests.map((m) => playWithVlc(`${o.playback}/live/vlc/${m}`)));
    for (const [i, r] of runs.entries()) {
      const name = manifests[i]!;
      const played = r.times.filter((t) => t > 0);
      const first = played[0] ?? 0;
      const last = r.times[r.eofAt - 1] ?? 0;
      console.log(`# ${version}, ${name}: input time ${(first / 1e6).toFixed(1)} → ${(last / 1e6).toFixed(1)} s, ${r.media} media requests, ended after ${r.wallSeconds.toFixed(1)} s`);
      assert.ok(played.length > 0, `${name}: VLC played:\n${r.log.slice(-3000)}`);
      assert.ok(last >= RUN_TIME * 1e6, `${name}: EOF reached at input time ${(last / 1e6).toFixed(1)} s, before --run-time ${RUN_TIME}:\n${r.log.slice(-3000)}`);
      assert.ok(last - first >= (RUN_TIME - 6) * 1e6, `${name}: VLC played ${((last - first) / 1e6).toFixed(1)} s of media`);
      assert.ok(r.media >= 6, `${name}: ${r.media} media requests`);
    }
  });
});
