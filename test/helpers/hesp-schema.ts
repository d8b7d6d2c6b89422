import { z } from 'zod';

// draft-theo-hesp-06 §3.2 field table, plus the stricter rules of THEO's manifest validator
// (THEOplayer/hesp-manifest-rs): no zero padding in patterns, no empty protection, scale > 0,
// consecutive segment ids, ISO 639-2 languages, live needs activePresentation and currentTime.
const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const int = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const ScaledValue = z.strictObject({ value: int, scale: uint.min(1).optional() });
const TimeBounds = z
  .strictObject({ startTime: uint.optional(), endTime: uint.optional(), scale: uint.min(1).optional() })
  .refine((t) => t.startTime !== undefined || t.endTime !== undefined, 'timeBounds needs a start or an end')
  .refine((t) => t.startTime === undefined || t.endTime === undefined || t.startTime <= t.endTime, 'timeBounds start after end');
const initPattern = z.string().refine((s) => s.includes('{initId}') && !/\{initId:/.test(s), 'initializationPattern needs a literal {initId}');
const contPattern = z.string().refine((s) => s.includes('{segmentId}') && !/\{segmentId:/.test(s), 'continuationPattern needs a literal {segmentId}');
const Segment = z.strictObject({ id: uint, timeBounds: TimeBounds.optional() });
const segments = z.array(Segment).refine((s) => s.every((x, i) => i === 0 || x.id === s[i - 1]!.id + 1), 'segment ids must be consecutive');
const Protection = z.strictObject({ type: z.enum(['cenc', 'cbcs']), systems: z.array(z.object({ schemeId: z.string() })).min(1) });
/** Fields a track may carry itself or inherit from its switching set. */
const inheritable = {
  baseUrl: z.string().optional(),
  codecs: z.string().optional(),
  continuationPattern: contPattern.optional(),
  initializationPattern: initPattern.optional(),
  label: z.string().optional(),
  mediaTimeOffset: ScaledValue.optional(),
};
const trackCommon = {
  id: z.string().min(1),
  bandwidth: uint.min(1),
  segments,
  startSegmentId: uint.optional(),
  startSequenceNumber: uint.optional(),
  averageBandwidth: uint.optional(),
  ...inheritable,
  segmentDuration: ScaledValue.optional(),
};
const VideoTrack = z.strictObject({
  ...trackCommon,
  resolution: z.strictObject({ width: uint.min(1), height: uint.min(1), sarWidth: uint.optional(), sarHeight: uint.optional() }),
  frameRate: ScaledValue.optional(),
});
const AudioTrack = z.strictObject({ ...trackCommon, channels: uint.optional(), sampleRate: uint.optional(), samplesPerFrame: uint.optional() });
const setCommon = {
  id: z.string().min(1),
  alignId: z.string().optional(),
  ...inheritable,
  protection: Protection.optional(),
};
const VideoSet = z
  .strictObject({ ...setCommon, tracks: z.array(VideoTrack).min(1), frameRate: ScaledValue.optional(), mimeType: z.string().startsWith('video/').optional() })
  .refine((s) => s.tracks.every((t) => (t.codecs ?? s.codecs) && (t.frameRate ?? s.frameRate) && (t.initializationPattern ?? s.initializationPattern) && (t.continuationPattern ?? s.continuationPattern)), 'every video track needs codecs, frameRate and both patterns (own or inherited)');
const AudioSet = z
  .strictObject({
    ...setCommon,
    language: z.string().regex(/^[a-z]{3}$/, 'an ISO 639-2 language'),
    tracks: z.array(AudioTrack).min(1),
    channels: uint.optional(),
    sampleRate: uint.optional(),
    samplesPerFrame: uint.optional(),
    mimeType: z.string().startsWith('audio/').optional(),
  })
  .refine((s) => s.tracks.every((t) => (t.codecs ?? s.codecs) && (t.sampleRate ?? s.sampleRate) && (t.initializationPattern ?? s.initializationPattern) && (t.continuationPattern ?? s.continuationPattern)), 'every audio track needs codecs, sampleRate and both patterns (own or inherited)');
const Presentation = z.strictObject({
  id: z.string().min(1),
  timeBounds: TimeBounds,
  audio: z.array(AudioSet).optional(),
  video: z.array(VideoSet).optional(),
  baseUrl: z.string().optional(),
  events: z.array(z.unknown()).optional(),
  metadata: z.array(z.unknown()).optional(),
});
const unique = (ids: string[]): boolean => new Set(ids).size === ids.length;

export const HespManifest = z
  .strictObject({
    availabilityDuration: ScaledValue,
    creationDate: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$/),
    fallbackPollRate: uint,
    manifestVersion: z.literal('2.0.0'),
    presentations: z.array(Presentation),
    streamType: z.enum(['live', 'vod']),
    activePresentation: z.string().optional(),
    currentTime: ScaledValue.optional(),
    contentBaseUrl: z.string().optional(),
    timeSource: z.strictObject({ scheme: z.string().regex(/^urn:|^https?:/), value: z.string() }).optional(),
  })
  .refine((m) => unique(m.presentations.map((p) => p.id)), 'presentation ids are unique')
  .refine((m) => m.presentations.every((p) => unique([...(p.video ?? []), ...(p.audio ?? [])].map((s) => s.id))), 'switching set ids are unique in a presentation')
  .refine((m) => m.presentations.every((p) => [...(p.video ?? []), ...(p.audio ?? [])].every((s) => unique(s.tracks.map((t) => t.id)))), 'track ids are unique in a switching set')
  .refine((m) => m.streamType !== 'live' || (m.activePresentation !== undefined && m.currentTime !== undefined), 'live needs activePresentation and currentTime')
  .refine((m) => {
    if (m.streamType !== 'live') return true;
    const active = m.presentations.find((p) => p.id === m.activePresentation);
    if (!active || active.timeBounds.startTime === undefined) return false;
    const now = m.currentTime!.value / (m.currentTime!.scale ?? 1);
    return now >= active.timeBounds.startTime / (active.timeBounds.scale ?? 1);
  }, 'the active presentation exists, has a start, and currentTime is not before it');

export type HespManifestType = z.infer<typeof HespManifest>;
