import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { OriginError } from '../errors.js';
import { sendError } from './respond.js';

export interface FaultSink {
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** Where a boundary caught an unexpected exception: the label of `origin_faults_total`. */
export type FaultSite = 'ingest' | 'playback' | 'live-body' | 'held-request' | 'ts-remux' | 'demo';

/** Counts and logs an unexpected exception that a boundary caught (one `error` line, with where it happened). */
export function reportFault(sink: FaultSink, site: FaultSite, err: unknown, where: Record<string, unknown> = {}): void {
  sink.metrics.faults.inc({ site });
  sink.logger.error({ err, site, ...where }, 'unexpected error: only this request was cut');
}

/**
 * The boundary of every callback that writes one response after its handler returned (a held
 * request released by the timeline, a live body's reader, a TS remux of a growing segment): an
 * exception is reported, ends that response (500 before its head, a cut connection after) and
 * goes no further: not into the ingest that woke it, not into other readers.
 */
export function guarded<A extends unknown[], R>(
  sink: FaultSink,
  site: FaultSite,
  req: IncomingMessage,
  res: ServerResponse,
  fallback: R,
  fn: (...args: A) => R,
): (...args: A) => R {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (err) {
      // A refusal the code meant (a reader that fell out of the window): that request's answer, not a fault.
      if (err instanceof OriginError) sink.logger.warn({ url: req.url, site, reason: err.message }, 'response ended early');
      else reportFault(sink, site, err, { url: req.url });
      try {
        sendError(req, res, err);
      } catch {
        res.destroy();
      }
      return fallback;
    }
  };
}
