import { readFileSync } from 'node:fs';
import { FIXTURES } from '../helpers/fixtures.js';
import { setTfdt, tfdtOf, topLevel, walk } from './bmff.js';

/** A fixture cut into its CMAF header and its fragments (each `[styp|prft|emsg]* moof mdat`). */
export interface CorpusFile {
  readonly name: string;
  readonly init: Buffer;
  readonly fragments: readonly Buffer[];
  /** Per track id: timescale and the duration of the whole file in ticks (the loop length). */
  readonly loopTicks: ReadonlyMap<number, bigint>;
}

export const CORPUS_FILES = ['ladder/v360.mp4', 'ladder/v180.mp4', 'ladder/audio.mp4', 'muxed/av.mp4', 'hevc/v360-hevc.mp4', 'bframes/v360-bf.mp4', 'opus/audio-opus.mp4'];

export function loadCorpus(files: readonly string[] = CORPUS_FILES): CorpusFile[] {
  return files.map((name) => {
    const buf = readFileSync(FIXTURES + name);
    const boxes = topLevel(buf);
    const moov = boxes.find((b) => b.type === 'moov')!;
    const init = buf.subarray(0, moov.end);
    const fragments: Buffer[] = [];
    let from = moov.end;
    for (const b of boxes) {
      if (b.start < moov.end) continue;
      if (b.type === 'mdat') {
        fragments.push(Buffer.from(buf.subarray(from, b.end)));
        from = b.end;
      } else if (b.type !== 'moof' && b.type !== 'styp' && b.type !== 'prft' && b.type !== 'emsg') from = b.end;
    }
    // The loop length of each track: the end of its last fragment's samples, from the next tfdt.
    const loopTicks = new Map<number, bigint>();
    const first = new Map<number, bigint>();
    for (const f of fragments) {
      const all = walk(f);
      for (const traf of all.filter((x) => x.type === 'traf')) {
        const tfhd = all.find((x) => x.type === 'tfhd' && x.start >= traf.payload && x.end <= traf.end)!;
        const id = f.readUInt32BE(tfhd.payload + 4);
        const t = tfdtOf(f, traf, all)!.value;
        if (!first.has(id)) first.set(id, t);
        loopTicks.set(id, t);
      }
    }
    // Approximate the last fragment's duration by the mean fragment spacing.
    for (const [id, last] of loopTicks) {
      const start = first.get(id)!;
      const n = BigInt(Math.max(1, fragments.length - 1));
      loopTicks.set(id, last - start + (last - start) / n);
    }
    return { name, init, fragments, loopTicks };
  });
}

/** A copy of a fragment with every tfdt moved by `delta(trackId)` ticks. */
export function retime(fragment: Buffer, delta: (trackId: number) => bigint): Buffer {
  const out = Buffer.from(fragment);
  const all = walk(out);
  for (const traf of all.filter((x) => x.type === 'traf')) {
    const tfhd = all.find((x) => x.type === 'tfhd' && x.start >= traf.payload && x.end <= traf.end);
    const tfdt = tfdtOf(out, traf, all);
    if (!tfhd || !tfdt) continue;
    setTfdt(out, tfdt, tfdt.value + delta(out.readUInt32BE(tfhd.payload + 4)));
  }
  return out;
}
