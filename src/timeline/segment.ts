import { LiveBody } from './live-body.js';
import type { StoreKey } from './store.js';

/**
 * One single-track CMAF chunk (moof+mdat, with any prft/emsg) of a segment: where its bytes are
 * and what playlists need. Sample tables are not kept (they are read back from the bytes).
 */
export interface Chunk {
  /** Views of the ingest reads while the segment grows; null once the segment is stored. */
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

// Shared by every segment that let its records go (thousands in a DVR): frozen, never pushed to.
const NO_CHUNKS = Object.freeze([]) as unknown as Chunk[];
const NO_PARTS = Object.freeze([]) as unknown as Part[];

/** What a DVR index keeps of a segment. */
export interface StoredSegment {
  readonly msn: number;
  readonly startTime: number;
  readonly duration: number;
  readonly timescale: number;
  readonly initId: string;
  readonly discontinuity: boolean;
  readonly programDateTimeMs: number;
  readonly size: number;
  readonly baseMediaDecodeTime: bigint;
  readonly gap: boolean;
  readonly independent: boolean;
  readonly truncated: boolean;
}

/**
 * The record of one segment: its number, times, sizes, and the offsets of its parts and chunks.
 * Its bytes live in a LiveBody while it is produced, then in the track's SegmentStore.
 */
export class Segment {
  chunks: Chunk[] = [];
  parts: Part[] = [];
  duration = 0;
  /** The growing bytes while the segment is produced; null once complete (the store has them) or for a gap. */
  body: LiveBody | null = new LiveBody();
  state: SegmentState = 'open';
  /** Ended by a dying ingest before its end: never served as immutable (another origin may hold it whole). */
  truncated = false;
  /** tfdt of the first sample as the encoder wrote it (media time), once the first chunk is in. */
  baseMediaDecodeTime: bigint | null = null;
  /** The first sample is a sync sample (kept when the chunk records are let go). */
  independent = false;
  private size = 0;

  constructor(
    /** Media Sequence Number, the same for the same time range in every track of the stream. */
    readonly msn: number,
    /** Decode time of the first sample in track ticks (for a gap: the grid's start). */
    readonly startTime: number,
    /** Ticks per second of startTime and duration (the init's media timescale). */
    readonly timescale: number,
    readonly initId: string,
    readonly discontinuity: boolean,
    /** Wall clock of the first sample, fixed when the segment opens (EXT-X-PROGRAM-DATE-TIME). */
    readonly programDateTimeMs: number,
    /** Where the store keeps the bytes once complete. */
    readonly key: StoreKey,
  ) {}

  /** A record restored from the DVR index: its bytes are in the store only (none for a gap). */
  static stored(r: StoredSegment, key: StoreKey): Segment {
    const s = new Segment(r.msn, r.startTime, r.timescale, r.initId, r.discontinuity, r.programDateTimeMs, key);
    s.duration = r.duration;
    s.state = r.gap ? 'gap' : 'complete';
    s.body = null;
    s.size = r.gap ? 0 : r.size;
    s.baseMediaDecodeTime = r.gap ? null : r.baseMediaDecodeTime;
    s.independent = r.independent;
    s.truncated = r.truncated;
    return s;
  }

  /** Lets the chunk and part records go (the segment left the live window: nothing lists its parts). */
  compact(): void {
    this.chunks = NO_CHUNKS;
    this.parts = NO_PARTS;
  }

  /** Its bytes are lost (a failed DVR write): from now on it is a gap. */
  lose(): void {
    this.state = 'gap';
    this.size = 0;
    this.chunks = NO_CHUNKS;
    this.parts = NO_PARTS;
  }

  static gap(msn: number, startTime: number, duration: number, timescale: number, initId: string, programDateTimeMs: number, key: StoreKey): Segment {
    const s = new Segment(msn, startTime, timescale, initId, false, programDateTimeMs, key);
    s.duration = duration;
    s.state = 'gap';
    s.body = null;
    s.chunks = NO_CHUNKS;
    s.parts = NO_PARTS;
    return s;
  }

