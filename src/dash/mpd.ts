import { measureBitrate } from '../timeline/bitrate.js';
import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { presentationTimeOffset, segmentsIn, type AddressingMode, type DashPeriod } from '../timeline/periods.js';
import { dashTemplates } from '../urls.js';
import { LIVE, type ViewRequest } from '../dvr/view.js';
import { writeEventStream, writeInbandEventStream } from './events.js';
import { mimeTypeOf, writeTextDescriptors } from './text.js';
import { XmlWriter, xsDateTime, xsDuration, type XmlAttributes } from './xml.js';

export interface MpdOptions {
  readonly mode: AddressingMode;
  /** ServiceDescription Latency@target of the low-latency MPD, seconds (the timeline MPD's is at least three segments). */
  readonly targetLatency: number;
  /** Where the UTCTiming elements point (the origin's /utc). */
  readonly utcUrl: string;
}

const PROFILE = 'urn:mpeg:dash:profile:isoff-live:2011';
const CONTINUITY = 'urn:mpeg:dash:period-continuity:2015';
const DVB_LL = 'urn:dvb:dash:lowlatency:critical:2019';
const CHANNELS = 'urn:mpeg:dash:23003:3:audio_channel_configuration:2011';

interface SetKey {
  readonly key: string;
  readonly kind: Track['kind'];
  readonly tracks: Track[];
}

/** AdaptationSet@id must not change between MPD updates: derived from what the set holds. */
function stableId(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % 2147483647;
}

