// `/watch/{stream}`: the stream in hls.js (LL-HLS), dash.js and shaka-player (LL-DASH) side by
// side, muted, each with its own live latency, buffer and stalls every second and a latency chart.
import { LatencyChart } from './chart.js';
import { formatSeconds, getJson, streamCard } from './common.js';

const name = decodeURIComponent(location.pathname.slice(location.pathname.lastIndexOf('/') + 1));
document.getElementById('name').textContent = name;
document.title = `${name} · cmaf-origin`;
const stateEl = document.getElementById('state');
const infoEl = document.getElementById('stream');

/** Each player: its manifest and how to start it; `start` returns the library object and its own latency figure. */
const PLAYERS = {
  hls: {
    version: () => window.Hls?.version,
    manifest: (urls) => urls.llHls,
    start(video, src, fail) {
      const hls = new window.Hls({ lowLatencyMode: true });
      hls.on(window.Hls.Events.ERROR, (_e, d) => d.fatal && fail(`${d.type}: ${d.details}`));
      hls.loadSource(src);
      hls.attachMedia(video);
      return { lib: hls, latency: () => hls.latency, destroy: () => hls.destroy() };
    },
  },
  dash: {
    version: () => window.dashjs?.Version,
    manifest: (urls) => urls.dash,
    start(video, src, fail) {
      const dash = window.dashjs.MediaPlayer().create();
      dash.on('error', (e) => fail(`${e.error?.code ?? ''} ${e.error?.message ?? 'error'}`));
      dash.initialize(video, src, true);
      return { lib: dash, latency: () => dash.getCurrentLiveLatency(), destroy: () => dash.destroy() };
    },
  },
  shaka: {
    version: () => window.shaka?.Player.version,
    manifest: (urls) => urls.dash,
    start(video, src, fail) {
      const shaka = new window.shaka.Player();
      shaka.configure({ streaming: { lowLatencyMode: true } });
      shaka.addEventListener('error', (e) => e.detail.severity === 2 && fail(`error ${e.detail.code}`));
      shaka
        .attach(video)
        .then(() => shaka.load(src))
        .catch((e) => fail(`error ${e.code ?? e.message}`));
      return { lib: shaka, latency: () => shaka.getStats().liveLatency, destroy: () => shaka.destroy() };
    },
  },
};

/** Seconds buffered ahead of the playhead. */
function bufferAhead(video) {
  const t = video.currentTime;
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= t + 0.1 && video.buffered.end(i) >= t) return video.buffered.end(i) - t;
  }
  return 0;
}

class Panel {
  constructor(figure) {
    this.key = figure.dataset.player;
    this.spec = PLAYERS[this.key];
    this.video = figure.querySelector('video');
    this.fields = {};
    for (const el of figure.querySelectorAll('[data-k]')) this.fields[el.dataset.k] = el;
    this.chart = new LatencyChart(this.fields.chart);
    this.fields.version.textContent = this.spec.version() ?? '';
    this.player = null;
    this.started = false;
    this.stalls = 0;
    this.video.addEventListener('playing', () => (this.started = true));
    // A stall: the player waits for data after it had started, outside a seek it asked for.
    this.video.addEventListener('waiting', () => this.started && !this.video.seeking && this.stalls++);
  }

  start(path) {
    this.stop();
    // Absolute: dash.js 5.2's CMCD reporter fails on a relative manifest URL.
    const src = new URL(path, location.href).href;
    this.fields.src.href = src;
    this.fields.src.textContent = src.slice(src.lastIndexOf('/') + 1);
    this.fields.error.hidden = true;
    this.started = false;
    this.stalls = 0;
    this.chart.clear();
    try {
      this.player = this.spec.start(this.video, src, (message) => this.fail(message));
      window.statusPlayers[this.key] = this.player.lib;
      this.video.play().catch(() => {});
    } catch (err) {
      this.fail(err.message);
    }
  }

  stop() {
    if (!this.player) return;
    try {
      this.player.destroy();
    } catch {
      // A player that failed to start may not tear down cleanly; the next one starts afresh.
    }
    this.player = null;
  }

  fail(message) {
    this.fields.error.textContent = message;
    this.fields.error.hidden = false;
  }

  /** Once a second: the player's own latency figure, the buffer ahead, stalls; and the chart. */
  tick() {
    const v = this.video;
    let latency = null;
    if (this.player && this.started && v.currentTime > 0) {
      const own = Number(this.player.latency());
      if (Number.isFinite(own)) latency = own;
    }
    this.fields.latency.textContent = latency === null ? '–' : formatSeconds(latency, 2);
    this.fields.buffer.textContent = this.started ? formatSeconds(bufferAhead(v), 2) : '–';
    this.fields.stalls.textContent = this.started ? String(this.stalls) : '–';
    this.fields.playing.textContent = this.started ? `${v.videoWidth}×${v.videoHeight} · ${v.currentTime.toFixed(1)} s` : v.error ? `media error ${v.error.code}` : 'starting…';
    this.chart.push(latency);
  }
}

window.statusPlayers = {};
const panels = [...document.querySelectorAll('figure.player')].map((f) => new Panel(f));
window.shaka?.polyfill.installAll();
let card = null;
let tag = null;

async function refresh() {
  let s;
  try {
    s = await getJson(`/api/streams/${encodeURIComponent(name)}`);
  } catch (err) {
    stateEl.textContent = `cannot read the stream API: ${err.message}`;
    return;
  }
  if (!s) {
    stateEl.textContent = 'not live: waiting for it to start';
    return;
  }
  stateEl.textContent = s.ingest.connected ? 'live' : 'ingest idle';
  if (!card || card.tag !== s.tag) {
    card = streamCard(s, { link: false });
    infoEl.replaceChildren(card.el);
  } else card.update(s);
  // A new instance of the stream (an encoder restart): every player starts over on it.
  if (s.tag !== tag && s.window) {
    tag = s.tag;
    for (const p of panels) p.start(p.spec.manifest(s.urls));
  }
}

refresh();
setInterval(refresh, 1000);
setInterval(() => {
  for (const p of panels) p.tick();
}, 1000);
