import { ADTS_HEADER, writeAdts } from './adts.js';
import { AUDIO_PID, TS_PACKET, TS_PAYLOAD, VIDEO_PID } from './constants.js';
import type { PlannedPes } from './pes.js';

/** Next continuity_counter per elementary PID. */
export interface ContinuityState {
  video: number;
  audio: number;
}

export function pesHeaderLength(p: PlannedPes): number {
  return 9 + (p.pts === p.dts ? 5 : 10);
}

/** Adaptation field bytes in the first packet (length byte + flags [+ PCR]). */
function firstAdaptationBytes(p: PlannedPes): number {
  if (p.pcr !== null) return 8;
  return p.randomAccess ? 2 : 0;
}

/** TS packets a PES occupies: the minimum, plus its padding. */
export function packetCount(p: PlannedPes): number {
  const payload = pesHeaderLength(p) + p.esLength;
  const first = TS_PAYLOAD - firstAdaptationBytes(p);
  return (payload <= first ? 1 : 1 + Math.ceil((payload - first) / TS_PAYLOAD)) + p.pad;
}

function writeTimestamp(out: Buffer, at: number, prefix: number, t: number): void {
  const hi = Math.floor(t / 2 ** 30); // bits 32..30
  const mid = Math.floor(t / 2 ** 15) & 0x7fff;
  const lo = t & 0x7fff;
  out[at] = (prefix << 4) | (hi << 1) | 1;
  out[at + 1] = mid >> 7;
  out[at + 2] = ((mid & 0x7f) << 1) | 1;
  out[at + 3] = lo >> 7;
  out[at + 4] = ((lo & 0x7f) << 1) | 1;
}

function writePesHeader(out: Buffer, at: number, p: PlannedPes): number {
  const both = p.pts !== p.dts;
  const headerData = both ? 10 : 5;
  out[at] = 0;
  out[at + 1] = 0;
  out[at + 2] = 1;
  out[at + 3] = p.streamId;
  const length = 3 + headerData + p.esLength;
  // "PES_packet_length ... 0 ... only ... in a PES packet whose payload is a video elementary stream"
  out.writeUInt16BE(p.pid === VIDEO_PID || length > 0xffff ? 0 : length, at + 4);
  out[at + 6] = 0x80;
  out[at + 7] = both ? 0xc0 : 0x80;
  out[at + 8] = headerData;
  writeTimestamp(out, at + 9, both ? 3 : 2, p.pts);
  if (both) writeTimestamp(out, at + 14, 1, p.dts);
  return at + 9 + headerData;
}

