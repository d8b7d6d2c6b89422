import { crc32Mpeg } from '../../src/mpegts/crc32.js';

const WRAP = 2 ** 33;

export interface Pes {
  readonly pid: number;
  readonly pts: number;
  readonly dts: number;
  readonly randomAccess: boolean;
  readonly pcr: number | null;
  readonly es: Buffer;
}

export interface TsReport {
  readonly packets: number;
  readonly pmtStreams: { type: number; pid: number }[];
  readonly pcrPid: number;
  readonly pes: Pes[];
  /** continuity_counter each PID ends on (feed it to the next segment's check). */
  readonly cc: Map<number, number>;
  readonly errors: string[];
}

function readTimestamp(b: Buffer, at: number): number {
  return ((b[at]! >> 1) & 7) * 2 ** 30 + (b[at + 1]! << 22) + ((b[at + 2]! >> 1) << 15) + (b[at + 3]! << 7) + (b[at + 4]! >> 1);
}

/** Unwrapped difference b − a of two 33-bit timestamps. */
export function tsDiff(a: number, b: number): number {
  let d = (b - a) % WRAP;
  if (d > WRAP / 2) d -= WRAP;
  if (d < -WRAP / 2) d += WRAP;
  return d;
}

/**
 * An MPEG-TS checker of our own (ISO/IEC 13818-1 and the HLS rules the origin follows): packet
 * structure, PAT/PMT first with valid CRCs, continuity counters (continuing from `ccBefore`),
 * adaptation fields and stuffing, PES headers, PCR placement and spacing, AUD and parameter sets
 * in video, ADTS in audio.
 */
