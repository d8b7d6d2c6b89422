import { malformed } from '../errors.js';
import { writeFullBoxHeader } from './boxes.js';
import { EMSG } from './fourcc.js';

/** A DASH event message box (ISO/IEC 23009-1 5.10.3.3), either version. */
export interface EmsgBox {
  readonly version: 0 | 1;
  readonly schemeIdUri: string;
  readonly value: string;
  readonly timescale: number;
  /** v1: presentation_time. v0: null (the time is relative, see presentationTimeDelta). */
  readonly presentationTime: bigint | null;
  /** v0: presentation_time_delta; v1: 0. */
  readonly presentationTimeDelta: number;
  readonly eventDuration: number;
  readonly id: number;
  readonly messageData: Buffer;
}

function cString(d: Buffer, at: number, end: number, what: string): [string, number] {
  const nul = d.indexOf(0, at);
  if (nul < 0 || nul >= end) throw malformed(`emsg ${what} is not null-terminated`);
  return [d.toString('utf8', at, nul), nul + 1];
}

/** Parses an emsg box (`data` is the whole box, its payload from `headerSize`). */
export function parseEmsg(data: Buffer, headerSize: number): EmsgBox {
  const end = data.length;
  let at = headerSize;
  if (end - at < 4) throw malformed('emsg is too short');
  const version = data[at]!;
  at += 4;
  if (version === 0) {
    const [schemeIdUri, a1] = cString(data, at, end, 'scheme_id_uri');
    const [value, a2] = cString(data, a1, end, 'value');
    if (end - a2 < 16) throw malformed('emsg v0 is too short');
    const timescale = data.readUInt32BE(a2);
    if (timescale === 0) throw malformed('emsg timescale is 0');
    return { version: 0, schemeIdUri, value, timescale, presentationTime: null, presentationTimeDelta: data.readUInt32BE(a2 + 4), eventDuration: data.readUInt32BE(a2 + 8), id: data.readUInt32BE(a2 + 12), messageData: data.subarray(a2 + 16) };
  }
  if (version === 1) {
    if (end - at < 20) throw malformed('emsg v1 is too short');
    const timescale = data.readUInt32BE(at);
    if (timescale === 0) throw malformed('emsg timescale is 0');
    const presentationTime = data.readBigUInt64BE(at + 4);
    const eventDuration = data.readUInt32BE(at + 12);
    const id = data.readUInt32BE(at + 16);
    const [schemeIdUri, a1] = cString(data, at + 20, end, 'scheme_id_uri');
    const [value, a2] = cString(data, a1, end, 'value');
    return { version: 1, schemeIdUri, value, timescale, presentationTime, presentationTimeDelta: 0, eventDuration, id, messageData: data.subarray(a2) };
  }
  throw malformed(`emsg version ${version} is not 0 or 1`);
}

/**
 * A version 1 emsg: `|emsg| v1 | timescale | presentation_time (64) | event_duration | id |
 * scheme_id_uri\0 | value\0 | message_data |`. Its time is absolute, so it stays right wherever
 * the chunk it precedes lands in a segment.
 */
export function writeEmsgV1(e: { schemeIdUri: string; value: string; timescale: number; presentationTime: bigint; eventDuration: number; id: number; messageData: Buffer }): Buffer {
  const scheme = Buffer.from(e.schemeIdUri + '\0', 'utf8');
  const value = Buffer.from(e.value + '\0', 'utf8');
  const size = 12 + 20 + scheme.length + value.length + e.messageData.length;
  const out = Buffer.allocUnsafe(size);
  let at = writeFullBoxHeader(out, 0, size, EMSG, 1, 0);
  out.writeUInt32BE(e.timescale >>> 0, at);
  out.writeBigUInt64BE(e.presentationTime, at + 4);
  out.writeUInt32BE(e.eventDuration >>> 0, at + 12);
  out.writeUInt32BE(e.id >>> 0, at + 16);
  at += 20;
  at += scheme.copy(out, at);
  at += value.copy(out, at);
  e.messageData.copy(out, at);
  return out;
}
