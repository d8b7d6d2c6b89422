// Inclusive time of functions in a .cpuprofile, top N. Usage: node scripts/profile-inclusive.mjs file [N] [filter]
import { readFileSync } from 'node:fs';

const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const n = Number(process.argv[3] ?? 40);
const filter = process.argv[4] ? new RegExp(process.argv[4]) : null;
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const selfUs = new Map();
for (let i = 0; i < prof.samples.length; i++) selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const key = (x) => `${x.callFrame.functionName || '(anon)'} ${x.callFrame.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/')}:${x.callFrame.lineNumber + 1}`;
const incl = new Map();
let total = 0;
for (const [id, us] of selfUs) {
  total += us;
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
const rows = [...incl].filter(([k]) => !filter || filter.test(k)).sort((a, b) => b[1] - a[1]).slice(0, n);
for (const [k, us] of rows) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
