import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { codeOf } from '../../src/errors.js';
import { IngestAuth, isLoopback, openIngestProblem } from '../../src/http/auth.js';
import { checkRange, checkTarget, TokenBucket } from '../../src/http/limits.js';

const LIMITS = { maxUrlBytes: 256, maxQueryParams: 4 };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return codeOf(err);
  }
  return 'OK';
}

describe('request target checks', () => {
  it('passes the URLs the origin serves', () => {
    assert.deepEqual(checkTarget('/live/s1/v360/index.m3u8?_HLS_msn=5&_HLS_part=2', LIMITS), { path: '/live/s1/v360/index.m3u8', query: '_HLS_msn=5&_HLS_part=2' });
    assert.equal(code(() => checkTarget('/assets/hls.js@1.7.4/dist/hls.min.js', LIMITS)), 'OK');
    assert.equal(code(() => checkTarget('/live/s1/manifest.mpd?mode=timeline&hdnts=exp%3D1~acl%3D%2F*~hmac%3Dab', LIMITS)), 'OK');
  });

  it('refuses traversal, encoded dots and slashes, NUL, backslashes, empty segments and bad escapes with 400', () => {
    for (const url of ['/live/../etc/passwd', '/live/s1/..', '/./live', '/live/%2e%2e/x', '/live/%2E%2e/x', '/live/s1%2fx', '/live/s1/%00', '/live/s1/\0x', '/live\\s1', '//live/s1', '/live/s1/%zz', '/live/s1/master.m3u8?a=%0', '*', 'http://evil/live/s1/master.m3u8']) {
      assert.equal(code(() => checkTarget(url, LIMITS)), 'BAD_REQUEST', url);
    }
  });

  it('refuses long targets with 414, and many or repeated query parameters with 400', () => {
    assert.equal(code(() => checkTarget(`/live/s1/${'a'.repeat(300)}`, LIMITS)), 'URI_TOO_LONG');
    assert.equal(code(() => checkTarget('/x?a=1&b=2&c=3&d=4&e=5', LIMITS)), 'BAD_REQUEST');
    assert.equal(code(() => checkTarget('/x?_HLS_msn=1&_HLS_msn=2', LIMITS)), 'BAD_REQUEST');
    assert.equal(code(() => checkTarget('/x?a&a', LIMITS)), 'BAD_REQUEST');
  });
});

describe('Range header checks', () => {
  it('passes one byte range, RFC 8673 large last positions included', () => {
    for (const r of [undefined, 'bytes=0-99', 'bytes=10-', 'bytes=-500', 'bytes=1000-9007199254740991', 'BYTES=0-0']) assert.equal(code(() => checkRange(r)), 'OK', String(r));
  });

  it('refuses malformed headers with 400 and several ranges, other units or reversed ranges with 416', () => {
    for (const r of ['bytes', 'bytes=', 'bytes=-', 'bytes=a-b', 'bytes=1-2-3', 'bytes=99999999999999999999-', '0-100']) assert.equal(code(() => checkRange(r)), 'BAD_REQUEST', r);
    for (const r of ['bytes=0-1,5-6', 'items=0-5', 'bytes=10-5']) assert.equal(code(() => checkRange(r)), 'RANGE_NOT_SATISFIABLE', r);
  });
});

describe('token bucket', () => {
  it('allows a burst, then the sustained rate', () => {
    const b = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) assert.ok(b.take(1, 0));
    assert.ok(!b.take(1, 0));
    assert.ok(!b.take(1, 50));
    assert.ok(b.take(1, 100));
    assert.ok(!b.full(100));
    assert.ok(b.full(1000));
  });
});

const request = (url: string, authorization?: string): IncomingMessage => ({ url, headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('ingest bearer tokens', () => {
  const auth = new IngestAuth({ ingestToken: 'global-token-0123456789', streamTokens: { s2: 'stream-two-token-012345' } });

  it('opens every stream with the global token, one stream with its own', () => {
    auth.check(request('/live/s1/v.mp4', 'Bearer global-token-0123456789'));
    auth.check(request('/live/s2/v.mp4', 'bearer  global-token-0123456789'));
    auth.check(request('/live/s2/Streams(v.cmfv)', 'Bearer stream-two-token-012345'));
    assert.equal(code(() => auth.check(request('/live/s1/v.mp4', 'Bearer stream-two-token-012345'))), 'UNAUTHORIZED');
  });

  it('says why it refuses: missing, malformed, invalid', () => {
    const why = (req: IncomingMessage): string => {
      try {
        auth.check(req);
      } catch (err) {
        return `${(err as { failure: string }).failure}: ${(err as Error).message}`;
      }
      return 'ok';
    };
    assert.equal(why(request('/live/s1/v.mp4')), 'missing: an Authorization: Bearer token is required');
    assert.equal(why(request('/live/s1/v.mp4', 'Basic Zm9vOmJhcg==')), 'malformed: the Authorization header is not "Bearer <token>"');
    assert.equal(why(request('/live/s1/v.mp4', 'Bearer wrong')), "invalid: the token is not valid for stream 's1'");
    assert.equal(why(request('/metrics', 'Bearer wrong')), 'invalid: the token is not valid');
  });

  it('is open without tokens', () => {
    new IngestAuth({ ingestToken: null, streamTokens: {} }).check(request('/live/s1/v.mp4'));
  });
});

describe('open ingest refusal', () => {
  const open = { ingestToken: null, streamTokens: {}, allowOpenIngest: false };

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) assert.ok(!isLoopback(h), h);
  });

  it('refuses a non-loopback ingest without a token, unless told', () => {
    assert.equal(openIngestProblem('127.0.0.1', open), null);
    assert.match(openIngestProblem('0.0.0.0', open) ?? '', /refusing to start: the ingest listener on 0\.0\.0\.0 would accept pushes from anyone/);
    assert.equal(openIngestProblem('0.0.0.0', { ...open, allowOpenIngest: true }), null);
    assert.equal(openIngestProblem('0.0.0.0', { ...open, ingestToken: 'x'.repeat(16) }), null);
    assert.equal(openIngestProblem('0.0.0.0', { ...open, streamTokens: { s1: 'x'.repeat(16) } }), null);
  });
});
