import { OriginError } from '../errors.js';
import { isValidName } from '../timeline/registry.js';

/** What an ingest URL `/live/{stream}/{file}` addresses. */
export type IngestPath =
  | { readonly kind: 'media'; readonly stream: string; readonly name: string }
  | { readonly kind: 'manifest'; readonly stream: string };

const MANIFEST = /\.(mpd|m3u8)$/i;
const STREAMS = /^Streams\((.+)\)$/;
const FFMPEG_DASH = /^(?:init|chunk)-(stream\d+)(?:-\d+)?\.m4s$/;
const EXTENSION = /\.[A-Za-z0-9]{1,8}$/;

/**
 * Names the track(s) behind an ingest URL. Accepted shapes:
 * - `{name}.{ext}`: one long-running upload of a continuous fMP4 (`ffmpeg -f mp4`);
 * - `Streams({name}.{ext})`: DASH-IF Interface-1 / Smooth naming;
 * - `init-stream{R}.m4s`, `chunk-stream{R}-{n}.m4s`: ffmpeg's DASH push;
 * - `{name}/{segment}.{ext}`: DASH-IF Interface-1 per-track paths (also ffmpeg's HLS push);
 * - `*.mpd`, `*.m3u8`: a pushed manifest, acknowledged and ignored.
 */
export function parseIngestPath(pathname: string): IngestPath {
  const parts = pathname.split('/');
  if (parts[0] !== '' || parts[1] !== 'live' || parts.length < 4) {
    throw new OriginError('NOT_FOUND', `ingest URLs are /live/{stream}/{file}, not ${pathname}`);
  }
  let decoded: string[];
  try {
    decoded = parts.slice(2).map((p) => decodeURIComponent(p));
  } catch {
    throw new OriginError('BAD_REQUEST', `malformed percent-encoding in ${pathname}`);
  }
  const [stream, ...rest] = decoded as [string, ...string[]];
  if (!isValidName(stream)) throw new OriginError('BAD_REQUEST', `stream name '${stream}' must be 1-64 characters of A-Z a-z 0-9 _ -`);
  const file = rest[rest.length - 1]!;
  if (rest.length > 2 || file === '') throw new OriginError('NOT_FOUND', `ingest URLs are /live/{stream}/{file} or /live/{stream}/{track}/{file}, not ${pathname}`);
  if (MANIFEST.test(file)) return { kind: 'manifest', stream };
  let name: string;
  if (rest.length === 2) name = rest[0]!;
  else {
    const smooth = STREAMS.exec(file);
    const dash = FFMPEG_DASH.exec(file);
    if (smooth) name = smooth[1]!.replace(EXTENSION, '');
    else if (dash) name = dash[1]!;
    else name = file.replace(EXTENSION, '');
  }
  name = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48);
  if (name === '' || name === '_') throw new OriginError('BAD_REQUEST', `no track name in ${pathname}`);
  return { kind: 'media', stream, name };
}
