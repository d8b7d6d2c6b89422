import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError } from '../errors.js';
import { describeStream, describeStreams, type DeliveryCounters } from '../status/describe.js';
import type { StreamRegistry } from '../timeline/registry.js';
import { CacheControl } from './cache-policy.js';
import { acceptsGzip, Rendered } from './rendered-cache.js';
import { sendError, sendPrepared } from './respond.js';

export interface ApiContext {
  readonly streams: StreamRegistry;
  readonly now: () => number;
  readonly counters: DeliveryCounters;
  /** Path of a stream's status page, when the page is on. */
  readonly pagePath: ((name: string) => string) | null;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function sendJson(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  const rendered = new Rendered(Buffer.from(JSON.stringify(value) + '\n'));
  sendPrepared(req, res, rendered.response(JSON_TYPE, CacheControl.api, acceptsGzip(req.headers['accept-encoding'])));
}

/**
 * `/api/streams` (every live stream) and `/api/streams/{stream}` (one): how a control plane, a
 * load balancer or the status page learns what is live here. Cacheable for one second.
 */
export function sendStreamApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, name: string | null): void {
  const now = ctx.now();
  if (name === null) return sendJson(req, res, { now: new Date(now).toISOString(), streams: describeStreams(ctx.streams.list(), ctx.counters, now, ctx.pagePath) });
  const stream = ctx.streams.get(name);
  if (!stream || stream.ended) return sendError(req, res, new OriginError('NOT_FOUND', `stream '${name}' is not live`), CacheControl.notYet);
  sendJson(req, res, describeStream(stream, ctx.counters, now, ctx.pagePath));
}
