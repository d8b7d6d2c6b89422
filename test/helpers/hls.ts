import HLS from 'hls-parser';
import { request } from 'undici';

HLS.setOptions({ strictMode: true });

export type MediaPlaylist = HLS.types.MediaPlaylist;
export type MasterPlaylist = HLS.types.MasterPlaylist;

/** Parses with hls-parser in strict mode: a spec violation it knows throws. */
export function parseMedia(text: string): MediaPlaylist {
  const pl = HLS.parse(text);
  if (pl.isMasterPlaylist) throw new Error('expected a media playlist');
  return pl as MediaPlaylist;
}

export function parseMaster(text: string): MasterPlaylist {
  const pl = HLS.parse(text);
  if (!pl.isMasterPlaylist) throw new Error('expected a multivariant playlist');
  return pl as MasterPlaylist;
}

/** Listed complete segments: hls-parser also lists the segment in production (parts, no URI). */
export function completeSegments(pl: MediaPlaylist): MediaPlaylist['segments'] {
  return pl.segments.filter((s) => s.uri !== '' && s.duration !== undefined);
}

export interface Fetched {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Fetched> {
  const res = await request(url, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

export async function getText(url: string): Promise<string> {
  const r = await get(url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body.toString()}`);
  return r.body.toString();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `probe` returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(everyMs);
  }
}

/** Resolves a URI against a base URL. */
export function resolve(base: string, uri: string): string {
  return new URL(uri, base).toString();
}

/** Resolves a URI against a base path (`/live/s/v1/`): the path and query it names. */
export function resolvePath(dir: string, uri: string): string {
  const u = new URL(uri, `http://origin${dir}`);
  return u.pathname + u.search;
}
