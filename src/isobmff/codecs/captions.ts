import type { SampleRun } from '../sample-run.js';

/** Closed captions found in video: CEA-608 (line 21, via cc_type 0/1) and CEA-708 (DTVCC, cc_type 2/3). */
export interface CaptionPresence {
  cea608: boolean;
  cea708: boolean;
}

const SEI_USER_DATA_REGISTERED = 4;
const GA94 = 0x47413934;

/** NAL unit payload without emulation prevention bytes (00 00 03 → 00 00). */
function unescapeRbsp(nal: Buffer): Buffer {
  if (nal.indexOf(Buffer.from([0, 0, 3])) < 0) return nal;
  const out = Buffer.allocUnsafe(nal.length);
  let n = 0;
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * Reads the SEI messages of one SEI NAL unit's RBSP and marks the ATSC A/53 caption data found:
 * user_data_registered_itu_t_t35 with country 0xB5, provider 0x0031, user_identifier 'GA94' and
 * user_data_type_code 3 (cc_data, ANSI/SCTE 128-1 8.1 / ATSC A/53 Part 4 6.2.3).
 */
function scanSei(rbsp: Buffer, found: CaptionPresence): void {
  let at = 0;
  while (at + 2 <= rbsp.length && rbsp[at] !== 0x80) {
    let type = 0;
    while (at < rbsp.length && rbsp[at] === 0xff) type += rbsp[at++]!;
    type += rbsp[at++] ?? 0;
    let size = 0;
    while (at < rbsp.length && rbsp[at] === 0xff) size += rbsp[at++]!;
    size += rbsp[at++] ?? 0;
    const end = Math.min(rbsp.length, at + size);
    if (type === SEI_USER_DATA_REGISTERED && end - at >= 10) {
      const p = at;
      if (rbsp[p] === 0xb5 && rbsp.readUInt16BE(p + 1) === 0x0031 && rbsp.readUInt32BE(p + 3) === GA94 && rbsp[p + 7] === 3) {
        const flags = rbsp[p + 8]!;
        const count = flags & 0x1f;
        for (let i = 0; i < count; i++) {
          const q = p + 10 + 3 * i;
          if (q + 3 > end) break;
          const b = rbsp[q]!;
          if ((b & 0x04) === 0) continue;
          if ((b & 0x03) < 2) found.cea608 = true;
          else found.cea708 = true;
        }
      }
    }
    at = end;
  }
}

/**
 * Marks the captions carried in the SEI NAL units of an H.264 or HEVC run's samples (NAL units
 * prefixed by `lengthSize`-byte lengths). Stops early once both kinds are seen.
 */
export function scanCaptions(run: SampleRun, lengthSize: number, hevc: boolean, found: CaptionPresence): void {
  const data = run.payload;
  let sampleAt = 0;
  for (let i = 0; i < run.sizes.length && !(found.cea608 && found.cea708); i++) {
    const end = Math.min(data.length, sampleAt + run.sizes[i]!);
    let at = sampleAt;
    while (at + lengthSize <= end) {
      let len = 0;
      for (let k = 0; k < lengthSize; k++) len = len * 256 + data[at + k]!;
      at += lengthSize;
      if (len === 0 || at + len > end) break;
      const header = data[at]!;
      const isSei = hevc ? ((header >> 1) & 0x3f) === 39 : (header & 0x1f) === 6;
      if (isSei) scanSei(unescapeRbsp(data.subarray(at + (hevc ? 2 : 1), at + len)), found);
      at += len;
    }
    sampleAt += run.sizes[i]!;
  }
}