  get byteLength(): number {
    return this.size;
  }

  /** A chunk of the segment in production: its bytes are appended to the growing body. */
  append(chunk: Chunk): void {
    if (this.chunks.length === 0) this.independent = chunk.independent;
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    this.body!.append(chunk.data!);
  }

  /**
   * The segment is complete: its bytes in one buffer of their exact size (for the store), the
   * chunk views released. Chunks and parts become ranges of it. Readers of the growing body get
   * the end (or, when `aborted`, are cut).
   */
  finish(aborted: boolean): Buffer {
    const bytes = Buffer.allocUnsafeSlow(this.size);
    let at = 0;
    for (const c of this.chunks) {
      if (c.byteOffset !== at) throw new Error(`segment ${this.msn}: chunk at ${c.byteOffset}, expected ${at}`);
      for (const b of c.data!) {
        bytes.set(b, at);
        at += b.length;
      }
      c.data = null;
    }
    if (at !== bytes.length) throw new Error(`segment ${this.msn}: chunks hold ${at} bytes, records ${bytes.length}`);
    const body = this.body!;
    if (aborted) body.abort();
    else body.complete();
    this.body = null;
    this.state = 'complete';
    this.truncated = aborted;
    // Lists grown by push keep spare capacity: copies are exact.
    this.chunks = this.chunks.slice();
    this.parts = this.parts.slice();
    for (const p of this.parts) p.chunks = p.chunks.slice();
    return bytes;
  }

  get endTime(): number {
    return this.startTime + this.duration;
  }

  /** Duration in seconds. */
  get seconds(): number {
    return this.duration / this.timescale;
  }

  get lastPart(): Part | undefined {
    return this.parts[this.parts.length - 1];
  }
}

/**
 * The bytes of one segment, loaded: in production (the chunk views) or complete (one buffer from
 * the store). What the TS remux and HESP packets read samples from.
 */
export class SegmentBytes {
  private derived: Chunk[] | null = null;

  constructor(
    readonly segment: Segment,
    /** The whole segment, when complete; null while it grows. */
    private whole: Buffer | null,
    /** Where the whole segment is once it completes (a reader that started while it grew goes on from there). */
    private readonly completed: () => Buffer | undefined = () => undefined,
    /** Reads the chunk records back from the bytes of a segment that let them go. */
    private readonly derive: (whole: Buffer) => Chunk[] = () => [],
  ) {}

  /** The segment's chunks: its records, or read back from its bytes (a DVR segment). */
  chunks(): readonly Chunk[] {
    if (this.segment.chunks.length > 0 || this.segment.state === 'open') return this.segment.chunks;
    this.derived ??= this.derive(this.stored());
    return this.derived;
  }

  private stored(): Buffer {
    this.whole ??= this.completed() ?? null;
    if (!this.whole) throw new Error(`segment ${this.segment.msn}: its bytes are no longer in memory`);
    return this.whole;
  }

  chunk(c: Chunk): readonly Buffer[] {
    if (c.data) return c.data;
    return [this.stored().subarray(c.byteOffset, c.byteOffset + c.byteLength)];
  }

  part(p: Part): readonly Buffer[] {
    if (this.whole || this.segment.state !== 'open') return [this.stored().subarray(p.byteOffset, p.byteOffset + p.byteLength)];
    const out: Buffer[] = [];
    for (const c of p.chunks) out.push(...c.data!);
    return out;
  }

  /** Bytes `[start, end)` of the segment as it is now. */
  range(start: number, end: number): readonly Buffer[] {
    if (this.whole || this.segment.state !== 'open') return [this.stored().subarray(start, end)];
    const out: Buffer[] = [];
    let at = 0;
    for (const c of this.segment.chunks) {
      for (const b of c.data ?? []) {
        const next = at + b.length;
        if (next > start && at < end) out.push(b.subarray(Math.max(0, start - at), Math.min(b.length, end - at)));
        at = next;
      }
    }
    return out;
  }
}
