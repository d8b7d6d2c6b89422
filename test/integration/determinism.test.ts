import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AAC, ffmpeg, LIVE_SOURCE, X264 } from '../helpers/ffmpeg.js';
import { get, resolvePath, sleep, waitFor } from '../helpers/hls.js';
import { startIngestTee } from '../helpers/ingest-tee.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { startChildOrigin } from '../helpers/child-origin.js';
import { TeePush } from '../helpers/tee-push.js';

const PUSH_SECONDS = 20;
const PRFT = ['-write_prft', 'wallclock'];

/** The three ingest shapes, each pushing PUSH_SECONDS of the live test pattern to `base`. */
const SHAPES: Record<string, (base: string) => string[]> = {
  'one long PUT per output (-f mp4)': (base) => [
    ...LIVE_SOURCE, '-t', String(PUSH_SECONDS),
    '-map', '0:v', ...X264, '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', ...PRFT, '-method', 'PUT', `${base}/live/same/video.mp4`,
    '-map', '1:a', ...AAC, '-t', String(PUSH_SECONDS), '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', ...PRFT, '-method', 'PUT', `${base}/live/same/audio.mp4`,
  ],
  "ffmpeg's DASH push (-f dash -ldash 1)": (base) => [
    ...LIVE_SOURCE, '-t', String(PUSH_SECONDS),
    '-map', '0:v', '-map', '1:a', ...X264, ...AAC,
    '-f', 'dash', '-method', 'PUT', '-http_persistent', '1', '-ignore_io_errors', '1', '-ldash', '1', '-streaming', '1',
    '-use_template', '1', '-use_timeline', '0', '-seg_duration', '2', '-frag_type', 'duration', '-frag_duration', '0.2',
    '-adaptation_sets', 'id=0,streams=v id=1,streams=a', '-format_options', 'movflags=cmaf:write_prft=wallclock',
    `${base}/live/same/manifest.mpd`,
  ],
  'a PUT per segment (ffmpeg HLS push, fMP4)': (base) => [
    ...LIVE_SOURCE, '-t', String(PUSH_SECONDS),
    '-map', '0:v', '-map', '1:a', ...X264, ...AAC,
    '-f', 'hls', '-method', 'PUT', '-http_persistent', '1', '-hls_segment_type', 'fmp4', '-hls_time', '2', '-hls_fmp4_init_filename', 'init.mp4',
    '-hls_segment_options', 'write_prft=wallclock',
    '-hls_segment_filename', `${base}/live/same/v%v/seg_%05d.m4s`, '-var_stream_map', 'v:0,agroup:aud a:0,agroup:aud', '-master_pl_name', 'master.m3u8',
    `${base}/live/same/v%v/index.m3u8`,
  ],
};

/** Every URI a playlist names (media lines and the URI attributes of its tags). */
function urisOf(playlist: string): string[] {
  const out: string[] = [];
  for (const line of playlist.split('\n')) {
    if (line === '') continue;
    if (!line.startsWith('#')) out.push(line);
    else for (const m of line.matchAll(/URI="([^"]+)"/g)) out.push(m[1]!);
  }
  return out;
}

/** The same path from both origins: the bodies must be identical (and so the statuses). */
async function same(a: TestOrigin, b: TestOrigin, path: string, seen: Set<string>): Promise<string> {
  const [x, y] = await Promise.all([get(a.playback + path), get(b.playback + path)]);
  assert.equal(x.status, y.status, `${path}: ${x.status} vs ${y.status}`);
  assert.ok(x.body.equals(y.body), `${path} differs:\n--- A\n${x.body.toString('latin1').slice(0, 3000)}\n--- B\n${y.body.toString('latin1').slice(0, 3000)}`);
  seen.add(path.replace(/\/\d+(\.\d+)?\.(m4s|ts)$/, '/N.$2').replace(/_HLS_msn=\d+&_HLS_part=\d+/, '_HLS_msn'));
  return x.body.toString('latin1');
}

