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
  MALLOC_MMAP_THRESHOLD_: '65536',
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
 * when it collects their wrappers; under load it does so by itself, but once the load that made
 * them has stopped nothing makes it collect, and their bytes would stay resident for good. So
 * `quietMs` after the last stream was removed, with no upload started for as long, one full
 * collection runs (tens of milliseconds, only after streams went away and the load with them).
 */
export class MemoryReclaimer {
  private dueAt = 0;
  collections = 0;

  constructor(
    private readonly now: () => number,
    private readonly quietMs = 3000,
  ) {}

  /** A stream was removed: collect once no other has been for `quietMs`. */
  streamRemoved(): void {
    this.dueAt = this.now() + this.quietMs;
  }

  /** Call about once a second, with whether uploads arrived in the last `quietMs` (then V8 collects by itself); true when it collected. */
  sweep(busy = false): boolean {
    if (this.dueAt === 0 || this.now() < this.dueAt) return false;
    if (busy) {
      this.dueAt = this.now() + this.quietMs;
      return false;
    }
    this.dueAt = 0;
    const collect = fullGc();
    if (!collect) return false;
    collect();
    this.collections++;
    return true;
  }
}
