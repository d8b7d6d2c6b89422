import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SyntheticEncoder } from '../../bench/lib/encoder.js';
import { loadCorpus } from '../fuzz/corpus.js';
import { startChildOrigin, type ChildOrigin } from '../helpers/child-origin.js';
import { get, sleep, waitFor } from '../helpers/hls.js';
import { startOrigin } from '../helpers/origin.js';
import { push, type Push } from '../helpers/push.js';

const [v360] = loadCorpus(['ladder/v360.mp4']) as [ReturnType<typeof loadCorpus>[0]];

/** A GET whose body is read to the end: 'end' when it ended cleanly, 'cut' when the connection died first. */
function read(url: string): Promise<{ status: number; body: Buffer; outcome: 'end' | 'cut' }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    const req = request(url, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks), outcome: 'end' }));
      res.on('error', () => resolve({ status, body: Buffer.concat(chunks), outcome: 'cut' }));
    });
    req.on('error', () => resolve({ status, body: Buffer.concat(chunks), outcome: 'cut' }));
    req.end();
  });
}

/** A connection that sends a request and then never reads a byte of the answer. */
function neverRead(port: number, target: string): Socket {
  const s = connect({ port, host: '127.0.0.1' }, () => s.pause());
  s.on('error', () => {});
  s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return s;
}

/** Opens N connections that send a request head one header line every 300 ms and never finish it; prints when all are closed. */
const SLOWLORIS = `
const net = require('node:net');
const [port, n] = process.argv.slice(1).map(Number);
let open = 0, closed = 0, answered408 = 0, t0 = 0;
const sockets = [];
for (let i = 0; i < n; i++) {
  const s = net.connect({ port, host: '127.0.0.1' }, () => {
    if (++open === n) { t0 = Date.now(); console.log('open'); }
  });
  s.on('error', () => {});
  s.on('data', (d) => { if (d.toString().startsWith('HTTP/1.1 408')) answered408++; });
  s.on('close', () => { if (++closed === n) { console.log('closed ' + closed + ' answered408 ' + answered408 + ' after ' + (Date.now() - t0)); process.exit(0); } });
  s.write('GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n');
  sockets.push(s);
}
setInterval(() => sockets.forEach((s, i) => !s.destroyed && s.write('X-Slow-' + i + ': 1\\r\\n')), 300);
`;

function configFile(config: unknown): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'origin-faults-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function metric(base: string, pattern: RegExp): Promise<number> {
  const text = (await get(`${base}/metrics`)).body.toString();
  let n = 0;
  for (const m of text.matchAll(new RegExp(pattern.source, 'gm'))) n += Number(m[1]);
  return n;
}

describe('an upload killed mid-chunk while readers read', () => {
  it('aborts every reader of the growing segment, never ends it cleanly, and keeps earlier segments byte for byte', async () => {
    const o = await startOrigin();
    try {
      const upload = push(o.ingest, 'PUT', '/live/k/v.mp4', Buffer.concat([v360.init, ...v360.fragments.slice(0, 18)]), {}, { open: true });
      const track = await waitFor('segments', () => {
        const t = o.origin.streams.get('k')?.tracks.get('v');
        return t && t.lastMsn !== null && t.lastMsn >= 2 && t.openSegment ? t : undefined;
      });
      const tag = o.origin.streams.get('k')!.tag;
      const base = `${o.playback}/live/k/v/${tag}/`;
      const complete = track.segments().filter((s) => s.state === 'complete').map((s) => s.msn);
      const before = await Promise.all(complete.map(async (msn) => (await get(`${base}${msn}.m4s`)).body));
      const growing = track.openSegment!.msn;
      const readers = Array.from({ length: 20 }, () => read(`${base}${growing}.m4s`));
      await sleep(200);
      // Half of the next fragment (its moof and part of its mdat), then the encoder is gone.
      const next = v360.fragments[18]!;
      upload.write(next.subarray(0, Math.floor(next.length / 2)));
      await sleep(100);
      upload.destroy();
      const results = await Promise.all(readers);
      for (const r of results) {
        assert.equal(r.status, 200);
        assert.equal(r.outcome, 'cut', 'a reader of the growing segment sees the connection cut, never a clean end');
        assert.ok(r.body.length > 0, 'it got the chunks that had arrived');
      }
      for (const [i, msn] of complete.entries()) assert.ok((await get(`${base}${msn}.m4s`)).body.equals(before[i]!), `segment ${msn} unchanged`);
      // The cut segment keeps exactly the chunks that arrived (the half chunk is dropped), as served to the readers.
      const cut = await get(`${base}${growing}.m4s`);
      assert.equal(cut.status, 200);
      assert.ok(cut.body.equals(results[0]!.body));
      assert.equal(cut.headers['cache-control'], 'public, max-age=2');
    } finally {
      await o.stop();
    }
  });
});

