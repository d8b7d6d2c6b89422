import { parseConfig, type ConfigInput } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createOrigin, type Origin } from '../../src/server.js';

export interface TestOrigin {
  readonly origin: Origin;
  /** http://127.0.0.1:PORT */
  readonly playback: string;
  readonly ingest: string;
  stop(): Promise<void>;
}

/** An origin on ephemeral loopback ports, demo off, logs silent unless LOG_LEVEL says otherwise. */
export async function startOrigin(overrides: ConfigInput = {}, now?: () => number): Promise<TestOrigin> {
  const config = parseConfig({
    ...overrides,
    playback: { host: '127.0.0.1', port: 0, ...overrides.playback },
    ingest: { host: '127.0.0.1', port: 0, ...overrides.ingest },
    demo: { enabled: false, ...overrides.demo },
    // The DVR writes to disk: on only where a test asks for it (with a folder of its own).
    dvr: { windowSeconds: 0, ...overrides.dvr },
    log: { level: (process.env.LOG_LEVEL as 'info' | undefined) ?? 'silent', ...overrides.log },
  });
  const origin = createOrigin(config, { logger: createLogger(config.log.level, process.stderr), ...(now ? { now } : {}) });
  const { playbackPort, ingestPort } = await origin.start();
  return {
    origin,
    playback: `http://127.0.0.1:${playbackPort}`,
    ingest: `http://127.0.0.1:${ingestPort}`,
    stop: () => origin.stop(),
  };
}
