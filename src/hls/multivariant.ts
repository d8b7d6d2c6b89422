import { tsCarriage } from '../mpegts/compat.js';
import { measureBitrate } from '../timeline/bitrate.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { AttributeList, tag } from './attributes.js';
import { FMP4_VERSION, LL_HLS_VERSION, TS_VERSION } from './media-playlist.js';
import { mediaPlaylistUri, type PlaylistFlavor } from '../urls.js';

interface AudioGroup {
  readonly id: string;
  readonly codec: string;
  readonly tracks: Track[];
  readonly peak: number;
  readonly average: number;
}

/**
 * The multivariant playlist: one EXT-X-STREAM-INF per video track and audio group, audio as
 * EXT-X-MEDIA renditions grouped by codec. Only tracks with a listed segment appear; null when
 * none has one yet.
 */
export function renderMultivariantPlaylist(stream: Stream, flavor: PlaylistFlavor = 'll-hls', suffix = ''): string | null {
  if (flavor === 'ts') return renderTsMultivariant(stream, suffix);
  const ready = stream.orderedTracks().filter((t) => t.listedSegments().length > 0);
  const videos = ready.filter((t) => t.kind === 'video');
  const audios = ready.filter((t) => t.kind === 'audio');
  if (ready.length === 0) return null;
  // The same EXT-X-VERSION as the media playlists (validators flag a mismatch, MediaMTX #5781).
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${flavor === 'll-hls' ? LL_HLS_VERSION : FMP4_VERSION}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  const groups = audioGroups(audios);
  for (const g of groups) {
    g.tracks.forEach((t, i) => {
      const a = new AttributeList()
        .enumerated('TYPE', 'AUDIO')
        .quoted('GROUP-ID', g.id)
        .quoted('NAME', t.name)
        .quoted('LANGUAGE', t.info.language)
        .enumerated('DEFAULT', i === 0 ? 'YES' : 'NO')
        .enumerated('AUTOSELECT', 'YES');
      if (t.info.channels) a.quoted('CHANNELS', String(t.info.channels));
      a.quoted('URI', mediaPlaylistUri(t.name, flavor) + suffix);
      lines.push(tag('#EXT-X-MEDIA', a));
    });
  }
  if (videos.length > 0) {
    for (const v of videos) {
      const rate = measureBitrate(v) ?? { peak: 0, average: 0 };
      for (const g of groups.length > 0 ? groups : [undefined]) {
        const a = new AttributeList()
          .integer('BANDWIDTH', rate.peak + (g?.peak ?? 0))
          .integer('AVERAGE-BANDWIDTH', rate.average + (g?.average ?? 0))
          .quoted('CODECS', g ? `${v.info.codec},${g.codec}` : v.info.codec);
        if (v.info.width && v.info.height) a.resolution('RESOLUTION', v.info.width, v.info.height);
        const fps = v.frameRate;
        if (fps) a.decimal('FRAME-RATE', fps, 3);
        if (g) a.quoted('AUDIO', g.id);
        lines.push(tag('#EXT-X-STREAM-INF', a), mediaPlaylistUri(v.name, flavor) + suffix);
      }
    }
  } else {
    for (const g of groups) {
      for (const t of g.tracks) {
        const rate = measureBitrate(t) ?? { peak: 0, average: 0 };
        const a = new AttributeList().integer('BANDWIDTH', rate.peak).integer('AVERAGE-BANDWIDTH', rate.average).quoted('CODECS', t.info.codec).quoted('AUDIO', g.id);
        lines.push(tag('#EXT-X-STREAM-INF', a), mediaPlaylistUri(t.name, flavor) + suffix);
      }
    }
  }
  lines.push('');
  return lines.join('\n');
}

function audioGroups(audios: Track[]): AudioGroup[] {
  const byCodec = new Map<string, Track[]>();
  for (const t of audios) {
    const key = t.info.codec;
    const list = byCodec.get(key) ?? [];
    list.push(t);
    byCodec.set(key, list);
  }
  return [...byCodec.entries()].map(([codec, tracks]) => {
    let peak = 0;
    let average = 0;
    for (const t of tracks) {
      const r = measureBitrate(t);
      if (r) {
        peak = Math.max(peak, r.peak);
        average = Math.max(average, r.average);
      }
    }
    return { id: `audio-${codec.replace(/[^A-Za-z0-9]/g, '-')}`, codec, tracks, peak, average };
  });
}

/** The tracks an MPEG-TS variant can carry: H.264 video and AAC audio (Apple requires fMP4 for HEVC). */
export function tsCompatible(track: Track): boolean {
  return tsCarriage(track.info);
}

/** The audio muxed into every MPEG-TS video variant: the first AAC track. */
export function defaultTsAudio(stream: Stream): Track | undefined {
  return stream.orderedTracks().find((t) => t.kind === 'audio' && tsCompatible(t));
}

/** TS packets, PES and ADTS headers over the CMAF media bit rate (an estimate; measured ≈ 3–6 %). */
const TS_OVERHEAD = 1.08;

/**
 * The legacy multivariant playlist: one variant per H.264 track with the default audio muxed in
 * each MPEG-TS segment, and an audio-only variant. No EXT-X-MEDIA: the audio is in the segments.
 */
function renderTsMultivariant(stream: Stream, suffix: string): string | null {
  const audio = defaultTsAudio(stream);
  const audioReady = audio && audio.listedSegments().length > 0 ? audio : undefined;
  const videos = stream.orderedTracks().filter((t) => t.kind === 'video' && tsCompatible(t) && t.listedSegments().length > 0);
  if (videos.length === 0 && !audioReady) return null;
  const audioRate = audioReady ? (measureBitrate(audioReady) ?? { peak: 0, average: 0 }) : { peak: 0, average: 0 };
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${TS_VERSION}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of videos) {
    const rate = measureBitrate(v) ?? { peak: 0, average: 0 };
    const a = new AttributeList()
      .integer('BANDWIDTH', Math.ceil((rate.peak + audioRate.peak) * TS_OVERHEAD))
      .integer('AVERAGE-BANDWIDTH', Math.ceil((rate.average + audioRate.average) * TS_OVERHEAD))
      .quoted('CODECS', audioReady ? `${v.info.codec},${audioReady.info.codec}` : v.info.codec);
    if (v.info.width && v.info.height) a.resolution('RESOLUTION', v.info.width, v.info.height);
    const fps = v.frameRate;
    if (fps) a.decimal('FRAME-RATE', fps, 3);
    lines.push(tag('#EXT-X-STREAM-INF', a), mediaPlaylistUri(v.name, 'ts') + suffix);
  }
  if (audioReady) {
    const a = new AttributeList()
      .integer('BANDWIDTH', Math.ceil(audioRate.peak * TS_OVERHEAD))
      .integer('AVERAGE-BANDWIDTH', Math.ceil(audioRate.average * TS_OVERHEAD))
      .quoted('CODECS', audioReady.info.codec);
    lines.push(tag('#EXT-X-STREAM-INF', a), mediaPlaylistUri(audioReady.name, 'ts') + suffix);
  }
  lines.push('');
  return lines.join('\n');
}
