import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signToken } from '../../src/http/signed-url.js';
import { loadCorpus } from '../fuzz/corpus.js';
import { get, sleep } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { push } from '../helpers/push.js';
import { portOf, rawGet, rawRequest } from '../helpers/raw-http.js';

const KEY = '000102030405060708090a0b0c0d0e0f';
const key = Buffer.from(KEY, 'hex');
const inAMinute = (): number => Math.floor(Date.now() / 1000) + 60;
const [v360, audio] = loadCorpus(['ladder/v360.mp4', 'ladder/audio.mp4']) as [ReturnType<typeof loadCorpus>[0], ReturnType<typeof loadCorpus>[0]];

async function pushLadder(o: TestOrigin, stream: string): Promise<void> {
  for (const [name, f] of [['v360', v360], ['audio', audio]] as const) {
    const r = await push(o.ingest, 'PUT', `/live/${stream}/${name}.mp4`, Buffer.concat([f.init, ...f.fragments])).answer;
    assert.equal(r.status, 200, r.body);
  }
}

/** URIs a manifest names that exist now (not preload hints or prefetches of what is being produced). */
function childUris(kind: 'hls' | 'mpd' | 'hesp', text: string): string[] {
  if (kind === 'hls') {
    const out: string[] = [];
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#EXT-X-PRELOAD-HINT') || line.startsWith('#EXT-X-PREFETCH')) continue;
      if (!line.startsWith('#')) out.push(line);
      else for (const m of line.matchAll(/URI="([^"]+)"/g)) out.push(m[1]!);
    }
    return out;
  }
  if (kind === 'mpd') return [...text.matchAll(/ (?:media|initialization)="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  return [...JSON.stringify(JSON.parse(text)).matchAll(/"(?:initializationPattern|continuationPattern)":"([^"]+)"/g)].map((m) => m[1]!);
}

const MANIFESTS: { path: string; kind: 'hls' | 'mpd' | 'hesp' }[] = [
  { path: 'master.m3u8', kind: 'hls' },
  { path: 'master-lhls.m3u8', kind: 'hls' },
  { path: 'master-ts.m3u8', kind: 'hls' },
  { path: 'manifest.mpd', kind: 'mpd' },
  { path: 'manifest.mpd?mode=timeline', kind: 'mpd' },
  { path: 'hesp.json', kind: 'hesp' },
];

function withToken(url: string, token: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}hdnts=${token}`;
}

describe('signed playback URLs', () => {
  let o: TestOrigin;
  let tag: string;
  const good = (): string => signToken(key, { exp: inAMinute(), acl: '/live/sig/*' });

  before(async () => {
    o = await startOrigin({ auth: { playbackKey: KEY } });
    await pushLadder(o, 'sig');
    tag = o.origin.streams.get('sig')!.tag;
  });
  after(() => o.stop());

  for (const m of MANIFESTS) {
    it(`${m.path}: valid token → every child URI carries it and is served; missing, expired, wrong-ACL, tampered → 403`, async () => {
      const url = `${o.playback}/live/sig/${m.path}`;
      const token = good();
      const ok = await get(withToken(url, token));
      assert.equal(ok.status, 200);
      const text = ok.body.toString();
      const children = childUris(m.kind, text);
      assert.ok(children.length > 0);
      for (const c of children) assert.ok(c.includes(`hdnts=${token}`), `${c} carries the token`);
      // The children are served with the token they carry: one level down for HLS masters, then media.
      // The children are served with the token they carry: for HLS masters two levels down.
      let child: string;
      if (m.kind === 'hls') {
        child = new URL(children[0]!, url).toString();
        for (const c of children.slice(0, 3)) {
          const playlist = await get(new URL(c, url).toString());
          assert.equal(playlist.status, 200, c);
          const grandchildren = childUris('hls', playlist.body.toString());
          assert.ok(grandchildren.length > 0 && grandchildren.every((g) => g.includes(`hdnts=${token}`)));
          for (const g of grandchildren.slice(0, 4)) assert.equal((await get(new URL(g, new URL(c, url)).toString())).status, 200, g);
        }
      } else if (m.kind === 'mpd') {
        const first = String(o.origin.streams.get('sig')!.tracks.get('v360')!.firstMsn);
        const media = children.find((c) => c.includes('$Number$'))!.replace('$RepresentationID$', 'v360').replace('$Number$', first);
        assert.equal((await get(new URL(media, url).toString())).status, 200, media);
        const init = children.find((c) => c.includes('init-'))!.replace('$RepresentationID$', 'v360');
        child = new URL(init, url).toString();
        assert.equal((await get(child)).status, 200, init);
      } else {
        const packet = children.find((c) => c.startsWith('hesp-'))!.replace('{initId}', 'now');
        child = new URL(`v360/${tag}/${packet}`, url).toString();
        assert.equal((await get(child)).status, 200, packet);
      }
      child = child.replace(/[?&]hdnts=.*$/, '');
      const refused = async (u: string, reason: RegExp): Promise<void> => {
        const r = await get(u);
        assert.equal(r.status, 403, u);
        assert.match(r.body.toString(), reason);
        assert.equal(r.headers['cache-control'], 'no-store');
        assert.equal(r.headers['access-control-allow-origin'], '*');
      };
      await refused(url, /^403 FORBIDDEN: a signed-URL token is required \(hdnts query parameter or cookie\)\n$/);
      await refused(withToken(url, signToken(key, { exp: Math.floor(Date.now() / 1000) - 5, acl: '/live/sig/*' })), /^403 FORBIDDEN: the token expired at \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
      await refused(withToken(url, signToken(key, { exp: inAMinute(), acl: '/live/other/*' })), /^403 FORBIDDEN: the token's acl does not cover \/live\/sig\//);
      await refused(withToken(url, token.replace('acl=/live/sig/*', 'acl=/live/*')), /^403 FORBIDDEN: the token signature does not match\n$/);
      // The same for a child URI.
      await refused(child, /token is required/);
      await refused(withToken(child, signToken(key, { exp: Math.floor(Date.now() / 1000) - 1, acl: '/live/sig/*' })), /expired/);
      await refused(withToken(child, signToken(key, { exp: inAMinute(), acl: `/live/sig/${m.path.split('?')[0]}` })), /acl does not cover/);
      await refused(withToken(child, token.slice(0, -1) + (token.endsWith('0') ? '1' : '0')), /signature/);
    });
  }

  it('takes the token from a cookie (manifests then name their children without it)', async () => {
    const r = await get(`${o.playback}/live/sig/master.m3u8`, { cookie: `a=b; hdnts=${good()}` });
    assert.equal(r.status, 200);
    assert.ok(!r.body.toString().includes('hdnts'));
  });

  it('keeps /healthz, /utc, /metrics and the status page assets open; the page and the stream API follow the manifests', async () => {
    for (const p of ['/healthz', '/utc', '/metrics']) assert.equal((await get(o.playback + p)).status, 200, p);
    assert.equal((await get(`${o.playback}/api/streams`)).status, 403);
    assert.equal((await get(`${o.playback}/`)).status, 403);
    const all = signToken(key, { exp: inAMinute(), acl: '/*' });
    const page = await get(`${o.playback}/?hdnts=${all}`);
    assert.equal(page.status, 200);
    const cookie = String(page.headers['set-cookie']);
    assert.match(cookie, /^hdnts=exp=\d+~acl=\/\*~hmac=[0-9a-f]{64}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    const jar = cookie.split(';')[0]!;
    assert.equal((await get(`${o.playback}/api/streams`, { cookie: jar })).status, 200);
    assert.equal((await get(`${o.playback}/live/sig/manifest.mpd`, { cookie: jar })).status, 200);
    const asset = /src="(\/assets\/[^"]+)"/.exec(page.body.toString())?.[1];
    assert.ok(asset);
    assert.equal((await get(o.playback + asset)).status, 200, asset);
    assert.ok(/origin_playback_auth_failures_total\{reason="expired"\} [1-9]/.test((await get(`${o.playback}/metrics`)).body.toString()));
  });

  it('can exempt the status page and move /metrics to the ingest listener, behind its token', async () => {
    const x = await startOrigin({ auth: { playbackKey: KEY, exemptStatus: true, metricsListener: 'ingest', ingestToken: 'metrics-token-0123456' } });
    try {
      assert.equal((await get(`${x.playback}/api/streams`)).status, 200);
      assert.equal((await get(`${x.playback}/metrics`)).status, 404);
      assert.equal((await get(`${x.ingest}/metrics`)).status, 401);
      const m = await get(`${x.ingest}/metrics`, { authorization: 'Bearer metrics-token-0123456' });
      assert.equal(m.status, 200);
      assert.match(m.body.toString(), /origin_active_streams/);
    } finally {
      await x.stop();
    }
  });
});

describe('CORS', () => {
  it('allows every origin by default, and answers preflights', async () => {
    const o = await startOrigin();
    try {
      await pushLadder(o, 'c');
      const r = await get(`${o.playback}/live/c/master.m3u8`, { origin: 'https://player.example' });
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.match(String(r.headers['access-control-expose-headers']), /Age, Date/);
      assert.equal((await get(`${o.playback}/live/c/nope.m3u8`)).headers['access-control-allow-origin'], '*');
      const pre = await rawRequest(portOf(o.playback), 'OPTIONS /live/c/master.m3u8 HTTP/1.1\r\nHost: x\r\nOrigin: https://player.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range\r\nConnection: close\r\n\r\n');
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-allow-origin'], '*');
      assert.equal(pre.headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS');
      assert.match(pre.headers['access-control-allow-headers'] ?? '', /Range/);
      assert.equal(pre.headers['access-control-max-age'], '86400');
      const plain = await rawRequest(portOf(o.playback), 'OPTIONS /live/c/master.m3u8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(plain.status, 204);
      assert.equal(plain.headers.allow, 'GET, HEAD, OPTIONS');
    } finally {
      await o.stop();
    }
  });

  it('echoes a listed origin (with credentials and Vary), refuses others, and can be off', async () => {
    const o = await startOrigin({ cors: { playback: ['https://a.example'] } });
    const off = await startOrigin({ cors: { playback: [] } });
    try {
      await pushLadder(o, 'c');
      await pushLadder(off, 'c');
      const a = await get(`${o.playback}/live/c/master.m3u8`, { origin: 'https://a.example' });
      assert.equal(a.headers['access-control-allow-origin'], 'https://a.example');
      assert.equal(a.headers['access-control-allow-credentials'], 'true');
      assert.match(String(a.headers.vary), /Origin/);
      const seg = await get(`${o.playback}/live/c/v360/${o.origin.streams.get('c')!.tag}/1.m4s`, { origin: 'https://a.example' });
      assert.equal(seg.headers['access-control-allow-origin'], 'https://a.example');
      const b = await get(`${o.playback}/live/c/master.m3u8`, { origin: 'https://b.example' });
      assert.equal(b.status, 200);
      assert.equal(b.headers['access-control-allow-origin'], undefined);
      assert.match(String(b.headers.vary), /Origin/);
      const pre = await rawRequest(portOf(o.playback), 'OPTIONS /live/c/master.m3u8 HTTP/1.1\r\nHost: x\r\nOrigin: https://b.example\r\nAccess-Control-Request-Method: GET\r\nConnection: close\r\n\r\n');
      assert.equal(pre.headers['access-control-allow-origin'], undefined);
      assert.equal(pre.headers['access-control-allow-methods'], undefined);
      const none = await get(`${off.playback}/live/c/master.m3u8`, { origin: 'https://a.example' });
      assert.equal(none.status, 200);
      assert.equal(none.headers['access-control-allow-origin'], undefined);
    } finally {
      await o.stop();
      await off.stop();
    }
  });
});

describe('bad playback requests', () => {
  let o: TestOrigin;
  let port: number;
  let segment: string;
  before(async () => {
    o = await startOrigin({ http: { maxHeaderBytes: 8192, maxUrlBytes: 1024, maxQueryParams: 8 } });
    await pushLadder(o, 'b');
    port = portOf(o.playback);
    segment = `/live/b/v360/${o.origin.streams.get('b')!.tag}/1.m4s`;
  });
  after(() => o.stop());

  /** One line, a status and a reason: no stack, no file path, no internals. */
  const plain = (body: string): void => {
    assert.match(body, /^\d{3} [^\n]*\n$/);
    assert.doesNotMatch(body, /\bat \S+ \(|node:internal|\/src\/|\/work\/|\.ts:\d+/);
  };

  it('refuses traversal, encoded dots, NUL bytes, backslashes, long or repeated query parameters with a 4xx', async () => {
    const cases: [string, number][] = [
      ['/live/../etc/passwd', 400],
      ['/live/b/..%2f..%2fetc/passwd', 400],
      ['/live/%2e%2e/b/master.m3u8', 400],
      ['/live/b/%00/master.m3u8', 400],
      ['/live/b\\master.m3u8', 400],
      ['/assets/../../package.json', 400],
      [`/live/b/master.m3u8?${'x'.repeat(2000)}`, 414],
      [`/live/b/master.m3u8?${Array.from({ length: 9 }, (_, i) => `p${i}=1`).join('&')}`, 400],
      ['/live/b/v360/index.m3u8?_HLS_msn=1&_HLS_msn=2', 400],
      ['/live/b/master.m3u8?a=%zz', 400],
    ];
    for (const [target, status] of cases) {
      const r = await rawGet(port, target);
      assert.equal(r.status, status, target);
      plain(r.body);
    }
  });

  it('answers malformed Range headers with 400 and multiple, reversed or foreign-unit ranges with 416', async () => {
    const cases: [string, number][] = [
      ['bytes=abc', 400],
      ['bytes=-', 400],
      ['0-100', 400],
      ['bytes=0-1,4-5', 416],
      ['bytes=10-5', 416],
      ['items=0-5', 416],
      ['bytes=999999999-', 416],
    ];
    for (const [range, status] of cases) {
      const r = await rawGet(port, segment, [`Range: ${range}`]);
      assert.equal(r.status, status, range);
      if (r.body !== '') plain(r.body);
    }
    assert.equal((await rawGet(port, segment, ['Range: bytes=0-9'])).status, 206);
  });

  it('closes heads that are too large (431) or malformed (400) with a one-line reason', async () => {
    const big = await rawGet(port, '/healthz', [`Cookie: ${'c'.repeat(9000)}`]);
    assert.equal(big.status, 431);
    plain(big.body);
    const junk = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n');
    assert.equal(junk.status, 400);
    plain(junk.body);
    assert.equal((await rawRequest(port, 'DELETE /live/b/master.m3u8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 405);
  });
});

describe('held requests and slow heads', () => {
  it('caps held requests per client and in total with 503 + Retry-After', async () => {
    const o = await startOrigin({ http: { maxHeldRequests: 5, maxHeldPerClient: 3 } });
    const upload = push(o.ingest, 'PUT', '/live/h/v.mp4', Buffer.concat([v360.init, ...v360.fragments.slice(0, 20)]), {}, { open: true });
    const sockets: Promise<unknown>[] = [];
    try {
      await sleep(300);
      const playlist = (await get(`${o.playback}/live/h/v/index.m3u8`)).body.toString();
      const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]*\/(\d+)\.(\d+)\.m4s"/.exec(playlist)!;
      const blocking = `/live/h/v/index.m3u8?_HLS_msn=${hint[1]}&_HLS_part=${hint[2]}`;
      const hold = (localAddress: string): Promise<unknown> => rawGet(portOf(o.playback), blocking, [], { localAddress }).catch(() => null);
      for (let i = 0; i < 3; i++) sockets.push(hold('127.0.0.1'));
      await sleep(200);
      const fourth = await rawGet(portOf(o.playback), blocking);
      assert.equal(fourth.status, 503);
      assert.equal(fourth.headers['retry-after'], '1');
      assert.equal(fourth.body, '503 OVERLOADED: 3 requests of this client are held (at most 3); retry\n');
      for (let i = 0; i < 2; i++) sockets.push(hold('127.0.0.2'));
      await sleep(200);
      const sixth = await rawGet(portOf(o.playback), blocking, [], { localAddress: '127.0.0.3' });
      assert.equal(sixth.status, 503);
      assert.equal(sixth.body, '503 OVERLOADED: 5 requests are held (at most 5); retry\n');
      assert.match((await get(`${o.playback}/metrics`)).body.toString(), /origin_limit_rejections_total\{listener="playback",limit="held-requests",scope="client"\} 1/);
      // The part arrives: every held request is answered.
      upload.write(Buffer.concat(v360.fragments.slice(20, 30)));
      await Promise.all(sockets);
    } finally {
      upload.destroy();
      await o.stop();
    }
  });

  it('closes a connection whose head does not arrive in time (408), but not an idle keep-alive one', async () => {
    const o = await startOrigin({ http: { headersTimeoutMs: 1000 } });
    try {
      const port = portOf(o.playback);
      const started = Date.now();
      const slow = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 5000 });
      assert.equal(slow.status, 408);
      assert.ok(Date.now() - started < 3000);
      const { connect } = await import('node:net');
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(1800);
      socket.write('GET /utc HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(200);
      socket.destroy();
      assert.equal(text.match(/HTTP\/1\.1 200 OK/g)?.length, 2, text);
    } finally {
      await o.stop();
    }
  });
});
