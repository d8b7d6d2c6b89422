import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import type { Logger } from '../log.js';
import { apiCue, describeCue, parseCueRequest } from '../scte35/api.js';
import type { StreamRegistry } from '../timeline/registry.js';

/** Largest cue request body. */
const MAX_CUE_BODY = 16 * 1024;

/** `POST /live/{stream}/cues` on the ingest listener (after its token check). */
export const CUES_PATH = /^\/live\/[^/]+\/cues$/;

/**
 * Inserts a SCTE-35 cue into a live stream: 201 and the cue as JSON (200 when the same cue was
 * already there); errors go to `reject` (the ingest listener's one-line answers and log lines).
 */
export function receiveCue(ctx: { readonly streams: StreamRegistry; readonly logger: Logger }, req: IncomingMessage, res: ServerResponse, streamName: string, headers: Readonly<OutgoingHttpHeaders>, reject: (err: unknown) => void): void {
  const pieces: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (d: Buffer) => {
    if (failed) return;
    size += d.length;
    if (size > MAX_CUE_BODY) {
      failed = true;
      reject(new OriginError('BOX_TOO_LARGE', `cue request exceeds ${MAX_CUE_BODY} bytes`));
      return;
    }
    pieces.push(d);
  });
  req.on('end', () => {
    if (failed) return;
    try {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(pieces).toString('utf8'));
      } catch {
        throw new OriginError('BAD_REQUEST', 'cue request body is not JSON');
      }
      const request = parseCueRequest(body);
      const stream = ctx.streams.get(streamName);
      if (!stream || stream.ended) throw new OriginError('NOT_FOUND', `no live stream '${streamName}'`);
      const cue = apiCue(stream, request);
      const added = stream.addCue(cue);
      const answer = describeCue(stream, cue);
      ctx.logger.info({ stream: streamName, ...answer, added }, 'SCTE-35 cue inserted');
      const text = JSON.stringify(answer) + '\n';
      res.writeHead(added ? 201 : 200, { ...headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    } catch (err) {
      reject(err);
    }
  });
}
