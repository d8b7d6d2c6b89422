import { withPtsAdjustment, parseSpliceInfo } from '../scte35/splice.js';
import { TIMESTAMP_OFFSET, TS_PACKET } from './constants.js';

/** The PID of the SCTE-35 elementary stream (ANSI/SCTE 35 8.1: sections on a PID of their own). */
export const SCTE35_PID = 0x102;
/** ANSI/SCTE 35 8.1: "stream_type ... 0x86". */
export const STREAM_TYPE_SCTE35 = 0x86;
/** registration_descriptor (ISO/IEC 13818-1 2.6.8) with format_identifier 'CUEI' (SCTE 35 8.1). */
export const CUEI_DESCRIPTOR = Buffer.from([0x05, 0x04, 0x43, 0x55, 0x45, 0x49]);

/**
 * A cue's section as MPEG-TS carries it: the TS segments add TIMESTAMP_OFFSET to every media
 * timestamp, so pts_adjustment gains it too ("pts_adjustment ... added to the pts_time") and
 * pts_time + pts_adjustment is the PTS of the splice point in the TS.
 */
export function tsSection(section: Buffer): Buffer {
  const info = parseSpliceInfo(section);
  return withPtsAdjustment(section, info.ptsAdjustment + TIMESTAMP_OFFSET);
}

/**
 * Sections as TS packets on SCTE35_PID: each starts a packet (PUSI, pointer_field 0) and is
 * followed by 0xFF stuffing; continuity_counter from 0 in every segment.
 */
export function sectionPackets(sections: readonly Buffer[]): Buffer[] {
  const packets: Buffer[] = [];
  let counter = 0;
  for (const section of sections) {
    const payload = Buffer.concat([Buffer.from([0]), section]);
    for (let at = 0; at < payload.length; at += TS_PACKET - 4) {
      const p = Buffer.alloc(TS_PACKET, 0xff);
      p[0] = 0x47;
      p[1] = (at === 0 ? 0x40 : 0) | (SCTE35_PID >> 8);
      p[2] = SCTE35_PID & 0xff;
      p[3] = 0x10 | (counter & 15);
      counter++;
      payload.copy(p, 4, at, Math.min(payload.length, at + TS_PACKET - 4));
      packets.push(p);
    }
  }
  return packets;
}
