import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { coversPath, PlaybackAuthError, signToken, tokenOf, tokenQueryValue, verifyToken } from '../../src/http/signed-url.js';
import { tokenizeManifest, TokenizedManifests } from '../../src/http/tokenize.js';
import { Rendered } from '../../src/http/rendered-cache.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const NOW = 1_800_000_000_000;
const exp = NOW / 1000 + 60;

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PlaybackAuthError, String(err));
    assert.equal(err.status, 403);
    return err.failure;
  }
  assert.fail('expected a 403');
}

describe('signed playback URLs (hdnts)', () => {
  it('verifies what it signs, and what openssl signs', () => {
    const token = signToken(KEY, { exp, acl: '/live/s1/*' });
    assert.match(token, /^exp=\d+~acl=\/live\/s1\/\*~hmac=[0-9a-f]{64}$/);
    const t = verifyToken(KEY, token, NOW);
    assert.deepEqual(t.acl, ['/live/s1/*']);
    // The README's three lines of shell.
    const message = `exp=${exp}~acl=/live/s1/*`;
    const hmac = execFileSync('sh', ['-c', `printf '%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt hexkey:${KEY.toString('hex')} | sed 's/^.* //'`, 'sh', message]).toString().trim();
    assert.equal(hmac, createHmac('sha256', KEY).update(message).digest('hex'));
    assert.equal(`${message}~hmac=${hmac}`, token);
  });

  it('refuses expired, not yet valid, tampered, wrongly keyed and malformed tokens with a reason', () => {
    assert.equal(failure(() => verifyToken(KEY, signToken(KEY, { exp: NOW / 1000 - 1, acl: '/*' }), NOW)), 'expired');
    assert.equal(failure(() => verifyToken(KEY, signToken(KEY, { st: NOW / 1000 + 30, exp, acl: '/*' }), NOW)), 'early');
    const good = signToken(KEY, { exp, acl: '/live/s1/*' });
    assert.equal(failure(() => verifyToken(KEY, good.replace('/live/s1/*', '/live/*'), NOW)), 'signature');
    assert.equal(failure(() => verifyToken(KEY, good.replace(/exp=\d+/, `exp=${exp + 3600}`), NOW)), 'signature');
    assert.equal(failure(() => verifyToken(Buffer.alloc(16, 7), good, NOW)), 'signature');
    assert.equal(failure(() => verifyToken(KEY, good.slice(0, -2), NOW)), 'malformed');
    assert.equal(failure(() => verifyToken(KEY, 'exp=1~acl=/*', NOW)), 'malformed');
    const noAcl = `exp=${exp}`;
    assert.equal(failure(() => verifyToken(KEY, `${noAcl}~hmac=${createHmac('sha256', KEY).update(noAcl).digest('hex')}`, NOW)), 'malformed');
    assert.throws(() => verifyToken(KEY, signToken(KEY, { exp: NOW / 1000 - 1, acl: '/*' }), NOW), { message: 'the token expired at 2027-01-15T07:59:59.000Z' });
  });

  it('matches ACL patterns: * anywhere, several joined by !, exact paths', () => {
    const t = verifyToken(KEY, signToken(KEY, { exp, acl: '/live/s1/*!/live/s2/master.m3u8' }), NOW);
    assert.ok(coversPath(t, '/live/s1/master.m3u8'));
    assert.ok(coversPath(t, '/live/s1/v360/abc/12.m4s'));
    assert.ok(coversPath(t, '/live/s2/master.m3u8'));
    assert.ok(!coversPath(t, '/live/s2/v360/index.m3u8'));
    assert.ok(!coversPath(t, '/live/s10/master.m3u8'));
    const dots = verifyToken(KEY, signToken(KEY, { exp, acl: '/live/a.b/*' }), NOW);
    assert.ok(!coversPath(dots, '/live/aXb/x'), 'a dot in a pattern is a dot');
  });

  it('finds the token in the query first, else in a cookie', () => {
    assert.deepEqual(tokenOf('a=1&hdnts=exp%3D1~acl%3D%2F*~hmac%3Dab', undefined), { text: 'exp=1~acl=/*~hmac=ab', from: 'query' });
    assert.deepEqual(tokenOf('', 'x=1; hdnts=exp=2~acl=/*~hmac=cd'), { text: 'exp=2~acl=/*~hmac=cd', from: 'cookie' });
    assert.equal(tokenOf('a=1', 'b=2'), null);
    assert.equal(tokenQueryValue('exp=1~acl=/live/*~hmac=ab'), 'exp=1~acl=/live/*~hmac=ab');
    assert.equal(tokenQueryValue('acl=/a b&c"<'), 'acl=/a%20b%26c%22%3C');
  });
});

