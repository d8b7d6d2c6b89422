// What a load generator needs to know about the live stream under test.
import { request } from 'undici';
import { sleep } from './stats.js';

export interface Hint {
  readonly tag: string;
  readonly msn: number;
  readonly part: number;
}

const HINT = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^/"]+)\/(\d+)\.(\d+)\.m4s"/;

/** The part a playlist's preload hint names (URI addressing). */
export function parseHint(playlist: string): Hint | undefined {
  const m = HINT.exec(playlist);
  return m ? { tag: m[1]!, msn: Number(m[2]), part: Number(m[3]) } : undefined;
}

const HINT_BYTES = Buffer.from('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="');

/** parseHint on the bytes of a response, without decoding the whole playlist (load clients). */
export function parseHintBytes(body: Buffer): Hint | undefined {
  const at = body.lastIndexOf(HINT_BYTES);
  if (at < 0) return undefined;
  const end = body.indexOf(0x22, at + HINT_BYTES.length);
  return parseHint(body.toString('latin1', at, end + 1));
}

export async function getText(url: string): Promise<{ status: number; text: string }> {
  const r = await request(url);
  return { status: r.statusCode, text: await r.body.text() };
}

/** Waits until the LL-HLS playlist lists `segments` complete segments; returns it. */
export async function waitForPlaylist(url: string, segments = 1, timeoutMs = 20_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await getText(url).catch(() => ({ status: 0, text: '' }));
    if (r.status === 200 && (r.text.match(/^#EXTINF/gm)?.length ?? 0) >= segments && parseHint(r.text)) return r.text;
    if (Date.now() > end) throw new Error(`${url} not ready: ${r.status} ${r.text.slice(0, 200)}`);
    await sleep(100);
  }
}

/** A gauge or counter from /metrics (summed over labels); NaN when the server has none. */
export async function metric(base: string, name: string): Promise<number> {
  const { status, text } = await getText(`${base}/metrics`);
  if (status !== 200) return NaN;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** What bench/http.ts passes a load client (bench/load/*.ts) as its one JSON argument. */
export interface ClientArgs {
  readonly host: string;
  readonly playbackPort: number;
  readonly ingestPort: number;
  readonly serverPid: number;
  readonly clients: number;
  readonly seconds: number;
  /** Media sent at once before real time: a full window on the origin; the floor keeps none. */
  readonly prefillSeconds: number;
}

export function clientArgs<T extends ClientArgs>(): T {
  return JSON.parse(process.argv[2]!) as T;
}
