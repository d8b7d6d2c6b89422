import { crc32Mpeg } from './crc32.js';
import { CUEI_DESCRIPTOR, SCTE35_PID, STREAM_TYPE_SCTE35 } from './scte35.js';
import { AUDIO_PID, PAT_PID, PMT_PID, STREAM_TYPE_AAC_ADTS, STREAM_TYPE_H264, TS_PACKET, VIDEO_PID } from './constants.js';

/** Writes one PSI section in a TS packet (PUSI, pointer_field 0, 0xFF stuffing after the CRC). */
function psiPacket(pid: number, section: Buffer): Buffer {
  const p = Buffer.alloc(TS_PACKET, 0xff);
  p[0] = 0x47;
  p[1] = 0x40 | (pid >> 8);
  p[2] = pid & 0xff;
  p[3] = 0x10; // payload only, CC patched per segment
  p[4] = 0; // pointer_field
  section.copy(p, 5);
  const crc = crc32Mpeg(p, 5, 5 + section.length - 4);
  p.writeUInt32BE(crc, 5 + section.length - 4);
  return p;
}

/** PAT: one program (1) whose PMT is on PMT_PID. */
export function patPacket(): Buffer {
  const s = Buffer.alloc(16);
  s[0] = 0x00; // table_id
  s.writeUInt16BE(0xb000 | 13, 1); // section_syntax_indicator, '0', reserved, section_length
  s.writeUInt16BE(1, 3); // transport_stream_id
  s[5] = 0xc1; // reserved, version 0, current_next 1
  s[6] = 0; // section_number
  s[7] = 0; // last_section_number
  s.writeUInt16BE(1, 8); // program_number
  s.writeUInt16BE(0xe000 | PMT_PID, 10);
  return psiPacket(PAT_PID, s);
}

/**
 * PMT listing only the elementary streams the segment carries (Safari refuses a PMT that declares
 * a stream with no data, ossrs/srs#3619). PCR on the video PID, else on the audio PID.
 */
export function pmtPacket(video: boolean, audio: boolean, scte35 = false): Buffer {
  const entries = (video ? 1 : 0) + (audio ? 1 : 0) + (scte35 ? 1 : 0);
  const programInfo = scte35 ? CUEI_DESCRIPTOR : Buffer.alloc(0);
  const sectionLength = 13 + programInfo.length + 5 * entries;
  const s = Buffer.alloc(3 + sectionLength);
  s[0] = 0x02;
  s.writeUInt16BE(0xb000 | sectionLength, 1);
  s.writeUInt16BE(1, 3); // program_number
  // version_number 1 for the PMT that also lists the SCTE-35 PID (its content differs).
  s[5] = scte35 ? 0xc3 : 0xc1;
  s[6] = 0;
  s[7] = 0;
  s.writeUInt16BE(0xe000 | (video ? VIDEO_PID : AUDIO_PID), 8); // PCR_PID
  // SCTE 35 8.1: the CUEI registration_descriptor in the program_info loop (ffmpeg reads it there).
  s.writeUInt16BE(0xf000 | programInfo.length, 10);
  programInfo.copy(s, 12);
  let at = 12 + programInfo.length;
  if (video) {
    s[at] = STREAM_TYPE_H264;
    s.writeUInt16BE(0xe000 | VIDEO_PID, at + 1);
    s.writeUInt16BE(0xf000, at + 3);
    at += 5;
  }
  if (audio) {
    s[at] = STREAM_TYPE_AAC_ADTS;
    s.writeUInt16BE(0xe000 | AUDIO_PID, at + 1);
    s.writeUInt16BE(0xf000, at + 3);
    at += 5;
  }
  if (scte35) {
    s[at] = STREAM_TYPE_SCTE35;
    s.writeUInt16BE(0xe000 | SCTE35_PID, at + 1);
    s.writeUInt16BE(0xf000, at + 3);
  }
  return psiPacket(PMT_PID, s);
}
