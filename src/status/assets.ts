import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's own files (HTML templates, scripts, styles), beside src/ and dist/. */
export const PAGE_DIR = fileURLToPath(new URL('../../status-page/', import.meta.url));

/** One file the status page serves: where it is on disk and its content type. */
export interface AssetFile {
  readonly file: string;
  readonly type: string;
}

/** The player libraries the stream page loads, from the origin's own dependencies. */
const LIBRARIES = [
  { key: 'hls', pkg: 'hls.js', entry: 'hls.js', file: 'dist/hls.min.js' },
  { key: 'dash', pkg: 'dashjs', entry: 'dashjs', file: 'dist/modern/umd/dash.mediaplayer.min.js' },
  { key: 'shaka', pkg: 'shaka-player', entry: 'shaka-player/dist/shaka-player.compiled-es2021.js', file: 'dist/shaka-player.compiled-es2021.js' },
] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function typeOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? undefined : TYPES[name.slice(dot)];
}

/** The package folder holding `entry`, found by walking up from what Node resolves. */
function packageDir(require: NodeJS.Require, pkg: string, entry: string): { dir: string; version: string } {
  let resolved: string;
  try {
    resolved = require.resolve(entry);
  } catch {
    throw new Error(`status page: the '${pkg}' package is not installed (npm ci installs it; or start with --no-status-page)`);
  }
  for (let dir = dirname(resolved); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
    if (json.name === pkg) return { dir, version: json.version ?? '0' };
  }
  throw new Error(`status page: no package.json of '${pkg}' above ${resolved}`);
}

/** URL paths → files, and the two HTML pages with their asset URLs filled in. */
export interface StatusAssets {
  /** Immutable files by URL path (the page's own under a content hash, the libraries under their version). */
  readonly files: ReadonlyMap<string, AssetFile>;
  readonly overviewHtml: Buffer;
  readonly streamHtml: Buffer;
}

/**
 * Finds the page's files and the player libraries; throws with a clear reason when one is
 * missing. The page's own files live under `/assets/status-{hash}/` (one hash over all of them,
 * so their relative imports hold), each library under `/assets/{package}@{version}/`.
 */
export function loadStatusAssets(pageDir: string = PAGE_DIR): StatusAssets {
  if (!existsSync(pageDir)) throw new Error(`status page: ${pageDir} is missing (or start with --no-status-page)`);
  const own = readdirSync(pageDir)
    .filter((name) => typeOf(name) !== undefined && !name.endsWith('.html'))
    .sort();
  const hash = createHash('sha256');
  for (const name of own) hash.update(name).update(readFileSync(join(pageDir, name)));
  const base = `/assets/status-${hash.digest('hex').slice(0, 12)}`;
  const files = new Map<string, AssetFile>();
  for (const name of own) files.set(`${base}/${name}`, { file: join(pageDir, name), type: typeOf(name)! });
  const require = createRequire(import.meta.url);
  const slots: Record<string, string> = { assets: base };
  for (const lib of LIBRARIES) {
    const { dir, version } = packageDir(require, lib.pkg, lib.entry);
    const file = join(dir, lib.file);
    if (!existsSync(file)) throw new Error(`status page: ${file} is missing from '${lib.pkg}' ${version}`);
    const path = `/assets/${lib.pkg}@${version}/${lib.file.slice(lib.file.lastIndexOf('/') + 1)}`;
    files.set(path, { file, type: TYPES['.js']! });
    slots[lib.key] = path;
  }
  const fill = (name: string): Buffer => {
    const text = readFileSync(join(pageDir, name), 'utf8').replace(/\{\{(\w+)\}\}/g, (m, key: string) => slots[key] ?? m);
    return Buffer.from(text);
  };
  return { files, overviewHtml: fill('index.html'), streamHtml: fill('stream.html') };
}
