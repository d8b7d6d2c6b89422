/** Four-character codes as big-endian uint32, compared without building strings. */
export function fourcc(s: string): number {
  return ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
}

export function fourccToString(n: number): string {
  return String.fromCharCode((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Printable ASCII (or the '©' used by iTunes metadata) in every byte. */
export function isPrintableFourcc(n: number): boolean {
  for (let shift = 24; shift >= 0; shift -= 8) {
    const c = (n >>> shift) & 0xff;
    if ((c < 0x20 || c > 0x7e) && c !== 0xa9) return false;
  }
  return true;
}

export const FTYP = fourcc('ftyp');
export const STYP = fourcc('styp');
export const MOOV = fourcc('moov');
export const MVHD = fourcc('mvhd');
export const MVEX = fourcc('mvex');
export const MEHD = fourcc('mehd');
export const TREX = fourcc('trex');
export const TRAK = fourcc('trak');
export const TKHD = fourcc('tkhd');
export const MOOF = fourcc('moof');
export const MFHD = fourcc('mfhd');
export const TRAF = fourcc('traf');
export const TFHD = fourcc('tfhd');
export const TFDT = fourcc('tfdt');
export const TRUN = fourcc('trun');
export const MDAT = fourcc('mdat');
export const PRFT = fourcc('prft');
export const EMSG = fourcc('emsg');
export const SIDX = fourcc('sidx');
export const SSIX = fourcc('ssix');
export const FREE = fourcc('free');
export const SKIP = fourcc('skip');
export const UUID = fourcc('uuid');
export const MFRA = fourcc('mfra');
export const META = fourcc('meta');
export const UDTA = fourcc('udta');
export const PDIN = fourcc('pdin');
export const SBGP = fourcc('sbgp');
export const SGPD = fourcc('sgpd');
export const SUBS = fourcc('subs');
export const SAIZ = fourcc('saiz');
export const SAIO = fourcc('saio');
export const SENC = fourcc('senc');

/** Boxes that may open an ISO BMFF byte stream; anything else first means "not ISO BMFF". */
export const FIRST_BOX_TYPES: ReadonlySet<number> = new Set([FTYP, STYP, MOOV, MOOF, PRFT, EMSG, SIDX, FREE, SKIP, UUID, MFRA, META, PDIN]);

/** CMAF brands carried in `styp` that the ingest acts on. */
export const BRAND_LMSG = fourcc('lmsg');
export const BRAND_SLAT = fourcc('slat');
