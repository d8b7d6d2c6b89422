/**
 * Every playback URL the origin answers, built and parsed in one place. Inner URLs, relative to
 * `/live/{stream}/`; media objects carry the stream instance tag so a restarted stream never
 * collides with what caches hold of another instance:
 *   master.m3u8, master-lhls.m3u8, master-ts.m3u8   multivariant playlists
 *   manifest.mpd, hesp.json                          DASH, HESP
 *   {track}/index.m3u8 | lhls.m3u8 | ts.m3u8         LL-HLS, L-HLS, MPEG-TS media playlists
 *   {track}/iframes.m3u8 | iframes-lhls.m3u8         I-frame playlists (of master.m3u8, master-lhls.m3u8)
 *   {track}/{tag}/init-{id}.mp4                      CMAF header
 *   {track}/{tag}/{msn}.m4s                          segment
 *   {track}/{tag}/{msn}.{part}.m4s                   partial segment
 *   {track}/{tag}/{msn}.ts                           MPEG-TS segment (video muxed with the default audio)
 *   {track}/{tag}/{msn}.vtt | {msn}-ts.vtt           WebVTT segment of a wvtt track, timed for fMP4 | MPEG-TS media
 *   {track}/{tag}/{msn}.{part}.vtt                   WebVTT partial segment
 *   {track}/{tag}/hesp-{seq|now}.mp4                 HESP initialization packet
 */
import { OriginError } from './errors.js';

export type PlaylistFlavor = 'll-hls' | 'l-hls' | 'ts';
/** The multivariant playlists that carry I-frame variants (fMP4 ones). */
export type IframeFlavor = 'll-hls' | 'l-hls';
/** The media a WebVTT segment's X-TIMESTAMP-MAP refers to. */
export type VttMedia = 'fmp4' | 'ts';

export type PlaybackTarget =
  | { readonly kind: 'utc' | 'health' | 'metrics' }
  | { readonly kind: 'api'; readonly stream: string | null }
  | { readonly kind: 'master'; readonly stream: string; readonly flavor: PlaylistFlavor }
  | { readonly kind: 'mpd' | 'hesp'; readonly stream: string }
  | { readonly kind: 'playlist'; readonly stream: string; readonly track: string; readonly flavor: PlaylistFlavor }
  | { readonly kind: 'iframes'; readonly stream: string; readonly track: string; readonly flavor: IframeFlavor }
  | { readonly kind: 'segment' | 'ts'; readonly stream: string; readonly track: string; readonly tag: string; readonly msn: number }
  | { readonly kind: 'vtt'; readonly stream: string; readonly track: string; readonly tag: string; readonly msn: number; readonly part: number | null; readonly media: VttMedia }
  | { readonly kind: 'part'; readonly stream: string; readonly track: string; readonly tag: string; readonly msn: number; readonly part: number }
  | { readonly kind: 'init'; readonly stream: string; readonly track: string; readonly tag: string; readonly id: string }
  | { readonly kind: 'hesp-packet'; readonly stream: string; readonly track: string; readonly tag: string; readonly seq: number | 'now' }
  /** Not a stream URL: the status page and its assets, or nothing. */
  | { readonly kind: 'other'; readonly path: string };

