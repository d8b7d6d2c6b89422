import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamRegistry } from './timeline/registry.js';

export type RouteClass = 'multivariant' | 'playlist' | 'mpd' | 'hesp' | 'hesp-packet' | 'segment' | 'ts-segment' | 'part' | 'init' | 'utc' | 'metrics' | 'health' | 'ingest' | 'manifest-push' | 'api' | 'status-page' | 'other';

/** The origin's Prometheus metrics, in a registry of its own (several origins may share a process in tests). */
export function createMetrics(streams: StreamRegistry, held: () => number = () => 0, dvrDiskBytes: () => number | null = () => null) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const ingestBytes = new Counter({ name: 'origin_ingest_bytes_total', help: 'Media bytes accepted by the ingest, per track', labelNames: ['stream', 'track'], registers: [registry] });
  const ingestChunks = new Counter({ name: 'origin_ingest_chunks_total', help: 'CMAF chunks accepted by the ingest, per track', labelNames: ['stream', 'track'], registers: [registry] });
  const ingestDuplicates = new Counter({ name: 'origin_ingest_duplicate_chunks_total', help: 'Chunks dropped because their samples were already received', labelNames: ['stream', 'track'], registers: [registry] });
  const ingestErrors = new Counter({ name: 'origin_ingest_errors_total', help: 'Ingest requests rejected or cut, by reason', labelNames: ['reason'], registers: [registry] });
  new Gauge({
    name: 'origin_active_streams',
    help: 'Live streams (ended streams still in their window included)',
    registers: [registry],
    collect() {
      this.set(streams.size);
    },
  });
  new Gauge({
    name: 'origin_active_tracks',
    help: 'Tracks that are receiving media',
    registers: [registry],
    collect() {
      let n = 0;
      for (const s of streams.list()) for (const t of s.tracks.values()) if (t.state === 'active') n++;
      this.set(n);
    },
  });
  const httpRequests = new Counter({ name: 'origin_http_requests_total', help: 'HTTP requests by listener, route class and status', labelNames: ['listener', 'route', 'status'], registers: [registry] });
  const httpDuration = new Histogram({
    name: 'origin_http_response_seconds',
    help: 'Time from request to the end of the response, by route class (growing segments last as long as their production)',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const hlsHoldSeconds = new Histogram({
    name: 'origin_hls_playlist_hold_seconds',
    help: 'Time a blocking playlist request was held before its answer (a short hold on a live edge is a warning sign)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
    registers: [registry],
  });
  new Gauge({
    name: 'origin_held_requests',
    help: 'Requests held open waiting for media (blocking playlists, hinted parts, next segments)',
    registers: [registry],
    collect() {
      this.set(held());
    },
  });
  const hlsBlockingRejections = new Counter({
    name: 'origin_hls_blocking_errors_total',
    help: 'Blocking playlist requests answered with an error, by status and reason',
    labelNames: ['status', 'reason'],
    registers: [registry],
  });
  const mediaNotFound = new Counter({
    name: 'origin_media_not_found_total',
    help: '404s for segments, parts and init segments: future (not produced yet), expired (left the window), unknown (no such stream, track or instance)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const faults = new Counter({
    name: 'origin_faults_total',
    help: 'Unexpected exceptions caught at a request boundary (ingest, playback, live body, held request): each one cut only its request',
    labelNames: ['site'],
    registers: [registry],
  });
  new Gauge({
    name: 'origin_dvr_disk_bytes',
    help: 'Bytes the DVR holds on disk (media files and their index records), over every stream',
    registers: [registry],
    collect() {
      const bytes = dvrDiskBytes();
      if (bytes !== null) this.set(bytes);
    },
  });
  const dvrWrittenBytes = new Counter({ name: 'origin_dvr_written_bytes_total', help: 'Segment bytes the DVR wrote to disk', registers: [registry] });
  const dvrWriteErrors = new Counter({ name: 'origin_dvr_write_errors_total', help: 'Segments the DVR could not write (a full disk, an I/O error): live goes on from memory, the DVR has a gap', registers: [registry] });
  const dvrEvictions = new Counter({ name: 'origin_dvr_evicted_files_total', help: 'DVR media files deleted: time (left the DVR window) or quota (the disk quota was exceeded)', labelNames: ['reason'], registers: [registry] });
  const dvrEvictedBytes = new Counter({ name: 'origin_dvr_evicted_bytes_total', help: 'Bytes of DVR media files deleted, by reason', labelNames: ['reason'], registers: [registry] });
  const ingestAuthFailures = new Counter({ name: 'origin_ingest_auth_failures_total', help: 'Ingest requests refused with 401, by reason (missing, malformed, invalid token)', labelNames: ['reason'], registers: [registry] });
  const playbackAuthFailures = new Counter({
    name: 'origin_playback_auth_failures_total',
    help: 'Playback requests refused with 403 for their signed-URL token, by reason (missing, malformed, signature, expired, early, acl, address)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const limitRejections = new Counter({
    name: 'origin_limit_rejections_total',
    help: 'Requests refused by a resource cap (429, 409 or 503), by listener, cap and scope (one stream or client, or the whole origin)',
    labelNames: ['listener', 'limit', 'scope'],
    registers: [registry],
  });
  const connectionsCut = new Counter({
    name: 'origin_connections_cut_total',
    help: 'Connections the origin closed on its own: stalled (queued bytes did not move), unsent-bytes (a reader fell too far behind a growing response)',
    labelNames: ['listener', 'reason'],
    registers: [registry],
  });
  const clientErrors = new Counter({
    name: 'origin_http_client_errors_total',
    help: 'Connections answered by the HTTP parser itself (malformed request 400, slow headers 408, head too large 431), by listener and status',
    labelNames: ['listener', 'status'],
    registers: [registry],
  });
  streams.removed.subscribe((stream) => {
    for (const track of stream.tracks.keys()) {
      const labels = { stream: stream.name, track };
      ingestBytes.remove(labels);
      ingestChunks.remove(labels);
      ingestDuplicates.remove(labels);
    }
  });
  // Label children looked up once per (route, status): prom-client hashes label objects per call.
  const requestChildren = new Map<string, Map<number, ReturnType<typeof httpRequests.labels>>>();
  const durationChildren = new Map<string, ReturnType<typeof httpDuration.labels>>();
  /** Counts one finished HTTP request and its duration. */
  const observeRequest = (listener: 'playback' | 'ingest', route: RouteClass, status: number, seconds: number): void => {
    const key = listener === 'playback' ? route : `${listener}:${route}`;
    let byStatus = requestChildren.get(key);
    if (!byStatus) {
      byStatus = new Map();
      requestChildren.set(key, byStatus);
    }
    let counter = byStatus.get(status);
    if (!counter) {
      counter = httpRequests.labels({ listener, route, status: String(status) });
      byStatus.set(status, counter);
    }
    counter.inc();
    if (listener !== 'playback') return;
    let histogram = durationChildren.get(route);
    if (!histogram) {
      histogram = httpDuration.labels({ route });
      durationChildren.set(route, histogram);
    }
    histogram.observe(seconds);
  };
  return {
    registry,
    observeRequest,
    ingestBytes,
    ingestChunks,
    ingestDuplicates,
    ingestErrors,
    httpRequests,
    httpDuration,
    hlsHoldSeconds,
    hlsBlockingRejections,
    mediaNotFound,
    faults,
    ingestAuthFailures,
    playbackAuthFailures,
    limitRejections,
    connectionsCut,
    clientErrors,
    dvrWrittenBytes,
    dvrWriteErrors,
    dvrEvictions,
    dvrEvictedBytes,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
