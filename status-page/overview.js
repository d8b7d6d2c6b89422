// `/`: every live stream, refreshed every second from /api/streams.
import { getJson, h, streamCard } from './common.js';

const main = document.getElementById('cards');
const summary = document.getElementById('summary');
const cards = new Map();

async function refresh() {
  let list;
  try {
    list = await getJson('/api/streams');
  } catch (err) {
    summary.textContent = `cannot read /api/streams: ${err.message}`;
    return;
  }
  const streams = list?.streams ?? [];
  summary.textContent = `${streams.length} live · ${new Date(list.now).toLocaleTimeString([], { hour12: false })}`;
  const seen = new Set();
  for (const [i, s] of streams.entries()) {
    seen.add(s.name);
    let card = cards.get(s.name);
    if (card && card.tag !== s.tag) {
      card.el.remove();
      card = undefined;
    }
    if (card) card.update(s);
    else {
      card = streamCard(s, { link: true });
      cards.set(s.name, card);
    }
    if (main.children[i] !== card.el) main.insertBefore(card.el, main.children[i] ?? null);
  }
  for (const [name, card] of cards) {
    if (seen.has(name)) continue;
    card.el.remove();
    cards.delete(name);
  }
  // The server-rendered list (for clients without scripts) gives way to the cards.
  document.getElementById('stream-links')?.remove();
  const empty = document.getElementById('empty');
  if (streams.length === 0 && !empty) main.after(h('p', { id: 'empty', class: 'empty' }, 'No live stream. Push one to the ingest listener (see the README).'));
  if (streams.length > 0) empty?.remove();
}

refresh();
setInterval(refresh, 1000);
