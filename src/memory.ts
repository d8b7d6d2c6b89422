import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * glibc malloc settings the origin runs with (`npm start`, the Dockerfile, the tests' child
 * origins); they must be in the environment before the process starts. Two arenas instead of
 * eight per core; blocks of 4 KiB and more (Node's 8 KiB Buffer pool slabs, socket reads,
 * segments) in mappings of their own, given back to the system when freed instead of pinning
 * the heap (measured: 20,000 fuzzed bodies left 110 MB more resident with glibc's defaults, 50 MB
 * with these); at most 32,768 such mappings, half of Linux's per-process limit, so V8 keeps room.
 */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '4096',
  MALLOC_MMAP_MAX_: '32768',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

type Gc = () => void;
let gc: Gc | null | undefined;

/** V8's full collection, made callable at run time (no `--expose-gc` on the command line). */
function fullGc(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/**
 * Gives memory back once streams are gone. Their segments are Buffers whose memory V8 frees only
 * when it collects their wrappers, and once the load that made them has stopped nothing makes it
 * collect: their bytes would stay resident for good. When the media held has dropped by at least
 * `minBytes` below its high mark and stayed down for `quietMs` (junk streams aged out, a big
 * stream ended), one full collection runs: tens of milliseconds, rarely.
 */
export class MemoryReclaimer {
  private high = 0;
  private last = 0;
  private droppedAt = 0;
  collections = 0;

  constructor(
    private readonly now: () => number,
    private readonly minBytes = 8 << 20,
    private readonly quietMs = 3000,
  ) {}

  /** Call about once a second with the bytes of media held now. */
  sweep(heldBytes: number): void {
    const now = this.now();
    if (heldBytes < this.last) this.droppedAt = now;
    this.last = heldBytes;
    this.high = Math.max(this.high, heldBytes);
    if (this.high - heldBytes < this.minBytes || now - this.droppedAt < this.quietMs) return;
    this.high = heldBytes;
    const collect = fullGc();
    if (!collect) return;
    collect();
    this.collections++;
  }
}
