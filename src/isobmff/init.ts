import { OriginError, malformed } from '../errors.js';
import { findBox, forEachBox, requirePayload, writeBoxHeader, type ChildBox } from './boxes.js';
import { aacCodecString, parseAudioSpecificConfig } from './codecs/aac.js';
import { parseEsds } from './codecs/descriptors.js';
import { nalLengthSize } from './codecs/nal.js';
import { avcCodecString, hevcCodecString, parseAvcC } from './codecs/video.js';
import { fourcc, fourccToString, FTYP, MOOV, MVEX, TRAK, TREX, TKHD } from './fourcc.js';
import type { TrackDefaults } from './fragment.js';

export type TrackKind = 'video' | 'audio';

/** What the origin knows about one track from its CMAF header. */
export interface TrackInfo {
  readonly trackId: number;
  readonly kind: TrackKind;
  readonly timescale: number;
  /** ISO 639-2/T code from mdhd ('und' when unset). */
  readonly language: string;
  readonly sampleEntry: string;
  /** RFC 6381 codecs parameter. */
  readonly codec: string;
  readonly width?: number;
  readonly height?: number;
  readonly sampleRate?: number;
  readonly channels?: number;
  /** avcC / hvcC payload, AudioSpecificConfig, or dOps payload. */
  readonly codecConfig: Buffer;
  readonly defaults: TrackDefaults;
  /** media_time of the first non-empty edit (elst), 0 without an edit list. */
  readonly editMediaTime: bigint;
  /** btrt or esds bit rates when the encoder declared them. */
  readonly declaredMaxBitrate?: number;
  readonly declaredAvgBitrate?: number;
  /** Size of the NAL unit length fields of H.264/HEVC samples (1, 2 or 4). */
  readonly nalLengthSize?: number;
}

/** A parsed CMAF header: ftyp + moov, one entry per track. */
export interface InitSegment {
  readonly ftyp: Buffer;
  readonly moov: Buffer;
  readonly moovHeaderSize: number;
  readonly tracks: readonly TrackInfo[];
}

const MDIA = fourcc('mdia');
const MDHD = fourcc('mdhd');
const HDLR = fourcc('hdlr');
const MINF = fourcc('minf');
const STBL = fourcc('stbl');
const STSD = fourcc('stsd');
const EDTS = fourcc('edts');
const ELST = fourcc('elst');
const AVCC = fourcc('avcC');
const HVCC = fourcc('hvcC');
const ESDS = fourcc('esds');
const DOPS = fourcc('dOps');
const BTRT = fourcc('btrt');

const VIDEO_ENTRIES = new Set(['avc1', 'avc3', 'hvc1', 'hev1']);
const AUDIO_ENTRIES = new Set(['mp4a', 'Opus']);

/** CMAF ftyp used when an encoder sends a moov without one. */
const DEFAULT_FTYP = Buffer.from([0, 0, 0, 0x18, ...Buffer.from('ftypiso6\0\0\0\0iso6cmfc', 'latin1')]);

/** A whole CMAF header file (`ftyp` `moov`), as stored: what a restart reads back. */
export function parseInitFile(bytes: Buffer): InitSegment {
  const ftyp = findBox(bytes, 0, bytes.length, FTYP);
  const moov = findBox(bytes, 0, bytes.length, MOOV);
  if (!moov) throw malformed('the CMAF header has no moov');
  return parseInit(ftyp ? bytes.subarray(ftyp.start, ftyp.end) : undefined, bytes.subarray(moov.start, moov.end), moov.payload - moov.start);
}

export function parseInit(ftyp: Buffer | undefined, moov: Buffer, moovHeaderSize = 8): InitSegment {
  const traks: ChildBox[] = [];
  const trexById = new Map<number, TrackDefaults>();
  forEachBox(moov, moovHeaderSize, moov.length, (box) => {
    if (box.type === TRAK) traks.push(box);
    else if (box.type === MVEX) {
      forEachBox(moov, box.payload, box.end, (child) => {
        if (child.type !== TREX) return;
        requirePayload(child, 24);
        const p = child.payload + 4;
        const d: TrackDefaults = {
          trackId: moov.readUInt32BE(p),
          sampleDescriptionIndex: moov.readUInt32BE(p + 4),
          sampleDuration: moov.readUInt32BE(p + 8),
          sampleSize: moov.readUInt32BE(p + 12),
          sampleFlags: moov.readUInt32BE(p + 16),
        };
        trexById.set(d.trackId, d);
      });
    }
  });
  if (traks.length === 0) throw malformed('moov without trak');
  if (trexById.size === 0) throw new OriginError('UNSUPPORTED_MEDIA', 'moov without mvex: not a fragmented MP4 (use -movflags +frag_keyframe+empty_moov)');
  const tracks = traks.map((trak) => parseTrak(moov, trak, trexById));
  return { ftyp: ftyp ?? DEFAULT_FTYP, moov, moovHeaderSize, tracks };
}

