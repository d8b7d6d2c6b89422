import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ConfigError, type Config } from './config.js';
import { createDemo, type LoopingSource } from './demo/demo-source.js';
import { createIngestHandler, ingestObserver } from './http/ingest.js';
import { createPlaybackHandler, type PlaybackHandler } from './http/playback.js';
import { StatusPage } from './http/status-routes.js';
import { loadStatusAssets } from './status/assets.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { StreamRegistry } from './timeline/registry.js';
import { resolve } from 'node:path';
import { DiskSegmentStore, type DiskStoreEvent } from './dvr/disk-store.js';
import { restoreStreams } from './dvr/restore.js';
import { IngestAuth, openIngestProblem } from './http/auth.js';
import { ConnectionWatch } from './http/connections.js';
import { ingestCors } from './http/cors.js';
import { PlaybackGate } from './http/gate.js';
import { IngestLimits } from './http/ingest-limits.js';
import { MemoryReclaimer } from './memory.js';

export interface OriginDeps {
  readonly logger?: Logger;
  /** Wall clock in Unix ms; injected so tests control time. */
  readonly now?: () => number;
}

export interface Origin {
  readonly config: Config;
  readonly streams: StreamRegistry;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The raw listeners, for tests and benchmarks. */
  readonly servers: { readonly playback: Server; readonly ingest: Server };
  /** Starts both listeners (and the demo); resolves with the bound ports. */
  start(): Promise<{ playbackPort: number; ingestPort: number }>;
  /** Closes everything at once (tests). */
  stop(): Promise<void>;
  /**
   * The graceful end (SIGTERM): stop accepting, answer held requests with what exists now, let
   * growing responses and uploads go on for `http.shutdownGraceMs` at most, cut what is left,
   * run the `beforeExit` hooks.
   */
  shutdown(): Promise<void>;
  /** Work to finish before the process exits after a shutdown (a DVR index flush); run in order. */
  beforeExit(hook: () => Promise<void>): void;
}

