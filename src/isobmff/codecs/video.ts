import { malformed } from '../../errors.js';

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

/** RFC 6381 / ISO/IEC 14496-15 codecs parameter for `avc1`/`avc3`: profile, constraints, level. */
export function avcCodecString(sampleEntry: string, avcC: Buffer): string {
  if (avcC.length < 4) throw malformed('avcC is truncated');
  return `${sampleEntry}.${hex2(avcC[1]!)}${hex2(avcC[2]!)}${hex2(avcC[3]!)}`;
}

/**
 * ISO/IEC 14496-15 Annex E codecs parameter for `hvc1`/`hev1`:
 * `<entry>.<space><profile>.<compat reversed, hex>.<tier><level>[.<constraint bytes, trailing zeros dropped>]`.
 */
export function hevcCodecString(sampleEntry: string, hvcC: Buffer): string {
  if (hvcC.length < 13) throw malformed('hvcC is truncated');
  const b1 = hvcC[1]!;
  const space = ['', 'A', 'B', 'C'][b1 >> 6]!;
  const tier = b1 & 0x20 ? 'H' : 'L';
  const profile = b1 & 0x1f;
  const compat = hvcC.readUInt32BE(2);
  let reversed = 0;
  for (let i = 0; i < 32; i++) if (compat & (1 << i)) reversed |= 1 << (31 - i);
  const constraints: string[] = [];
  for (let i = 0; i < 6; i++) constraints.push(hvcC[6 + i]!.toString(16).toUpperCase());
  while (constraints.length > 0 && constraints[constraints.length - 1] === '0') constraints.pop();
  const level = hvcC[12]!;
  const head = `${sampleEntry}.${space}${profile}.${(reversed >>> 0).toString(16).toUpperCase()}.${tier}${level}`;
  return constraints.length > 0 ? `${head}.${constraints.join('.')}` : head;
}

/** What an H.264 access unit needs in Annex B: start codes, an AUD, the parameter sets at an IDR. */
export interface AvcConfig {
  /** NAL length field size in the samples (avcC lengthSizeMinusOne + 1). */
  readonly lengthSize: number;
  /** SPS and PPS from avcC, each behind a 4-byte start code. */
  readonly parameterSets: Buffer;
}

const ANNEX_B_START_CODE = Buffer.from([0, 0, 0, 1]);

export function parseAvcC(avcC: Buffer): AvcConfig {
  if (avcC.length < 7) throw malformed('avcC is truncated');
  const lengthSize = (avcC[4]! & 3) + 1;
  if (lengthSize === 3) throw malformed('avcC NAL length size 3 is not allowed');
  const sets: Buffer[] = [];
  let at = 5;
  const readSets = (count: number): void => {
    for (let i = 0; i < count; i++) {
      if (at + 2 > avcC.length) throw malformed('avcC parameter set is truncated');
      const len = avcC.readUInt16BE(at);
      if (at + 2 + len > avcC.length) throw malformed('avcC parameter set is truncated');
      sets.push(ANNEX_B_START_CODE, avcC.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
  };
  readSets(avcC[at++]! & 0x1f);
  if (at >= avcC.length) throw malformed('avcC has no PPS count');
  readSets(avcC[at++]!);
  return { lengthSize, parameterSets: Buffer.concat(sets) };
}