function parseTrak(buf: Buffer, trak: ChildBox, trexById: Map<number, TrackDefaults>): TrackInfo {
  const tkhd = child(buf, trak, TKHD, 'trak');
  requirePayload(tkhd, 24);
  const tkhdVersion = buf[tkhd.payload];
  const trackId = buf.readUInt32BE(tkhd.payload + (tkhdVersion === 1 ? 20 : 12));
  const mdia = child(buf, trak, MDIA, 'trak');
  const mdhd = child(buf, mdia, MDHD, 'mdia');
  const mdhdVersion = buf[mdhd.payload];
  requirePayload(mdhd, mdhdVersion === 1 ? 34 : 22);
  const timescale = buf.readUInt32BE(mdhd.payload + (mdhdVersion === 1 ? 20 : 12));
  if (timescale === 0) throw malformed(`track ${trackId} has timescale 0`);
  const langBits = buf.readUInt16BE(mdhd.payload + (mdhdVersion === 1 ? 32 : 20));
  const language = langBits === 0 ? 'und' : String.fromCharCode(((langBits >> 10) & 31) + 0x60, ((langBits >> 5) & 31) + 0x60, (langBits & 31) + 0x60);
  const hdlr = child(buf, mdia, HDLR, 'mdia');
  requirePayload(hdlr, 12);
  const handler = fourccToString(buf.readUInt32BE(hdlr.payload + 8));
  const stbl = child(buf, child(buf, child(buf, mdia, MINF, 'mdia'), STBL, 'minf'), STSD, 'stbl');
  requirePayload(stbl, 8);
  if (buf.readUInt32BE(stbl.payload + 4) === 0) throw malformed(`track ${trackId} has no sample entry`);
  let entry: ChildBox | undefined;
  forEachBox(buf, stbl.payload + 8, stbl.end, (box) => {
    entry = box;
    return false;
  });
  if (!entry) throw malformed(`track ${trackId} has no sample entry`);
  const sampleEntry = fourccToString(entry.type);
  const defaults = trexById.get(trackId);
  if (!defaults) throw malformed(`track ${trackId} has no trex in mvex`);
  const editMediaTime = readEditMediaTime(buf, trak);

  if (handler === 'vide') {
    if (!VIDEO_ENTRIES.has(sampleEntry)) throw unsupported(trackId, sampleEntry);
    requirePayload(entry, 78);
    const width = buf.readUInt16BE(entry.payload + 24);
    const height = buf.readUInt16BE(entry.payload + 26);
    const isAvc = sampleEntry.startsWith('avc');
    const config = findBox(buf, entry.payload + 78, entry.end, isAvc ? AVCC : HVCC);
    if (!config) throw malformed(`${sampleEntry} sample entry of track ${trackId} has no ${isAvc ? 'avcC' : 'hvcC'}`);
    const codecConfig = buf.subarray(config.payload, config.end);
    const nalLength = isAvc ? parseAvcC(codecConfig).lengthSize : nalLengthSize('hevc', codecConfig);
    const btrt = readBtrt(buf, entry.payload + 78, entry.end);
    return {
      trackId,
      kind: 'video',
      timescale,
      language,
      sampleEntry,
      codec: isAvc ? avcCodecString(sampleEntry, codecConfig) : hevcCodecString(sampleEntry, codecConfig),
      width,
      height,
      codecConfig,
      nalLengthSize: nalLength,
      defaults,
      editMediaTime,
      ...btrt,
    };
  }
  if (handler === 'soun') {
    if (!AUDIO_ENTRIES.has(sampleEntry)) throw unsupported(trackId, sampleEntry);
    requirePayload(entry, 28);
    const entryChannels = buf.readUInt16BE(entry.payload + 16);
    const childrenAt = entry.payload + 28;
    const btrt = readBtrt(buf, childrenAt, entry.end);
    if (sampleEntry === 'mp4a') {
      const esds = findBox(buf, childrenAt, entry.end, ESDS);
      if (!esds) throw malformed(`mp4a sample entry of track ${trackId} has no esds`);
      const dc = parseEsds(buf, esds.payload + 4, esds.end);
      if (dc.objectTypeIndication !== 0x40) {
        throw new OriginError('UNSUPPORTED_MEDIA', `unsupported codec: mp4a object type 0x${dc.objectTypeIndication.toString(16)} on track ${trackId} (only MPEG-4 AAC, 0x40)`);
      }
      if (!dc.decoderSpecificInfo) throw malformed(`AAC track ${trackId} has no AudioSpecificConfig`);
      const asc = parseAudioSpecificConfig(dc.decoderSpecificInfo);
      return {
        trackId,
        kind: 'audio',
        timescale,
        language,
        sampleEntry,
        codec: aacCodecString(asc),
        sampleRate: asc.outputSamplingFrequency,
        channels: asc.channels || entryChannels,
        codecConfig: dc.decoderSpecificInfo,
        defaults,
        editMediaTime,
        declaredMaxBitrate: btrt.declaredMaxBitrate ?? (dc.maxBitrate || undefined),
        declaredAvgBitrate: btrt.declaredAvgBitrate ?? (dc.avgBitrate || undefined),
      };
    }
    const dops = findBox(buf, childrenAt, entry.end, DOPS);
    if (!dops) throw malformed(`Opus sample entry of track ${trackId} has no dOps`);
    requirePayload(dops, 11);
    return {
      trackId,
      kind: 'audio',
      timescale,
      language,
      sampleEntry,
      codec: 'opus',
      sampleRate: 48000,
      channels: buf[dops.payload + 1] || entryChannels,
      codecConfig: buf.subarray(dops.payload, dops.end),
      defaults,
      editMediaTime,
      ...btrt,
    };
  }
  throw new OriginError('UNSUPPORTED_MEDIA', `unsupported track ${trackId}: handler '${handler}' with sample entry '${sampleEntry}' (video and audio only)`);
}