describe('tokens passed on to the URIs of manifests', () => {
  const token = 'exp=1~acl=/live/s1/*~hmac=ab';
  const q = `hdnts=${token}`;

  it('HLS: URI lines, URI attributes and L-HLS prefetch; never the tags without a URI', () => {
    const text = ['#EXTM3U', '#EXT-X-MAP:URI="tag/init-1.mp4"', '#EXT-X-PART:DURATION=0.5,URI="tag/5.0.m4s"', '#EXTINF:2.0,', 'tag/5.m4s', '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="tag/6.0.m4s"', '#EXT-X-RENDITION-REPORT:URI="../v180/index.m3u8",LAST-MSN=5', '#EXT-X-PREFETCH:tag/6.m4s', '#EXT-X-MEDIA:TYPE=AUDIO,URI="audio/index.m3u8?x=1"', ''].join('\n');
    const out = tokenizeManifest('hls', text, token).split('\n');
    assert.equal(out[1], `#EXT-X-MAP:URI="tag/init-1.mp4?${q}"`);
    assert.equal(out[2], `#EXT-X-PART:DURATION=0.5,URI="tag/5.0.m4s?${q}"`);
    assert.equal(out[3], '#EXTINF:2.0,');
    assert.equal(out[4], `tag/5.m4s?${q}`);
    assert.equal(out[5], `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="tag/6.0.m4s?${q}"`);
    assert.equal(out[6], `#EXT-X-RENDITION-REPORT:URI="../v180/index.m3u8?${q}",LAST-MSN=5`);
    assert.equal(out[7], `#EXT-X-PREFETCH:tag/6.m4s?${q}`);
    assert.equal(out[8], `#EXT-X-MEDIA:TYPE=AUDIO,URI="audio/index.m3u8?x=1&${q}"`);
    assert.equal(out[9], '');
  });

  it('MPD: SegmentTemplate media and initialization, not UTCTiming', () => {
    const mpd = '<SegmentTemplate timescale="90000" initialization="$RepresentationID$/t/init-1.mp4" media="$RepresentationID$/t/$Number$.m4s"/>\n<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/utc"/>';
    const out = tokenizeManifest('mpd', mpd, token);
    assert.ok(out.includes(`initialization="$RepresentationID$/t/init-1.mp4?${q}"`));
    assert.ok(out.includes(`media="$RepresentationID$/t/$Number$.m4s?${q}"`));
    assert.ok(out.includes('value="/utc"'));
  });

  it('HESP: the initialization and continuation patterns', () => {
    const json = JSON.stringify({ timeSource: { value: '/utc' }, sets: [{ initializationPattern: 'hesp-{initId}.mp4', continuationPattern: '{segmentId}.m4s', baseUrl: 'v/t/' }] }, null, 2);
    const out = JSON.parse(tokenizeManifest('hesp', json, token)) as { sets: { initializationPattern: string; continuationPattern: string; baseUrl: string }[]; timeSource: { value: string } };
    assert.equal(out.sets[0]!.initializationPattern, `hesp-{initId}.mp4?${q}`);
    assert.equal(out.sets[0]!.continuationPattern, `{segmentId}.m4s?${q}`);
    assert.equal(out.sets[0]!.baseUrl, 'v/t/');
    assert.equal(out.timeSource.value, '/utc');
  });

  it('transforms each rendered manifest once per token, and keeps the rendered one untouched', () => {
    const cache = new TokenizedManifests();
    const rendered = new Rendered(Buffer.from('#EXTM3U\na.m4s\n'));
    const a = cache.get('hls', rendered, token);
    assert.equal(cache.get('hls', rendered, token), a);
    assert.notEqual(cache.get('hls', rendered, 'other'), a);
    assert.equal(rendered.bytes.toString(), '#EXTM3U\na.m4s\n');
    assert.notEqual(a.etag, rendered.etag);
    assert.notEqual(cache.get('hls', new Rendered(Buffer.from('#EXTM3U\na.m4s\n')), token), a, 'another rendered object is another entry');
  });
});
