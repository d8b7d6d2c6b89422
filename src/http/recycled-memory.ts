/**
 * Memory for objects rendered once and cached (MPEG-TS segments), handed back when the cache
 * drops them and no response still sends them, and given to the next render. A render then
 * writes to warm pages: with fresh allocations the page faults cost more than the remux itself
 * (bench/mpegts.ts measures both).
 */
export class RecycledMemory {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  /** At most `maxFreeBytes` are kept waiting for reuse. */
  constructor(private readonly maxFreeBytes: number) {}

  get idleBytes(): number {
    return this.freeBytes;
  }

  /** A block of at least `size` bytes: the smallest kept one that fits without wasting a third, else a new one. */
  take(size: number): Buffer {
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

  /** Lets go of the kept blocks, largest first, until at most `keepBytes` are kept; returns the bytes let go (freed once V8 collects their Buffers). */
  trim(keepBytes: number): number {
    let released = 0;
    if (this.freeBytes <= keepBytes) return 0;
    this.free.sort((a, b) => a.length - b.length);
    while (this.freeBytes > keepBytes) {
      const block = this.free.pop()!;
      this.freeBytes -= block.length;
      released += block.length;
    }
    return released;
  }
}

/** 64 KiB granules: segments of one rendition vary by a few percent and share blocks. */
function roundUp(size: number): number {
  const granule = 64 * 1024;
  return Math.max(granule, Math.ceil(size / granule) * granule);
}
