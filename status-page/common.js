// The status page's shared parts: reading the stream API and drawing one stream's card.
// Everything shown comes from /api/streams; no ingest URL or folder is ever known here.

/** GET a JSON resource; null on 404. */
export async function getJson(url) {
  const res = await fetch(url);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

/** An element with attributes and children (strings become text). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

export function formatBitrate(bps) {
  if (bps === null || bps === undefined) return '–';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`;
}

export function formatSeconds(s, digits = 1) {
  return s === null || s === undefined || !Number.isFinite(s) ? '–' : `${s.toFixed(digits)} s`;
}

/** Wall-clock time of an ISO date, in the viewer's time zone. */
export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '–';
}

function trackRow(t) {
  const res = t.width && t.height ? `${t.width}×${t.height}` : t.sampleRate ? `${t.sampleRate / 1000} kHz${t.channels ? ` · ${t.channels} ch` : ''}` : '–';
  const last = t.lastPart ? `${t.lastPart.msn}.${t.lastPart.part}` : t.lastMsn === null ? '–' : String(t.lastMsn);
  const rate = t.bitrate ? `${formatBitrate(t.bitrate.average)} (peak ${formatBitrate(t.bitrate.peak)})` : '–';
  return h('tr', { 'data-track': t.name },
    h('td', null, t.name), h('td', null, t.kind), h('td', null, h('code', null, t.codec)), h('td', null, res),
    h('td', null, t.frameRate ? `${+t.frameRate.toFixed(3)} fps` : '–'), h('td', null, rate), h('td', null, last), h('td', { class: `state ${t.state}` }, t.state));
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function range(r) {
  if (!r) return 'none';
  return `#${r.firstMsn}–#${r.lastMsn} · ${clock(r.start)} → ${clock(r.end)} (${r.seconds.toFixed(0)} s)`;
}

function facts(s) {
  const ing = s.ingest;
  const state = ing.connected ? 'receiving' : ing.idleSince ? `idle since ${clock(ing.idleSince)}` : 'waiting for media';
  const d = s.durations;
  const seg = d.segment === null ? '–' : `${d.segment} s (target ${d.targetDuration} s)`;
  const rows = [
    ['Ingest', `${state} · last chunk ${formatSeconds(ing.secondsSinceLastChunk)} ago`],
    ['Durations', `segments ${seg} · parts ${d.partTarget === null ? '–' : `${d.partTarget} s`}`],
    ['Window', range(s.window)],
    ['DVR', range(s.dvr)],
    ['Delivery', `${plural(s.delivery.viewers, 'viewer')} · ${plural(s.delivery.heldRequests, 'held request')} · ${plural(s.delivery.growingReaders, 'growing-segment reader')}`],
  ];
  return h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', { 'data-fact': k.toLowerCase() }, v)]));
}

const MANIFESTS = [
  ['llHls', 'LL-HLS'],
  ['lHls', 'L-HLS'],
  ['ts', 'HLS (TS)'],
  ['dash', 'LL-DASH'],
  ['dashTimeline', 'DASH timeline'],
  ['hesp', 'HESP'],
];

/**
 * One stream's card: the links are made once (a click never lands on a replaced node); facts
 * and tracks are redrawn on each update.
 */
export function streamCard(s, { link }) {
  const title = link && s.urls.page ? h('a', { href: s.urls.page }, s.name) : s.name;
  const badge = h('span', { class: 'badge' });
  const meta = h('span', { class: 'muted' });
  const body = h('div');
  const links = h('nav', { class: 'links' }, 'Manifests: ');
  for (const [key, label] of MANIFESTS) {
    const href = s.urls[key];
    if (href) links.append(h('a', { href, 'data-manifest': key }, label), ' ');
  }
  if (link && s.urls.page) links.append(h('a', { href: s.urls.page, class: 'watch' }, '▶ watch in three players'));
  const el = h('section', { class: 'stream', 'data-stream': s.name }, h('header', null, h('h2', null, title), badge, meta), body, links);
  const update = (next) => {
    badge.textContent = next.ingest.connected ? 'live' : 'idle';
    badge.className = `badge ${next.ingest.connected ? 'live' : 'idle'}`;
    meta.textContent = `instance ${next.tag} · started ${clock(next.startedAt)}`;
    const table = h('table', { class: 'tracks' },
      h('thead', null, h('tr', null, ...['track', 'kind', 'codec', 'resolution', 'frame rate', 'measured bitrate', 'last MSN.part', 'state'].map((c) => h('th', null, c)))),
      h('tbody', null, ...next.tracks.map(trackRow)));
    body.replaceChildren(facts(next), table);
  };
  update(s);
  return { el, tag: s.tag, update };
}
