import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';

/** One ingest request of a regression case: a body PUT to a path, possibly cut after `dropAt` bytes. */
export interface Step {
  readonly put: string;
  readonly body: string;
  readonly dropAt?: number;
}

export interface ReplayOutcome {
  /** Status of each step's answer (0: no answer because the client cut the body). */
  readonly statuses: number[];
  /** Playback answers ≥ 500 or not answered in time, after the bodies. */
  readonly playbackFailures: string[];
}

export function readCase(folder: string): { steps: Step[]; bodies: Buffer[] } {
  const { steps } = JSON.parse(readFileSync(join(folder, 'steps.json'), 'utf8')) as { steps: Step[] };
  return { steps, bodies: steps.map((s) => readFileSync(join(folder, s.body))) };
}

/**
 * The longest EXT-X-TARGETDURATION the ingest's checks allow: a first segment cut at 6 s before
 * one more sample of at most 10 s (src/isobmff/validate.ts), with rounding. A segment that spans
 * a timestamp jump lasts hours and keeps a junk stream for twice that.
 */
export const MAX_TARGET_S = 17;

/** A media playlist's EXT-X-TARGETDURATION (0 without one). */
export function targetDurationOf(playlist: string): number {
  return Number(/^#EXT-X-TARGETDURATION:(\d+)/m.exec(playlist)?.[1] ?? 0);
}

/** What is wrong with a media playlist's durations: a target beyond MAX_TARGET_S, or an EXTINF that rounds above the target or is negative. */
export function durationProblem(playlist: string): string | null {
  const target = targetDurationOf(playlist);
  if (target > MAX_TARGET_S) return `EXT-X-TARGETDURATION ${target}`;
  for (const m of playlist.matchAll(/^#EXTINF:([-\d.]+)/gm)) {
    const d = Number(m[1]);
    if (!(d >= 0) || Math.round(d) > target) return `EXTINF ${m[1]} with EXT-X-TARGETDURATION ${target}`;
  }
  return null;
}

/** Sends the steps one after the other (each waits for its answer), then GETs every manifest of the streams they touched. */
export async function replay(ingest: string, playback: string, steps: readonly Step[], bodies: readonly Buffer[]): Promise<ReplayOutcome> {
  const agent = new Agent({ keepAlive: false });
  const statuses: number[] = [];
  for (let i = 0; i < steps.length; i++) statuses.push(await put(agent, ingest + steps[i]!.put, bodies[i]!, steps[i]!.dropAt));
  const streams = new Set(steps.map((s) => s.put.split('/')[2]!));
  const playbackFailures: string[] = [];
  for (const stream of streams) {
    for (const manifest of ['master.m3u8', 'master-lhls.m3u8', 'master-ts.m3u8', 'manifest.mpd', 'manifest.mpd?mode=timeline', 'hesp.json']) {
      const url = `${playback}/live/${stream}/${manifest}`;
      const { status, text } = await get(agent, url);
      if (status >= 500 || status < 0) playbackFailures.push(`${url} → ${status}`);
      if (status !== 200 || !manifest.startsWith('master')) continue;
      for (const uri of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
        const media = await get(agent, new URL(uri, url).href);
        const problem = media.status === 200 ? durationProblem(media.text) : null;
        if (media.status >= 500 || media.status < 0) playbackFailures.push(`${uri} → ${media.status}`);
        else if (problem) playbackFailures.push(`${uri}: ${problem}`);
      }
    }
  }
  agent.destroy();
  return { statuses, playbackFailures };
}

function put(agent: Agent, url: string, body: Buffer, dropAt: number | undefined): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'PUT', agent, headers: { 'transfer-encoding': 'chunked' } });
    const timer = setTimeout(() => {
      req.destroy();
      resolve(-1);
    }, 5000);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', () => {
      clearTimeout(timer);
      resolve(0);
    });
    if (dropAt === undefined) {
      req.end(body);
      return;
    }
    req.write(body.subarray(0, dropAt));
    setTimeout(() => {
      req.destroy();
      clearTimeout(timer);
      resolve(0);
    }, 50);
  });
}

function get(agent: Agent, url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('latin1') }));
    });
    req.setTimeout(5000, () => {
      req.destroy();
      resolve({ status: -1, text: '' });
    });
    req.on('error', () => resolve({ status: -2, text: '' }));
    req.end();
  });
}
