import { measureBitrate } from '../timeline/bitrate.js';
import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { presentationTimeOffset, segmentsIn, type AddressingMode, type DashPeriod } from '../timeline/periods.js';
import { dashTemplates } from '../urls.js';
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
    const key = t.kind === 'video' ? `video-${family}` : `audio-${t.info.codec}-${t.info.language}`;
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
  return s.state === 'complete' && s.chunks.length > 0;
}

/**
 * The dynamic MPD of a stream. `number` mode (low latency): SegmentTemplate with `$Number$`, a
 * nominal @duration, availabilityTimeOffset and availabilityTimeComplete="false". `timeline`
 * mode: SegmentTimeline with the exact S@t/@d/@r of the ingest. Null before the first segment.
 */
export function renderMpd(stream: Stream, options: MpdOptions): string | null {
  const d = stream.nominalSegmentDuration;
  const ast = stream.availabilityStartTimeMs;
  const td = stream.targetDuration;
  if (d === null || ast === null || td === null) return null;
  const tracks = stream.orderedTracks().filter((t) => t.segments().some(isComplete));
  if (tracks.length === 0) return null;
  const lowLatency = options.mode === 'number';
  const window = stream.options.windowSeconds;

  // Media time of the newest complete segment end, over all tracks: publishTime and the TSB.
  let newestEnd = 0;
  let longest = d;
  let maxChunk = 0;
  for (const t of tracks) {
    for (const s of t.segments()) {
      if (!isComplete(s)) continue;
      newestEnd = Math.max(newestEnd, s.endTime / s.timescale);
      longest = Math.max(longest, s.seconds);
    }
    maxChunk = Math.max(maxChunk, t.chunkDuration / t.timescale);
  }
  const live = stream.livePeriods(options.mode, newestEnd - window);
  if (live.length === 0) return null;
  // availabilityTimeOffset = segment − chunk duration: segment N is requestable once its first chunk is.
  const ato = Math.max(0, Math.floor((d - maxChunk) * 1000) / 1000);
  // Regular live DASH (complete segments only): at least three segments behind live.
  const delay = Math.max(3 * d, options.targetLatency);

  const x = new XmlWriter();
  const mpd: XmlAttributes = [
    ['xmlns', 'urn:mpeg:dash:schema:mpd:2011'],
    ['profiles', PROFILE],
    ['type', 'dynamic'],
    // The wall clock of stream time 0, fixed for the stream's life.
    ['availabilityStartTime', xsDateTime(ast)],
    ['publishTime', xsDateTime(stream.wallClockMs(newestEnd))],
    // IOP "end of live content": the presentation gets its duration and minimumUpdatePeriod goes.
    ['mediaPresentationDuration', stream.ended ? xsDuration(newestEnd) : undefined],
    ['minimumUpdatePeriod', stream.ended ? undefined : xsDuration(d)],
    // The configured window, or the media that exists while the stream is younger than it: a
    // time-shift buffer cannot reach before the stream began (and ffmpeg's dashdec computes
    // now − AST − timeShiftBufferDepth unsigned, looping on one segment when it underflows).
    ['timeShiftBufferDepth', xsDuration(Math.max(Math.min(d, newestEnd), Math.min(window, Math.floor(newestEnd))))],
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
  const target = Math.round((lowLatency ? options.targetLatency : delay) * 1000);
  const reference = tracks.find((t) => t.producerReference);
  x.open('ServiceDescription', [['id', 0]]);
  x.leaf('Latency', [
    ['target', target],
    ['min', Math.round(target * 0.75)],
    ['max', target * 2],
    ['referenceId', lowLatency && reference ? 0 : undefined],
  ]);
  // The rates the players' catch-up may use to hold the target (dash.js: a smooth curve inside
  // them; shaka-player: max above target + 0.5 s, min below target − 0.5 s).
  x.leaf('PlaybackRate', [
    ['min', 0.9],
    ['max', 1.1],
  ]);
  x.close();

  const sets = adaptationSets(stream);
  for (const [pi, period] of live.entries()) {
    const next = live[pi + 1];
    const periodAttrs: XmlAttributes = [
      ['id', period.id],
      ['start', xsDuration(period.start)],
    ];
    const body: { set: SetKey; reps: { track: Track; segments: Segment[]; pto: bigint; timeline: SegmentTimeline | null }[] }[] = [];
    for (const set of sets) {
      const reps = [];
      for (const track of set.tracks) {
        const segments = segmentsIn(track, period, next);
        const pto = presentationTimeOffset(segments, period.start);
        if (pto === null) continue;
        const listed = lowLatency ? null : new Set(track.listedSegments());
        const timeline = listed ? segmentTimeline(segments, (s) => listed.has(s)) : null;
        if (!lowLatency && !timeline) continue;
        reps.push({ track, segments, pto, timeline });
      }
      if (reps.length > 0) body.push({ set, reps });
    }
    if (body.length === 0) continue;
    x.open('Period', periodAttrs);
    for (const { set, reps } of body) {
      const first = reps[0]!.track;
      const setAttrs: XmlAttributes = [
        ['id', stableId(set.key)],
        ['contentType', set.kind],
        // shaka parses chunks progressively only when mimeType is exactly video/mp4 or audio/mp4.
        ['mimeType', set.kind === 'video' ? 'video/mp4' : 'audio/mp4'],
        ['segmentAlignment', true],
        ['startWithSAP', 1],
        ['lang', set.kind === 'audio' && first.info.language !== 'und' ? first.info.language : undefined],
        ['maxWidth', set.kind === 'video' ? Math.max(...reps.map((r) => r.track.info.width ?? 0)) : undefined],
        ['maxHeight', set.kind === 'video' ? Math.max(...reps.map((r) => r.track.info.height ?? 0)) : undefined],
      ];
      x.open('AdaptationSet', setAttrs);
      const previous = period.continues;
      if (previous) x.leaf('SupplementalProperty', [['schemeIdUri', CONTINUITY], ['value', previous]]);
      if (lowLatency) x.leaf('SupplementalProperty', [['schemeIdUri', DVB_LL], ['value', true]]);
      for (const { track, segments, pto, timeline } of reps) writeRepresentation(x, stream, track, segments, pto, timeline, period, options, ato, reference === track);
      x.close();
    }
    x.close();
  }
  // IOP: "at least one UTCTiming"; http-head needs Date exposed by CORS (it is).
  x.leaf('UTCTiming', [['schemeIdUri', 'urn:mpeg:dash:utc:http-iso:2014'], ['value', options.utcUrl]]);
  x.leaf('UTCTiming', [['schemeIdUri', 'urn:mpeg:dash:utc:http-head:2014'], ['value', options.utcUrl]]);
  x.close();
  return x.toString();
}

function writeRepresentation(
  x: XmlWriter,
  stream: Stream,
  track: Track,
  segments: Segment[],
  pto: bigint,
  timeline: SegmentTimeline | null,
  period: DashPeriod,
  options: MpdOptions,
  ato: number,
  isReference: boolean,
): void {
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
  const lowLatency = options.mode === 'number';
  if (lowLatency && prft) {
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
  const initId = segments.find((s) => s.chunks.length > 0)!.initId;
  const templates = dashTemplates(stream.tag, initId);
  const common: XmlAttributes = [
    ['timescale', ts],
    ['initialization', templates.initialization],
    ['media', templates.media],
    // $Number$ of the first S entry listed (the Period's first segment with @duration addressing).
    ['startNumber', timeline ? timeline.startNumber : period.startMsn],
    ['presentationTimeOffset', pto.toString()],
  ];
  if (lowLatency) {
    // dash.js reads availabilityTimeOffset/Complete only on SegmentTemplate (DashManifestModel).
    x.leaf('SegmentTemplate', [
      ...common,
      ['duration', Math.round(stream.nominalSegmentDuration! * ts)],
      ['availabilityTimeOffset', ato],
      ['availabilityTimeComplete', false],
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
