import { tsCompatible } from '../hls/multivariant.js';
import { measureBitrate } from '../timeline/bitrate.js';
import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track, TrackState } from '../timeline/track.js';

/** What the playback listener counts per stream (the origin's own counters, not the timeline's). */
export interface DeliveryCounters {
  /** Requests held right now on the stream's tracks (blocking reloads, hinted parts, next segments). */
  held(stream: Stream): number;
  /** Distinct clients that fetched the stream recently (see Audience). */
  viewers(stream: Stream, nowMs: number): number;
}

export interface TrackStatus {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  /** RFC 6381 codecs parameter. */
  readonly codec: string;
  readonly width: number | null;
  readonly height: number | null;
  readonly frameRate: number | null;
  readonly sampleRate: number | null;
  readonly channels: number | null;
  readonly language: string;
  /** Measured over the segments the playlists list (bits/s); null before the first segment. */
  readonly bitrate: { readonly average: number; readonly peak: number } | null;
  readonly state: TrackState;
  /** Newest complete segment. */
  readonly lastMsn: number | null;
  /** Newest complete part (what LL-HLS LAST-MSN/LAST-PART report). */
  readonly lastPart: { readonly msn: number; readonly part: number } | null;
  readonly lastChunkAt: string | null;
}

/** A range of segments a player can reach: the live window today, a DVR later. */
export interface RangeStatus {
  readonly firstMsn: number;
  readonly lastMsn: number;
  /** Program date-time of the first segment's start and of the last segment's end. */
  readonly start: string;
  readonly end: string;
  readonly seconds: number;
}

export interface PlaybackUrls {
  readonly llHls: string;
  readonly lHls: string;
  /** Null when no track can go into MPEG-TS (H.264 and AAC only). */
  readonly ts: string | null;
  readonly dash: string;
  readonly dashTimeline: string;
  readonly hesp: string;
  /** The status page's player page; null when the page is off. */
  readonly page: string | null;
}

export interface StreamStatus {
  readonly name: string;
  readonly tag: string;
  readonly startedAt: string;
  readonly ingest: {
    /** Some track is receiving media (its ingest connection is open, or per-segment pushes go on). */
    readonly connected: boolean;
    /** When the last chunk arrived, if no track is receiving. */
    readonly idleSince: string | null;
    readonly lastChunkAt: string | null;
    readonly secondsSinceLastChunk: number | null;
  };
  /** Seconds; null until decided (TARGETDURATION at the first complete segment, PART-TARGET at the first sample). */
  readonly durations: { readonly targetDuration: number | null; readonly segment: number | null; readonly partTarget: number | null };
  readonly window: RangeStatus | null;
  /** Media kept beyond the window; null while this origin has no DVR store. */
  readonly dvr: RangeStatus | null;
  readonly tracks: readonly TrackStatus[];
  readonly delivery: {
    readonly viewers: number;
    readonly heldRequests: number;
    /** Responses streaming a segment that is still being produced. */
    readonly growingReaders: number;
  };
  readonly urls: PlaybackUrls;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function describeTrack(track: Track): TrackStatus {
  const info = track.info;
  const bitrate = measureBitrate(track);
  const part = track.lastCompletePart();
  return {
    name: track.name,
    kind: info.kind,
    codec: info.codec,
    width: info.width ?? null,
    height: info.height ?? null,
    frameRate: track.frameRate === undefined ? null : Math.round(track.frameRate * 1000) / 1000,
    sampleRate: info.sampleRate ?? null,
    channels: info.channels ?? null,
    language: info.language,
    bitrate: bitrate ? { average: bitrate.average, peak: bitrate.peak } : null,
    state: track.state,
    lastMsn: track.lastCompleteMsn(),
    lastPart: part ? { msn: part.msn, part: part.index } : null,
    lastChunkAt: track.lastChunkAtMs > 0 ? iso(track.lastChunkAtMs) : null,
  };
}

function rangeOf(segments: readonly Segment[]): RangeStatus | null {
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (!first || !last) return null;
  const end = last.programDateTimeMs + Math.round(last.seconds * 1000);
  return { firstMsn: first.msn, lastMsn: last.msn, start: iso(first.programDateTimeMs), end: iso(end), seconds: Math.round(end - first.programDateTimeMs) / 1000 };
}

/** Relative playback URLs of a stream; no ingest URL, token or folder ever goes here. */
export function playbackUrls(stream: Stream, pagePath: ((name: string) => string) | null): PlaybackUrls {
  const base = `/live/${stream.name}/`;
  let ts = false;
  for (const t of stream.tracks.values()) if (tsCompatible(t)) ts = true;
  return {
    llHls: `${base}master.m3u8`,
    lHls: `${base}master-lhls.m3u8`,
    ts: ts ? `${base}master-ts.m3u8` : null,
    dash: `${base}manifest.mpd`,
    dashTimeline: `${base}manifest.mpd?mode=timeline`,
    hesp: `${base}hesp.json`,
    page: pagePath ? pagePath(stream.name) : null,
  };
}

/** The public description of one live stream at `nowMs` (the stream API's item). */
export function describeStream(stream: Stream, counters: DeliveryCounters, nowMs: number, pagePath: ((name: string) => string) | null): StreamStatus {
  const tracks = stream.orderedTracks();
  let connected = false;
  let lastChunk = 0;
  let growingReaders = 0;
  for (const t of tracks) {
    if (t.state === 'active') connected = true;
    lastChunk = Math.max(lastChunk, t.lastChunkAtMs);
    growingReaders += t.openSegment?.body?.readerCount ?? 0;
  }
  // The window of the first track in playlist order (every track shares the segment grid).
  const reference = tracks[0];
  return {
    name: stream.name,
    tag: stream.tag,
    startedAt: iso(stream.createdAtMs),
    ingest: {
      connected,
      idleSince: !connected && lastChunk > 0 ? iso(lastChunk) : null,
      lastChunkAt: lastChunk > 0 ? iso(lastChunk) : null,
      secondsSinceLastChunk: lastChunk > 0 ? Math.max(0, nowMs - lastChunk) / 1000 : null,
    },
    durations: { targetDuration: stream.targetDuration, segment: stream.nominalSegmentDuration, partTarget: stream.partTarget },
    window: reference ? rangeOf(reference.listedSegments()) : null,
    dvr: reference && stream.options.dvrSeconds > 0 ? rangeOf(reference.listedSegments(Math.max(stream.options.windowSeconds, stream.options.dvrSeconds))) : null,
    tracks: tracks.map(describeTrack),
    delivery: { viewers: counters.viewers(stream, nowMs), heldRequests: counters.held(stream), growingReaders },
    urls: playbackUrls(stream, pagePath),
  };
}

/** Every live stream, by name; ended streams (still serving their last window) are left out. */
export function describeStreams(streams: Iterable<Stream>, counters: DeliveryCounters, nowMs: number, pagePath: ((name: string) => string) | null): StreamStatus[] {
  const live = [...streams].filter((s) => !s.ended);
  live.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return live.map((s) => describeStream(s, counters, nowMs, pagePath));
}
