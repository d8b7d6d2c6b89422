import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config.js';

function configFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

describe('config', () => {
  it('has production defaults', () => {
    const c = parseConfig({});
    assert.deepEqual(c.playback, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(c.ingest, { host: '127.0.0.1', port: 8081, idleTimeoutMs: 10_000 });
    assert.deepEqual(c.segment, { targetDuration: 2 }, 'the part target comes from the encoder\'s fragments unless configured');
    assert.equal(c.window.seconds, 120);
    assert.equal(c.dash.targetLatency, 0.8);
    assert.deepEqual(c.limits, { maxStreams: 100, maxTracksPerStream: 16, maxBoxSizeBytes: 32 << 20 });
    assert.equal(c.log.level, 'info');
    assert.deepEqual(c.demo, { enabled: true, stream: 'demo' });
    assert.deepEqual(c.statusPage, { enabled: true });
  });

  it('turns the status page off with --no-status-page or STATUS_PAGE=0', () => {
    assert.equal(loadConfig(['--no-status-page'], {}).statusPage.enabled, false);
    assert.equal(loadConfig([], { STATUS_PAGE: '0' }).statusPage.enabled, false);
    assert.equal(loadConfig([], { STATUS_PAGE: 'false' }).statusPage.enabled, false);
    assert.equal(loadConfig([], { STATUS_PAGE: '1' }).statusPage.enabled, true);
    assert.equal(loadConfig(['--config', configFile({ statusPage: { enabled: false } })], { STATUS_PAGE: '1' }).statusPage.enabled, true, 'env beats file');
    assert.match(errorOf(() => loadConfig([], { STATUS_PAGE: 'maybe' })), /STATUS_PAGE: 'maybe' is not 0\/1\/true\/false/);
  });

  it('layers defaults → --config file → environment → flags', () => {
    const file = configFile({ playback: { port: 1000 }, ingest: { port: 1001 }, window: { seconds: 30 } });
    const c = loadConfig(['--config', file, '--port', '3000'], { PORT: '2000', INGEST_PORT: '2001' });
    assert.equal(c.playback.port, 3000, 'flag beats env');
    assert.equal(c.ingest.port, 2001, 'env beats file');
    assert.equal(c.window.seconds, 30, 'file beats default');
    assert.equal(c.playback.host, '0.0.0.0', 'default where nobody says');
    assert.equal(loadConfig(['--no-demo'], {}).demo.enabled, false);
    assert.equal(loadConfig(['--ingest-port=9999'], {}).ingest.port, 9999);
  });

  it('names the field and the accepted range in its errors', () => {
    assert.match(errorOf(() => parseConfig({ segment: { targetDuration: 0.2 } })), /segment\.targetDuration: must be between 1 and 30 s/);
    assert.match(errorOf(() => loadConfig(['--port', '70000'], {})), /playback\.port: must be between 0 and 65535/);
    assert.match(errorOf(() => loadConfig([], { INGEST_PORT: 'abc' })), /INGEST_PORT: 'abc' is not a number/);
    assert.match(errorOf(() => parseConfig({ limits: { maxStreams: 1.5 } })), /limits\.maxStreams: must be a whole number between 1 and 10000/);
    assert.match(errorOf(() => parseConfig({ segment: { targetDuration: 2, partTarget: 3 } })), /segment\.partTarget: partTarget must not exceed targetDuration/);
    assert.match(errorOf(() => parseConfig({ playback: { prot: 1 } })), /playback: unknown field\(s\) 'prot'/);
    assert.match(errorOf(() => parseConfig({ log: { level: 'loud' } })), /log\.level: must be one of/);
    assert.match(errorOf(() => loadConfig(['--config', configFile('{nope')], {})), /not valid JSON/);
    assert.match(errorOf(() => loadConfig(['--frobnicate'], {})), /unknown option '--frobnicate'/);
  });

  it('reads the security settings from flags, environment and file', () => {
    const c = parseConfig({});
    assert.deepEqual(c.auth, { ingestToken: null, streamTokens: {}, allowOpenIngest: false, playbackKey: null, exemptStatus: false, metricsListener: 'playback' });
    assert.deepEqual(c.cors, { playback: ['*'], ingest: [] });
    assert.equal(c.http.shutdownGraceMs, 5000);
    const key = '00112233445566778899aabbccddeeff';
    const f = loadConfig(['--ingest-token', 'token-0123456789abcdef', '--allow-open-ingest', '--playback-key', key, '--cors-origin', 'https://a.example,https://b.example', '--shutdown-grace', '2000'], {});
    assert.equal(f.auth.ingestToken, 'token-0123456789abcdef');
    assert.equal(f.auth.allowOpenIngest, true);
    assert.equal(f.auth.playbackKey, key);
    assert.deepEqual(f.cors.playback, ['https://a.example', 'https://b.example']);
    assert.equal(f.http.shutdownGraceMs, 2000);
    const e = loadConfig([], { INGEST_TOKEN: 'env-token-0123456789', PLAYBACK_KEY: key, CORS_ORIGIN: 'none' });
    assert.equal(e.auth.ingestToken, 'env-token-0123456789');
    assert.deepEqual(e.cors.playback, []);
    const file = loadConfig(['--config', configFile({ auth: { streamTokens: { s1: 'stream-token-0123456' }, metricsListener: 'ingest' } })], {});
    assert.deepEqual(file.auth.streamTokens, { s1: 'stream-token-0123456' });
    assert.equal(file.auth.metricsListener, 'ingest');
    assert.match(errorOf(() => loadConfig(['--ingest-token', 'short'], {})), /auth\.ingestToken: must be 16 to 512 visible ASCII characters/);
    assert.match(errorOf(() => loadConfig(['--playback-key', 'xyz'], {})), /auth\.playbackKey: must be 32 to 128 hex digits/);
    assert.match(errorOf(() => loadConfig(['--cors-origin', 'ftp://x'], {})), /cors\.playback\.0: must be '\*' or an origin/);
    assert.match(errorOf(() => parseConfig({ http: { headersTimeoutMs: 20000, requestTimeoutMs: 10000 } })), /http\.requestTimeoutMs: requestTimeoutMs must not be below headersTimeoutMs/);
  });
});