for (const [shape, args] of Object.entries(SHAPES)) {
  describe(`two origins fed one encoder (${shape})`, () => {
    const origins: TestOrigin[] = [];
    after(async () => {
      for (const o of origins) await o.stop();
    });

    it('publish byte-identical playlists, MPDs, HESP manifests, init segments, segments, parts and TS segments, blocking reloads included', async () => {
      const config = { ingest: { idleTimeoutMs: 1500 } };
      const [a, b] = await Promise.all([startOrigin(config), startOrigin(config)]);
      origins.push(a, b);
      const tee = await startIngestTee([a.ingest, b.ingest]);
      const push = ffmpeg(args(tee.url));
      const seen = new Set<string>();
      let blocking = 0;
      try {
        const ready = async (o: TestOrigin): Promise<boolean> => (await get(`${o.playback}/live/same/master.m3u8`)).status === 200;
        await waitFor('both origins to list segments', async () => ((await ready(a)) && (await ready(b)) ? true : undefined), 20_000);
        const master = await same(a, b, '/live/same/master.m3u8', seen);
        const playlists = urisOf(master);
        // While the push runs: blocking reloads for the next parts, held on both, answered alike;
        // and every object they list, fetched from both.
        const until = Date.now() + 12_000;
        while (Date.now() < until) {
          for (const uri of playlists) {
            const path = `/live/same/${uri}`;
            const now = (await get(a.playback + path)).body.toString('latin1');
            const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]*\/(\d+)\.(\d+)\.m4s"/.exec(now);
            if (!hint) continue;
            const text = await same(a, b, `${path}?_HLS_msn=${hint[1]}&_HLS_part=${hint[2]}`, seen);
            blocking++;
            const dir = path.slice(0, path.lastIndexOf('/') + 1);
            const listed = urisOf(text).filter((u) => !u.startsWith('../'));
            for (const u of listed.slice(-4)) await same(a, b, resolvePath(dir, u), seen);
          }
        }
        assert.equal(await push.exited, 0, push.stderr());
        // Once both streams are over, everything they publish, compared once more.
        await waitFor('both streams to end', async () => {
          const [x, y] = await Promise.all(playlists.map((u) => get(`${a.playback}/live/same/${u}`)).concat(playlists.map((u) => get(`${b.playback}/live/same/${u}`))));
          return [x, y].every((r) => r!.body.toString().includes('#EXT-X-ENDLIST')) ? true : undefined;
        }, 15_000);
        for (const m of ['master.m3u8', 'master-lhls.m3u8', 'master-ts.m3u8']) {
          const text = await same(a, b, `/live/same/${m}`, seen);
          for (const uri of urisOf(text)) {
            const path = `/live/same/${uri}`;
            const playlist = await same(a, b, path, seen);
            const dir = path.slice(0, path.lastIndexOf('/') + 1);
            for (const u of urisOf(playlist).filter((x) => !x.startsWith('../'))) await same(a, b, resolvePath(dir, u), seen);
          }
        }
        for (const m of ['manifest.mpd', 'manifest.mpd?mode=timeline', 'hesp.json']) await same(a, b, `/live/same/${m}`, seen);
        console.log(`# ${shape}: ${seen.size} kinds of URL identical on both origins; ${blocking} blocking reloads compared; ${tee.requests()} ingest requests copied`);
        for (const kind of ['.m4s', '.ts', 'init-', 'index.m3u8', 'lhls.m3u8', 'ts.m3u8', '_HLS_msn']) assert.ok([...seen].some((p) => p.includes(kind)), `compared some ${kind}`);
      } finally {
        push.kill();
        await tee.close();
        await sleep(100);
      }
    });
  });
}

/** How far apart two of ffmpeg's wall-clock prft boxes put the same media time (measured: about 10 ms). */
const PRFT_JITTER_MS = 50;

/** Video and audio muxed in one fragmented MP4 (tracks cam-v1 and cam-a2), prft on every fragment. */
const MUXED = [...LIVE_SOURCE, '-t', '60', '-map', '0:v', '-map', '1:a', ...X264, ...AAC, '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', ...PRFT];

/** MSN, PDT and bytes of every complete segment a media playlist lists. */
async function listed(o: { playback: string }, track: string): Promise<Map<number, { pdt: string; uri: string }>> {
  const text = (await get(`${o.playback}/live/join/${track}/index.m3u8`)).body.toString();
  const lines = text.split('\n');
  const first = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]);
  const out = new Map<number, { pdt: string; uri: string }>();
  let msn = first;
  let pdt = '';
  for (const line of lines) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = line.slice(25);
    if (line !== '' && !line.startsWith('#')) out.set(msn++, { pdt, uri: line });
  }
  return out;
}