export function checkTs(buf: Buffer, ccBefore: Map<number, number> = new Map()): TsReport {
  const errors: string[] = [];
  const err = (m: string): void => {
    if (errors.length < 50) errors.push(m);
  };
  if (buf.length % 188 !== 0) err(`length ${buf.length} is not a multiple of 188`);
  const n = Math.floor(buf.length / 188);
  const cc = new Map(ccBefore);
  let pmtPid = -1;
  let pcrPid = -1;
  const pmtStreams: { type: number; pid: number }[] = [];
  const open = new Map<number, { header: { pts: number; dts: number }; randomAccess: boolean; pcr: number | null; parts: Buffer[]; declared: number }>();
  const pes: Pes[] = [];
  let lastPcr: number | null = null;

  const finish = (pid: number): void => {
    const o = open.get(pid);
    if (!o) return;
    open.delete(pid);
    const es = Buffer.concat(o.parts);
    if (o.declared > 0 && es.length !== o.declared) err(`PES on PID ${pid} declares ${o.declared} ES bytes, carries ${es.length}`);
    pes.push({ pid, pts: o.header.pts, dts: o.header.dts, randomAccess: o.randomAccess, pcr: o.pcr, es });
  };

  for (let i = 0; i < n; i++) {
    const p = buf.subarray(i * 188, i * 188 + 188);
    if (p[0] !== 0x47) {
      err(`packet ${i}: sync byte 0x${p[0]!.toString(16)}`);
      continue;
    }
    if (p[1]! & 0x80) err(`packet ${i}: transport_error_indicator set`);
    const pusi = (p[1]! & 0x40) !== 0;
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    const afc = (p[3]! >> 4) & 3;
    const counter = p[3]! & 15;
    if (afc === 0) err(`packet ${i}: adaptation_field_control 00`);
    if (afc & 1) {
      const expected = cc.has(pid) ? (cc.get(pid)! + 1) & 15 : counter;
      if (counter !== expected) err(`packet ${i}: PID ${pid} continuity_counter ${counter}, expected ${expected}`);
      cc.set(pid, counter);
    }
    let at = 4;
    let randomAccess = false;
    let pcr: number | null = null;
    if (afc & 2) {
      const afLength = p[4]!;
      if (afc === 3 && afLength > 182) err(`packet ${i}: adaptation_field_length ${afLength} > 182 with a payload`);
      if (afc === 2 && afLength !== 183) err(`packet ${i}: adaptation-only packet with length ${afLength}`);
      if (afLength > 0) {
        const flags = p[5]!;
        randomAccess = (flags & 0x40) !== 0;
        let f = 6;
        if (flags & 0x10) {
          pcr = p.readUInt32BE(6) * 2 + (p[10]! >> 7);
          f += 6;
          if (pid !== pcrPid) err(`packet ${i}: PCR on PID ${pid}, PCR_PID is ${pcrPid}`);
          if (lastPcr !== null) {
            const gap = tsDiff(lastPcr, pcr);
            if (gap < 0) err(`packet ${i}: PCR went back by ${-gap}`);
            if (gap > 9000) err(`packet ${i}: PCR ${gap / 90} ms after the previous one`);
          }
          lastPcr = pcr;
        }
        if (randomAccess && pid === pcrPid && !(flags & 0x10)) err(`packet ${i}: random_access_indicator on the PCR PID without a PCR`);
        for (let s = f; s < 5 + afLength; s++) if (p[s] !== 0xff) err(`packet ${i}: stuffing byte 0x${p[s]!.toString(16)}`);
      }
      at = 5 + afLength;
    }
    if (!(afc & 1)) continue;
    const payload = p.subarray(at);
    if (pid === 0) {
      if (i !== 0) err(`packet ${i}: PAT not first`);
      const sec = payload.subarray(1 + payload[0]!);
      const len = ((sec[1]! & 0x0f) << 8) | sec[2]!;
      if (crc32Mpeg(sec, 0, 3 + len - 4) !== sec.readUInt32BE(3 + len - 4)) err('PAT CRC');
      pmtPid = ((sec[10]! & 0x1f) << 8) | sec[11]!;
      continue;
    }
    if (pid === pmtPid) {
      if (i !== 1) err(`packet ${i}: PMT not second`);
      const sec = payload.subarray(1 + payload[0]!);
      const len = ((sec[1]! & 0x0f) << 8) | sec[2]!;
      if (crc32Mpeg(sec, 0, 3 + len - 4) !== sec.readUInt32BE(3 + len - 4)) err('PMT CRC');
      pcrPid = ((sec[8]! & 0x1f) << 8) | sec[9]!;
      const infoLen = ((sec[10]! & 0x0f) << 8) | sec[11]!;
      for (let e = 12 + infoLen; e < 3 + len - 4; ) {
        const esInfo = ((sec[e + 3]! & 0x0f) << 8) | sec[e + 4]!;
        pmtStreams.push({ type: sec[e]!, pid: ((sec[e + 1]! & 0x1f) << 8) | sec[e + 2]! });
        e += 5 + esInfo;
      }
      continue;
    }
    if (i < 2) err(`packet ${i}: PID ${pid} before PAT/PMT`);
    if (pusi) {
      finish(pid);
      if (payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) {
        err(`packet ${i}: PES start code missing`);
        continue;
      }
      const declared = payload.readUInt16BE(4);
      const flags = payload[7]!;
      const headerLen = payload[8]!;
      if (!(flags & 0x80)) err(`packet ${i}: PES without PTS`);
      const pts = readTimestamp(payload, 9);
      const dts = flags & 0x40 ? readTimestamp(payload, 14) : pts;
      if (flags & 0x40 && dts === pts) err(`packet ${i}: DTS written though equal to PTS`);
      if (pcr !== null && tsDiff(pcr, dts) < 0) err(`packet ${i}: PCR ${pcr} after DTS ${dts}`);
      open.set(pid, { header: { pts, dts }, randomAccess, pcr, parts: [payload.subarray(9 + headerLen)], declared: declared > 0 ? declared - 3 - headerLen : 0 });
    } else {
      const o = open.get(pid);
      if (!o) err(`packet ${i}: payload on PID ${pid} before any PES start`);
      else o.parts.push(payload);
    }
  }
  for (const pid of [...open.keys()]) finish(pid);
  if (pmtStreams.some((s) => !pes.some((x) => x.pid === s.pid))) err('PMT lists a stream that carries no data');

  for (const x of pes) {
    const isVideo = pmtStreams.find((s) => s.pid === x.pid)?.type === 0x1b;
    if (isVideo) {
      const nals = annexBTypes(x.es);
      if (nals[0] !== 9) err(`video PES at PTS ${x.pts} does not start with an AUD`);
      const idr = nals.indexOf(5);
      if (idr >= 0) {
        if (!(nals.indexOf(7) >= 0 && nals.indexOf(7) < idr && nals.indexOf(8) >= 0 && nals.indexOf(8) < idr)) err(`IDR at PTS ${x.pts} without SPS/PPS before it`);
        if (!x.randomAccess) err(`IDR at PTS ${x.pts} without random_access_indicator`);
      }
    } else {
      for (let at = 0; at < x.es.length; ) {
        if (x.es[at] !== 0xff || (x.es[at + 1]! & 0xf0) !== 0xf0) {
          err(`audio PES at PTS ${x.pts}: no ADTS sync at byte ${at}`);
          break;
        }
        const frameLength = ((x.es[at + 3]! & 3) << 11) | (x.es[at + 4]! << 3) | (x.es[at + 5]! >> 5);
        at += frameLength;
        if (at > x.es.length) err(`audio PES at PTS ${x.pts}: ADTS frame overruns the PES`);
      }
    }
  }
  return { packets: n, pmtStreams, pcrPid, pes, cc, errors };
}

/** NAL unit types of an Annex B byte stream, in order. */
export function annexBTypes(es: Buffer): number[] {
  const types: number[] = [];
  for (let i = 0; i + 3 < es.length; i++) {
    if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1) {
      types.push(es[i + 3]! & 0x1f);
      i += 3;
    }
  }
  return types;
}

/** Number of ADTS frames in an audio PES. */
export function adtsFrames(es: Buffer): number {
  let n = 0;
  for (let at = 0; at < es.length; n++) at += ((es[at + 3]! & 3) << 11) | (es[at + 4]! << 3) | (es[at + 5]! >> 5);
  return n;
}
