/**
 * Memory for objects rendered once and cached (MPEG-TS segments), handed back when the cache
 * drops them and no response still sends them, and given to the next render. A render then
 * writes to warm pages: with fresh allocations the page faults cost more than the remux itself
 * (bench/mpegts.ts measures both).
 */
export class RecycledMemory {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;
  private takes = 0;

  /** At most `maxFreeBytes` are kept waiting for reuse. */
  constructor(private readonly maxFreeBytes: number) {}

  get idleBytes(): number {
    return this.freeBytes;
  }

  /** A block of at least `size` bytes: the smallest kept one that fits without wasting a third, else a new one. */
  take(size: number): Buffer {
    this.takes++;
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.length;
      if (len >= size && len * 2 <= size * 3 && (best < 0 || len < this.free[best]!.length)) best = i;
    }
    if (best < 0) return Buffer.allocUnsafeSlow(roundUp(size));
    const block = this.free[best]!;
    this.free[best] = this.free[this.free.length - 1]!;
    this.free.pop();
    this.freeBytes -= block.length;
    return block;
  }

  /** Returns a block from `take`; its bytes must not be in use any more. */
  give(block: Buffer): void {
    if (this.freeBytes + block.length > this.maxFreeBytes) return;
    this.free.push(block);
    this.freeBytes += block.length;
  }

  /** Called once in a while: what waited a whole period with no render to take it is let go. */
  trimIdle(): void {
    if (this.takes === 0) {
      this.free.length = 0;
      this.freeBytes = 0;
    }
    this.takes = 0;
  }
}

/** 64 KiB granules: segments of one rendition vary by a few percent and share blocks. */
function roundUp(size: number): number {
  const granule = 64 * 1024;
  return Math.max(granule, Math.ceil(size / granule) * granule);
}
