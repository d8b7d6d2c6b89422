import { OriginError } from '../errors.js';
import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';

/**
 * What part of a stream's timeline a manifest request asks for (the DVR query parameters):
 * - live: the live window, or the whole DVR window (`dvr=1`), its edge moved `shift` seconds back (`time_shift`);
 * - range: from `start` (stream seconds), growing with the live edge (start-over, an EVENT), or up to `end`.
 */
export type DvrView = { readonly kind: 'live'; readonly all: boolean; readonly shift: number } | { readonly kind: 'range'; readonly start: number; readonly end: number | null };

export interface ViewRequest {
  readonly view: DvrView;
  /** The parameters as child URIs carry them (`?dvr=1`, `?start=…&end=…`), '' for the live view. */
  readonly suffix: string;
}

export const LIVE: ViewRequest = { view: { kind: 'live', all: false, shift: 0 }, suffix: '' };

const UNIX = /^\d{1,12}(\.\d{1,6})?$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const SECONDS = /^\d{1,9}(\.\d{1,6})?$/;
const PARAMS = ['dvr', 'start', 'end', 'time_shift'] as const;

function bad(message: string): OriginError {
  return new OriginError('BAD_REQUEST', message);
}

/** A time parameter, ISO 8601 with a zone or Unix seconds (with fractions), in Unix ms. */
export function parseInstant(name: string, value: string): number {
  let ms = NaN;
  if (UNIX.test(value)) ms = Number(value) * 1000;
  else if (ISO.test(value)) ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw bad(`${name}=${value} is neither an ISO 8601 date-time with a zone nor Unix seconds`);
  return ms;
}

/**
 * The view a manifest request's query asks for. Other parameters (`_HLS_msn`, `mode`) are not
 * this module's; a DVR parameter on an origin without a DVR, or a malformed one, is a 400.
 */
export function parseView(query: URLSearchParams | null, stream: Stream): ViewRequest {
  if (!query) return LIVE;
  const values: Partial<Record<(typeof PARAMS)[number], string>> = {};
  for (const p of PARAMS) {
    const all = query.getAll(p);
    if (all.length > 1) throw bad(`${p} is given ${all.length} times`);
    if (all.length === 1) values[p] = all[0]!;
  }
  if (Object.keys(values).length === 0) return LIVE;
  if (stream.options.dvrSeconds <= 0) throw bad('this origin keeps no DVR (dvr.windowSeconds is 0)');
  if (values.dvr !== undefined && values.dvr !== '1' && values.dvr !== '0') throw bad(`dvr=${values.dvr} is neither 1 nor 0`);
  if (values.end !== undefined && values.start === undefined) throw bad('end needs a start');
  if (values.start !== undefined && values.time_shift !== undefined) throw bad('start and time_shift exclude each other');
  const zero = stream.availabilityStartTimeMs;
  if (zero === null) throw new OriginError('NOT_YET', `stream '${stream.name}' has no media yet`);
  const suffix = `?${new URLSearchParams(PARAMS.filter((p) => values[p] !== undefined).map((p): [string, string] => [p, values[p]!])).toString()}`;
  if (values.start !== undefined) {
    const start = (parseInstant('start', values.start) - zero) / 1000;
    const end = values.end === undefined ? null : (parseInstant('end', values.end) - zero) / 1000;
    if (end !== null && end <= start) throw bad(`end (${values.end}) is not after start (${values.start})`);
    return { view: { kind: 'range', start, end }, suffix };
  }
  let shift = 0;
  if (values.time_shift !== undefined) {
    if (!SECONDS.test(values.time_shift)) throw bad(`time_shift=${values.time_shift} is not a number of seconds`);
    shift = Number(values.time_shift);
  }
  return { view: { kind: 'live', all: values.dvr === '1', shift }, suffix };
}

