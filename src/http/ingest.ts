import type { IncomingMessage, ServerResponse } from 'node:http';
import { OriginError, codeOf, reasonOf, statusOf } from '../errors.js';
import { IngestSession, type IngestObserver } from '../ingest/session.js';
import { reportFault } from './guard.js';
import { parseIngestPath } from '../ingest/path.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { StreamRegistry } from '../timeline/registry.js';
import { IngestAuthError, type IngestAuth } from './auth.js';
import type { CorsPolicy } from './cors.js';
import type { IngestLimits, IngestPass } from './ingest-limits.js';
import { checkTarget, clientOf, type TargetLimits } from './limits.js';

export interface IngestContext {
  readonly streams: StreamRegistry;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now: () => number;
  readonly maxBoxSize: number;
  readonly idleTimeoutMs: number;
  /** Bearer tokens; every request of this listener passes through it first. */
  readonly auth: IngestAuth;
  readonly limits: IngestLimits;
  readonly cors: CorsPolicy;
  readonly target: TargetLimits;
  readonly maxBoxesPerFragment: number;
  /** `/metrics` answers here (behind the token) rather than on the playback listener. */
  readonly metricsHere: boolean;
}

/** Largest pushed manifest (MPD, playlist) read before it is acknowledged and dropped. */
const MAX_MANIFEST_BYTES = 1 << 20;

export function ingestObserver(metrics: Metrics, logger: Logger): IngestObserver {
  return {
    chunk(stream, track, bytes, result) {
      const labels = { stream: stream.name, track: track.name };
      if (result === 'duplicate') metrics.ingestDuplicates.inc(labels);
      else {
        metrics.ingestBytes.inc(labels, bytes);
        metrics.ingestChunks.inc(labels);
      }
    },
    track(stream, track, isNew) {
      const info = track.info;
      logger.info(
        { stream: stream.name, track: track.name, codec: info.codec, kind: info.kind, timescale: info.timescale, width: info.width, height: info.height, sampleRate: info.sampleRate, channels: info.channels, init: track.init.id },
        isNew ? 'track added' : 'track init received',
      );
    },
  };
}

/**
 * The ingest listener: `PUT|POST /live/{stream}/{file}` bodies are parsed as they arrive; pushed
 * manifests and DELETEs are acknowledged. Any error answers its 4xx with a one-line reason, logs
 * it, and stops only this request.
 */
