import { request } from 'node:http';

export interface LiveWatch {
  /** Stops after the requests in flight; resolves with what was seen. */
  stop(): Promise<LiveSummary>;
}

export interface LiveSummary {
  readonly firstMsn: number;
  readonly lastMsn: number;
  readonly blockingReloads: number;
  readonly tsSegments: number;
  /** Answers that were not 200 (status, 'cut' for a body cut short, 'timeout' after 20 s), with their URL. */
  readonly bad: string[];
}

/**
 * A viewer of the live stream while the ingest is fuzzed: in a loop, a blocking reload of the next
 * part of the LL-HLS playlist and the next MPEG-TS segment, both held by the origin until the
 * media exists. Every answer must be a 200 that ends cleanly.
 */
export function watchLive(playback: string, stream: string, track: string): LiveWatch {
  const base = `${playback}/live/${stream}/${track}/`;
  let running = true;
  let firstMsn = -1;
  let lastMsn = -1;
  let blockingReloads = 0;
  let tsSegments = 0;
  const bad: string[] = [];
  const get = (url: string): Promise<{ status: number | 'cut' | 'timeout'; text: string }> =>
    new Promise((resolve) => {
      // A held answer comes within three target durations, a held segment within two of its own.
      const timer = setTimeout(() => {
        req.destroy();
        resolve({ status: 'timeout', text: '' });
      }, 20_000);
      const req = request(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('latin1') }));
        res.on('aborted', () => resolve({ status: 'cut', text: '' }));
      });
      req.on('error', () => resolve({ status: 'cut', text: '' }));
      req.on('close', () => clearTimeout(timer));
      req.end();
    });
  const loop = (async () => {
    while (running) {
      const playlist = await get(`${base}index.m3u8`);
      const segments = [...playlist.text.matchAll(/^([a-z0-9]+)\/(\d+)\.m4s$/gm)];
      const newest = segments[segments.length - 1];
      if (playlist.status !== 200 || !newest) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const msn = Number(newest[2]);
      if (firstMsn < 0) firstMsn = msn;
      lastMsn = Math.max(lastMsn, msn);
      const [reload, ts] = await Promise.all([get(`${base}index.m3u8?_HLS_msn=${msn + 1}&_HLS_part=0`), get(`${base}${newest[1]}/${msn + 1}.ts`)]);
      blockingReloads++;
      tsSegments++;
      if (reload.status !== 200) bad.push(`reload ${msn + 1}: ${reload.status}`);
      if (ts.status !== 200) bad.push(`ts ${msn + 1}: ${ts.status}`);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { firstMsn, lastMsn, blockingReloads, tsSegments, bad };
    },
  };
}