/** Wiring only: config → registry, listeners, metrics, logs, demo. */
export function createOrigin(config: Config, deps: OriginDeps = {}): Origin {
  const problem = openIngestProblem(config.ingest.host, config.auth);
  if (problem) throw new ConfigError(problem);
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger(config.log.level);
  let onDvrEvent = (_e: DiskStoreEvent): void => {};
  const dvr =
    config.dvr.windowSeconds > 0
      ? new DiskSegmentStore({ dir: resolve(config.dvr.dataDir), rollBytes: config.dvr.rollBytes, quotaBytes: config.dvr.quotaBytes, readCacheBytes: config.dvr.readCacheBytes, onEvent: (e) => onDvrEvent(e) })
      : null;
  const streams = new StreamRegistry(
    {
      targetDuration: config.segment.targetDuration,
      partTarget: config.segment.partTarget ?? null,
      windowSeconds: config.window.seconds,
      dvrSeconds: config.dvr.windowSeconds,
      maxTracksPerStream: config.limits.maxTracksPerStream,
      maxStreams: config.limits.maxStreams,
      idleTimeoutMs: config.ingest.idleTimeoutMs,
    },
    now,
    (w) => logger.warn(w, w.message),
    dvr ?? undefined,
  );
  streams.added.subscribe((s) => logger.info({ stream: s.name }, 'stream started'));
  streams.removed.subscribe((s) => logger.info({ stream: s.name, tag: s.tag }, 'stream removed'));
  let held = (): number => 0;
  const metrics = createMetrics(streams, () => held(), () => dvr?.bytes ?? null);
  onDvrEvent = (e) => {
    switch (e.kind) {
      case 'written':
        metrics.dvrWrittenBytes.inc(e.bytes);
        return;
      case 'write-error':
        metrics.dvrWriteErrors.inc();
        logger.warn({ stream: e.key.stream, track: e.key.track, msn: e.key.msn, err: e.error }, 'DVR write failed: live goes on from memory, the DVR will have a gap');
        queueMicrotask(() => {
          const stream = streams.get(e.key.stream);
          if (stream?.tag === e.key.tag) stream.tracks.get(e.key.track)?.storeLost(e.key.msn);
        });
        return;
      case 'evicted':
        metrics.dvrEvictions.inc({ reason: e.reason });
        metrics.dvrEvictedBytes.inc({ reason: e.reason }, e.bytes);
        if (e.reason === 'quota') {
          logger.warn({ stream: e.stream, track: e.track, bytes: e.bytes, throughMsn: e.throughMsn }, 'DVR quota exceeded: oldest media file deleted');
          // After the write that caused it returns: the track is in the middle of an update.
          queueMicrotask(() => {
            const stream = streams.get(e.stream);
            if (stream?.tag === e.tag) stream.tracks.get(e.track)?.dropThrough(e.throughMsn);
          });
        }
        return;
    }
  };
  const statusPage = config.statusPage.enabled ? new StatusPage(loadStatusAssets(), streams) : null;
  const http = config.http;
  const gate = new PlaybackGate(
    {
      ...http,
      ...config.auth,
      corsOrigins: config.cors.playback,
      metricsHere: config.auth.metricsListener === 'playback',
    },
    metrics,
    now,
  );
  const playbackHandler: PlaybackHandler = createPlaybackHandler({ streams, metrics, logger, now, partAddressing: config.hls.partAddressing, cueTags: config.hls.cueTags, targetLatency: config.dash.targetLatency, tsCacheBytes: config.mpegts.cacheBytes, statusPage, gate });
  held = () => playbackHandler.held();
  // headersTimeout closes connections that send their head slowly (slowloris); requestTimeout
  // bounds receiving a request, never sending a held or growing response. Connections are
  // checked four times per headersTimeout (Node's default is every 30 s).
  const serverOptions = {
    maxHeaderSize: http.maxHeaderBytes,
    headersTimeout: http.headersTimeoutMs,
    connectionsCheckingInterval: Math.max(250, Math.min(http.headersTimeoutMs / 4, 5000)),
  };
  const playback = createServer({ ...serverOptions, requestTimeout: http.requestTimeoutMs, keepAliveTimeout: http.keepAliveTimeoutMs }, playbackHandler);
  const ingestLimits = new IngestLimits(config.ingestLimits, streams, now, config.ingest.idleTimeoutMs, (limit, scope) => metrics.limitRejections.inc({ listener: 'ingest', limit, scope }));
  // requestTimeout 0: Node's default 300 s would cut long-running uploads; the idle timeout guards instead.
  const ingest = createServer(
    { ...serverOptions, requestTimeout: 0, keepAliveTimeout: config.ingest.idleTimeoutMs },
    createIngestHandler({
      streams,
      metrics,
      logger,
      now,
      maxBoxSize: config.limits.maxBoxSizeBytes,
      idleTimeoutMs: config.ingest.idleTimeoutMs,
      auth: new IngestAuth(config.auth),
      limits: ingestLimits,
      cors: ingestCors(config.cors.ingest),
      target: http,
      maxBoxesPerFragment: config.ingestLimits.maxBoxesPerFragment,
      metricsHere: config.auth.metricsListener === 'ingest',
    }),
  );
  for (const [name, server] of [['playback', playback], ['ingest', ingest]] as const) {
    server.maxConnections = http.maxConnections;
    // What the HTTP parser refuses (malformed 400, slow head 408, head too large 431) is answered
    // here: a status line and a one-line reason, then the connection is closed.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? 413 : 400;
      if (err.code !== 'ECONNRESET') metrics.clientErrors.inc({ listener: name, status: String(status) });
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const reason = status === 431 ? 'request head too large' : status === 408 ? 'request head not received in time' : status === 413 ? 'chunk extensions too large' : 'malformed HTTP request';
      const body = `${status} ${reason}\n`;
      socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
  }
  const watches = {
    playback: new ConnectionWatch(playback, http.stalledWriteMs, now, () => metrics.connectionsCut.inc({ listener: 'playback', reason: 'stalled' })),
    ingest: new ConnectionWatch(ingest, http.stalledWriteMs, now, () => metrics.connectionsCut.inc({ listener: 'ingest', reason: 'stalled' })),
  };
  const reclaimer = new MemoryReclaimer(now);
  streams.removed.subscribe(() => reclaimer.released());
  const hooks: (() => Promise<void>)[] = [];
  let sweeper: NodeJS.Timeout | undefined;
  let demo: LoopingSource | undefined;

  const listen = (server: Server, host: string, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const close = (server: Server): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    config,
    streams,
    metrics,
    logger,
    servers: { playback, ingest },
    async start() {
      if (dvr) {
        const started = performance.now();
        const report = restoreStreams(streams, dvr);
        for (const s of report.skipped) logger.warn(s, `DVR instance not restored: ${s.reason}`);
        logger.info({ dataDir: resolve(config.dvr.dataDir), streams: report.streams, segments: report.segments, bytes: report.bytes, ms: Math.round(performance.now() - started) }, 'DVR restored');
      }
      const playbackPort = await listen(playback, config.playback.host, config.playback.port);
      const ingestPort = await listen(ingest, config.ingest.host, config.ingest.port);
      let ticks = 0;
      // One timer for the whole origin: held requests expire on its 100 ms tick, streams and
      // stalled connections every second.
      sweeper = setInterval(() => {
        if (playbackHandler.sweep() > 0) reclaimer.released();
        if (++ticks % 10 === 0) {
          streams.sweep();
          watches.playback.sweep();
          watches.ingest.sweep();
          ingestLimits.sweep();
          if (reclaimer.sweep(now() - ingestLimits.lastUploadAtMs < 3000)) logger.info({ external: process.memoryUsage().external, rss: process.memoryUsage.rss() }, 'released memory collected');
        }
      }, 100);
      sweeper.unref();
      if (config.demo.enabled) {
        demo = createDemo(streams, config.demo.stream, now, { maxBoxSize: config.limits.maxBoxSizeBytes, observer: ingestObserver(metrics, logger) }, (err) =>
          logger.error({ err }, 'demo source stopped'),
        );
        demo.start();
      }
      logger.info({ playback: `http://${config.playback.host}:${playbackPort}`, ingest: `http://${config.ingest.host}:${ingestPort}`, demo: config.demo.enabled ? config.demo.stream : false }, 'origin listening');
      return { playbackPort, ingestPort };
    },
    async stop() {
      demo?.stop();
      if (sweeper) clearInterval(sweeper);
      await Promise.all([close(playback), close(ingest)]);
      await dvr?.flush();
    },
    async shutdown() {
      // Real time: the grace is a promise to the process manager, whatever clock the timeline runs on.
      const started = Date.now();
      // No new connection; idle keep-alive ones close now, the others after their response.
      const closed = Promise.all([
        new Promise<void>((resolve) => (playback.listening ? playback.close(() => resolve()) : resolve())),
        new Promise<void>((resolve) => (ingest.listening ? ingest.close(() => resolve()) : resolve())),
      ]);
      playbackHandler.releaseAll();
      const deadline = started + http.shutdownGraceMs;
      // Growing responses finish with their segment while the uploads go on, until the deadline.
      while (playbackHandler.open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      logger.info({ open: playbackHandler.open(), ms: Date.now() - started }, playbackHandler.open() > 0 ? 'shutdown: cutting what is still open' : 'shutdown: every response finished');
      demo?.stop();
      if (sweeper) clearInterval(sweeper);
      // Uploads cut here interrupt their tracks: readers of a growing segment see it aborted.
      watches.ingest.destroyAll();
      watches.playback.destroyAll();
      await closed;
      // Every segment already complete reaches the disk and its index before the exit.
      await dvr?.flush();
      for (const hook of hooks) await hook();
    },
    beforeExit(hook) {
      hooks.push(hook);
    },
  };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Content Too Large', 431: 'Request Header Fields Too Large' };
