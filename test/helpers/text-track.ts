/**
 * CMAF text tracks as a packager writes them (ffmpeg 5.1 cannot: its mp4 muxer has no wvtt tag and
 * refuses TTML when fragmenting): WebVTT in ISO BMFF (`wvtt`, ISO/IEC 14496-30 7) and IMSC1 (`stpp`,
 * 14496-30 6), one header and 1 s fragments of samples that never straddle a second.
 */

import { request as httpRequest } from 'node:http';

export type TextFormat = 'wvtt' | 'stpp';

export interface Cue {
  /** Seconds on the media timeline (the same as the video's tfdt / timescale). */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly id?: string;
}

function box(type: string, ...payload: (Buffer | string)[]): Buffer {
  const body = Buffer.concat(payload.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function fullBox(type: string, version: number, flags: number, ...payload: (Buffer | string)[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version << 24) | flags) >>> 0, 0);
  return box(type, vf, ...payload);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeUInt16BE(v, 2 * i));
  return b;
}

const MATRIX = u32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000);

function packedLanguage(lang: string): number {
  const c = (i: number): number => (lang.charCodeAt(i) - 0x60) & 31;
  return (c(0) << 10) | (c(1) << 5) | c(2);
}

/** ftyp + moov of one text track (track_ID `trackId`, language in mdhd, BCP 47 in elng when given). */
export function textInit(format: TextFormat, options: { trackId?: number; timescale?: number; language?: string; elng?: string } = {}): Buffer {
  const trackId = options.trackId ?? 1;
  const timescale = options.timescale ?? 1000;
  const language = options.language ?? 'eng';
  const ftyp = box('ftyp', 'iso6', u32(0), 'iso6cmfc', format === 'wvtt' ? 'cwvt' : 'im1t');
  const mvhd = fullBox('mvhd', 0, 0, u32(0, 0, timescale, 0, 0x10000), u16(0x100, 0), u32(0, 0), MATRIX, u32(0, 0, 0, 0, 0, 0), u32(trackId + 1));
  const tkhd = fullBox('tkhd', 0, 3, u32(0, 0, trackId, 0, 0, 0, 0), u16(0, 0, 0, 0), MATRIX, u32(0, 0));
  const mdhd = fullBox('mdhd', 0, 0, u32(0, 0, timescale, 0), u16(packedLanguage(language), 0));
  const handler = format === 'wvtt' ? 'text' : 'subt';
  const hdlr = fullBox('hdlr', 0, 0, u32(0), handler, u32(0, 0, 0), format === 'wvtt' ? 'WebVTT\0' : 'IMSC1\0');
  const elng = options.elng ? [fullBox('elng', 0, 0, options.elng + '\0')] : [];
  const header = format === 'wvtt' ? fullBox('nmhd', 0, 0) : fullBox('sthd', 0, 0);
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const reserved = Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]);
  const entry =
    format === 'wvtt'
      ? box('wvtt', reserved, box('vttC', 'WEBVTT'), box('vlab', 'subtitles'))
      : box('stpp', reserved, 'http://www.w3.org/ns/ttml\0', '\0', '\0', fullBox('mime', 0, 0, 'application/ttml+xml;codecs=im1t\0'));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), entry),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0, 0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  const minf = box('minf', header, dinf, stbl);
  const mdia = box('mdia', mdhd, hdlr, ...elng, minf);
  const trak = box('trak', tkhd, mdia);
  const mvex = box('mvex', fullBox('trex', 0, 0, u32(trackId, 1, 0, 0, 0)));
  return Buffer.concat([ftyp, box('moov', mvhd, trak, mvex)]);
}

/** One WebVTT sample: a vttc box per cue active over the whole sample, or a vtte when none is. */
export function wvttSample(cues: readonly Cue[]): Buffer {
  if (cues.length === 0) return box('vtte');
  return Buffer.concat(cues.map((c) => box('vttc', ...(c.id ? [box('iden', c.id)] : []), box('payl', c.text))));
}

function clock(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3600000);
  const m = Math.floor(ms / 60000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
}

/** One IMSC1 sample: a TTML document whose times are on the track's media timeline. */
export function ttmlSample(cues: readonly Cue[], language: string): Buffer {
  const ps = cues.map((c) => `<p begin="${clock(c.start)}" end="${clock(c.end)}">${c.text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p>`).join('');
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter" ttp:profile="http://www.w3.org/ns/ttml/profile/imsc1/text" xml:lang="${language}"><body><div>${ps}</div></body></tt>\n`,
    'utf8',
  );
}

