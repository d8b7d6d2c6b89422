import { z } from 'zod';
import { parseInitFile } from '../isobmff/init.js';
import type { StreamRegistry } from '../timeline/registry.js';
import { Segment } from '../timeline/segment.js';
import { storeKey } from '../timeline/store.js';
import type { SavedStream } from '../timeline/stream-time.js';
import type { InitRecord } from '../timeline/track-records.js';
import type { DiskSegmentStore, RestoredStream, RestoredTrack } from './disk-store.js';
import { FLAG_GAP, recordFlags, type IndexRecord } from './record.js';

const period = z.object({ id: z.string(), startMsn: z.number(), start: z.number(), continues: z.string().nullable() });
const prft = z.object({ referenceTrackId: z.number(), flags: z.number(), wallClockMs: z.number(), mediaTime: z.string().regex(/^\d+$/), timescale: z.number() });
const savedTrack = z.object({
  init: z.string(),
  anchor: z.object({ offsetTicks: z.string(), msnShift: z.number() }).nullable(),
  sampleDuration: z.number(),
  chunkDuration: z.number(),
  compositionShift: z.number(),
  producerReference: prft.nullable(),
  captions: z.object({ cea608: z.boolean(), cea708: z.boolean() }).optional(),
});
const savedCue = z.object({
  id: z.string(),
  type: z.enum(['out', 'in', 'cmd']),
  time: z.number(),
  duration: z.number().nullable(),
  eventId: z.number(),
  section: z.string().regex(/^([0-9a-f]{2})+$/),
  source: z.enum(['api', 'inband']),
});
const savedStream = z.object({
  version: z.literal(1),
  name: z.string(),
  tag: z.string(),
  clock: z.object({ kind: z.enum(['epoch', 'prft', 'arrival']), zeroMs: z.number() }),
  origin: z.string().regex(/^\d+$/),
  epoch: z.object({ msnShift: z.number(), shiftSec: z.number() }),
  targetDuration: z.number().nullable(),
  partTarget: z.number().nullable(),
  nominalSegmentDuration: z.number().nullable(),
  periods: z.object({ number: z.array(period), timeline: z.array(period) }),
  tracks: z.record(z.string(), savedTrack),
  cues: z.object({ cues: z.array(savedCue), inbandTracks: z.array(z.string()) }).optional(),
});

export interface RestoreReport {
  readonly streams: number;
  readonly segments: number;
  readonly bytes: number;
  readonly skipped: readonly { readonly stream: string; readonly tag: string; readonly reason: string }[];
}

/**
 * Serves again what the data folder holds: the newest instance of every stream, under its tag,
 * with its records, headers and timeline decisions; its tracks wait, idle, for the encoder. An
 * instance that cannot be read (a damaged state file, a header that does not parse) is skipped
 * with its reason, never fatal; an older instance of the same name is superseded and its files go.
 */
export function restoreStreams(registry: StreamRegistry, store: DiskSegmentStore): RestoreReport {
  const found = store.restore();
  const newest = new Map<string, RestoredStream>();
  for (const r of found) {
    const other = newest.get(r.name);
    if (!other || newestPdt(r) > newestPdt(other)) newest.set(r.name, r);
  }
  const skipped: { stream: string; tag: string; reason: string }[] = [];
  let segments = 0;
  let bytes = 0;
  let streams = 0;
  for (const r of found) {
    if (newest.get(r.name) !== r) {
      registry.rememberTag(r.name, r.tag);
      store.dropInstance(r.name, r.tag);
      skipped.push({ stream: r.name, tag: r.tag, reason: 'superseded by a newer instance' });
      continue;
    }
    try {
      const n = restoreOne(registry, r);
      segments += n.segments;
      bytes += n.bytes;
      streams++;
    } catch (err) {
      registry.drop(r.name);
      store.forget(r.name, r.tag);
      skipped.push({ stream: r.name, tag: r.tag, reason: (err as Error).message });
    }
  }
  return { streams, segments, bytes, skipped };
}

function newestPdt(r: RestoredStream): number {
  let max = -Infinity;
  for (const t of r.tracks) {
    const last = t.records[t.records.length - 1];
    if (last) max = Math.max(max, last.programDateTimeMs);
  }
  return max;
}

function restoreOne(registry: StreamRegistry, r: RestoredStream): { segments: number; bytes: number } {
  const parsed = savedStream.safeParse(r.state);
  if (!parsed.success) throw new Error(`state.json: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const state = parsed.data as unknown as SavedStream;
  if (state.name !== r.name || state.tag !== r.tag) throw new Error('state.json names another instance');
  const stream = registry.forRestore(r.name);
  let segments = 0;
  let bytes = 0;
  for (const t of r.tracks) {
    const saved = state.tracks[t.name];
    if (!saved || t.records.length === 0) continue;
    const inits = new Map<string, InitRecord>();
    for (const [id, data] of t.inits) inits.set(id, { id, bytes: data, info: parseInitFile(data).tracks[0]! });
    const current = inits.get(saved.init);
    if (!current) throw new Error(`track '${t.name}' has no header ${saved.init}`);
    const records = segmentsOf(r, t, inits, saved.init);
    if (records.length === 0) continue;
    const track = stream.addTrack(t.name, current.info, current.bytes);
    track.restore(saved, inits, records, registry.now());
    segments += records.length;
    for (const s of records) bytes += s.byteLength;
  }
  if (stream.tracks.size === 0) throw new Error('no track has a segment');
  stream.adopt(state);
  return { segments, bytes };
}

/** A track's records as segments, oldest first, consecutive (a number whose record is missing becomes a gap). */
function segmentsOf(r: RestoredStream, t: RestoredTrack, inits: ReadonlyMap<string, InitRecord>, fallbackInit: string): Segment[] {
  const out: Segment[] = [];
  for (let rec of t.records) {
    // A segment under a header that is not on disk cannot be decoded: it is served as a gap.
    if (!inits.has(rec.initId)) rec = { ...rec, flags: FLAG_GAP, size: 0, initId: fallbackInit };
    const prev = out[out.length - 1];
    if (prev && rec.msn <= prev.msn) continue;
    if (prev && rec.msn > prev.msn + 1) {
      const ts = rec.timescale;
      const from = (prev.endTime / prev.timescale) * ts;
      const step = (rec.startTime - from) / (rec.msn - prev.msn - 1);
      for (let msn = prev.msn + 1; msn < rec.msn; msn++) {
        const start = Math.round(from + step * (msn - prev.msn - 1));
        const end = Math.round(from + step * (msn - prev.msn));
        out.push(Segment.stored({ ...gapOf(rec), msn, startTime: start, duration: end - start, programDateTimeMs: prev.programDateTimeMs + ((start - from) / ts + prev.seconds) * 1000 }, storeKey(r.name, r.tag, t.name, msn)));
      }
    }
    out.push(Segment.stored(segmentOf(rec), storeKey(r.name, r.tag, t.name, rec.msn)));
  }
  return out;
}

function segmentOf(rec: IndexRecord): Parameters<typeof Segment.stored>[0] {
  const f = recordFlags(rec);
  return { ...rec, gap: f.gap || rec.size === 0, discontinuity: f.discontinuity, independent: f.independent, truncated: f.truncated };
}

function gapOf(rec: IndexRecord): Parameters<typeof Segment.stored>[0] {
  return { ...segmentOf(rec), gap: true, size: 0, discontinuity: false, independent: false, truncated: false };
}
