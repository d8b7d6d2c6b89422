import { OriginError, malformed } from '../errors.js';
import type { Box } from './box-reader.js';
import { BRAND_LMSG, EMSG, FREE, FTYP, MDAT, MFRA, MOOF, MOOV, PRFT, SIDX, SKIP, SSIX, STYP, UUID } from './fourcc.js';
import { parseMoof, type MovieFragment } from './fragment.js';
import { parseInit, type InitSegment, type TrackInfo } from './init.js';
import { runFromFragment, type SampleRun } from './sample-run.js';
import { checkRun } from './validate.js';

/** One single-track CMAF chunk as it came out of an ingest body. */
export interface IngestChunk {
  readonly run: SampleRun;
  /** prft/emsg boxes that preceded the moof (styp, sidx and free are not kept). */
  readonly prefix: readonly Buffer[];
  /** The chunk's original bytes when they can be served as they are, else null (rewrite needed). */
  readonly wire: readonly Buffer[] | null;
  /** The producer reference time that preceded this chunk, if any. */
  readonly prft: ProducerReferenceTime | undefined;
  /** The track header the samples were checked against. */
  readonly info: TrackInfo;
}

/** prft (ISO/IEC 14496-12 8.16.5): a wall clock / media time pair from the encoder. */
export interface ProducerReferenceTime {
  readonly referenceTrackId: number;
  /** prft flags: 24 = "captured" (ffmpeg), 0/others = "encoder". */
  readonly flags: number;
  /** Wall clock in Unix milliseconds (from the 64-bit NTP timestamp). */
  readonly wallClockMs: number;
  readonly mediaTime: bigint;
  /** Timescale of mediaTime: the reference track's (known once the init is); 0 when unknown. */
  readonly timescale: number;
}

export interface ChunkerSink {
  /** A CMAF header arrived (ftyp + moov). */
  init(init: InitSegment): void;
  /** A complete chunk of one track arrived. */
  chunk(chunk: IngestChunk): void;
  /** A `styp` carrying the `lmsg` brand: the segment it opens is the track's last. */
  lastSegment(): void;
  /** An `mfra`: the producer finished the file. */
  endOfFile(): void;
}

const NTP_UNIX_OFFSET_S = 2208988800;
/** Bytes of prft/emsg boxes kept for the next chunk (an emsg is an event, not media). */
export const MAX_PREFIX_BYTES = 1 << 20;

/**
 * Groups the top-level boxes of one ingest body into CMAF headers and single-track CMAF chunks
 * (`[styp][prft][emsg] moof mdat`). A moof with several traf is split into one chunk per track.
 */
export class CmafChunker {
  private ftyp: Buffer | undefined;
  private prefix: Buffer[] = [];
  private prft: ProducerReferenceTime | undefined;
  private moof: { box: Box; fragment: MovieFragment; init: InitSegment } | null = null;
  private boxesSinceChunk = 0;
  private prefixBytes = 0;

  constructor(
    private readonly sink: ChunkerSink,
    /** The init segment in effect for this body when it carries none itself. */
    private currentInit: () => InitSegment | undefined,
    /** Top-level boxes allowed between two chunks (each is parsed or skipped: bounded work per chunk). */
    private readonly maxBoxesPerFragment = 1000,
  ) {}

  box(box: Box): void {
    if (++this.boxesSinceChunk > this.maxBoxesPerFragment) {
      throw new OriginError('TOO_MANY_BOXES', `more than ${this.maxBoxesPerFragment} boxes without a complete moof+mdat`);
    }
    switch (box.type) {
      case FTYP:
        this.ftyp = box.data;
        return;
      case MOOV: {
        const init = parseInit(this.ftyp, box.data, box.headerSize);
        this.ftyp = undefined;
        this.sink.init(init);
        this.currentInit = () => init;
        return;
      }
      case STYP:
        if (hasBrand(box, BRAND_LMSG)) this.sink.lastSegment();
        return;
      case PRFT:
        this.prft = parsePrft(box);
        this.keep(box);
        return;
      case EMSG:
        this.keep(box);
        return;
      case MOOF: {
        if (this.moof) throw malformed('moof followed by another moof without mdat');
        const init = this.currentInit();
        if (!init) throw new OriginError('INIT_REQUIRED', 'media fragment before any init segment (send ftyp+moov first)');
        const byId = new Map(init.tracks.map((t) => [t.trackId, t.defaults]));
        this.moof = { box, fragment: parseMoof(box.data, box.headerSize, box.offset, (id) => byId.get(id)), init };
        return;
      }
      case MDAT:
        this.mdat(box);
        return;
      case MFRA:
        this.sink.endOfFile();
        return;
      case SIDX:
      case SSIX:
      case FREE:
      case SKIP:
      case UUID:
        return;
      default:
        return;
    }
  }