export interface TextSample {
  readonly duration: number;
  readonly data: Buffer;
}

/** moof + mdat of consecutive samples from `baseMediaDecodeTime` (sync samples unless `sampleFlags` says otherwise). */
export function textFragment(sequenceNumber: number, baseMediaDecodeTime: bigint, samples: readonly TextSample[], trackId = 1, sampleFlags = 0x02000000): Buffer {
  const mfhd = fullBox('mfhd', 0, 0, u32(sequenceNumber));
  const tfhd = fullBox('tfhd', 0, 0x020000, u32(trackId));
  const tfdt = fullBox('tfdt', 1, 0, Buffer.from(new BigUint64Array([baseMediaDecodeTime]).buffer).reverse());
  // data-offset, sample-duration, sample-size, sample-flags present.
  const entries = samples.map((s) => u32(s.duration, s.data.length, sampleFlags));
  const trunSize = 12 + 8 + 12 * samples.length;
  const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunSize;
  const trun = fullBox('trun', 0, 0x000701, u32(samples.length, moofSize + 8), ...entries);
  const moof = box('moof', mfhd, box('traf', tfhd, tfdt, trun));
  if (moof.length !== moofSize) throw new Error('moof size');
  return Buffer.concat([moof, box('mdat', ...samples.map((s) => s.data))]);
}

/**
 * The samples of `[from, to)` seconds: cut at every cue edge and every `step` seconds, each carrying
 * the cues active over it (so a cue spans samples, and no sample crosses a fragment boundary).
 */
export function textSamples(format: TextFormat, cues: readonly Cue[], from: number, to: number, options: { timescale?: number; step?: number; language?: string } = {}): TextSample[] {
  const ts = options.timescale ?? 1000;
  const step = options.step ?? 0.5;
  const edges = new Set<number>();
  for (let t = from; t < to - 1e-9; t += step) edges.add(Math.round(t * ts));
  for (const c of cues) for (const e of [c.start, c.end]) if (e > from && e < to) edges.add(Math.round(e * ts));
  edges.add(Math.round(to * ts));
  const points = [...edges].sort((a, b) => a - b);
  const out: TextSample[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i]! / ts;
    const b = points[i + 1]! / ts;
    const active = cues.filter((c) => c.start <= a + 1e-9 && c.end >= b - 1e-9);
    const data = format === 'wvtt' ? wvttSample(active) : ttmlSample(active, options.language ?? 'en');
    out.push({ duration: points[i + 1]! - points[i]!, data });
  }
  return out;
}

/** A cue every 2 s from 0.5 s to 1.5 s of each 2 s ("Cue 0", "Cue 1", …): `count` of them. */
export function periodicCues(count: number): Cue[] {
  return Array.from({ length: count }, (_, i) => ({ start: 2 * i + 0.5, end: 2 * i + 1.5, text: `Cue ${i}`, id: `c${i}` }));
}

/**
 * A packager's live text track over one chunked PUT: the header, then each 1 s fragment once the
 * wall clock passes its end (`zeroMs` is the wall clock of media time 0).
 */
export function pushTextTrack(url: string, format: TextFormat, options: { zeroMs: number; cues: readonly Cue[]; language: string; seconds: number }): { stop: () => Promise<void>; errors: Error[] } {
  const errors: Error[] = [];
  const req = httpRequest(url, { method: 'PUT', headers: { 'Content-Type': 'video/mp4', 'Transfer-Encoding': 'chunked' } });
  req.on('error', (err) => errors.push(err));
  req.on('response', (res) => res.resume());
  req.write(textInit(format, { language: options.language }));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let s = 0;
  const next = (): void => {
    if (stopped || s >= options.seconds) return;
    const due = options.zeroMs + (s + 1) * 1000;
    if (Date.now() < due) {
      timer = setTimeout(next, due - Date.now());
      return;
    }
    req.write(textFragment(s + 1, BigInt(s * 1000), textSamples(format, options.cues, s, s + 1, { language: options.language })));
    s++;
    next();
  };
  next();
  return {
    errors,
    stop: () =>
      new Promise<void>((resolve) => {
        stopped = true;
        clearTimeout(timer);
        req.end(resolve);
      }),
  };
}
