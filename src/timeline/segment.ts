import { LiveBody } from './live-body.js';

/**
 * One single-track CMAF chunk (moof+mdat, with any prft/emsg) as the timeline serves it: its
 * bytes and what playlists need. Sample tables are not kept (Track.samples reads them back).
 */
export interface Chunk {
  readonly data: readonly Buffer[];
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
  readonly chunks: Chunk[] = [];
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
  readonly chunks: Chunk[] = [];
  readonly parts: Part[] = [];
  duration = 0;
  body = new LiveBody();
  state: SegmentState = 'open';
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