  private keep(box: Box): void {
    this.prefixBytes += box.data.length;
    if (this.prefixBytes > MAX_PREFIX_BYTES) throw new OriginError('BOX_TOO_LARGE', `prft and emsg boxes before a fragment exceed ${MAX_PREFIX_BYTES} bytes`);
    this.prefix.push(box.data);
  }

  private mdat(mdat: Box): void {
    const moof = this.moof;
    if (!moof) {
      if (!this.currentInit()) throw new OriginError('UNSUPPORTED_MEDIA', 'mdat before any moov/moof: not a fragmented MP4 (use -movflags +frag_keyframe+empty_moov+default_base_moof)');
      throw malformed('mdat without a preceding moof');
    }
    this.moof = null;
    const prefix = this.prefix;
    const prft = this.prft;
    this.prefix = [];
    this.prefixBytes = 0;
    this.boxesSinceChunk = 0;
    this.prft = undefined;
    const { fragment } = moof;
    const moofStart = moof.box.offset;
    const payloadStart = mdat.offset + mdat.headerSize - moofStart;
    const payloadEnd = mdat.offset + mdat.data.length - moofStart;
    const adjacent = mdat.offset === moofStart + moof.box.data.length;
    const single = fragment.trafs.length === 1;
    // Every track fragment is checked before any reaches the timeline: a muxed fragment is taken whole or not at all.
    const runs = fragment.trafs.map((traf) => {
      for (const r of traf.dataRanges) {
        if (r.length > 0 && (r.start < payloadStart || r.start + r.length > payloadEnd)) {
          throw malformed(`track ${traf.trackId} sample data [${r.start}, ${r.start + r.length}) lies outside the mdat payload [${payloadStart}, ${payloadEnd})`);
        }
      }
      const run = runFromFragment(traf, fragment.sequenceNumber, gather(mdat, payloadStart, traf.dataRanges));
      const info = moof.init.tracks.find((t) => t.trackId === traf.trackId)!;
      checkRun(run, info);
      return { run, info };
    });
    fragment.trafs.forEach((traf, i) => {
      const passthrough = single && adjacent && !traf.explicitBaseOffset;
      this.sink.chunk({
        ...runs[i]!,
        prefix: single ? prefix : [],
        wire: passthrough ? [...prefix, moof.box.data, mdat.data] : null,
        // Tracks of one fragment share its timeline: the prft maps every track's media time.
        prft: prft ? { ...prft, timescale: moof.init.tracks.find((t) => t.trackId === prft.referenceTrackId)?.timescale ?? runs[i]!.info.timescale } : undefined,
      });
    });
  }
}

/** The bytes of a traf's trun ranges as one contiguous Buffer: a view when they are adjacent. */
function gather(mdat: Box, payloadStart: number, ranges: ReadonlyArray<{ start: number; length: number }>): Buffer {
  const base = mdat.headerSize - payloadStart;
  const first = ranges[0];
  if (!first) return mdat.data.subarray(0, 0);
  let contiguous = true;
  let total = 0;
  let end = first.start;
  for (const r of ranges) {
    if (r.start !== end) contiguous = false;
    end = r.start + r.length;
    total += r.length;
  }
  if (contiguous) return mdat.data.subarray(base + first.start, base + first.start + total);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const r of ranges) at += mdat.data.copy(out, at, base + r.start, base + r.start + r.length);
  return out;
}

function hasBrand(box: Box, brand: number): boolean {
  const d = box.data;
  const start = box.headerSize;
  if (d.length - start < 8) throw malformed('styp is too short');
  if (d.readUInt32BE(start) === brand) return true;
  for (let at = start + 8; at + 4 <= d.length; at += 4) if (d.readUInt32BE(at) === brand) return true;
  return false;
}

function parsePrft(box: Box): ProducerReferenceTime {
  const d = box.data;
  const p = box.headerSize;
  if (d.length - p < 20) throw malformed('prft is too short');
  const version = d[p]!;
  const flags = d.readUInt32BE(p) & 0xffffff;
  const referenceTrackId = d.readUInt32BE(p + 4);
  const ntpSeconds = d.readUInt32BE(p + 8);
  const ntpFraction = d.readUInt32BE(p + 12);
  if (version === 1 && d.length - p < 24) throw malformed('prft v1 is too short');
  const mediaTime = version === 1 ? d.readBigUInt64BE(p + 16) : BigInt(d.readUInt32BE(p + 16));
  const wallClockMs = (ntpSeconds - NTP_UNIX_OFFSET_S) * 1000 + (ntpFraction / 2 ** 32) * 1000;
  return { referenceTrackId, flags, wallClockMs, mediaTime, timescale: 0 };
}