describe('an origin that joins late, or restarts, while the encoder goes on', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('publishes, from its first complete segment on, the segments and numbers of one that saw everything, and program date-times within the prft jitter', async () => {
    const [a, b] = await Promise.all([startChildOrigin(), startChildOrigin()]);
    cleanup.push(async () => void (await a.stop()), async () => void (await b.stop()));
    const push = new TeePush(MUXED, [`${a.ingest}/live/join/cam.mp4`]);
    cleanup.push(() => push.stop());
    await sleep(8000);
    // The way a reconnecting encoder does: the init again, then from the next fragment on.
    push.attach(`${b.ingest}/live/join/cam.mp4`);
    await waitFor('B to list three segments', async () => ((await get(`${b.playback}/live/join/cam-v1/index.m3u8`)).body.toString().match(/\.m4s\n/g)?.length ?? 0) >= 3 || undefined, 20_000);
    const tagA = /([0-9a-z]+)\/init-/.exec((await get(`${a.playback}/live/join/cam-v1/index.m3u8`)).body.toString())![1];
    for (const track of ['cam-v1', 'cam-a2']) {
      const [la, lb] = await Promise.all([listed(a, track), listed(b, track)]);
      // B's first segment may be partial (it joined mid-segment): compare from its second on.
      const msns = [...lb.keys()].slice(1);
      assert.ok(msns.length >= 2, `${track}: B lists ${msns.length} complete segments after its first`);
      // Program date-times: each origin maps media time to the encoder's prft clock once, from the
      // first prft it saw (one mapping for every track, RFC 8216bis 6.2.4); ffmpeg's prft jitters
      // by a few ms from fragment to fragment, so B's mapping is A's shifted by that jitter.
      const shift = Date.parse(lb.get(msns[0]!)!.pdt) - Date.parse(la.get(msns[0]!)!.pdt);
      console.log(`# ${track}: B's program date-times are A's ${shift >= 0 ? '+' : ''}${shift} ms`);
      assert.ok(Math.abs(shift) <= PRFT_JITTER_MS, `${track}: B's program date-times are ${shift} ms from A's`);
      for (const msn of msns) {
        assert.equal(lb.get(msn)!.uri, la.get(msn)!.uri, `${track} ${msn}: the same URI on both`);
        assert.equal(Date.parse(lb.get(msn)!.pdt) - Date.parse(la.get(msn)!.pdt), shift, `${track} ${msn}: one mapping on each origin`);
        const uri = lb.get(msn)!.uri;
        assert.ok(uri.startsWith(`${tagA}/`), 'the same tag');
        const [x, y] = await Promise.all([get(`${a.playback}/live/join/${track}/${uri}`), get(`${b.playback}/live/join/${track}/${uri}`)]);
        assert.equal(x.status, 200);
        assert.ok(x.body.equals(y.body), `${track} ${msn}: the same bytes`);
      }
    }
  });

  it('after a SIGKILL and a restart, keeps its tag, continues the numbers and contradicts nothing it served', async () => {
    let o = await startChildOrigin();
    cleanup.push(async () => void (await o.stop()));
    const push = new TeePush(MUXED, [`${o.ingest}/live/join/cam.mp4`]);
    cleanup.push(() => push.stop());
    await waitFor('four segments', async () => ((await listed(o, 'cam-v1').catch(() => new Map())).size >= 4 ? true : undefined), 20_000);
    const before = await listed(o, 'cam-v1');
    const served = new Map<string, Buffer>();
    for (const { uri } of before.values()) served.set(uri, (await get(`${o.playback}/live/join/cam-v1/${uri}`)).body);
    const lastBefore = Math.max(...before.keys());
    const ports = { playback: o.playbackPort, ingest: o.ingestPort };
    await o.kill();
    o = await startChildOrigin({ ports });
    push.attach(`${o.ingest}/live/join/cam.mp4`);
    await waitFor('two segments after the restart', async () => ((await listed(o, 'cam-v1').catch(() => new Map())).size >= 2 ? true : undefined), 20_000);
    const after = await listed(o, 'cam-v1');
    const tag = (m: Map<number, { uri: string }>): string => [...m.values()][0]!.uri.split('/')[0]!;
    assert.equal(tag(after), tag(before), 'the same {tag}');
    assert.ok(Math.min(...after.keys()) > lastBefore, `numbers continue (${lastBefore} → ${Math.min(...after.keys())})`);
    // Every URL served before the kill: gone (no DVR here: 410 before the window) or the very same bytes.
    for (const [uri, body] of served) {
      const now = await get(`${o.playback}/live/join/cam-v1/${uri}`);
      assert.ok(now.status === 410 || now.status === 404 || now.body.equals(body), `${uri}: ${now.status}`);
    }
  });
});