/** One AdaptationSet per content type and codec family (IOP: no avc1/hvc1 mix), audio per language. */
function adaptationSets(stream: Stream): SetKey[] {
  const sets = new Map<string, SetKey>();
  for (const t of stream.orderedTracks()) {
    const family = t.info.sampleEntry.replace(/[13]$/, '').replace('hev', 'hvc');
    const key = t.kind === 'video' ? `video-${family}` : `${t.kind}-${t.info.codec}-${t.info.language}`;
    const set = sets.get(key) ?? { key, kind: t.kind, tracks: [] };
    set.tracks.push(t);
    sets.set(key, set);
  }
  return [...sets.values()];
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** @frameRate as an integer or a fraction (30000/1001). */
function frameRate(t: Track): string | undefined {
  if (t.kind !== 'video' || t.sampleDuration === 0) return undefined;
  const g = gcd(t.timescale, t.sampleDuration);
  const n = t.timescale / g;
  const d = t.sampleDuration / g;
  return d === 1 ? String(n) : `${n}/${d}`;
}

function isComplete(s: Segment): boolean {
  return s.state === 'complete' && s.byteLength > 0;
}

/** What the MPD shows of the timeline: its window of segments, its type and its clock. */
interface MpdScope {
  readonly type: 'dynamic' | 'static';
  /** Stream seconds from which Periods are listed. */
  readonly from: number;
  /** Stream seconds subtracted from every Period@start (a static MPD starts at 0). */
  readonly base: number;
  /** The segments a Representation lists. */
  readonly listed: (track: Track) => readonly Segment[];
  /** Seconds the availabilityStartTime moves back (time_shift). */
  readonly shift: number;
  /** Chunked low-latency delivery at the live edge. */
  readonly edge: boolean;
  /** timeShiftBufferDepth for a dynamic MPD, before it is clamped to what exists. */
  readonly depth: number;
}

function scopeOf(stream: Stream, view: ViewRequest, newestEnd: number): MpdScope {
  const window = stream.options.windowSeconds;
  const v = view.view;
  if (v.kind === 'live') {
    const seconds = v.all ? Math.max(window, stream.options.dvrSeconds) : window;
    const live: MpdScope = { type: 'dynamic', from: newestEnd - seconds, base: 0, listed: (t) => t.listedSegments(seconds), shift: 0, edge: true, depth: seconds };
    if (v.shift === 0 || stream.ended) return live;
    const until = newestEnd - v.shift;
    return { ...live, from: until - seconds, listed: (t) => t.listedUntil(until, seconds), shift: v.shift, edge: false };
  }
  const listed = (t: Track): readonly Segment[] => t.segmentsBetween(v.start, v.end);
  const closed = v.end !== null && (stream.ended || newestEnd >= v.end - 1e-6);
  if (closed) return { type: 'static', from: v.start, base: v.start, listed, shift: 0, edge: false, depth: 0 };
  return { type: 'dynamic', from: v.start, base: 0, listed, shift: 0, edge: true, depth: Math.max(0, newestEnd - v.start) };
}

/**
 * The MPD of a stream, dynamic while live. `number` mode (low latency): SegmentTemplate with
 * `$Number$`, a nominal @duration, availabilityTimeOffset and availabilityTimeComplete="false".
 * `timeline` mode: SegmentTimeline with the exact S@t/@d/@r of the ingest. A DVR view (view.ts)
 * lists the whole DVR window, starts at a time (start-over), shifts the clock (time_shift) or is
 * a closed range: a static MPD on SegmentTimeline. Null before the first segment.
 */
export function renderMpd(stream: Stream, options: MpdOptions, view: ViewRequest = LIVE): string | null {
  const d = stream.nominalSegmentDuration;
  const ast = stream.availabilityStartTimeMs;
  const td = stream.targetDuration;
  if (d === null || ast === null || td === null) return null;
  const tracks = stream.orderedTracks().filter((t) => t.segments().some(isComplete));
  if (tracks.length === 0) return null;

  // Media time of the newest complete segment end, over all tracks: publishTime and the TSB.
  let newestEnd = 0;
  let maxChunk = 0;
  for (const t of tracks) {
    const newest = t.newestDone();
    if (newest) newestEnd = Math.max(newestEnd, newest.endTime / newest.timescale);
    maxChunk = Math.max(maxChunk, t.chunkDuration / t.timescale);
  }
  const scope = scopeOf(stream, view, newestEnd);
  let longest = d;
  for (const t of tracks) for (const s of scope.listed(t)) if (isComplete(s)) longest = Math.max(longest, s.seconds);
  const isStatic = scope.type === 'static';
  const mode: AddressingMode = isStatic ? 'timeline' : options.mode;
  const numbered = mode === 'number';
  const lowLatency = numbered && scope.edge;
  const live = stream.livePeriods(mode, scope.from);
  if (live.length === 0) return null;
  // availabilityTimeOffset = segment − chunk duration: segment N is requestable once its first chunk is.
  const ato = Math.max(0, Math.floor((d - maxChunk) * 1000) / 1000);
  // Regular live DASH (complete segments only): at least three segments behind live.
  const delay = Math.max(3 * d, options.targetLatency);

  const body: { period: DashPeriod; start: number; until: number; sets: { set: SetKey; reps: Rep[] }[] }[] = [];
  let presentationEnd = 0;
  const sets = adaptationSets(stream);
  for (const [pi, period] of live.entries()) {
    const next = live[pi + 1];
    // A static MPD starts at the range's start: its first Period at 0, its media from there.
    const start = Math.max(period.start, scope.base);
    const entries: { set: SetKey; reps: Rep[] }[] = [];
    for (const set of sets) {
      const reps: Rep[] = [];
      for (const track of set.tracks) {
        const segments = segmentsIn(track, period, next);
        const pto = presentationTimeOffset(segments, start);
        if (pto === null) continue;
        const listed = numbered ? null : new Set(scope.listed(track));
        const timeline = listed ? segmentTimeline(segments, (s) => listed.has(s)) : null;
        if (!numbered && !timeline) continue;
        if (timeline) {
          const last = timeline.entries[timeline.entries.length - 1]!;
          const endTicks = last.t + BigInt(last.d * (last.r + 1)) - pto;
          presentationEnd = Math.max(presentationEnd, start - scope.base + Number(endTicks) / track.timescale);
        }
        reps.push({ track, segments, pto, timeline });
      }
      if (reps.length > 0) entries.push({ set, reps });
    }
    if (entries.length > 0) body.push({ period, start, until: next ? next.start : Infinity, sets: entries });
  }
  if (body.length === 0) return null;

  const x = new XmlWriter();
  const shiftedAst = ast + Math.round(scope.shift * 1000);
  const mpd: XmlAttributes = isStatic
    ? [
        ['xmlns', 'urn:mpeg:dash:schema:mpd:2011'],
        ['profiles', PROFILE],
        ['type', 'static'],
        ['mediaPresentationDuration', xsDuration(Math.round(presentationEnd * 1000) / 1000)],
        ['maxSegmentDuration', xsDuration(Math.ceil(longest * 1000) / 1000)],
        ['minBufferTime', xsDuration(d)],
      ]
    : [
        ['xmlns', 'urn:mpeg:dash:schema:mpd:2011'],
        ['profiles', PROFILE],
        ['type', 'dynamic'],
        // The wall clock of stream time 0, fixed for the stream's life (later by time_shift).
        ['availabilityStartTime', xsDateTime(shiftedAst)],
        ['publishTime', xsDateTime(stream.wallClockMs(newestEnd))],
        // IOP "end of live content": the presentation gets its duration and minimumUpdatePeriod goes.
        ['mediaPresentationDuration', stream.ended ? xsDuration(newestEnd) : undefined],
        ['minimumUpdatePeriod', stream.ended ? undefined : xsDuration(d)],
        // The window, or the media that exists while the stream is younger than it: a
        // time-shift buffer cannot reach before the stream began (and ffmpeg's dashdec computes
        // now − AST − timeShiftBufferDepth unsigned, looping on one segment when it underflows).
        ['timeShiftBufferDepth', xsDuration(Math.max(Math.min(d, newestEnd), Math.min(scope.depth, Math.floor(newestEnd))))],
        // "Media Segments SHALL NOT have a duration greater than MPD@maxSegmentDuration"
        ['maxSegmentDuration', xsDuration(Math.ceil(longest * 1000) / 1000)],
        ['minBufferTime', xsDuration(lowLatency ? Math.min(1, d) : d)],
        // None in the low-latency MPD: shaka-player 5.2 in lowLatencyMode takes its presentation
        // delay from here (dash_parser.js) and holds the ServiceDescription target on top of it
        // (player.js, liveSync from serviceDescription), so any value here adds to the target; absent,
        // it uses the target alone. dash.js 5 reads ServiceDescription first and ignores this.
        ['suggestedPresentationDelay', lowLatency ? undefined : xsDuration(delay)],
      ];
  x.open('MPD', mpd);
  const reference = tracks.find((t) => t.producerReference);
  if (!isStatic) {
    const target = Math.round((lowLatency ? options.targetLatency : delay) * 1000);
    x.open('ServiceDescription', [['id', 0]]);
    // A catch-up view may lag by the whole DVR window: dash.js 5 seeks to live once behind by more
    // than Latency@max − @target (12 s without a @max), which would undo a viewer's seek back.
    const catchUp = view.view.kind === 'range' || view.view.all;
    x.leaf('Latency', [
      ['target', target],
      ['min', Math.round(target * 0.75)],
      ['max', catchUp ? target + Math.round(stream.options.dvrSeconds * 1000) : target * 2],
      ['referenceId', lowLatency && reference ? 0 : undefined],
    ]);
    // The rates the players' catch-up may use to hold the target (dash.js: a smooth curve inside
    // them; shaka-player: max above target + 0.5 s, min below target − 0.5 s).
    x.leaf('PlaybackRate', [
      ['min', 0.9],
      ['max', 1.1],
    ]);
    x.close();
  }

  for (const { period, start, until, sets: entries } of body) {
    x.open('Period', [
      ['id', period.id],
      ['start', xsDuration(start - scope.base)],
    ]);
    writeEventStream(x, stream, start, scope.from, until);
    for (const { set, reps } of entries) {
      const first = reps[0]!.track;
      const setAttrs: XmlAttributes = [
        ['id', stableId(set.key)],
        ['contentType', set.kind],
        // shaka parses chunks progressively only when mimeType is exactly video/mp4 or audio/mp4.
        ['mimeType', mimeTypeOf(set.kind)],
        ['segmentAlignment', true],
        ['startWithSAP', 1],
        ['lang', set.kind !== 'video' && first.info.language !== 'und' ? first.info.language : undefined],
        ['maxWidth', set.kind === 'video' ? Math.max(...reps.map((r) => r.track.info.width ?? 0)) : undefined],
        ['maxHeight', set.kind === 'video' ? Math.max(...reps.map((r) => r.track.info.height ?? 0)) : undefined],
      ];
      x.open('AdaptationSet', setAttrs);
      const previous = period.continues;
      if (previous) x.leaf('SupplementalProperty', [['schemeIdUri', CONTINUITY], ['value', previous]]);
      if (lowLatency) x.leaf('SupplementalProperty', [['schemeIdUri', DVB_LL], ['value', true]]);
      writeInbandEventStream(x, stream, set.tracks);
      writeTextDescriptors(x, stream, set.kind, first);
      for (const rep of reps) writeRepresentation(x, stream, rep, period, { numbered, lowLatency, utcUrl: options.utcUrl }, ato, reference === rep.track);
      x.close();
    }
    x.close();
  }
  if (!isStatic) {
    // IOP: "at least one UTCTiming"; http-head needs Date exposed by CORS (it is).
    x.leaf('UTCTiming', [['schemeIdUri', 'urn:mpeg:dash:utc:http-iso:2014'], ['value', options.utcUrl]]);
    x.leaf('UTCTiming', [['schemeIdUri', 'urn:mpeg:dash:utc:http-head:2014'], ['value', options.utcUrl]]);
  }
  x.close();
  return x.toString();
}

interface Rep {
  readonly track: Track;
  readonly segments: Segment[];
  readonly pto: bigint;
  readonly timeline: SegmentTimeline | null;
}

function writeRepresentation(x: XmlWriter, stream: Stream, rep: Rep, period: DashPeriod, options: { numbered: boolean; lowLatency: boolean; utcUrl: string }, ato: number, isReference: boolean): void {
  const { track, segments, pto, timeline } = rep;
  const info = track.info;
  const rate = measureBitrate(track);
  const bandwidth = rate?.peak ?? info.declaredMaxBitrate ?? info.declaredAvgBitrate ?? 1;
  x.open('Representation', [
    ['id', track.name],
    ['codecs', info.codec],
    ['bandwidth', Math.max(1, Math.round(bandwidth))],
    ['width', info.width],
    ['height', info.height],
    ['frameRate', frameRate(track)],
    ['audioSamplingRate', info.sampleRate],
  ]);
  if (info.kind === 'audio' && info.channels) x.leaf('AudioChannelConfiguration', [['schemeIdUri', CHANNELS], ['value', info.channels]]);
  const prft = track.producerReference;
  if (options.lowLatency && prft) {
    x.open('ProducerReferenceTime', [
      ['id', isReference ? 0 : stableId(track.name)],
      ['inband', true],
      ['type', prft.flags === 24 ? 'captured' : 'encoder'],
      ['wallClockTime', xsDateTime(prft.wallClockMs)],
      // In this Representation's timescale (a muxed fragment's prft may refer to another track).
      ['presentationTime', (prft.timescale && prft.timescale !== info.timescale ? (prft.mediaTime * BigInt(info.timescale)) / BigInt(prft.timescale) : prft.mediaTime).toString()],
    ]);
    // The UTCTiming child names the format of @wallClockTime (ISO/IEC 23009-1 5.12): without it
    // shaka-player 5.2 reads @wallClockTime as an NTP integer, gets 1900 and reports a live
    // latency of 126 years (dash_parser.js parseProducerReferenceTime_).
    x.leaf('UTCTiming', [['schemeIdUri', 'urn:mpeg:dash:utc:http-iso:2014'], ['value', options.utcUrl]]);
    x.close();
  }
  const ts = track.timescale;
  const initId = segments.find((s) => s.byteLength > 0)!.initId;
  const templates = dashTemplates(stream.tag, initId);
  const common: XmlAttributes = [
    ['timescale', ts],
    ['initialization', templates.initialization],
    ['media', templates.media],
    // $Number$ of the first S entry listed (the Period's first segment with @duration addressing).
    ['startNumber', timeline ? timeline.startNumber : period.startMsn],
    ['presentationTimeOffset', pto.toString()],
  ];
  if (options.numbered) {
    // dash.js reads availabilityTimeOffset/Complete only on SegmentTemplate (DashManifestModel).
    x.leaf('SegmentTemplate', [
      ...common,
      ['duration', Math.round(stream.nominalSegmentDuration! * ts)],
      ['availabilityTimeOffset', options.lowLatency ? ato : undefined],
      ['availabilityTimeComplete', options.lowLatency ? false : undefined],
    ]);
  } else {
    x.open('SegmentTemplate', common);
    x.open('SegmentTimeline');
    for (const e of timeline!.entries) x.leaf('S', [['t', e.t.toString()], ['d', e.d], ['r', e.r > 0 ? e.r : undefined]]);
    x.close();
    x.close();
  }
  x.close();
}

export interface SegmentTimeline {
  /** MSN of the first entry: the $Number$ of every entry is startNumber + its index. */
  readonly startNumber: number;
  readonly entries: { t: bigint; d: number; r: number }[];
}

/**
 * S@t/@d/@r runs of the segments of one Period that the HLS playlists list (`listed`, the same
 * window), with their exact ingest times (tfdt) and durations. Neither dash.js nor shaka-player
 * reads S@n, so the $Number$ of an entry is startNumber plus its index: the entries are
 * consecutive MSNs from the first listed one, a gap between two segments with media is listed at
 * its grid time (its URL answers 404, as HLS marks it EXT-X-GAP), and a hole in the MSNs (a gap
 * the grid could not time) drops what precedes it. Null when nothing is listed.
 */
export function segmentTimeline(segments: readonly Segment[], listed: (s: Segment) => boolean): SegmentTimeline | null {
  let run: Segment[] = [];
  for (const s of segments) {
    if (!listed(s) || (!isComplete(s) && s.state !== 'gap')) continue;
    const last = run[run.length - 1];
    if (last && s.msn !== last.msn + 1) run = [];
    if (run.length === 0 && !isComplete(s)) continue;
    run.push(s);
  }
  while (run.length > 0 && !isComplete(run[run.length - 1]!)) run.pop();
  const first = run[0];
  if (!first) return null;
  // Media time (tfdt) of stream time 0 for this run: a gap gets its place on the same timeline.
  const offset = first.baseMediaDecodeTime! - BigInt(first.startTime);
  const entries: { t: bigint; d: number; r: number }[] = [];
  for (const s of run) {
    const t = s.baseMediaDecodeTime ?? offset + BigInt(s.startTime);
    const last = entries[entries.length - 1];
    if (last && last.d === s.duration && last.t + BigInt(last.d * (last.r + 1)) === t) last.r++;
    else entries.push({ t, d: s.duration, r: 0 });
  }
  return { startNumber: first.msn, entries };
}
