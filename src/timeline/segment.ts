import { LiveBody } from './live-body.js';

/**
 * One single-track CMAF chunk (moof+mdat, with any prft/emsg) as the timeline serves it: its
 * bytes and what playlists need. Sample tables are not kept (Track.samples reads them back).
 */
export interface Chunk {
  /** Views of the ingest reads while the segment grows; null once it is complete (Segment.chunkData). */
  data: readonly Buffer[] | null;
  /** Offset of the chunk's first byte in its segment. */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Decode time of the first sample, in track ticks on the stream's timeline. */
  readonly startTime: number;
  readonly duration: number;
  readonly sampleCount: number;
  /** The first sample is a sync sample. */
  readonly independent: boolean;
  readonly arrivalMs: number;
}

/** An LL-HLS Partial Segment: whole chunks, never longer than the part target. */
export class Part {
  chunks: Chunk[] = [];
  duration = 0;
  byteLength = 0;
  complete = false;

  constructor(
    readonly index: number,
    readonly startTime: number,
    /** Offset of the part's first byte in its segment. */
    readonly byteOffset: number,
    readonly independent: boolean,
  ) {}
}

export type SegmentState = 'open' | 'complete' | 'gap';

export class Segment {
  chunks: Chunk[] = [];
  parts: Part[] = [];
  duration = 0;
  body = new LiveBody();
  state: SegmentState = 'open';
  /** All of the segment's bytes, once complete (compact). */
  private bytes: Buffer | null = null;
  /** tfdt of the first sample as the encoder wrote it (media time), once the first chunk is in. */
  baseMediaDecodeTime: bigint | null = null;

  constructor(
    /** Media Sequence Number, the same for the same time range in every track of the stream. */
    readonly msn: number,
    /** Decode time of the first sample in track ticks (for a gap: the grid's start). */
    readonly startTime: number,
    /** Ticks per second of startTime and duration (the init's media timescale). */
    readonly timescale: number,
    readonly initId: number,
    readonly discontinuity: boolean,
    /** Wall clock of the first sample, fixed when the segment opens (EXT-X-PROGRAM-DATE-TIME). */
    readonly programDateTimeMs: number,
  ) {}

  static gap(msn: number, startTime: number, duration: number, timescale: number, initId: number, programDateTimeMs: number): Segment {
    const s = new Segment(msn, startTime, timescale, initId, false, programDateTimeMs);
    s.duration = duration;
    s.state = 'gap';
    s.body.abort();
    return s;
  }

  get byteLength(): number {
    return this.body.byteLength;
  }

  /**
   * The segment is complete: its bytes move into one buffer of their exact size, and chunks and
   * parts become ranges of it. The socket reads and rewritten headers they were cut from can be
   * freed, a complete segment or part leaves in one write, and a window of chunks costs a few
   * numbers each. Readers of the growing body have already been ended.
   */
  compact(): void {
    const bytes = Buffer.allocUnsafeSlow(this.body.byteLength);
    let at = 0;
    for (const c of this.chunks) {
      if (c.byteOffset !== at) throw new Error(`segment ${this.msn}: chunk at ${c.byteOffset}, expected ${at}`);
      for (const b of c.data!) {
        bytes.set(b, at);
        at += b.length;
      }
      c.data = null;
    }
    if (at !== bytes.length) throw new Error(`segment ${this.msn}: chunks hold ${at} bytes, body ${bytes.length}`);
    this.bytes = bytes;
    this.body = LiveBody.completed([bytes]);
    // Lists grown by push keep spare capacity: copies are exact.
    this.chunks = this.chunks.slice();
    this.parts = this.parts.slice();
    for (const p of this.parts) p.chunks = p.chunks.slice();
  }

  /** A chunk's bytes. */
  chunkData(c: Chunk): readonly Buffer[] {
    return c.data ?? [this.bytes!.subarray(c.byteOffset, c.byteOffset + c.byteLength)];
  }

  /** A part's bytes: one view once the segment is complete. */
  partData(part: Part): readonly Buffer[] {
    if (this.bytes) return [this.bytes.subarray(part.byteOffset, part.byteOffset + part.byteLength)];
    const out: Buffer[] = [];
    for (const c of part.chunks) out.push(...c.data!);
    return out;
  }

  get endTime(): number {
    return this.startTime + this.duration;
  }

  /** Duration in seconds. */
  get seconds(): number {
    return this.duration / this.timescale;
  }

  get independent(): boolean {
    return this.chunks[0]?.independent ?? false;
  }

  get lastPart(): Part | undefined {
    return this.parts[this.parts.length - 1];
  }
}