export function createIngestHandler(ctx: IngestContext): (req: IncomingMessage, res: ServerResponse) => void {
  const observer = ingestObserver(ctx.metrics, ctx.logger);
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = ctx.now();
    const cors = ctx.cors.headersFor(req).headers;
    const reply = (status: number, body: string, close = false): void => {
      if (res.headersSent) return;
      res.writeHead(status, { ...cors, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(body), ...(close ? { Connection: 'close' } : {}) });
      res.end(body);
    };
    res.on('close', () => ctx.metrics.observeRequest('ingest', 'ingest', res.statusCode, 0));
    const reject = (err: unknown, extra: Record<string, unknown> = {}): void => {
      ctx.metrics.ingestErrors.inc({ reason: codeOf(err).toLowerCase() });
      ctx.logger.warn({ method: req.method, url: req.url, remote: req.socket.remoteAddress, status: statusOf(err), reason: reasonOf(err), ...extra }, 'ingest rejected');
      if (err instanceof IngestAuthError) {
        ctx.metrics.ingestAuthFailures.inc({ reason: err.failure });
        // "MUST include the HTTP WWW-Authenticate response header field" (RFC 6750 3).
        res.setHeader('WWW-Authenticate', `Bearer realm="ingest"${err.failure === 'missing' ? '' : ', error="invalid_token"'}`);
      }
      if (statusOf(err) === 429 || statusOf(err) === 503) res.setHeader('Retry-After', '1');
      reply(statusOf(err), `${statusOf(err)} ${codeOf(err)}: ${reasonOf(err)}\n`, true);
      res.on('finish', () => req.destroy());
    };
    if (req.method === 'OPTIONS') {
      // A preflight carries no Authorization: it is answered before the token check.
      req.resume();
      return ctx.cors.preflight(req, res);
    }
    let path;
    try {
      ctx.auth.check(req);
      const target = checkTarget(req.url, ctx.target);
      if (ctx.metricsHere && target.path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
        req.resume();
        ctx.metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { ...cors, 'Content-Type': ctx.metrics.registry.contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
            res.end(req.method === 'HEAD' ? undefined : text);
          },
          (err: unknown) => reject(err),
        );
        return;
      }
      path = parseIngestPath(target.path);
      if (req.method === 'DELETE') {
        req.resume();
        return reply(200, 'ok\n');
      }
      if (req.method !== 'PUT' && req.method !== 'POST') {
        res.setHeader('Allow', 'PUT, POST, DELETE');
        throw new OriginError('METHOD_NOT_ALLOWED', `${req.method} is not an ingest method (PUT, POST, DELETE)`);
      }
    } catch (err) {
      req.resume();
      return reject(err);
    }
    if (path.kind === 'manifest') {
      let size = 0;
      req.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_MANIFEST_BYTES) reject(new OriginError('BOX_TOO_LARGE', `pushed manifest exceeds ${MAX_MANIFEST_BYTES} bytes`));
      });
      req.on('end', () => reply(200, 'ok\n'));
      return;
    }
    const pass: IngestPass = ctx.limits.pass(path.stream, clientOf(req));
    res.once('close', () => pass.release());
    const session = new IngestSession(ctx.streams, path.stream, path.name, { maxBoxSize: ctx.maxBoxSize, now: ctx.now, observer, maxBoxesPerFragment: ctx.maxBoxesPerFragment, limits: pass });
    const where = { stream: path.stream, name: path.name };
    let done = false;
    // The boundary of this request: an exception that is not an OriginError is a fault of the
    // origin. It is logged and counted, the tracks the body touched are reset (a discontinuity,
    // never a half-applied chunk), the request gets a 500, and the process and every other
    // stream go on.
    const fault = (err: unknown): void => {
      reportFault(ctx, 'ingest', err, { ...where, tracks: session.trackNames(), bytes: session.bytes });
      session.fail();
    };
    const abortSession = (): void => {
      try {
        session.abort();
      } catch (err) {
        fault(err);
      }
    };
    const fail = (err: unknown): void => {
      if (done) return;
      done = true;
      if (err instanceof OriginError) abortSession();
      else fault(err);
      reject(err, { ...where, bytes: session.bytes, chunks: session.chunks });
    };
    ctx.logger.debug({ ...where, method: req.method, url: req.url, remote: req.socket.remoteAddress }, 'ingest request');
    let announced = false;
    const announce = (): void => {
      if (announced || !session.sawInit) return;
      announced = true;
      ctx.logger.info({ ...where, method: req.method, url: req.url, remote: req.socket.remoteAddress, chunked: req.headers['transfer-encoding'] === 'chunked' }, 'ingest started');
    };
    const idle = (): void => fail(new OriginError('INGEST_TIMEOUT', `no data for ${ctx.idleTimeoutMs} ms`));
    req.setTimeout(ctx.idleTimeoutMs, idle);
    const store = ctx.streams.store;
    req.on('data', (piece: Buffer) => {
      if (done) return;
      try {
        session.write(piece);
        announce();
      } catch (err) {
        fail(err);
        return;
      }
      // The DVR's disk is behind (an ingest faster than real time): TCP backpressure until it catches up.
      if (store.backlogged && store.whenDrained) {
        req.pause();
        req.setTimeout(0);
        store.whenDrained(() => {
          if (done) return;
          req.setTimeout(ctx.idleTimeoutMs, idle);
          req.resume();
        });
      }
    });
    req.on('end', () => {
      if (done) return;
      try {
        session.end();
        done = true;
        // A body that carried a CMAF header is a producer connection (start/stop at info);
        // per-segment bodies are logged at debug.
        const level = session.sawInit && session.chunks > 0 ? 'info' : 'debug';
        ctx.logger[level]({ ...where, bytes: session.bytes, chunks: session.chunks, ms: ctx.now() - started }, 'ingest request complete');
        const stream = session.streamInstance;
        if (stream?.ended) ctx.logger.info({ stream: stream.name }, 'stream ended');
        reply(200, 'ok\n');
      } catch (err) {
        fail(err);
      }
    });
    req.on('close', () => {
      if (done) return;
      done = true;
      abortSession();
      ctx.metrics.ingestErrors.inc({ reason: 'connection_lost' });
      ctx.logger.warn({ ...where, bytes: session.bytes, chunks: session.chunks, ms: ctx.now() - started }, 'ingest connection lost mid-body; the partial chunk is dropped');
    });
  };
  return (req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      reportFault(ctx, 'ingest', err, { url: req.url });
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end('500 INTERNAL: internal error\n');
    }
  };
}
