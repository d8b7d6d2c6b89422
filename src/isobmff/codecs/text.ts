import { malformed } from '../../errors.js';
import { findBox, requirePayload, type ChildBox } from '../boxes.js';
import { fourcc } from '../fourcc.js';

/** Handler types of timed text tracks: 'text' (WebVTT, ISO/IEC 14496-30 7.4), 'subt' (TTML, 6.4), 'sbtl' (3GPP/Apple). */
export const TEXT_HANDLERS = new Set(['text', 'subt', 'sbtl']);
export const TEXT_ENTRIES = new Set(['wvtt', 'stpp']);

const VTTC_CONFIG = fourcc('vttC');
const MIME = fourcc('mime');
const ELNG = fourcc('elng');

export interface TextEntry {
  /** RFC 6381 codecs parameter: `wvtt` or `stpp.ttml.{profile}` (ISO/IEC 14496-30 Annex A). */
  readonly codec: string;
  /** WebVTT: the vttC text (the file header, with any STYLE/REGION blocks); TTML: empty. */
  readonly config: Buffer;
}

/** Reads a `wvtt` or `stpp` sample entry (payload starts after the box header). */
export function parseTextEntry(buf: Buffer, entry: ChildBox, sampleEntry: string, trackId: number): TextEntry {
  // SampleEntry: reserved[6], data_reference_index (14496-12 8.5.2.2).
  requirePayload(entry, 8);
  if (sampleEntry === 'wvtt') {
    const vttC = findBox(buf, entry.payload + 8, entry.end, VTTC_CONFIG);
    if (!vttC) throw malformed(`wvtt sample entry of track ${trackId} has no vttC`);
    return { codec: 'wvtt', config: buf.subarray(vttC.payload, vttC.end) };
  }
  // XMLSubtitleSampleEntry: namespace, schema_location, auxiliary_mime_types (null-terminated), then boxes.
  let at = entry.payload + 8;
  const strings: string[] = [];
  for (let i = 0; i < 3 && at < entry.end; i++) {
    let end = buf.indexOf(0, at);
    if (end < 0 || end >= entry.end) end = entry.end;
    strings.push(buf.toString('utf8', at, end));
    at = end + 1;
  }
  if (strings.length === 0 || strings[0] === '') throw malformed(`stpp sample entry of track ${trackId} has no namespace`);
  let profiles = strings.join(' ');
  if (at < entry.end) {
    const mime = findBox(buf, at, entry.end, MIME);
    if (mime && mime.end > mime.payload + 4) profiles += ' ' + buf.toString('utf8', mime.payload + 4, mime.end).replace(/\0+$/, '');
  }
  const profile = /codecs="?([a-z0-9]{4})/i.exec(profiles)?.[1] ?? (/im1i|image/i.test(profiles) ? 'im1i' : 'im1t');
  return { codec: `stpp.ttml.${profile}`, config: Buffer.alloc(0) };
}

/** The extended language tag of a track (`elng` in `mdia`, BCP 47), when present. */
export function extendedLanguage(buf: Buffer, mdia: ChildBox): string | undefined {
  const elng = findBox(buf, mdia.payload, mdia.end, ELNG);
  if (!elng || elng.end - elng.payload < 5) return undefined;
  const text = buf.toString('utf8', elng.payload + 4, elng.end).replace(/\0.*$/s, '').trim();
  return /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(text) ? text : undefined;
}