const MASTERS: Record<string, PlaylistFlavor> = { 'master.m3u8': 'll-hls', 'master-lhls.m3u8': 'l-hls', 'master-ts.m3u8': 'ts' };
const PLAYLISTS: Record<string, PlaylistFlavor> = { 'index.m3u8': 'll-hls', 'lhls.m3u8': 'l-hls', 'ts.m3u8': 'ts' };
const PLAYLIST_FILE: Record<PlaylistFlavor, string> = { 'll-hls': 'index.m3u8', 'l-hls': 'lhls.m3u8', ts: 'ts.m3u8' };
const MASTER_FILE: Record<PlaylistFlavor, string> = { 'll-hls': 'master.m3u8', 'l-hls': 'master-lhls.m3u8', ts: 'master-ts.m3u8' };
const IFRAME_PLAYLISTS: Record<string, IframeFlavor> = { 'iframes.m3u8': 'll-hls', 'iframes-lhls.m3u8': 'l-hls' };
const IFRAME_FILE: Record<IframeFlavor, string> = { 'll-hls': 'iframes.m3u8', 'l-hls': 'iframes-lhls.m3u8' };

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const TAG = /^[0-9a-z]{1,16}$/;
const SEGMENT = /^(\d{1,15})\.m4s$/;
const PART = /^(\d{1,15})\.(\d{1,6})\.m4s$/;
const TS_SEGMENT = /^(\d{1,15})\.ts$/;
const VTT_SEGMENT = /^(\d{1,15})(?:\.(\d{1,6})|(-ts))?\.vtt$/;
const INIT = /^init-([0-9a-f]{1,40})\.mp4$/;
const HESP_PACKET = /^hesp-(\d{1,15}|now)\.mp4$/;

function notFound(path: string): OriginError {
  return new OriginError('NOT_FOUND', `no such resource: ${path}`);
}

/** What a request path (without its query) addresses; a 404 for a `/live/` path of no known shape. */
export function parsePlaybackPath(path: string): PlaybackTarget {
  if (path === '/utc') return { kind: 'utc' };
  if (path === '/healthz') return { kind: 'health' };
  if (path === '/metrics') return { kind: 'metrics' };
  if (path === '/api/streams') return { kind: 'api', stream: null };
  if (path.startsWith('/api/streams/')) return { kind: 'api', stream: path.slice(13) };
  const parts = path.split('/');
  if (parts[1] !== 'live') return { kind: 'other', path };
  const [, , stream, a, b, file] = parts;
  if (parts.length < 4 || parts.length > 6 || !stream || !NAME.test(stream)) throw notFound(path);
  if (parts.length === 4) {
    const flavor = Object.hasOwn(MASTERS, a!) ? MASTERS[a!] : undefined;
    if (flavor) return { kind: 'master', stream, flavor };
    if (a === 'manifest.mpd') return { kind: 'mpd', stream };
    if (a === 'hesp.json') return { kind: 'hesp', stream };
    throw notFound(path);
  }
  const track = a!;
  if (!NAME.test(track)) throw notFound(path);
  if (parts.length === 5) {
    const flavor = Object.hasOwn(PLAYLISTS, b!) ? PLAYLISTS[b!] : undefined;
    if (flavor) return { kind: 'playlist', stream, track, flavor };
    const iframes = Object.hasOwn(IFRAME_PLAYLISTS, b!) ? IFRAME_PLAYLISTS[b!] : undefined;
    if (iframes) return { kind: 'iframes', stream, track, flavor: iframes };
    throw notFound(path);
  }
  const tag = b!;
  if (!TAG.test(tag)) throw notFound(path);
  let m = SEGMENT.exec(file!);
  if (m) return { kind: 'segment', stream, track, tag, msn: Number(m[1]) };
  m = PART.exec(file!);
  if (m) return { kind: 'part', stream, track, tag, msn: Number(m[1]), part: Number(m[2]) };
  m = TS_SEGMENT.exec(file!);
  if (m) return { kind: 'ts', stream, track, tag, msn: Number(m[1]) };
  m = VTT_SEGMENT.exec(file!);
  if (m) return { kind: 'vtt', stream, track, tag, msn: Number(m[1]), part: m[2] === undefined ? null : Number(m[2]), media: m[3] ? 'ts' : 'fmp4' };
  m = INIT.exec(file!);
  if (m) return { kind: 'init', stream, track, tag, id: m[1]! };
  m = HESP_PACKET.exec(file!);
  if (m) return { kind: 'hesp-packet', stream, track, tag, seq: m[1] === 'now' ? 'now' : Number(m[1]) };
  throw notFound(path);
}

