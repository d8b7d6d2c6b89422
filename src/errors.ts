/**
 * The one typed error family of the origin. Format and timeline code throw these; the HTTP edges
 * map them to a status code through {@link statusOf} and nowhere else.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  MALFORMED_MEDIA: 400,
  TRACK_LIMIT: 400,
  /** Ingest without a valid bearer token. */
  UNAUTHORIZED: 401,
  /** Playback without a valid signed-URL token. */
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** Exists, but has nothing to serve yet (a stream before its first complete segment): 404, no-store. */
  NOT_YET: 404,
  METHOD_NOT_ALLOWED: 405,
  /** A segment that left the (DVR) window: it existed and will not come back. */
  GONE: 410,
  INGEST_TIMEOUT: 408,
  /** Another upload is pushing the same track right now. */
  TRACK_BUSY: 409,
  INIT_REQUIRED: 412,
  BOX_TOO_LARGE: 413,
  /** More top-level boxes between two CMAF chunks than a fragment may have. */
  TOO_MANY_BOXES: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA: 415,
  RANGE_NOT_SATISFIABLE: 416,
  /** One stream (or one client) over its share: chunk rate, bytes held, held requests. */
  RATE_LIMITED: 429,
  STREAM_LIMIT: 503,
  NOT_READY: 503,
  /** The whole origin over a budget (bytes held, chunk rate, held requests), or shutting down. */
  OVERLOADED: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class OriginError extends Error {
  override readonly name = 'OriginError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function statusOf(err: unknown): number {
  return err instanceof OriginError ? err.status : 500;
}

export function codeOf(err: unknown): ErrorCode {
  return err instanceof OriginError ? err.code : 'INTERNAL';
}

/** Message safe to put in a response body: one line, no stack. */
export function reasonOf(err: unknown): string {
  if (err instanceof OriginError) return err.message;
  return 'internal error';
}

export const malformed = (message: string): OriginError => new OriginError('MALFORMED_MEDIA', message);
export const notFound = (message: string): OriginError => new OriginError('NOT_FOUND', message);
