import type { LoopTrack } from '../../src/demo/demo-source.js';
import { writeEmsg } from '../../src/hesp/emsg.js';
import { writeEmsgV1 } from '../../src/isobmff/emsg.js';
import { SCTE35_EMSG_SCHEME } from '../../src/scte35/cue.js';
import { LoopSchedule, runBytes, type ScheduledRun } from './feed.js';
import { push, type Push } from './push.js';

/** A SCTE-35 emsg (scheme urn:scte:scte35:2013:bin) of either version around a section. */
export function scteEmsg(
  version: 0 | 1,
  e: { id: number; section: Buffer; timescale: number; duration?: number } & ({ presentationTime: bigint } | { delta: number }),
): Buffer {
  const common = { schemeIdUri: SCTE35_EMSG_SCHEME, value: '', timescale: e.timescale, eventDuration: e.duration ?? 0xffffffff, id: e.id, messageData: e.section };
  if (version === 1) return writeEmsgV1({ ...common, presentationTime: 'presentationTime' in e ? e.presentationTime : 0n });
  return writeEmsg({ ...common, presentationTimeDelta: 'delta' in e ? e.delta : 0 });
}

/**
 * Real ffmpeg fragments (the looped fixture ladder, retimed) pushed over HTTP, one chunked PUT per
 * track, with boxes inserted before chosen fragments' moof (emsg, as an encoder would write them).
 */
export class EmsgPusher {
  readonly schedule: LoopSchedule;
  private readonly puts = new Map<string, Push>();

  constructor(
    private readonly ingest: string,
    private readonly stream: string,
    tracks: readonly LoopTrack[],
    /** tfdt of media time 0, in seconds. */
    readonly offsetSeconds: number,
    private readonly headers: Record<string, string> = {},
  ) {
    this.schedule = new LoopSchedule(tracks, offsetSeconds);
  }

  private put(track: LoopTrack): Push {
    let p = this.puts.get(track.name);
    if (!p) {
      p = push(this.ingest, 'PUT', `/live/${this.stream}/${track.name}.cmf${track.kind === 'video' ? 'v' : 'a'}`, track.init, { 'content-type': 'video/mp4', ...this.headers }, { open: true });
      this.puts.set(track.name, p);
    }
    return p;
  }

  /** Sends every fragment that ends by media time `seconds`, each preceded by what `before` returns for it. */
  pushUntil(seconds: number, before: (e: ScheduledRun, startSeconds: number) => Buffer[] = () => []): void {
    for (const e of this.schedule.take(seconds)) {
      const p = this.put(e.track);
      const start = Number(e.run.baseMediaDecodeTime) / e.track.timescale - this.offsetSeconds;
      for (const b of before(e, start)) p.write(b);
      for (const b of runBytes(e.run)) p.write(b);
    }
  }

  async end(): Promise<void> {
    for (const p of this.puts.values()) p.end();
    await Promise.all([...this.puts.values()].map((p) => p.answer));
    this.puts.clear();
  }
}

/** What a TS segment says of its SCTE-35 PID: the PMT's declaration and the sections on it. */
export interface TsScte35 {
  readonly cuei: boolean;
  readonly pid: number | null;
  readonly sections: Buffer[];
  /** PTS of the first video PES (PID 0x100) of the segment. */
  readonly firstVideoPts: number | null;
}

function pts(b: Buffer, at: number): number {
  return ((b[at]! >> 1) & 7) * 2 ** 30 + (b[at + 1]! << 22) + ((b[at + 2]! >> 1) << 15) + (b[at + 3]! << 7) + (b[at + 4]! >> 1);
}

/** Reads the PAT, the PMT (CUEI registration in program_info, stream_type 0x86) and the sections on that PID. */
export function readTsScte35(ts: Buffer): TsScte35 {
  let pmtPid = -1;
  let cuei = false;
  let pid: number | null = null;
  const sections: Buffer[] = [];
  let firstVideoPts: number | null = null;
  let pending: Buffer | null = null;
  for (let at = 0; at + 188 <= ts.length; at += 188) {
    const p = ts.subarray(at, at + 188);
    const id = ((p[1]! & 0x1f) << 8) | p[2]!;
    const pusi = (p[1]! & 0x40) !== 0;
    const afc = (p[3]! >> 4) & 3;
    let payload = 4;
    if (afc === 2) continue;
    if (afc === 3) payload += 1 + p[4]!;
    if (id === 0 && pusi) {
      const s = payload + 1 + p[payload]!;
      pmtPid = ((p[s + 10]! & 0x1f) << 8) | p[s + 11]!;
    } else if (id === pmtPid && pusi) {
      const s = payload + 1 + p[payload]!;
      const sectionLength = ((p[s + 1]! & 0x0f) << 8) | p[s + 2]!;
      const infoLength = ((p[s + 10]! & 0x0f) << 8) | p[s + 11]!;
      for (let d = s + 12; d < s + 12 + infoLength; d += 2 + p[d + 1]!) if (p[d] === 0x05 && p.toString('latin1', d + 2, d + 6) === 'CUEI') cuei = true;
      for (let e = s + 12 + infoLength; e < s + 3 + sectionLength - 4; ) {
        const type = p[e]!;
        const esPid = ((p[e + 1]! & 0x1f) << 8) | p[e + 2]!;
        if (type === 0x86) pid = esPid;
        e += 5 + (((p[e + 3]! & 0x0f) << 8) | p[e + 4]!);
      }
    } else if (pid !== null && id === pid) {
      if (pusi) {
        const s = payload + 1 + p[payload]!;
        pending = Buffer.from(p.subarray(s));
      } else if (pending) pending = Buffer.concat([pending, p.subarray(payload)]);
      if (pending && pending.length >= 3) {
        const length = 3 + (((pending[1]! & 0x0f) << 8) | pending[2]!);
        if (pending.length >= length) {
          sections.push(pending.subarray(0, length));
          pending = null;
        }
      }
    } else if (id === 0x100 && pusi && firstVideoPts === null) {
      firstVideoPts = pts(p, payload + 9);
    }
  }
  return { cuei, pid, sections, firstVideoPts };
}

/** The emsg boxes at the top level of a CMAF segment. */
export function topLevelEmsg(segment: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 8 <= segment.length; ) {
    const size = segment.readUInt32BE(at);
    if (size < 8) break;
    if (segment.toString('latin1', at + 4, at + 8) === 'emsg') out.push(segment.subarray(at, at + size));
    at += size;
  }
  return out;
}