/** Writes the elementary stream of a PES contiguously at `at`; returns the end offset. */
function writeEs(out: Buffer, at: number, p: PlannedPes): number {
  // Uint8Array#set: Buffer#copy costs a view allocation per call.
  for (const piece of p.pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  if (p.adts) {
    for (const frame of p.frames) {
      writeAdts(out, at, p.adts, frame.length);
      out.set(frame, at + ADTS_HEADER);
      at += ADTS_HEADER + frame.length;
    }
    return at;
  }
  const s = p.sample;
  if (!s) return at;
  if (s.lengthSize === 4) {
    // One copy of the access unit, then each 4-byte NAL length becomes a start code in place.
    out.set(s.data, at);
    const end = at + s.data.length;
    for (let n = at; n < end; ) {
      const len = out.readUInt32BE(n);
      out.writeUInt32BE(1, n);
      n += 4 + len;
    }
    return end;
  }
  let src = 0;
  while (src < s.data.length) {
    const len = s.data.readUIntBE(src, s.lengthSize);
    out.writeUInt32BE(1, at);
    at += 4 + s.data.copy(out, at + 4, src + s.lengthSize, src + s.lengthSize + len);
    src += s.lengthSize + len;
  }
  return at;
}

/**
 * Writes PES packets as TS packets into `out` from `at`. The PES bytes are laid out once at the
 * tail of their region, then each packet's share is moved down in place (its destination never
 * passes its source) and its header written in front: one copy of the media, one pass.
 */
function writePes(out: Buffer, at: number, p: PlannedPes, cc: ContinuityState): number {
  const packets = packetCount(p);
  const payload = pesHeaderLength(p) + p.esLength;
  const regionEnd = at + packets * TS_PACKET;
  let src = regionEnd - payload;
  const esStart = writePesHeader(out, src, p);
  writeEs(out, esStart, p);
  let remaining = payload;
  const pid = p.pid;
  for (let k = 0; k < packets; k++) {
    const base = at + k * TS_PACKET;
    const flags = k === 0 && (p.pcr !== null || p.randomAccess);
    const capacity = TS_PAYLOAD - (k === 0 ? firstAdaptationBytes(p) : 0);
    // Greedy from the front; every later packet keeps at least one byte (the padding ones).
    const take = Math.min(capacity, remaining - (packets - k - 1));
    const dst = base + TS_PACKET - take;
    out.copyWithin(dst, src, src + take);
    src += take;
    remaining -= take;
    const counter = pid === VIDEO_PID ? cc.video : cc.audio;
    out[base] = 0x47;
    out[base + 1] = (k === 0 ? 0x40 : 0) | (pid >> 8);
    out[base + 2] = pid & 0xff;
    const adaptation = take < TS_PAYLOAD || flags;
    out[base + 3] = (adaptation ? 0x30 : 0x10) | counter;
    if (pid === VIDEO_PID) cc.video = (counter + 1) & 15;
    else cc.audio = (counter + 1) & 15;
    if (!adaptation) continue;
    // Stuffing only through the adaptation field (never 0xFF in the payload).
    const afLength = TS_PAYLOAD - 1 - take;
    out[base + 4] = afLength;
    if (afLength === 0) continue;
    let a = base + 6;
    out[base + 5] = flags ? (p.randomAccess ? 0x40 : 0) | (p.pcr !== null ? 0x10 : 0) : 0;
    if (flags && p.pcr !== null) {
      const pcr = p.pcr;
      out.writeUInt32BE(Math.floor(pcr / 2), a);
      out[a + 4] = ((pcr & 1) << 7) | 0x7e;
      out[a + 5] = 0;
      a += 6;
    }
    out.fill(0xff, a, dst);
  }
  return regionEnd;
}

/** PAT and PMT as prebuilt packets; their continuity counters follow the segment number. */
export interface Psi {
  readonly pat: Buffer;
  readonly pmt: Buffer;
  readonly counter: number;
  /** Whole packets written right after the PMT (SCTE-35 sections). */
  readonly extra?: readonly Buffer[];
}

/** Gives memory for `size` bytes of output (at least `size` long; only that much is written). */
export type Allocate = (size: number) => Buffer;

/** Writes a run of TS: [PAT, PMT,] then the PES in order. Sizes first, one allocation. */
export function writeTs(pes: readonly PlannedPes[], cc: ContinuityState, psi: Psi | null, allocate: Allocate = Buffer.allocUnsafe): Buffer {
  let packets = psi ? 2 + (psi.extra?.length ?? 0) : 0;
  for (const p of pes) packets += packetCount(p);
  const size = packets * TS_PACKET;
  const memory = allocate(size);
  const out = memory.length === size ? memory : memory.subarray(0, size);
  let at = 0;
  if (psi) {
    out.set(psi.pat, 0);
    out.set(psi.pmt, TS_PACKET);
    out[3] = (out[3]! & 0xf0) | (psi.counter & 15);
    out[TS_PACKET + 3] = (out[TS_PACKET + 3]! & 0xf0) | (psi.counter & 15);
    at = 2 * TS_PACKET;
    for (const p of psi.extra ?? []) {
      out.set(p, at);
      at += TS_PACKET;
    }
  }
  for (const p of pes) at = writePes(out, at, p, cc);
  return out;
}

export { AUDIO_PID, VIDEO_PID };