/** The absolute path of a target: the inverse of parsePlaybackPath. */
export function playbackPath(t: PlaybackTarget): string {
  switch (t.kind) {
    case 'utc':
      return '/utc';
    case 'health':
      return '/healthz';
    case 'metrics':
      return '/metrics';
    case 'api':
      return t.stream === null ? '/api/streams' : `/api/streams/${t.stream}`;
    case 'master':
      return `/live/${t.stream}/${MASTER_FILE[t.flavor]}`;
    case 'mpd':
      return `/live/${t.stream}/manifest.mpd`;
    case 'hesp':
      return `/live/${t.stream}/hesp.json`;
    case 'playlist':
      return `/live/${t.stream}/${mediaPlaylistUri(t.track, t.flavor)}`;
    case 'iframes':
      return `/live/${t.stream}/${iframePlaylistUri(t.track, t.flavor)}`;
    case 'segment':
      return `/live/${t.stream}/${t.track}/${segmentUri(t.tag, t.msn)}`;
    case 'ts':
      return `/live/${t.stream}/${t.track}/${segmentUri(t.tag, t.msn, 'ts')}`;
    case 'vtt':
      return `/live/${t.stream}/${t.track}/${t.part === null ? vttSegmentUri(t.tag, t.msn, t.media) : `${t.tag}/${t.msn}.${t.part}.vtt`}`;
    case 'part':
      return `/live/${t.stream}/${t.track}/${partUri(t.tag, t.msn, t.part)}`;
    case 'init':
      return `/live/${t.stream}/${t.track}/${initUri(t.tag, t.id)}`;
    case 'hesp-packet':
      return `/live/${t.stream}/${t.track}/${t.tag}/${hespPacketFile(t.seq)}`;
    case 'other':
      return t.path;
  }
}

/** A multivariant playlist, relative to `/live/{stream}/`. */
export function masterUri(flavor: PlaylistFlavor): string {
  return MASTER_FILE[flavor];
}

/** A media playlist, relative to `/live/{stream}/` (the multivariant playlist's directory). */
export function mediaPlaylistUri(track: string, flavor: PlaylistFlavor = 'll-hls'): string {
  return `${track}/${PLAYLIST_FILE[flavor]}`;
}

/** An I-frame playlist, relative to `/live/{stream}/`. */
export function iframePlaylistUri(track: string, flavor: IframeFlavor): string {
  return `${track}/${IFRAME_FILE[flavor]}`;
}

/** Another rendition's media playlist, relative to a media playlist. */
export function siblingPlaylistUri(track: string, flavor: PlaylistFlavor = 'll-hls'): string {
  return `../${mediaPlaylistUri(track, flavor)}`;
}

/** A segment, relative to its media playlist. */
export function segmentUri(tag: string, msn: number, extension: 'm4s' | 'ts' = 'm4s'): string {
  return `${tag}/${msn}.${extension}`;
}

/** A WebVTT segment, relative to its media playlist. */
export function vttSegmentUri(tag: string, msn: number, media: VttMedia): string {
  return `${tag}/${msn}${media === 'ts' ? '-ts' : ''}.vtt`;
}

/** A partial segment, relative to its media playlist. */
export function partUri(tag: string, msn: number, index: number): string {
  return `${tag}/${msn}.${index}.m4s`;
}

/** A CMAF header, relative to its media playlist. */
export function initUri(tag: string, id: string): string {
  return `${tag}/init-${id}.mp4`;
}

/** DASH SegmentTemplate@initialization and @media, relative to the MPD. */
export function dashTemplates(tag: string, initId: string): { initialization: string; media: string } {
  return { initialization: `$RepresentationID$/${initUri(tag, initId)}`, media: `$RepresentationID$/${tag}/$Number$.m4s` };
}

/** The HESP baseUrl of a track, relative to the HESP manifest. */
export function hespBaseUrl(track: string, tag: string): string {
  return `${track}/${tag}/`;
}

function hespPacketFile(seq: number | 'now'): string {
  return `hesp-${seq}.mp4`;
}
