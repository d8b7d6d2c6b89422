import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { renderIframePlaylist } from '../hls/iframe-playlist.js';
import { keyframesMissing, loadKeyframes } from '../timeline/keyframes.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import type { IframeFlavor } from '../urls.js';
import { LIVE, viewWindow, type ViewRequest } from '../dvr/view.js';
import { CacheControl } from './cache-policy.js';
import { guarded } from './guard.js';
import { notReady, sendPlaylist, targetDuration, type HlsContext } from './hls-routes.js';
import { sendError } from './respond.js';

/**
 * The I-frame playlist of a video track, rendered once per list version and view. Segments
 * restored from the DVR index first have their keyframes read from the store (once each).
 */
export function sendIframePlaylist(ctx: HlsContext, req: IncomingMessage, res: ServerResponse, stream: Stream, track: Track, flavor: IframeFlavor, view: ViewRequest = LIVE): void {
  if (track.kind !== 'video') throw new OriginError('NOT_FOUND', `track '${track.name}' is ${track.kind}: I-frame playlists are for video`);
  const send = (): void => {
    const playlist = ctx.playlists.get(track, `iframes-${flavor}${view.suffix}`, `${track.listVersion}|${stream.ended}`, () => renderIframePlaylist(stream, track, flavor, view));
    if (!playlist) return notReady(req, res, `track '${track.name}'`);
    sendPlaylist(req, res, playlist, CacheControl.playlist(targetDuration(stream)));
  };
  const segments = viewWindow(stream, track, view.view).segments;
  if (!keyframesMissing(segments)) return send();
  loadKeyframes(track, segments).then(
    guarded(ctx, 'playback', req, res, undefined, (changed: boolean) => {
      // The entries changed without a new segment: every playlist naming them renders again.
      if (changed) track.listVersion++;
      send();
    }),
    (err: unknown) => sendError(req, res, err),
  );
}