function unsupported(trackId: number, sampleEntry: string): OriginError {
  return new OriginError('UNSUPPORTED_MEDIA', `unsupported codec '${sampleEntry}' on track ${trackId} (accepted: avc1, avc3, hvc1, hev1, mp4a AAC, Opus)`);
}

function child(buf: Buffer, parent: ChildBox, type: number, parentName: string): ChildBox {
  const box = findBox(buf, parent.payload, parent.end, type);
  if (!box) throw malformed(`${parentName} without ${fourccToString(type)}`);
  return box;
}

function readBtrt(buf: Buffer, start: number, end: number): { declaredMaxBitrate?: number; declaredAvgBitrate?: number } {
  const btrt = findBox(buf, start, end, BTRT);
  if (!btrt || btrt.end - btrt.payload < 12) return {};
  const max = buf.readUInt32BE(btrt.payload + 4);
  const avg = buf.readUInt32BE(btrt.payload + 8);
  return { ...(max ? { declaredMaxBitrate: max } : {}), ...(avg ? { declaredAvgBitrate: avg } : {}) };
}

function readEditMediaTime(buf: Buffer, trak: ChildBox): bigint {
  const edts = findBox(buf, trak.payload, trak.end, EDTS);
  if (!edts) return 0n;
  const elst = findBox(buf, edts.payload, edts.end, ELST);
  if (!elst) return 0n;
  requirePayload(elst, 8);
  const version = buf[elst.payload];
  const count = buf.readUInt32BE(elst.payload + 4);
  const entrySize = version === 1 ? 20 : 12;
  requirePayload(elst, 8 + count * entrySize);
  for (let i = 0; i < count; i++) {
    const p = elst.payload + 8 + i * entrySize;
    const mediaTime = version === 1 ? buf.readBigInt64BE(p + 8) : BigInt(buf.readInt32BE(p + 4));
    if (mediaTime >= 0n) return mediaTime;
  }
  return 0n;
}

/**
 * The CMAF header of one track of a (possibly muxed) init segment: ftyp + moov keeping mvhd,
 * that track's trak, mvex with that track's trex, and every other non-trak child as it was.
 */
export function singleTrackInit(init: InitSegment, trackId: number): Buffer {
  const { moov, ftyp } = init;
  if (init.tracks.length === 1) return Buffer.concat([ftyp, moov]);
  const keep: { start: number; end: number }[] = [];
  let mvex: ChildBox | undefined;
  let mvexAt = -1;
  forEachBox(moov, init.moovHeaderSize, moov.length, (box) => {
    if (box.type === TRAK) {
      const tkhd = findBox(moov, box.payload, box.end, TKHD);
      if (!tkhd) return;
      const id = moov.readUInt32BE(tkhd.payload + (moov[tkhd.payload] === 1 ? 20 : 12));
      if (id === trackId) keep.push({ start: box.start, end: box.end });
    } else if (box.type === MVEX) {
      mvex = box;
      mvexAt = keep.length;
      keep.push({ start: box.start, end: box.start });
    } else {
      keep.push({ start: box.start, end: box.end });
    }
  });
  const mvexChildren: { start: number; end: number }[] = [];
  if (mvex) {
    forEachBox(moov, mvex.payload, mvex.end, (box) => {
      if (box.type === TREX && moov.readUInt32BE(box.payload + 4) !== trackId) return;
      mvexChildren.push({ start: box.start, end: box.end });
    });
  }
  const mvexSize = 8 + mvexChildren.reduce((n, r) => n + r.end - r.start, 0);
  let moovSize = 8;
  keep.forEach((r, i) => (moovSize += i === mvexAt ? mvexSize : r.end - r.start));
  const out = Buffer.allocUnsafe(ftyp.length + moovSize);
  ftyp.copy(out, 0);
  let at = writeBoxHeader(out, ftyp.length, moovSize, MOOV);
  keep.forEach((r, i) => {
    if (i === mvexAt) {
      at = writeBoxHeader(out, at, mvexSize, MVEX);
      for (const c of mvexChildren) at += moov.copy(out, at, c.start, c.end);
    } else {
      at += moov.copy(out, at, r.start, r.end);
    }
  });
  return out;
}

