#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { createOrigin, type Origin } from './server.js';

async function main(): Promise<void> {
  let origin: Origin;
  try {
    const config = loadConfig(process.argv.slice(2), process.env);
    origin = createOrigin(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const config = origin.config;
  const { playbackPort } = await origin.start();
  const host = config.playback.host === '0.0.0.0' ? '127.0.0.1' : config.playback.host;
  if (config.statusPage.enabled) origin.logger.info(`status page: http://${host}:${playbackPort}/`);
  if (config.demo.enabled) origin.logger.info(`demo stream: http://${host}:${playbackPort}/live/${config.demo.stream}/master.m3u8`);
  let stopping = false;
  const shutdown = (signal: string): void => {
    // A second signal ends at once.
    if (stopping) process.exit(1);
    stopping = true;
    origin.logger.info({ signal, graceMs: config.http.shutdownGraceMs }, 'shutting down');
    origin.shutdown().then(
      () => {
        origin.logger.info('shut down');
        process.exit(0);
      },
      (err: unknown) => {
        origin.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Diagnostics: under `node --expose-gc`, SIGUSR2 runs a full collection and logs the memory
  // (what is left is what the origin holds, not garbage awaiting a collection).
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    process.on('SIGUSR2', () => {
      gc();
      const m = process.memoryUsage();
      origin.logger.info({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }, 'memory after a full collection');
    });
  }
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
