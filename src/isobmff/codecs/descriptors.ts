import { malformed } from '../../errors.js';

/** One MPEG-4 descriptor (ISO/IEC 14496-1 7.2.2) inside an `esds` payload. */
export interface Descriptor {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** Reads a descriptor header (tag + expandable size) at `at`. */
export function readDescriptor(buf: Buffer, at: number, limit: number): Descriptor {
  if (at >= limit) throw malformed('esds descriptor is truncated');
  const tag = buf[at]!;
  let size = 0;
  let p = at + 1;
  for (let i = 0; i < 4; i++) {
    if (p >= limit) throw malformed('esds descriptor size is truncated');
    const b = buf[p++]!;
    size = (size << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) break;
  }
  if (p + size > limit) throw malformed(`esds descriptor 0x${tag.toString(16)} overruns its box`);
  return { tag, start: p, end: p + size };
}

export interface DecoderConfig {
  readonly objectTypeIndication: number;
  readonly maxBitrate: number;
  readonly avgBitrate: number;
  readonly decoderSpecificInfo: Buffer | undefined;
}

/** Finds the DecoderConfigDescriptor (tag 4) and its DecoderSpecificInfo (tag 5) in an esds payload. */
export function parseEsds(buf: Buffer, start: number, end: number): DecoderConfig {
  const es = readDescriptor(buf, start, end);
  if (es.tag !== 0x03) throw malformed('esds does not start with an ES_Descriptor');
  let p = es.start;
  if (p + 3 > es.end) throw malformed('ES_Descriptor is truncated');
  const flags = buf[p + 2]!;
  p += 3;
  if (flags & 0x80) p += 2; // streamDependenceFlag
  if (flags & 0x40) p += 1 + (buf[p] ?? 0); // URL_Flag
  if (flags & 0x20) p += 2; // OCRstreamFlag
  while (p < es.end) {
    const d = readDescriptor(buf, p, es.end);
    if (d.tag === 0x04) {
      if (d.end - d.start < 13) throw malformed('DecoderConfigDescriptor is truncated');
      let info: Buffer | undefined;
      let q = d.start + 13;
      while (q < d.end) {
        const inner = readDescriptor(buf, q, d.end);
        if (inner.tag === 0x05) info = buf.subarray(inner.start, inner.end);
        q = inner.end;
      }
      return {
        objectTypeIndication: buf[d.start]!,
        maxBitrate: buf.readUInt32BE(d.start + 5),
        avgBitrate: buf.readUInt32BE(d.start + 9),
        decoderSpecificInfo: info,
      };
    }
    p = d.end;
  }
  throw malformed('esds has no DecoderConfigDescriptor');
}
