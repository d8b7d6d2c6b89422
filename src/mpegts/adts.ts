import { malformed } from '../errors.js';
import { parseAudioSpecificConfig } from '../isobmff/codecs/aac.js';

/** A 7-byte ADTS header template for a track (frame length patched per frame). */
export function adtsTemplate(asc: Buffer): Buffer {
  const c = parseAudioSpecificConfig(asc);
  // The profile field has 2 bits (AOT 1-4); HE-AAC (5) and HE-AACv2 (29) go out as their AAC-LC
  // core with the core sampling rate: SBR/PS are signalled implicitly.
  const aot = c.audioObjectType === 5 || c.audioObjectType === 29 ? 2 : c.audioObjectType;
  if (aot < 1 || aot > 4) throw malformed(`AAC object type ${c.audioObjectType} cannot be carried in ADTS`);
  if (c.samplingFrequencyIndex > 12) throw malformed('AAC with an explicit sampling frequency cannot be carried in ADTS');
  if (c.channelConfiguration === 0) throw malformed('AAC with a program config element cannot be carried in ADTS');
  const h = Buffer.alloc(7);
  h[0] = 0xff;
  h[1] = 0xf1; // MPEG-4, layer 0, no CRC
  h[2] = ((aot - 1) << 6) | (c.samplingFrequencyIndex << 2) | (c.channelConfiguration >> 2);
  h[3] = (c.channelConfiguration & 3) << 6;
  h[4] = 0;
  h[5] = 0x1f; // buffer fullness 0x7FF (VBR)
  h[6] = 0xfc;
  return h;
}

export const ADTS_HEADER = 7;

/** aac_frame_length has 13 bits. */
export function checkAdtsFrame(size: number): void {
  if (ADTS_HEADER + size > 0x1fff) throw malformed(`AAC frame of ${size} bytes is too large for ADTS`);
}

/** Writes the header for a frame of `size` raw bytes at `at` (checked with checkAdtsFrame). */
export function writeAdts(out: Buffer, at: number, template: Buffer, size: number): void {
  const frameLength = ADTS_HEADER + size;
  out[at] = template[0]!;
  out[at + 1] = template[1]!;
  out[at + 2] = template[2]!;
  out[at + 6] = template[6]!;
  out[at + 3] = (template[3]! & 0xc0) | (frameLength >> 11);
  out[at + 4] = (frameLength >> 3) & 0xff;
  out[at + 5] = ((frameLength & 7) << 5) | 0x1f;
}
