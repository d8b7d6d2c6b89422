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
      const status = await get(agent, url);
      if (status >= 500 || status < 0) playbackFailures.push(`${url} → ${status}`);
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

function get(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5000, () => {
      req.destroy();
      resolve(-1);
    });
    req.on('error', () => resolve(-2));
    req.end();
  });
}
