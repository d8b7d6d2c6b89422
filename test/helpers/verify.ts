import assert from 'node:assert/strict';
import { run } from './ffmpeg.js';
import { completeSegments, get, getText, parseMaster, parseMedia, resolve, waitFor, type MediaPlaylist } from './hls.js';

/** Waits until every media playlist of a stream lists at least `n` segments. */
export async function waitForSegments(playback: string, stream: string, n: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${n} segments in every playlist of ${stream}`, async () => {
    const master = parseMaster(await getText(`${playback}/live/${stream}/master.m3u8`));
    const uris = [...master.variants.map((v) => v.uri), ...master.variants.flatMap((v) => v.audio.map((a) => a.uri!))];
    for (const uri of uris) {
      const pl = parseMedia(await getText(resolve(`${playback}/live/${stream}/master.m3u8`, uri)));
      if (completeSegments(pl).length < n) return undefined;
    }
    return true;
  }, timeoutMs, 200);
}

/**
 * Every playlist of the stream parses in strict mode, every listed segment and init answers 200
 * with the advertised Content-Length, and ffmpeg decodes 4 s of the multivariant playlist with
 * no error.
 */
export async function verifyHlsStream(playback: string, stream: string): Promise<{ playlists: Map<string, MediaPlaylist> }> {
  const masterUrl = `${playback}/live/${stream}/master.m3u8`;
  const master = parseMaster(await getText(masterUrl));
  assert.ok(master.variants.length > 0, 'the multivariant playlist has variants');
  const playlists = new Map<string, MediaPlaylist>();
  const uris = new Set([...master.variants.map((v) => v.uri), ...master.variants.flatMap((v) => v.audio.map((a) => a.uri!))]);
  for (const uri of uris) {
    const url = resolve(masterUrl, uri);
    const pl = parseMedia(await getText(url));
    playlists.set(uri, pl);
    assert.ok(completeSegments(pl).length > 0, `${uri} lists segments`);
    assert.ok(pl.mediaSequenceBase! >= 1, 'MEDIA-SEQUENCE starts at 1 or more');
    const first = pl.segments[0]!;
    const init = await get(resolve(url, first.map!.uri));
    assert.equal(init.status, 200);
    assert.equal(Number(init.headers['content-length']), init.body.length);
    const seg = await get(resolve(url, first.uri));
    assert.equal(seg.status, 200, `${first.uri}: ${seg.body.toString().slice(0, 200)}`);
    assert.equal(Number(seg.headers['content-length']), seg.body.length);
  }
  const decode = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', masterUrl, '-t', '4', '-f', 'null', '-'], 60_000);
  assert.equal(decode.code, 0, decode.stderr);
  assert.equal(decode.stderr.trim(), '', 'ffmpeg decodes without any error');
  return { playlists };
}