/** The media a stream holds, in stream seconds: its oldest start and newest complete end over every track. */
export function heldRange(stream: Stream): { from: number; to: number } | null {
  let from = Infinity;
  let to = -Infinity;
  for (const t of stream.tracks.values()) {
    const first = t.segments().find((s) => s.state !== 'open');
    const last = t.newestDone();
    if (!first || !last) continue;
    from = Math.min(from, first.startTime / first.timescale);
    to = Math.max(to, last.endTime / last.timescale);
  }
  return Number.isFinite(from) ? { from, to } : null;
}

/** 404 unless the view's times lie within what the DVR holds; the body says what it holds. */
export function checkView(stream: Stream, request: ViewRequest): void {
  const view = request.view;
  if (view.kind === 'live' && view.shift === 0) return;
  const held = heldRange(stream);
  if (!held) return;
  const iso = (sec: number): string => new Date(stream.wallClockMs(sec)).toISOString();
  const outside = (what: string): OriginError =>
    new OriginError('NOT_FOUND', `${what} is outside the DVR window of '${stream.name}': ${iso(held.from)} to ${iso(held.to)} (${Math.round(held.to - held.from)} s)`);
  if (view.kind === 'live') {
    if (view.shift > held.to - held.from) throw outside(`time_shift=${view.shift}`);
    return;
  }
  // A start within a segment of the oldest one held still finds it (the encoder's first GOP).
  const slack = stream.nominalSegmentDuration ?? stream.options.targetDuration;
  if (view.start < held.from - slack || view.start >= held.to) throw outside(`start ${iso(view.start)}`);
}

/** What a media playlist (or a Representation) lists for a view. */
export interface ViewWindow {
  /** Complete and gap segments, oldest first. */
  readonly segments: readonly Segment[];
  /** The view reaches the live edge: parts, preload hints, prefetch, rendition reports, blocking reloads. */
  readonly edge: boolean;
  /** EXT-X-PLAYLIST-TYPE. */
  readonly type: 'EVENT' | 'VOD' | null;
  /** Nothing more comes (EXT-X-ENDLIST, a static MPD). */
  readonly ended: boolean;
  /** Where the view starts (stream seconds) when a player should start there (EXT-X-START). */
  readonly startAt: number | null;
}

/** Whether a view of a track reaches the live edge (parts, hints, blocking reloads); cheap, no listing. */
export function reachesEdge(stream: Stream, track: Track, view: DvrView): boolean {
  if (view.kind === 'live') return view.shift === 0;
  return view.end === null || !(closedAt(track, view.end) || stream.ended);
}

function closedAt(track: Track, end: number): boolean {
  const newest = track.newestDone();
  return newest !== undefined && newest.endTime / newest.timescale >= end - 1e-6;
}

/** The segments a track lists under a view. */
export function viewWindow(stream: Stream, track: Track, view: DvrView): ViewWindow {
  const keep = Math.max(stream.options.windowSeconds, stream.options.dvrSeconds);
  if (view.kind === 'live') {
    if (view.shift === 0) return { segments: track.listedSegments(view.all ? keep : undefined), edge: true, type: null, ended: stream.ended, startAt: null };
    // Once the stream ended a delayed viewer gets the rest of it: the media does not move any more.
    if (stream.ended) return { segments: track.listedSegments(view.all ? keep : undefined), edge: false, type: null, ended: true, startAt: null };
    const newest = track.newestDone();
    if (!newest) return { segments: [], edge: false, type: null, ended: false, startAt: null };
    return { segments: track.listedUntil(newest.endTime / newest.timescale - view.shift, view.all ? keep : stream.options.windowSeconds), edge: false, type: null, ended: false, startAt: null };
  }
  const segments = track.segmentsBetween(view.start, view.end);
  if (!reachesEdge(stream, track, view)) return { segments, edge: false, type: 'VOD', ended: true, startAt: view.start };
  return { segments, edge: true, type: 'EVENT', ended: stream.ended, startAt: view.start };
}
