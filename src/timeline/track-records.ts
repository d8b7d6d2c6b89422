import { createHash } from 'node:crypto';
import type { TrackInfo } from '../isobmff/init.js';
import { MDAT } from '../isobmff/fourcc.js';
import { isSyncSample } from '../isobmff/fragment.js';
import { readRun, runDuration, type SampleRun } from '../isobmff/sample-run.js';
import type { IngestChunk } from '../isobmff/chunker.js';
import type { CaptionPresence } from '../isobmff/codecs/captions.js';
import type { TrackHost } from './host.js';
import type { Segmenter } from './segmenter.js';
import { SegmentBytes, type Chunk, type Segment } from './segment.js';
import { SegmentIndex } from './segment-index.js';

/** A CMAF header of this track, addressed by id (EXT-X-MAP, DASH initialization). */
export interface InitRecord {
  /** A digest of the bytes: the same header has the same id on every origin. */
  readonly id: string;
  readonly bytes: Buffer;
  readonly info: TrackInfo;
}

export function initRecord(bytes: Buffer, info: TrackInfo): InitRecord {
  return { id: createHash('sha1').update(bytes).digest('hex').slice(0, 12), bytes, info };
}

/** A track as a DVR saves it, with its stream's state (JSON). */
export interface SavedTrack {
  readonly init: string;
  readonly anchor: { readonly offsetTicks: string; readonly msnShift: number } | null;
  readonly sampleDuration: number;
  readonly chunkDuration: number;
  readonly compositionShift: number;
  readonly producerReference: (Omit<NonNullable<IngestChunk['prft']>, 'mediaTime'> & { readonly mediaTime: string }) | null;
  /** Absent in what an older origin saved. */
  readonly captions?: CaptionPresence;
}

/**
 * What a track has, as every output reads it: its CMAF headers, its segment records (kept by the
 * SegmentIndex) and their bytes (memory or the store). Track adds the ingest side.
 */
export abstract class TrackRecords {
  /** Duration of the first sample seen, in ticks (frame duration for video). */
  sampleDuration = 0;
  /** Duration of the first chunk ingested, in ticks: the encoder's chunk cadence. */
  chunkDuration = 0;
  /** −(most negative composition offset) of the first chunk: how far MPEG-TS must shift DTS back. */
  compositionShift = 0;
  /** The first producer reference time received (prft), kept for DASH ProducerReferenceTime. */
  producerReference: IngestChunk['prft'];
  /** Ingested end on the stream timeline, in ticks of the current init's timescale. */
  lastEnd: number | null = null;
  protected readonly inits: InitRecord[] = [];
  protected readonly index: SegmentIndex;
  /** Cuts the ingested samples into segments and parts (the subclass's). */
  protected abstract readonly cutter: Segmenter;

  constructor(
    readonly host: TrackHost,
    readonly name: string,
    protected current: InitRecord,
  ) {
    this.inits.push(current);
    this.index = new SegmentIndex(host.store);
  }

  get info(): TrackInfo {
    return this.current.info;
  }

  get init(): InitRecord {
    return this.current;
  }

  get initId(): string {
    return this.current.id;
  }

  get kind(): TrackInfo['kind'] {
    return this.current.info.kind;
  }

  get timescale(): number {
    return this.current.info.timescale;
  }

  get segmentCount(): number {
    return this.index.size;
  }

  /** MSN of the oldest retained segment. */
  get firstMsn(): number | null {
    return this.index.first?.msn ?? null;
  }

  findSegment(msn: number): Segment | undefined {
    return this.index.find(msn);
  }

  /** Every retained segment record, oldest first (the newest may be in production). */
  segments(): Segment[] {
    return this.index.all();
  }

  /** Records from `msn` on, oldest first. */
  segmentsFrom(msn: number): Segment[] {
    return this.index.from(msn);
  }

  /** Complete (and gap) segments that a playlist lists: within the window, oldest first. */
  listedSegments(seconds = this.host.options.windowSeconds): Segment[] {
    return this.index.listed(seconds);
  }

  /** Listed segments ending by `until` (stream seconds), within `seconds` of the newest of them (time-shift). */
  listedUntil(until: number, seconds: number): Segment[] {
    return this.index.listedUntil(until, seconds);
  }

  /** Complete and gap segments overlapping `[start, end)` in stream seconds (start-over, closed ranges). */
  segmentsBetween(start: number, end: number | null): Segment[] {
    return this.index.between(start, end);
  }

  /** The newest segment that is not in production (complete or gap). */
  newestDone(): Segment | undefined {
    return this.index.lastDone();
  }

  /** The newest complete part: what LAST-MSN/LAST-PART report and blocking reloads wait for. */
  lastCompletePart(): { msn: number; index: number } | null {
    return this.index.lastCompletePart();
  }

