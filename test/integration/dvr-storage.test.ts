import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startChildOrigin, type ChildOrigin } from '../helpers/child-origin.js';
import { assertCarriesPushed, mediaPlaylist } from '../helpers/dvr.js';
import { LADDER, loadTracks } from '../helpers/feed.js';
import { completeSegments, get, resolve, sleep, waitFor } from '../helpers/hls.js';
import { HttpFeeder } from '../helpers/http-feed.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

/** Bytes of every file under `dir`. */
function diskUsage(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    n += st.isDirectory() ? diskUsage(p) : st.size;
  }
  return n;
}

async function metric(o: TestOrigin, name: string): Promise<number> {
  const text = (await get(`${o.playback}/metrics`)).body.toString();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').at(-1));
  return sum;
}

/** The media bytes the ladder fixtures carry per second (all three tracks). */
const LADDER_BYTES_PER_SECOND = (() => {
  let bytes = 0;
  const tracks = loadTracks(LADDER);
  for (const t of tracks) for (const r of t.runs) bytes += r.payload.length;
  return bytes / 8;
})();

describe('DVR storage', () => {
  const dirs: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const tempDir = (name: string): string => {
    const d = mkdtempSync(join(tmpdir(), `dvr-${name}-`));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('evicts by time: disk holds the DVR window, old segments answer 410, a reader in the middle of an evicted segment completes', async () => {
    const dir = tempDir('time');
    const o = await startOrigin({ dvr: { windowSeconds: 60, dataDir: dir, rollBytes: 1 << 16 }, window: { seconds: 20 }, ingest: { idleTimeoutMs: 600_000 } });
    const t0 = Math.floor(Date.now() / 1000) - 600;
    const feeder = new HttpFeeder(o.ingest, 'ev', loadTracks(LADDER), t0);
    cleanups.push(async () => {
      feeder.abort();
      await o.stop();
    });
    await feeder.pushUntil(240);
    const base = `${o.playback}/live/ev/v360/index.m3u8`;
    await waitFor('four minutes pushed', async () => ((await mediaPlaylist(base)).pl.segments.at(-1)!.programDateTime!.getTime() / 1000 - t0 > 230 ? true : undefined));
    await waitFor('the disk catches up', async () => (Math.abs(diskUsage(dir) - o.origin.streams.store.bytes) < 300_000 ? true : undefined));
    const used = diskUsage(dir);
    const expected = 64 * LADDER_BYTES_PER_SECOND;
    assert.ok(used < expected * 1.5 && used > expected * 0.6, `disk ${used} B for a 60 s window of ${Math.round(expected)} B`);
    assert.ok((await metric(o, 'origin_dvr_evicted_files_total{reason="time"}')) > 0);
    assert.ok((await metric(o, 'origin_dvr_evicted_bytes_total{reason="time"}')) > 1_000_000);

    const pl = completeSegments((await mediaPlaylist(`${base}?dvr=1`)).pl);
    const listed = pl.reduce((n, s) => n + s.duration, 0);
    assert.ok(Math.abs(listed - 60) <= 2, `dvr=1 lists the 60 s window: ${listed} s`);
    const gone = await get(resolve(base, pl[0]!.uri.replace(/\d+\.m4s$/, '1.m4s')));
    assert.equal(gone.status, 410, gone.body.toString());

    // A slow reader of the oldest segment, paused after its first bytes while the segment ages out.
    const oldest = resolve(base, pl[0]!.uri);
    const init = (await get(resolve(base, pl[0]!.map!.uri))).body;
    const body: Buffer[] = [];
    let length = 0;
    const done = new Promise<void>((ok, fail) => {
      const req = httpGet(oldest, { highWaterMark: 1024 } as object, (res) => {
        length = Number(res.headers['content-length']);
        res.once('data', (d: Buffer) => {
          body.push(d);
          res.pause();
          void (async () => {
            await feeder.pushUntil(feeder.position + 120);
            await waitFor('the segment is evicted', async () => ((await get(oldest)).status === 410 ? true : undefined));
            res.on('data', (x: Buffer) => body.push(x));
            res.resume();
          })().catch(fail);
        });
        res.on('end', ok);
        res.on('error', fail);
      });
      req.on('error', fail);
    });
    await done;
    const whole = Buffer.concat(body);
    assert.equal(whole.length, length, 'the whole segment arrived');
    assertCarriesPushed(whole, init, feeder, 'v360');
  });

  it('evicts by quota: the oldest media file goes first, the disk stays within the quota, live goes on', async () => {
    const dir = tempDir('quota');
    const quota = 3_000_000;
    const o = await startOrigin({ dvr: { windowSeconds: 7200, dataDir: dir, quotaBytes: quota, rollBytes: 1 << 16 }, window: { seconds: 20 }, ingest: { idleTimeoutMs: 600_000 } });
    const t0 = Math.floor(Date.now() / 1000) - 600;
    const feeder = new HttpFeeder(o.ingest, 'quota', loadTracks(LADDER), t0);
    cleanups.push(async () => {
      feeder.abort();
      await o.stop();
    });
    await feeder.pushUntil(300);
    const base = `${o.playback}/live/quota/v360/index.m3u8`;
    await waitFor('five minutes pushed', async () => ((await mediaPlaylist(base)).pl.segments.at(-1)!.programDateTime!.getTime() / 1000 - t0 > 290 ? true : undefined));
    await waitFor('the disk catches up', async () => (diskUsage(dir) <= quota + 3 * (1 << 16) ? true : undefined));
    assert.ok(o.origin.streams.store.bytes <= quota);
    assert.ok((await metric(o, 'origin_dvr_evicted_files_total{reason="quota"}')) > 10);
    const whole = await mediaPlaylist(`${base}?dvr=1`);
    const pl = completeSegments(whole.pl);
    const held = pl.reduce((n, s) => n + s.duration, 0);
    assert.ok(held > 20 && held < 70, `dvr=1 lists ${held} s (3 MB of ${Math.round(LADDER_BYTES_PER_SECOND)} B/s):\n${whole.text.split('\n').filter((l) => !l.startsWith('#EXT-X-PART:')).join('\n')}`);
    for (const s of pl.slice(0, 3)) assert.equal((await get(resolve(base, s.uri))).status, 200, 'the oldest listed segment is there');
    assert.equal((await get(resolve(base, pl[0]!.uri.replace(/\d+\.m4s$/, '2.m4s')))).status, 410);
    const live = completeSegments((await mediaPlaylist(base)).pl).at(-1)!;
    assert.equal((await get(resolve(base, live.uri))).status, 200);
  });

  it('a full disk: live goes on from memory, the DVR marks a gap, what is on disk stays whole', async (t) => {
    const dir = tempDir('full');
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1500k', 'tmpfs', dir], { stdio: 'pipe' });
      mounted = true;
      cleanups.push(() => void execFileSync('umount', ['-l', dir], { stdio: 'pipe' }));
    } catch {
      // No tmpfs (no privilege): the stream's folder is made impossible instead (a file in its place).
      t.diagnostic('tmpfs mount refused: the data folder is blocked by a file instead');
    }
    const o = await startOrigin({ dvr: { windowSeconds: 7200, dataDir: dir }, window: { seconds: 20 }, ingest: { idleTimeoutMs: 600_000 } });
    const t0 = Math.floor(Date.now() / 1000) - 600;
    const feeder = new HttpFeeder(o.ingest, 'full', loadTracks(LADDER), t0);
    cleanups.push(async () => {
      feeder.abort();
      await o.stop();
    });
    if (!mounted) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'full'), 'not a folder');
    }
    await feeder.pushUntil(120);
    const base = `${o.playback}/live/full/v360/index.m3u8`;
    await waitFor('two minutes pushed', async () => ((await mediaPlaylist(base)).pl.segments.at(-1)!.programDateTime!.getTime() / 1000 - t0 > 110 ? true : undefined));
    await waitFor('write errors', async () => ((await metric(o, 'origin_dvr_write_errors_total')) > 0 ? true : undefined));
    let settled = -1;
    await waitFor('the writes settle', async () => {
      const n = (await metric(o, 'origin_dvr_write_errors_total')) + (await metric(o, 'origin_dvr_written_bytes_total'));
      const same = n === settled;
      settled = n;
      return same ? true : undefined;
    }, 20_000, 300);
    // Live: the newest segments are served from memory.
    const live = completeSegments((await mediaPlaylist(base)).pl);
    const init = (await get(resolve(base, live.at(-1)!.map!.uri))).body;
    for (const s of live.slice(-3)) assertCarriesPushed((await get(resolve(base, s.uri))).body, init, feeder, 'v360');
    // The DVR: what could not be written is a gap once it left memory; what was written is whole.
    const { text, pl } = await waitFor('gaps in the DVR', async () => {
      const r = await mediaPlaylist(`${base}?dvr=1`);
      return r.text.includes('#EXT-X-GAP') ? r : undefined;
    });
    assert.ok(text.includes('#EXT-X-GAP'));
    const written = completeSegments(pl).filter((s) => !s.gap);
    if (mounted) assert.ok(written.length > 3, `${written.length} segments were written before the disk filled`);
    for (const s of written) {
      const r = await get(resolve(base, s.uri));
      assert.equal(r.status, 200, `${s.uri}: ${r.status} ${r.body.toString()}`);
      assertCarriesPushed(r.body, init, feeder, 'v360');
    }
    for (const s of completeSegments(pl).filter((x) => x.gap).slice(0, 3)) assert.equal((await get(resolve(base, s.uri))).status, 404, 'a gap has no bytes');
  });

  it('kill -9 while writing: the restart serves every whole record byte-identical at the same URLs, drops a torn one, and the stream goes on', async () => {
    const dir = tempDir('crash');
    const args = ['--dvr-window', '7200', '--data-dir', dir, '--window', '30'];
    let origin: ChildOrigin = await startChildOrigin({ args });
    cleanups.push(() => void origin.kill());
    const t0 = Math.floor(Date.now() / 1000) - 400;
    const feeder = new HttpFeeder(origin.ingest, 'crash', loadTracks(LADDER), t0, { keep: false });
    await feeder.pushUntil(240);
    const playlist = (track: string): string => `${origin.playback}/live/crash/${track}/index.m3u8?dvr=1`;
    await waitFor('four minutes pushed', async () => ((await mediaPlaylist(playlist('v360'))).pl.segments.filter((s) => s.uri).length > 110 ? true : undefined));
    const before = new Map<string, string>();
    for (const track of ['v360', 'v180', 'audio']) {
      const { pl } = await mediaPlaylist(playlist(track));
      for (const s of pl.segments.filter((x) => x.uri && !x.gap)) {
        const url = resolve(playlist(track), s.uri);
        before.set(new URL(url).pathname, createHash('sha1').update((await get(url)).body).digest('hex'));
      }
    }
    await sleep(500);
    // The push goes on at full speed (the origin is writing) and the origin dies mid-write.
    const burst = feeder.pushUntil(330).catch(() => {});
    await sleep(150);
    await origin.kill();
    await burst;
    feeder.abort();
    // And a record torn by the crash at the end of an index, with media bytes after the last whole one.
    const tag = readdirSync(join(dir, 'crash'))[0]!;
    const vdir = join(dir, 'crash', tag, 'v360');
    const idx = readdirSync(vdir).filter((n) => n.endsWith('.idx')).sort().at(-1)!;
    appendFileSync(join(vdir, idx), Buffer.alloc(37, 0xab));
    appendFileSync(join(vdir, idx.replace('.idx', '.cmf')), Buffer.alloc(5000, 0xcd));

    const restartedAt = Date.now();
    origin = await startChildOrigin({ args });
    const restored = origin.logs().find((l) => l.msg === 'DVR restored')!;
    assert.ok(restored, 'a DVR restored line');
    assert.equal(restored.streams, 1);
    console.log(`restart: ${restored.segments} segments (${restored.bytes} B) restored in ${restored.ms} ms; listening ${Date.now() - restartedAt} ms after spawn`);
    assert.deepEqual(origin.errorLines(), []);
    let served = 0;
    for (const [path, sha] of before) {
      const r = await get(`${origin.playback}${path}`);
      assert.equal(r.status, 200, `${path} after the restart: ${r.status} ${r.body.toString()}`);
      assert.equal(createHash('sha1').update(r.body).digest('hex'), sha, `${path} is byte-identical`);
      served++;
    }
    assert.ok(served > 300, `${served} segments compared`);
    const { pl: afterCrash } = await mediaPlaylist(playlist('v360'));
    const lastBefore = afterCrash.segments.filter((s) => s.uri).at(-1)!;

    // The encoder comes back with continuing timestamps: the next numbers, the downtime a gap.
    const resumed = new HttpFeeder(origin.ingest, 'crash', loadTracks(LADDER), t0, { keep: false });
    resumed.schedule.take(345);
    await resumed.pushUntil(380);
    cleanups.push(() => resumed.abort());
    const grown = await waitFor('the stream goes on', async () => {
      const r = await mediaPlaylist(playlist('v360'));
      const last = r.pl.segments.filter((s) => s.uri).at(-1)!;
      return last.programDateTime!.getTime() / 1000 - t0 > 370 ? r : undefined;
    });
    assert.ok(grown.pl.segments[0]!.uri === afterCrash.segments[0]!.uri, 'the same DVR, the same tag');
    assert.ok(grown.text.includes('#EXT-X-GAP'), 'the downtime is a gap');
    const numbers = grown.pl.segments.filter((s) => s.uri).map((s) => Number(/(\d+)\.m4s$/.exec(s.uri)![1]));
    for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i], numbers[i - 1]! + 1, 'consecutive numbers');
    assert.ok(numbers.at(-1)! > Number(/(\d+)\.m4s$/.exec(lastBefore.uri)![1]));
    await origin.stop();
  });
});
