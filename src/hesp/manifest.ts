import { measureBitrate } from '../timeline/bitrate.js';
import type { Segment } from '../timeline/segment.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { hespBaseUrl } from '../urls.js';
import { packetRate, presentationStartMs, samplesPerFrame, startSequence, type HespPresentation } from './sequence.js';

export const HESP_TYPE = 'application/vnd.theo.hesp+json';
/** `{initId}` is a sequence number or `now`; no zero padding (THEO's manifest validator rejects it). */
export const INITIALIZATION_PATTERN = 'hesp-{initId}.mp4';
/** The Continuation Segments are the stream's CMAF segments, under the same URLs as HLS and DASH. */
export const CONTINUATION_PATTERN = '{segmentId}.m4s';

export interface HespOptions {
  readonly utcUrl: string;
}

type Json = Record<string, unknown>;

/** The HESP Presentations of a stream: its DASH Periods (same continuity rules), dated. */
export function hespPresentations(stream: Stream): HespPresentation[] {
  const periods = stream.periods('number');
  const tracks = [...stream.tracks.values()];
  return periods.map((period, i) => ({ period, next: periods[i + 1], startMs: presentationStartMs(period, tracks) }));
}

function scaled(value: number, scale: number): Json {
  return scale === 1 ? { value } : { value, scale };
}

function inPresentation(track: Track, p: HespPresentation): Segment[] {
  return track.segmentsFrom(p.period.startMsn).filter((s) => !p.next || s.msn < p.next.startMsn);
}

/** Media time − manifest time, in the track's timescale, from any segment with media. */
function mediaTimeOffset(segments: readonly Segment[]): Json | undefined {
  const seg = segments.find((s) => s.baseMediaDecodeTime !== null);
  if (!seg) return undefined;
  const offset = seg.baseMediaDecodeTime! - BigInt(seg.startTime);
  return offset === 0n ? undefined : scaled(Number(offset), seg.timescale);
}

/**
 * The HESP manifest (draft-theo-hesp-06 §3.2, version 2.0.0) of a live stream: one Presentation
 * per continuous timeline, video and audio Switching Sets, tracks addressed through their
 * `baseUrl` with the initialization and continuation patterns. Null before the first segment.
 */
export function renderHespManifest(stream: Stream, options: HespOptions): string | null {
  const d = stream.nominalSegmentDuration;
  const td = stream.targetDuration;
  const frontier = stream.frontier();
  if (d === null || td === null || frontier === null) return null;
  const tracks = stream.orderedTracks().filter((t) => t.segments().some((s) => s.state === 'complete'));
  if (tracks.length === 0) return null;
  const window = stream.options.windowSeconds;
  const all = hespPresentations(stream);
  // Presentations still holding media within the availability window.
  const from = frontier - window;
  let first = 0;
  for (let i = 0; i < all.length; i++) if (all[i]!.period.start <= from) first = i;
  const presentations = all.slice(first);
  const active = presentations[presentations.length - 1];
  if (!active) return null;

  const manifest: Json = {
    manifestVersion: '2.0.0',
    streamType: 'live',
    // The wall clock of the newest media: the same on every origin with the same media.
    creationDate: new Date(stream.wallClockMs(frontier)).toISOString(),
    fallbackPollRate: td,
    availabilityDuration: scaled(window, 1),
    activePresentation: active.period.id,
    // "the newest composition timestamp of any Track", on the manifest timeline.
    currentTime: scaled(Math.max(active.startMs, Math.floor(frontier * 1000)), 1000),
    timeSource: { scheme: 'urn:mpeg:dash:utc:http-iso:2014', value: options.utcUrl },
    presentations: presentations.map((p) => presentation(stream, tracks, p, d)),
  };
  return JSON.stringify(manifest, null, 2) + '\n';
}

function presentation(stream: Stream, tracks: readonly Track[], p: HespPresentation, d: number): Json {
  const ended = stream.ended && !p.next;
  let endMs: number | undefined;
  if (p.next) endMs = presentationStartMs(p.next, tracks);
  else if (ended) endMs = Math.ceil((stream.frontier() ?? 0) * 1000);
  const video: Json[] = [];
  const audio: Json[] = [];
  const groups = new Map<string, Track[]>();
  for (const t of tracks) {
    const key = t.kind === 'video' ? `video-${t.info.sampleEntry.replace(/[13]$/, '').replace('hev', 'hvc')}` : `audio-${t.info.codec}-${t.info.language}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const [id, members] of groups) {
    const trackObjects = members.map((t) => trackObject(stream, t, p, d)).filter((x): x is Json => x !== null);
    if (trackObjects.length === 0) continue;
    const head = members[0]!;
    const set: Json = { id, initializationPattern: INITIALIZATION_PATTERN, continuationPattern: CONTINUATION_PATTERN };
    if (head.kind === 'video') {
      video.push({ ...set, mimeType: 'video/mp4', tracks: trackObjects });
    } else {
      audio.push({
        ...set,
        language: head.info.language,
        mimeType: 'audio/mp4',
        codecs: head.info.codec,
        sampleRate: head.info.sampleRate,
        samplesPerFrame: samplesPerFrame(head),
        ...(head.info.channels ? { channels: head.info.channels } : {}),
        tracks: trackObjects,
      });
    }
  }
  return {
    id: p.period.id,
    timeBounds: { startTime: p.startMs, ...(endMs !== undefined ? { endTime: endMs } : {}), scale: 1000 },
    video,
    audio,
  };
}

function trackObject(stream: Stream, t: Track, p: HespPresentation, d: number): Json | null {
  const segments = inPresentation(t, p);
  if (!segments.some((s) => s.byteLength > 0)) return null;
  const rate = packetRate(t);
  const measured = measureBitrate(t);
  const bandwidth = Math.max(1, Math.ceil(measured?.peak ?? t.info.declaredMaxBitrate ?? t.info.declaredAvgBitrate ?? 1));
  const offset = mediaTimeOffset(segments);
  const common: Json = {
    id: t.name,
    baseUrl: hespBaseUrl(t.name, stream.tag),
    bandwidth,
    ...(measured ? { averageBandwidth: Math.ceil(measured.average) } : {}),
    startSequenceNumber: startSequence(p, rate),
    startSegmentId: p.period.startMsn,
    segmentDuration: scaled(Math.round(d * t.timescale), t.timescale),
    ...(offset ? { mediaTimeOffset: offset } : {}),
    segments: segments.map((s) => ({ id: s.msn })),
  };
  if (t.kind === 'video') {
    return {
      ...common,
      codecs: t.info.codec,
      resolution: { width: t.info.width ?? 0, height: t.info.height ?? 0 },
      frameRate: scaled(rate.value, rate.scale),
    };
  }
  return common;
}