  /** The newest complete part ending at or before `seconds` (stream time): rendition reports. */
  lastCompletePartBy(seconds: number): { msn: number; index: number } | null {
    return this.index.lastCompletePartBy(seconds);
  }

  /** Stream time where the newest complete part ends. */
  lastCompletePartEnd(): number | null {
    return this.index.lastCompletePartEnd();
  }

  /** MSN of the newest complete segment (gaps included). */
  lastCompleteMsn(): number | null {
    return this.index.lastDone()?.msn ?? null;
  }

  /** The bytes of a segment, if they can be had without waiting (in production, or in memory). */
  residentBytes(segment: Segment): SegmentBytes | null {
    if (segment.state === 'open') return new SegmentBytes(segment, null, () => this.host.store.resident(segment.key));
    if (segment.state !== 'complete') return null;
    const bytes = this.host.store.resident(segment.key);
    return bytes ? new SegmentBytes(segment, bytes, undefined, (whole) => this.deriveChunks(segment, whole)) : null;
  }

  /** The bytes of a segment, from the store when they are not in memory. */
  async bytes(segment: Segment): Promise<SegmentBytes> {
    const now = this.residentBytes(segment);
    if (now) return now;
    if (segment.state !== 'complete') throw new Error(`segment ${segment.msn} of '${this.name}' has no bytes`);
    const whole = await this.host.store.read(segment.key, 0, segment.byteLength);
    return new SegmentBytes(segment, whole, undefined, (w) => this.deriveChunks(segment, w));
  }

  /** The chunk records of a stored segment, read back from its bytes: `[prft|emsg]* moof mdat` each. */
  private deriveChunks(segment: Segment, whole: Buffer): Chunk[] {
    const defaults = (this.findInit(segment.initId) ?? this.current).info.defaults;
    const chunks: Chunk[] = [];
    let start = 0;
    let at = 0;
    while (at + 8 <= whole.length) {
      const size = whole.readUInt32BE(at);
      const type = whole.readUInt32BE(at + 4);
      if (size < 8 || at + size > whole.length) break;
      at += size;
      if (type !== MDAT) continue;
      const data = [whole.subarray(start, at)];
      const run = readRun(data, defaults);
      const duration = runDuration(run);
      const startTime = segment.startTime + Number(run.baseMediaDecodeTime - (segment.baseMediaDecodeTime ?? run.baseMediaDecodeTime));
      chunks.push({ data: null, byteOffset: start, byteLength: at - start, startTime, duration, sampleCount: run.durations.length, independent: isSyncSample(run.flags[0] ?? 0x10000), arrivalMs: 0 });
      start = at;
    }
    return chunks;
  }

  /** The samples of one of a segment's chunks, read back from its bytes. */
  samples(bytes: SegmentBytes, chunk: Chunk): SampleRun {
    const init = this.findInit(bytes.segment.initId) ?? this.current;
    return readRun(bytes.chunk(chunk), init.info.defaults);
  }

  findInit(id: string): InitRecord | undefined {
    return this.inits.find((i) => i.id === id);
  }

  get openSegment(): Segment | null {
    return this.cutter.open;
  }

  get lastMsn(): number | null {
    return this.cutter.lastMsn;
  }

  get droppedSamples(): number {
    return this.cutter.droppedSamples;
  }

  get lastEndSeconds(): number | null {
    return this.lastEnd === null ? null : this.lastEnd / this.timescale;
  }

  /** Frames per second of a video track, from its sample duration. */
  get frameRate(): number | undefined {
    return this.kind === 'video' && this.sampleDuration > 0 ? this.timescale / this.sampleDuration : undefined;
  }

  /**
   * The part a preload hint names: the one in production, or the one after the newest complete
   * part; with its byte offset in its segment. Null when the track has no segment yet.
   */
  nextPart(): { msn: number; index: number; byteOffset: number } | null {
    const open = this.cutter.open;
    if (open) {
      const last = open.lastPart;
      if (!last) return { msn: open.msn, index: 0, byteOffset: 0 };
      if (last.complete) return { msn: open.msn, index: open.parts.length, byteOffset: open.byteLength };
      return { msn: open.msn, index: last.index, byteOffset: last.byteOffset };
    }
    const last = this.cutter.lastMsn;
    return last === null ? null : { msn: last + 1, index: 0, byteOffset: 0 };
  }
  /** Every header of the track, to a store that persists (the instance tag was just decided). */
  saveInits(): void {
    for (const init of this.inits) this.saveInit(init);
  }

  protected saveInit(init: InitRecord): void {
    if (this.host.tag !== '') this.host.store.saveInit?.({ stream: this.host.name, tag: this.host.tag, track: this.name }, init.id, init.bytes);
  }

  /** The stream is removed: every record and its stored bytes go. */
  release(): void {
    this.index.clear();
  }
}
