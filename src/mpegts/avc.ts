import { malformed } from '../errors.js';
export { parseAvcC, type AvcConfig } from '../isobmff/codecs/video.js';

export const START_CODE = Buffer.from([0, 0, 0, 1]);
/** access_unit_delimiter_rbsp with primary_pic_type 7 ("any"). */
export const AUD = Buffer.from([0, 0, 0, 1, 0x09, 0xf0]);

/** The NAL structure of one sample: how large it is in Annex B and what it already carries. */
export interface AvcSampleLayout {
  readonly nalCount: number;
  /** Bytes of the sample's NALs once each length field is a 4-byte start code. */
  readonly annexBSize: number;
  readonly startsWithAud: boolean;
  readonly hasParameterSets: boolean;
}

export function layoutAvcSample(data: Buffer, lengthSize: number): AvcSampleLayout {
  let at = 0;
  let nalCount = 0;
  let annexBSize = 0;
  let startsWithAud = false;
  let hasParameterSets = false;
  while (at < data.length) {
    if (at + lengthSize > data.length) throw malformed('H.264 sample ends inside a NAL length field');
    const len = data.readUIntBE(at, lengthSize);
    const nal = at + lengthSize;
    if (len === 0 || nal + len > data.length) throw malformed(`H.264 NAL of ${len} bytes overruns its sample`);
    const type = data[nal]! & 0x1f;
    if (nalCount === 0 && type === 9) startsWithAud = true;
    if (type === 7 || type === 8) hasParameterSets = true;
    nalCount++;
    annexBSize += 4 + len;
    at = nal + len;
  }
  return { nalCount, annexBSize, startsWithAud, hasParameterSets };
}

/** Writes a sample's NALs with start codes into `out` at `at`; returns the end offset. */
export function writeAnnexB(out: Buffer, at: number, data: Buffer, lengthSize: number): number {
  let src = 0;
  while (src < data.length) {
    const len = data.readUIntBE(src, lengthSize);
    out.writeUInt32BE(1, at);
    data.copy(out, at + 4, src + lengthSize, src + lengthSize + len);
    at += 4 + len;
    src += lengthSize + len;
  }
  return at;
}
