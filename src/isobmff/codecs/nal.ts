import { malformed } from '../../errors.js';

/**
 * NAL unit length field size of an `avcC` (ISO/IEC 14496-15 5.3.3.1: lengthSizeMinusOne "shall
 * be one of 0, 1, or 3") or `hvcC` (8.3.3.1.2, the same rule) configuration record.
 */
export function nalLengthSize(kind: 'avc' | 'hevc', config: Buffer): number {
  const at = kind === 'avc' ? 4 : 21;
  if (config.length <= at) throw malformed(`${kind === 'avc' ? 'avcC' : 'hvcC'} is truncated`);
  const size = (config[at]! & 3) + 1;
  if (size === 3) throw malformed(`${kind === 'avc' ? 'avcC' : 'hvcC'} declares a NAL length size of 3 bytes (1, 2 or 4 allowed)`);
  return size;
}

/**
 * Checks that a length-prefixed sample (H.264/HEVC in ISO BMFF) is a whole number of non-empty
 * NAL units: every length field lies inside the sample and no NAL overruns it. Cost: one read
 * per NAL unit. The sample is `data[start, end)`.
 */
export function checkNalUnits(data: Buffer, start: number, end: number, lengthSize: number): void {
  let at = start;
  while (at < end) {
    if (at + lengthSize > end) throw malformed('a video sample ends inside a NAL length field');
    const len = data.readUIntBE(at, lengthSize);
    at += lengthSize;
    if (len === 0) throw malformed('a video sample holds an empty NAL unit');
    if (len > end - at) throw malformed(`a NAL unit of ${len} bytes overruns its ${end - start} byte sample`);
    at += len;
  }
}
