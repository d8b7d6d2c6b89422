import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createDemo, type LoopingSource } from './demo/demo-source.js';
import { createIngestHandler, ingestObserver } from './http/ingest.js';
import { createPlaybackHandler, type PlaybackHandler } from './http/playback.js';
import { StatusPage } from './http/status-routes.js';
import { loadStatusAssets } from './status/assets.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { StreamRegistry } from './timeline/registry.js';

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
  stop(): Promise<void>;
}

/** Wiring only: config → registry, listeners, metrics, logs, demo. */
export function createOrigin(config: Config, deps: OriginDeps = {}): Origin {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger(config.log.level);
  const streams = new StreamRegistry(
    {
      targetDuration: config.segment.targetDuration,
      partTarget: config.segment.partTarget ?? null,
      windowSeconds: config.window.seconds,
      maxTracksPerStream: config.limits.maxTracksPerStream,
      maxStreams: config.limits.maxStreams,
      idleTimeoutMs: config.ingest.idleTimeoutMs,
    },
    now,
    (w) => logger.warn(w, w.message),
  );
  streams.added.subscribe((s) => logger.info({ stream: s.name }, 'stream started'));
  streams.removed.subscribe((s) => logger.info({ stream: s.name, tag: s.tag }, 'stream removed'));
  let held = (): number => 0;
  const metrics = createMetrics(streams, () => held());
  const statusPage = config.statusPage.enabled ? new StatusPage(loadStatusAssets(), streams) : null;
  const playbackHandler: PlaybackHandler = createPlaybackHandler({ streams, metrics, logger, now, partAddressing: config.hls.partAddressing, targetLatency: config.dash.targetLatency, tsCacheBytes: config.mpegts.cacheBytes, statusPage });
  // Keep-alive above the 60 s that CDN edges commonly hold idle upstream connections.
  held = () => playbackHandler.held();
  const playback = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 }, playbackHandler);
  // requestTimeout 0: Node's default 300 s would cut long-running uploads; the idle timeout guards instead.
  const ingest = createServer(
    { requestTimeout: 0, keepAliveTimeout: config.ingest.idleTimeoutMs },
    createIngestHandler({ streams, metrics, logger, now, maxBoxSize: config.limits.maxBoxSizeBytes, idleTimeoutMs: config.ingest.idleTimeoutMs }),
  );
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
      const playbackPort = await listen(playback, config.playback.host, config.playback.port);
      const ingestPort = await listen(ingest, config.ingest.host, config.ingest.port);
      let ticks = 0;
      // One timer for the whole origin: held requests expire on its 100 ms tick, streams every second.
      sweeper = setInterval(() => {
        playbackHandler.sweep();
        if (++ticks % 10 === 0) streams.sweep();
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
    },
  };
}
