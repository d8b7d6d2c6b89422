import type { Segment } from './segment.js';

/** Which segment: the stream instance, the track and the segment number (and their joined id). */
export interface StoreKey {
  readonly stream: string;
  readonly tag: string;
  readonly track: string;
  readonly msn: number;
  /** `{stream}/{tag}/{track}/{msn}`, made once. */
  readonly id: string;
}

export function storeKey(stream: string, tag: string, track: string, msn: number): StoreKey {
  return { stream, tag, track, msn, id: `${stream}/${tag}/${track}/${msn}` };
}

/**
 * Where complete segments keep their bytes. The timeline holds only records (numbers, times,
 * offsets); the bytes of a complete segment are put here once and read back by range. Reads are
 * asynchronous so a store on disk fits behind the same interface; `resident` answers at once when
 * the bytes are in memory, which is the common case at the live edge.
 */
export interface SegmentStore {
  /** Keeps a complete segment (its bytes; null for a gap, which a DVR records too). The store owns the bytes from now on. */
  put(segment: Segment, bytes: Buffer | null): void;
  /** The bytes if they are in memory right now, else undefined (then `read`). */
  resident(key: StoreKey): Buffer | undefined;
  /** Bytes `[start, end)` of a stored segment. Rejects if the segment is not (or no longer) stored. */
  read(key: StoreKey, start: number, end: number): Promise<Buffer>;
  /** The segment left the live window: a store with a disk may let the memory copy go. False when its bytes are lost (a failed write). */
  cool(key: StoreKey): boolean;
  /** The segment left every window: its bytes may go (a response still sending them keeps its view). */
  remove(key: StoreKey): void;
  /** Bytes held. */
  readonly bytes: number;
  /** What a restart needs besides segments (a store that persists: the DVR). */
  saveInit?(key: { readonly stream: string; readonly tag: string; readonly track: string }, id: string, bytes: Buffer): void;
  saveState?(stream: string, tag: string, state: unknown): void;
  /** Writes are behind (a store with a disk): ingest should wait for `whenDrained`. */
  readonly backlogged?: boolean;
  whenDrained?(resume: () => void): void;
  /** The instance is gone (removed, or superseded): everything it kept goes. */
  dropInstance?(stream: string, tag: string): void;
}

/** The store of an origin without DVR: complete segments stay in memory until they leave the window. */
export class MemorySegmentStore implements SegmentStore {
  private readonly segments = new Map<string, Buffer>();
  private held = 0;

  put(segment: Segment, bytes: Buffer | null): void {
    if (!bytes) return;
    const k = segment.key.id;
    const previous = this.segments.get(k);
    if (previous) this.held -= previous.length;
    this.segments.set(k, bytes);
    this.held += bytes.length;
  }

  resident(key: StoreKey): Buffer | undefined {
    return this.segments.get(key.id);
  }

  read(key: StoreKey, start: number, end: number): Promise<Buffer> {
    const bytes = this.segments.get(key.id);
    if (!bytes) return Promise.reject(new Error(`segment ${key.id} is not stored`));
    return Promise.resolve(bytes.subarray(start, end));
  }

  cool(): boolean {
    return true;
  }

  remove(key: StoreKey): void {
    const k = key.id;
    const bytes = this.segments.get(k);
    if (!bytes) return;
    this.held -= bytes.length;
    this.segments.delete(k);
  }

  get bytes(): number {
    return this.held;
  }
}
