import { writeFullBoxHeader } from '../isobmff/boxes.js';
import { fourcc } from '../isobmff/fourcc.js';

const EMSG = fourcc('emsg');

export interface EventMessage {
  readonly schemeIdUri: string;
  readonly value: string;
  readonly timescale: number;
  readonly presentationTimeDelta: number;
  readonly eventDuration: number;
  readonly id: number;
  readonly messageData: Buffer;
}

/**
 * A version 0 `emsg` (ISO/IEC 23009-1 5.10.3.3):
 * ```
 * |emsg| v0 | scheme_id_uri\0 | value\0 | timescale | presentation_time_delta | event_duration | id | message_data |
 * ```
 */
export function writeEmsg(e: EventMessage): Buffer {
  const scheme = Buffer.from(e.schemeIdUri + '\0', 'utf8');
  const value = Buffer.from(e.value + '\0', 'utf8');
  const size = 12 + scheme.length + value.length + 16 + e.messageData.length;
  const out = Buffer.allocUnsafe(size);
  let at = writeFullBoxHeader(out, 0, size, EMSG, 0, 0);
  at += scheme.copy(out, at);
  at += value.copy(out, at);
  out.writeUInt32BE(e.timescale >>> 0, at);
  out.writeUInt32BE(e.presentationTimeDelta >>> 0, at + 4);
  out.writeUInt32BE(e.eventDuration >>> 0, at + 8);
  out.writeUInt32BE(e.id >>> 0, at + 12);
  e.messageData.copy(out, at + 16);
  return out;
}

