import { readFileSync } from 'node:fs';
import { z } from 'zod';

const between = (min: number, max: number, unit = '') => z.number({ error: `must be a number between ${min} and ${max}${unit}` }).min(min, `must be between ${min} and ${max}${unit}`).max(max, `must be between ${min} and ${max}${unit}`);
const integerBetween = (min: number, max: number, unit = '') => between(min, max, unit).int(`must be a whole number between ${min} and ${max}${unit}`);
const port = integerBetween(0, 65535);
const host = z.string({ error: 'must be a host name or IP address' }).min(1, 'must be a host name or IP address');

/** Every setting of the origin, with its default, range and reason. */
export const ConfigSchema = z
  .object({
    playback: z
      .object({
        /** Where players and CDN edges connect. */
        host: host.default('0.0.0.0'),
        port: port.default(8080),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        /** Where encoders push; loopback by default because ingest is unauthenticated. */
        host: host.default('127.0.0.1'),
        port: port.default(8081),
        /** An ingest request, or a track, that receives nothing for this long is cut / ended. */
        idleTimeoutMs: integerBetween(500, 600_000, ' ms').default(10_000),
      })
      .strict()
      .prefault({}),
    segment: z
      .object({
        /** Segments start at the first keyframe at or after this many seconds. */
        targetDuration: between(1, 30, ' s').default(2),
        /** LL-HLS parts are never longer than this; unset: the encoder's fragment duration + 25 ms (part-target.ts). */
        partTarget: between(0.1, 5, ' s').optional(),
      })
      .strict()
      .prefault({})
      .refine((s) => s.partTarget === undefined || s.partTarget <= s.targetDuration, { message: 'partTarget must not exceed targetDuration', path: ['partTarget'] }),
    hls: z
      .object({
        /** LL-HLS parts as their own URIs, or as byte ranges of their segment (one CDN object per segment). */
        partAddressing: z.enum(['uri', 'byterange'], { error: "must be 'uri' or 'byterange'" }).default('uri'),
      })
      .strict()
      .prefault({}),
    mpegts: z
      .object({
        /** Bytes of rendered MPEG-TS segments kept in memory (LRU): a repeated request costs nothing. */
        cacheBytes: integerBetween(1 << 20, 16 * 2 ** 30, ' bytes').default(128 << 20),
      })
      .strict()
      .prefault({}),
    dash: z
      .object({
        /** ServiceDescription Latency@target of the low-latency MPD (the $Number$ one). */
        targetLatency: between(0.5, 30, ' s').default(0.8),
      })
      .strict()
      .prefault({}),
    window: z
      .object({
        /** Seconds of media each playlist lists (segments stay fetchable two target durations longer). */
        seconds: between(6, 86_400, ' s').default(120),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** Live streams at once: protects memory. */
        maxStreams: integerBetween(1, 10_000).default(100),
        /** Tracks in one stream: protects memory and playlist size. */
        maxTracksPerStream: integerBetween(1, 64).default(16),
        /** Largest ISO BMFF box accepted from an encoder (one mdat is one box). */
        maxBoxSizeBytes: integerBetween(1024, 1 << 30, ' bytes').default(32 << 20),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
      })
      .strict()
      .prefault({}),
    demo: z
      .object({
        /** Loop the committed fixture ladder as a live stream through the ingest path. */
        enabled: z.boolean({ error: 'must be true or false' }).default(true),
        stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -').default('demo'),
      })
      .strict()
      .prefault({}),
    statusPage: z
      .object({
        /** The operator's page at `/` (streams, players side by side); `/api/streams` answers either way. */
        enabled: z.boolean({ error: 'must be true or false' }).default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Json = { [key: string]: unknown };

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Json, v) : v;
  return out;
}

function set(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = target;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(at[k])) at[k] = {};
    at = at[k] as Json;
  }
  at[keys[keys.length - 1]!] = value;
}

/** Validates a config object, with an error that names each bad field and its accepted range. */
export function parseConfig(input: unknown): Config {
  const result = ConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const field = issue.path.join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') return `${field}: unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    return `${field}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
}

const ENV: Record<string, { path: string; type: 'int' | 'string' | 'bool' }> = {
  PORT: { path: 'playback.port', type: 'int' },
  HOST: { path: 'playback.host', type: 'string' },
  INGEST_PORT: { path: 'ingest.port', type: 'int' },
  INGEST_HOST: { path: 'ingest.host', type: 'string' },
  LOG_LEVEL: { path: 'log.level', type: 'string' },
  STATUS_PAGE: { path: 'statusPage.enabled', type: 'bool' },
};

const FLAGS: Record<string, { path: string; type: 'int' | 'number' | 'string' | 'false' }> = {
  '--port': { path: 'playback.port', type: 'int' },
  '--host': { path: 'playback.host', type: 'string' },
  '--ingest-port': { path: 'ingest.port', type: 'int' },
  '--ingest-host': { path: 'ingest.host', type: 'string' },
  '--log-level': { path: 'log.level', type: 'string' },
  '--segment-duration': { path: 'segment.targetDuration', type: 'number' },
  '--part-duration': { path: 'segment.partTarget', type: 'number' },
  '--window': { path: 'window.seconds', type: 'number' },
  '--part-addressing': { path: 'hls.partAddressing', type: 'string' },
  '--target-latency': { path: 'dash.targetLatency', type: 'number' },
  '--no-demo': { path: 'demo.enabled', type: 'false' },
  '--no-status-page': { path: 'statusPage.enabled', type: 'false' },
};

function convert(raw: string, type: 'int' | 'number' | 'string' | 'bool', name: string): unknown {
  if (type === 'string') return raw;
  if (type === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw.trim())) return true;
    if (/^(0|false|no|off)$/i.test(raw.trim())) return false;
    throw new ConfigError(`${name}: '${raw}' is not 0/1/true/false`);
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${name}: '${raw}' is not a number`);
  return n;
}

export const USAGE = `usage: npm start -- [--no-demo] [--port P] [--ingest-port I] [--config file.json]
                    [--host H] [--ingest-host H] [--log-level L]
                    [--segment-duration S] [--part-duration S] [--window S]
                    [--part-addressing uri|byterange] [--target-latency S] [--no-status-page]
environment: PORT, HOST, INGEST_PORT, INGEST_HOST, LOG_LEVEL, STATUS_PAGE`;

/** defaults → --config file.json → environment → flags, validated once. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  let file: Json = {};
  const fromFlags: Json = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--help' || name === '-h') throw new ConfigError(USAGE);
    if (name === '--config') {
      const path = inline ?? argv[++i];
      if (!path) throw new ConfigError('--config needs a file path');
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new ConfigError(`--config ${path}: ${(err as Error).message}`);
      }
      try {
        const parsed: unknown = JSON.parse(text);
        if (!isObject(parsed)) throw new Error('the top level must be an object');
        file = parsed;
      } catch (err) {
        throw new ConfigError(`--config ${path}: not valid JSON (${(err as Error).message})`);
      }
      continue;
    }
    const flag = FLAGS[name];
    if (!flag) throw new ConfigError(`unknown option '${arg}'\n${USAGE}`);
    if (flag.type === 'false') {
      set(fromFlags, flag.path, false);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    set(fromFlags, flag.path, convert(value, flag.type, name));
  }
  const fromEnv: Json = {};
  for (const [key, spec] of Object.entries(ENV)) {
    const value = env[key];
    if (value !== undefined && value !== '') set(fromEnv, spec.path, convert(value, spec.type, key));
  }
  return parseConfig(merge(merge(file, fromEnv), fromFlags));
}
