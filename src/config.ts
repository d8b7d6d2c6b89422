import { readFileSync } from 'node:fs';
import { z } from 'zod';

const between = (min: number, max: number, unit = '') => z.number({ error: `must be a number between ${min} and ${max}${unit}` }).min(min, `must be between ${min} and ${max}${unit}`).max(max, `must be between ${min} and ${max}${unit}`);
const integerBetween = (min: number, max: number, unit = '') => between(min, max, unit).int(`must be a whole number between ${min} and ${max}${unit}`);
const port = integerBetween(0, 65535);
const host = z.string({ error: 'must be a host name or IP address' }).min(1, 'must be a host name or IP address');
const streamName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -');
/** Visible ASCII, no spaces (an HTTP header value and a shell argument as is). */
const token = z.string({ error: 'must be a string' }).regex(/^[\x21-\x7e]{16,512}$/, 'must be 16 to 512 visible ASCII characters');
const corsOrigins = z.array(z.string().regex(/^(\*|https?:\/\/[^\s/]+)$/, "must be '*' or an origin such as https://player.example.com"), { error: 'must be a list of origins' });

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
        /** SCTE-35 cues as EXT-X-DATERANGE only, or also as the legacy EXT-X-CUE-OUT / -CUE-OUT-CONT / -CUE-IN. */
        cueTags: z.enum(['daterange', 'daterange+cue-out'], { error: "must be 'daterange' or 'daterange+cue-out'" }).default('daterange'),
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
    dvr: z
      .object({
        /** Catch-up kept on disk, in seconds: `?dvr=1`, start-over, time-shift; 0 turns the DVR off. */
        windowSeconds: integerBetween(0, 30 * 86_400, ' s').default(7200),
        /** Where the DVR keeps its media files and indexes (one folder per stream instance). */
        dataDir: z.string({ error: 'must be a folder path' }).min(1, 'must be a folder path').default('./data'),
        /** Bytes the DVR may take on disk over every stream; past it the oldest media goes first (0: no quota). */
        quotaBytes: integerBetween(0, Number.MAX_SAFE_INTEGER, ' bytes').default(0),
        /** A track's media file is rolled past this size (eviction frees disk a file at a time). */
        rollBytes: integerBetween(1 << 16, 2 ** 32, ' bytes').default(256 << 20),
        /** Segments read back from disk kept in memory for the next reader (least recently read go first; 0: none). */
        readCacheBytes: integerBetween(0, 64 * 2 ** 30, ' bytes').default(256 << 20),
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
    auth: z
      .object({
        /** Every ingest request must carry `Authorization: Bearer <token>` (this one, or its stream's). */
        ingestToken: token.nullable().default(null),
        /** Tokens that open one stream's ingest each (the global token opens every stream). */
        streamTokens: z.record(streamName, token, { error: 'must map stream names to tokens' }).default({}),
        /** Start with no ingest token on an address other than loopback (anyone who reaches it may push). */
        allowOpenIngest: z.boolean({ error: 'must be true or false' }).default(false),
        /** HMAC-SHA256 key (hex) of signed playback URLs (`hdnts` tokens); null: playback is open. */
        playbackKey: z
          .string({ error: 'must be a hex string' })
          .regex(/^(?:[0-9a-fA-F]{2}){16,64}$/, 'must be 32 to 128 hex digits (a 16 to 64 byte key)')
          .nullable()
          .default(null),
        /** With a playback key: `/`, `/watch/…` and `/api/streams` need no token (else they follow the manifests' rule). */
        exemptStatus: z.boolean({ error: 'must be true or false' }).default(false),
        /** Where `/metrics` answers: the playback listener (no token needed) or the ingest listener (behind the ingest token). */
        metricsListener: z.enum(['playback', 'ingest'], { error: "must be 'playback' or 'ingest'" }).default('playback'),
      })
      .strict()
      .prefault({}),
    cors: z
      .object({
        /** `Access-Control-Allow-Origin` of playback responses: `["*"]`, a list of origins (echoed when they match), or `[]` for none. */
        playback: corsOrigins.default(['*']),
        /** The same for the ingest listener (browser encoders); none by default. */
        ingest: corsOrigins.default([]),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        /** Request line plus headers, in bytes (431 above). */
        maxHeaderBytes: integerBetween(1024, 65536, ' bytes').default(16384),
        /** Request target (path and query), in bytes (414 above). */
        maxUrlBytes: integerBetween(256, 16384, ' bytes').default(4096),
        /** Query parameters in one request (400 above, and for any repeated one). */
        maxQueryParams: integerBetween(1, 256).default(16),
        /** A connection that has not sent a whole request head this long after it started one is closed (408). */
        headersTimeoutMs: integerBetween(500, 120_000, ' ms').default(10_000),
        /** Playback: the whole request must arrive within this (held responses are not limited by it). */
        requestTimeoutMs: integerBetween(500, 600_000, ' ms').default(30_000),
        /** Idle keep-alive connections are closed after this (above the 60 s that CDN edges keep idle upstream connections). */
        keepAliveTimeoutMs: integerBetween(1000, 600_000, ' ms').default(65_000),
        /** Open connections per listener; more are refused at accept. */
        maxConnections: integerBetween(16, 1_000_000).default(50_000),
        /** Requests held at once (blocking reloads, hinted parts, next segments): 503 + Retry-After above. */
        maxHeldRequests: integerBetween(1, 1_000_000).default(50_000),
        /** Requests held at once for one client address (a CDN edge counts as one client). */
        maxHeldPerClient: integerBetween(1, 1_000_000).default(20_000),
        /** Bytes a growing response may queue for a reader that does not read, beyond what existed when it joined: then it is cut. */
        maxUnsentBytes: integerBetween(65536, 1 << 30, ' bytes').default(16 << 20),
        /** A connection whose queued bytes have not moved for this long is closed. */
        stalledWriteMs: integerBetween(500, 600_000, ' ms').default(30_000),
        /** On SIGTERM: how long growing responses and uploads may go on before they are cut and the process exits. */
        shutdownGraceMs: integerBetween(0, 600_000, ' ms').default(5_000),
      })
      .strict()
      .prefault({})
      .refine((h) => h.requestTimeoutMs >= h.headersTimeoutMs, { message: 'requestTimeoutMs must not be below headersTimeoutMs', path: ['requestTimeoutMs'] }),
    ingestLimits: z
      .object({
        /** Bytes of incomplete boxes held for one stream's uploads at once (429 above). */
        maxPendingBytesPerStream: integerBetween(1024, 1 << 30, ' bytes').default(64 << 20),
        /** Bytes of incomplete boxes held for every upload at once (503 above). */
        maxPendingBytes: integerBetween(1024, 16 * 2 ** 30, ' bytes').default(512 << 20),
        /** Bytes of media one stream may hold in memory (its window; 429 for more). */
        maxStreamBytes: integerBetween(1 << 20, 64 * 2 ** 30, ' bytes').default(2 * 2 ** 30),
        /** Bytes of media all streams may hold in memory (503 for more). */
        maxTotalBytes: integerBetween(1 << 20, 1024 * 2 ** 30, ' bytes').default(16 * 2 ** 30),
        /** CMAF chunks per second one stream may push, sustained (429 above)... */
        chunksPerSecond: integerBetween(1, 1_000_000).default(1000),
        /** ...and in a burst (a whole file pushed at once). */
        chunkBurst: integerBetween(1, 10_000_000).default(20_000),
        /** CMAF chunks per second over every stream, sustained (503 above)... */
        totalChunksPerSecond: integerBetween(1, 10_000_000).default(20_000),
        /** ...and in a burst. */
        totalChunkBurst: integerBetween(1, 100_000_000).default(200_000),
        /** Top-level boxes between two CMAF chunks (prft, emsg, free, ...): 413 above. */
        maxBoxesPerFragment: integerBetween(4, 100_000).default(1000),
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

const ENV: Record<string, { path: string; type: 'int' | 'string' | 'bool' | 'list' }> = {
  PORT: { path: 'playback.port', type: 'int' },
  HOST: { path: 'playback.host', type: 'string' },
  INGEST_PORT: { path: 'ingest.port', type: 'int' },
  INGEST_HOST: { path: 'ingest.host', type: 'string' },
  LOG_LEVEL: { path: 'log.level', type: 'string' },
  STATUS_PAGE: { path: 'statusPage.enabled', type: 'bool' },
  DATA_DIR: { path: 'dvr.dataDir', type: 'string' },
  DVR_WINDOW: { path: 'dvr.windowSeconds', type: 'int' },
  INGEST_TOKEN: { path: 'auth.ingestToken', type: 'string' },
  PLAYBACK_KEY: { path: 'auth.playbackKey', type: 'string' },
  CORS_ORIGIN: { path: 'cors.playback', type: 'list' },
};

const FLAGS: Record<string, { path: string; type: 'int' | 'number' | 'string' | 'list' | 'false' | 'true' }> = {
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
  '--data-dir': { path: 'dvr.dataDir', type: 'string' },
  '--dvr-window': { path: 'dvr.windowSeconds', type: 'int' },
  '--no-status-page': { path: 'statusPage.enabled', type: 'false' },
  '--ingest-token': { path: 'auth.ingestToken', type: 'string' },
  '--allow-open-ingest': { path: 'auth.allowOpenIngest', type: 'true' },
  '--playback-key': { path: 'auth.playbackKey', type: 'string' },
  '--cors-origin': { path: 'cors.playback', type: 'list' },
  '--shutdown-grace': { path: 'http.shutdownGraceMs', type: 'int' },
};

function convert(raw: string, type: 'int' | 'number' | 'string' | 'bool' | 'list', name: string): unknown {
  if (type === 'string') return raw;
  // 'none' (or nothing) is the empty list: `--cors-origin none` turns CORS off.
  if (type === 'list') return raw.trim() === '' || raw.trim() === 'none' ? [] : raw.split(',').map((x) => x.trim());
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
                    [--part-addressing uri|byterange] [--target-latency S]
                    [--data-dir D] [--dvr-window S] [--no-status-page]
                    [--ingest-token T] [--allow-open-ingest] [--playback-key HEX]
                    [--cors-origin '*'|ORIGIN,...|none] [--shutdown-grace MS]
environment: PORT, HOST, INGEST_PORT, INGEST_HOST, LOG_LEVEL, DATA_DIR, DVR_WINDOW, STATUS_PAGE,
             INGEST_TOKEN, PLAYBACK_KEY, CORS_ORIGIN`;

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
    if (flag.type === 'false' || flag.type === 'true') {
      set(fromFlags, flag.path, flag.type === 'true');
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
