// A small line chart of one player's live latency over the last minute, on a canvas.

const WINDOW_MS = 60_000;

export class LatencyChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.points = [];
  }

  /** Adds a sample (seconds, or null for "no figure"), drops those older than a minute, redraws. */
  push(latency, at = performance.now()) {
    this.points.push({ at, latency });
    while (this.points.length > 0 && at - this.points[0].at > WINDOW_MS) this.points.shift();
    this.draw(at);
  }

  clear() {
    this.points = [];
    this.draw(performance.now());
  }

  draw(now) {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = c.clientWidth || 300;
    const height = c.clientHeight || 80;
    if (c.width !== Math.round(width * dpr) || c.height !== Math.round(height * dpr)) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(height * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    const values = this.points.map((p) => p.latency).filter((v) => v !== null);
    const top = Math.max(2, Math.ceil(Math.max(0, ...values) * 1.2));
    const left = 26;
    const plotW = width - left - 4;
    const plotH = height - 14;
    const x = (at) => left + plotW * (1 - (now - at) / WINDOW_MS);
    const y = (v) => 4 + plotH * (1 - v / top);
    // Grid: a line per second of latency (per 5 s above 10 s), labelled.
    g.font = '10px system-ui, sans-serif';
    g.fillStyle = '#777';
    g.strokeStyle = '#e3e3e3';
    g.lineWidth = 1;
    const step = top > 10 ? 5 : 1;
    for (let v = 0; v <= top; v += step) {
      g.beginPath();
      g.moveTo(left, Math.round(y(v)) + 0.5);
      g.lineTo(width - 4, Math.round(y(v)) + 0.5);
      g.stroke();
      g.fillText(`${v}s`, 2, y(v) + 3);
    }
    g.fillText('−60 s', left, height - 1);
    g.fillText('now', width - 24, height - 1);
    g.strokeStyle = '#1565c0';
    g.lineWidth = 2;
    g.beginPath();
    let pen = false;
    for (const p of this.points) {
      if (p.latency === null) {
        pen = false;
        continue;
      }
      if (pen) g.lineTo(x(p.at), y(p.latency));
      else g.moveTo(x(p.at), y(p.latency));
      pen = true;
    }
    g.stroke();
  }
}