describe('connections that hurt (origin in its own process)', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('2,000 readers that never read: RSS stays bounded, the stream goes on, stalled ones are cut', async () => {
    const config = configFile({ http: { maxUnsentBytes: 256 * 1024, stalledWriteMs: 2000 } });
    cleanup.push(config.remove);
    const o: ChildOrigin = await startChildOrigin({ args: ['--config', config.path], demo: true });
    cleanup.push(() => o.stop());
    // A 64 Mbit/s stream beside the demo: a 2 s segment (16 MB) is more than the kernel buffers
    // of a loopback connection take, so its readers' bytes queue in the origin.
    const encoder = new SyntheticEncoder({ bitsPerSecond: 64_000_000 });
    const big: Push = push(o.ingest, 'PUT', '/live/big/v.mp4', encoder.init, {}, { open: true });
    const pump = setInterval(() => big.write(Buffer.concat(encoder.next())), encoder.fragmentMs);
    cleanup.push(() => {
      clearInterval(pump);
      big.destroy();
    });
    const demo = await waitFor('the demo stream', async () => {
      const text = (await get(`${o.playback}/live/demo/v360/index.m3u8`)).body.toString();
      return /^([a-z0-9]+)\/(\d+)\.m4s$/m.test(text) ? text : undefined;
    });
    const tag = /^([a-z0-9]+)\/\d+\.m4s$/m.exec(demo)![1]!;
    const lastMsn = (text: string): number => Math.max(...[...text.matchAll(/^[a-z0-9]+\/(\d+)\.m4s$/gm)].map((m) => Number(m[1])));
    const startMsn = lastMsn(demo);
    await waitFor('the big stream', () => (o.alive() ? get(`${o.playback}/live/big/v/index.m3u8`).then((r) => (r.status === 200 ? true : undefined)) : undefined));
    const bigPlaylist = (await get(`${o.playback}/live/big/v/index.m3u8`)).body.toString();
    const bigTag = /^([a-z0-9]+)\/\d+\.m4s$/m.exec(bigPlaylist)![1]!;
    const rssBefore = o.rss();
    const sockets: Socket[] = [];
    for (let i = 0; i < 1980; i++) sockets.push(neverRead(o.playbackPort, `/live/demo/v360/${tag}/${startMsn + 1 + (i % 2)}.m4s`));
    for (let i = 0; i < 20; i++) sockets.push(neverRead(o.playbackPort, `/live/big/v/${bigTag}/${lastMsn(bigPlaylist) + 1}.m4s`));
    cleanup.push(() => sockets.forEach((s) => s.destroy()));
    let peak = rssBefore;
    const sample = setInterval(() => (peak = Math.max(peak, o.rss())), 200);
    await sleep(6000);
    clearInterval(sample);
    const now = (await get(`${o.playback}/live/demo/v360/index.m3u8`)).body.toString();
    const segment = await get(`${o.playback}/live/demo/v360/${tag}/${lastMsn(now)}.m4s`);
    const cut = await metric(o.playback, /^origin_connections_cut_total\{listener="playback",reason="[^"]+"\} (\d+)/);
    console.log(`2,000 readers that never read: RSS ${(rssBefore / 1e6).toFixed(0)} → peak ${(peak / 1e6).toFixed(0)} MB; demo MSN ${startMsn} → ${lastMsn(now)}; ${cut} connections cut`);
    assert.ok(o.alive(), o.output());
    assert.ok(lastMsn(now) >= startMsn + 2, `the demo stream went on: ${startMsn} → ${lastMsn(now)}`);
    assert.equal(segment.status, 200);
    assert.ok(peak < rssBefore + 200e6, `RSS ${rssBefore} → peak ${peak}`);
    assert.ok(cut >= 20, `the readers of the 64 Mbit/s stream were cut (${cut})`);
    assert.deepEqual(o.errorLines(), []);
  });

  it('2,000 slowloris connections: all closed after headersTimeout, a normal client served within 100 ms meanwhile', async () => {
    const config = configFile({ http: { headersTimeoutMs: 2000 } });
    cleanup.push(config.remove);
    const o = await startChildOrigin({ args: ['--config', config.path] });
    cleanup.push(() => o.stop());
    // The attacker in its own process, so its 2,000 sockets do not slow the client measured here.
    const attacker = spawn(process.execPath, ['-e', SLOWLORIS, String(o.playbackPort), '2000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(() => void attacker.kill('SIGKILL'));
    let report = '';
    attacker.stdout!.on('data', (d: Buffer) => (report += d.toString()));
    await waitFor('2,000 connections open', () => (report.includes('open') ? true : undefined), 10_000, 20);
    const latencies: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const r = await get(`${o.playback}/healthz`);
      latencies.push(performance.now() - t0);
      assert.equal(r.status, 200);
      await sleep(100);
    }
    const done = await waitFor('every slowloris connection closed', () => /closed (\d+) answered408 (\d+) after (\d+)/.exec(report) ?? undefined, 10_000);
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    console.log(`2,000 slowloris connections: all closed ${Number(done[3]) / 1000} s after they opened (${done[2]} with a 408); a normal request took ${median.toFixed(1)} ms (median), ${latencies.at(-1)!.toFixed(1)} ms (max)`);
    assert.equal(Number(done[1]), 2000);
    assert.ok(Number(done[3]) < 2000 + 2 * 500 + 1500, `closed after ${done[3]} ms`);
    assert.ok(median < 100, `median ${median} ms`);
    assert.ok(latencies.at(-1)! < 1000, `max ${latencies.at(-1)} ms`);
    assert.ok(Number(done[2]) > 1900, `${done[2]} were answered 408`);
    assert.ok(await metric(o.playback, /^origin_http_client_errors_total\{listener="playback",status="408"\} (\d+)/) > 1900);
    assert.ok(o.alive());
  });

  it('SIGTERM under 500 held requests: every one answered with the playlist, the growing reader cut, exit 0 within the grace', async () => {
    // 0.5 s parts: the 20 pushed fragments (4 s) leave segment 2 in production with a part to come
    // (0.215 s parts, one per 200 ms fragment, would end it exactly and hint segment 3).
    const o = await startChildOrigin({ args: ['--shutdown-grace', '2000', '--part-duration', '0.5'] });
    cleanup.push(() => o.stop());
    const upload = push(o.ingest, 'PUT', '/live/term/v.mp4', Buffer.concat([v360.init, ...v360.fragments.slice(0, 20)]), {}, { open: true });
    cleanup.push(() => upload.destroy());
    const playlist = await waitFor('a playlist', async () => {
      const r = await get(`${o.playback}/live/term/v/index.m3u8`);
      return r.status === 200 ? r.body.toString() : undefined;
    });
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([a-z0-9]+)\/(\d+)\.(\d+)\.m4s"/.exec(playlist)!;
    const held = Array.from({ length: 500 }, () => read(`${o.playback}/live/term/v/index.m3u8?_HLS_msn=${hint[2]}&_HLS_part=${hint[3]}`));
    const growing = read(`${o.playback}/live/term/v/${hint[1]}/${hint[2]}.m4s`);
    await waitFor('500 held requests', async () => ((await metric(o.playback, /^origin_held_requests (\d+)/)) >= 500 ? true : undefined), 10_000);
    const t0 = Date.now();
    o.signal('SIGTERM');
    const answers = await Promise.all(held);
    const code = await o.exited;
    const ms = Date.now() - t0;
    const reader = await growing;
    console.log(`SIGTERM under 500 held requests: all answered, exit ${code} after ${ms} ms`);
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(a.outcome, 'end');
      assert.match(a.body.toString(), /^#EXTM3U\n/);
    }
    assert.equal(reader.outcome, 'cut', 'the segment that never completed is cut, not ended');
    assert.equal(code, 0, o.output());
    assert.ok(ms < 2000 + 1500, `exited after ${ms} ms`);
  });
});
