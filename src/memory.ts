import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * glibc malloc settings the origin runs with (`npm start`, the Dockerfile, the tests' child
 * origins); they must be in the environment before the process starts. Two arenas instead of
 * eight per core; blocks of 16 KiB and more (ingested boxes, segments, socket reads) in mappings
 * of their own, given back to the system when freed. Smaller blocks share glibc's heap, whose
 * free pages between blocks still in use only `malloc_trim` returns (no Node API calls it):
 * measured after 20,000 fuzzed bodies, with 64 KiB here 49–109 MB of it stayed resident, with
 * 16 KiB 37–95 MB, at the same CPU time (README, Memory). At most 32,768 such mappings, half of
 * Linux's per-process limit, so V8 keeps room.
 */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '16384',
  MALLOC_MMAP_MAX_: '32768',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

type Gc = () => void;
let gc: Gc | null | undefined;

/** V8's full collection, made callable at run time (no `--expose-gc` on the command line). */
export function fullGc(): Gc | null {
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
 * Gives memory back once streams are gone or idle render memory was let go. Segments and renders
 * are Buffers whose memory V8 frees only when it collects their wrappers; under load it does so by
 * itself, but once the load that made them has stopped nothing makes it collect, and their bytes
 * would stay resident for good. So `quietMs` after the last release, with no upload started for
 * as long, one full collection runs (tens of milliseconds, only after the load went away), and a
 * second one on the next sweep for what the first one's finalization let go (measured after
 * 20,000 fuzzed bodies: RSS 170–183 MB right after the first, 118–130 MB a second after another).
 */
export class MemoryReclaimer {
  private dueAt = 0;
  private secondDue = false;
  collections = 0;

  constructor(
    private readonly now: () => number,
    private readonly quietMs = 3000,
  ) {}

  /** Memory was let go (a stream was removed, idle render memory trimmed): collect once nothing more has been for `quietMs`. */
  released(): void {
    this.dueAt = this.now() + this.quietMs;
  }

  /** Call about once a second, with whether uploads arrived in the last `quietMs` (then V8 collects by itself); true when it collected. */
  sweep(busy = false): boolean {
    if (this.secondDue && this.dueAt === 0) {
      this.secondDue = false;
      return !busy && this.collect();
    }
    if (this.dueAt === 0 || this.now() < this.dueAt) return false;
    if (busy) {
      this.dueAt = this.now() + this.quietMs;
      return false;
    }
    this.dueAt = 0;
    this.secondDue = true;
    return this.collect();
  }

  private collect(): boolean {
    const collect = fullGc();
    if (!collect) return false;
    collect();
    this.collections++;
    return true;
  }
}
