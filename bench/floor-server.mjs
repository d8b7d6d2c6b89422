// The node:http floor: the least a node:http server can do for each benchmark, with none of the
// origin's media logic, run pinned like the origin. Its figures in the same run say how much of
// a gap to nginx is the platform's and how much is ours.
//   static: GET /{name} → the bytes loaded with PUT /{name}, one prebuilt header list (the
//           origin's header set), one writeHead, one end
//   held:   every GET is held; each fragment arriving on the ingest listener releases all of
//           them with one prebuilt playlist whose preload hint names the next part
//   fanout: GET streams the current "segment" (chunked): what has arrived, then every ingest
//           read as it lands; a segment ends at the first ingest read after each 2 s and readers chain to the next
// Usage: node bench/floor-server.mjs '{"mode":"static","bodyBytes":7000}'; prints its ports.
import http from 'node:http';

const { mode, bodyBytes = 4096 } = JSON.parse(process.argv[2] ?? '{}');
const CORS = ['Access-Control-Allow-Origin', '*', 'Access-Control-Expose-Headers', 'Age, Date, Content-Length, Content-Range, ETag'];
const headerList = (type, cacheControl, length) => [...CORS, 'Accept-Ranges', 'bytes', 'Content-Type', type, 'Cache-Control', cacheControl, 'Vary', 'Accept-Encoding', 'Content-Length', String(length)];

const objects = new Map();
let waiters = [];
let msn = 1;
let part = 0;
let segment = [];
let readers = new Set();
let releaseScheduled = false;
let boundaryDue = false;

const ENTRY = '#EXTINF:2.00000,\nfloor/0.m4s\n';

function playlist() {
  const hint = `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="floor/${msn}.${part}.m4s"\n`;
  const entries = Math.max(1, Math.floor((bodyBytes - hint.length - 8) / ENTRY.length));
  return Buffer.from(`#EXTM3U\n${ENTRY.repeat(entries)}${hint}`);
}

function release() {
  releaseScheduled = false;
  part++;
  if (part === 10) {
    part = 0;
    msn++;
  }
  const body = playlist();
  const list = headerList('application/vnd.apple.mpegurl', 'public, max-age=12', body.length);
  const w = waiters;
  waiters = [];
  for (const res of w) {
    res.writeHead(200, list);
    res.end(body);
  }
}

const playback = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (mode === 'static') {
    if (req.method === 'PUT') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const type = req.url.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp4';
        objects.set(req.url, { bytes, list: headerList(type, 'public, max-age=1', bytes.length) });
        res.end();
      });
      return;
    }
    const o = objects.get(req.url);
    if (!o) {
      res.writeHead(404, ['Content-Length', '0']);
      res.end();
      return;
    }
    res.writeHead(200, o.list);
    res.end(o.bytes);
    return;
  }
  if (req.url.includes('.m3u8')) {
    if (mode === 'held' && req.url.includes('_HLS_msn')) waiters.push(res);
    else {
      const body = playlist();
      res.writeHead(200, headerList('application/vnd.apple.mpegurl', 'public, max-age=1', body.length));
      res.end(body);
    }
    return;
  }
  if (mode !== 'fanout') {
    res.writeHead(404, ['Content-Length', '0']);
    res.end();
    return;
  }
  res.writeHead(200, [...CORS, 'Content-Type', 'video/mp4', 'Cache-Control', 'public, max-age=31536000']);
  for (const b of segment) res.write(b);
  readers.add(res);
  res.on('close', () => readers.delete(res));
});

const ingest = http.createServer({ requestTimeout: 0 }, (req, res) => {
  req.on('data', (d) => {
    if (mode === 'held') {
      if (!releaseScheduled) {
        releaseScheduled = true;
        setImmediate(release);
      }
    } else if (mode === 'fanout') {
      if (boundaryDue) {
        // As an origin cutting a long PUT: a segment is complete when the next one's bytes land.
        boundaryDue = false;
        const ending = readers;
        readers = new Set();
        segment = [];
        for (const r of ending) r.end();
      }
      segment.push(d);
      for (const r of readers) r.write(d);
    }
  });
  req.on('end', () => res.end());
});

if (mode === 'fanout') {
  setInterval(() => (boundaryDue = true), 2000);
}

playback.listen(0, '127.0.0.1', () => {
  ingest.listen(0, '127.0.0.1', () => {
    console.log(JSON.stringify({ playback: playback.address().port, ingest: ingest.address().port }));
  });
});
process.on('SIGTERM', () => process.exit(0));
