#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test (TypeScript through tsx). Extra arguments filter
// by path substring: `npm test -- unit` runs only files whose path contains "unit".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...find(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = find('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files match');
  process.exit(1);
}
// A test (or hook) that hangs fails after 5 minutes instead of holding the run: the longest
// test takes about 75 s here. The whole run is stopped after 45 minutes, whatever it is doing.
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 300_000);
const RUN_TIMEOUT_MS = Number(process.env.RUN_TIMEOUT_MS ?? 45 * 60_000);
// The fault tests hold thousands of sockets: the soft limit of open files goes up to the hard one.
const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', `--test-timeout=${TEST_TIMEOUT_MS}`, ...flags, ...files], { stdio: 'inherit', detached: true });
/** Ends the test run and every process it started (its process group). */
function stopAll() {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
  process.exit(1);
}
const watchdog = setTimeout(() => {
  console.error(`\nthe test run took more than ${RUN_TIMEOUT_MS / 60_000} minutes: stopped`);
  stopAll();
}, RUN_TIMEOUT_MS);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, stopAll);
child.on('exit', (code) => {
  clearTimeout(watchdog);
  process.exit(code ?? 1);
});
