import { LRUCache } from 'lru-cache';
import { Rendered } from './rendered-cache.js';
import type { ManifestKind } from './request-policy.js';
import { TOKEN_NAME, tokenQueryValue } from './signed-url.js';

const append = (uri: string, param: string): string => `${uri}${uri.includes('?') ? '&' : '?'}${param}`;

/**
 * Appends `hdnts=<token>` to every URI a manifest names, so a player that got the token on the
 * first URL only carries it to every child: HLS URI lines and `URI="…"` attributes (EXT-X-MAP,
 * -MEDIA, -PART, -PRELOAD-HINT, -RENDITION-REPORT) and `#EXT-X-PREFETCH:` (L-HLS); the MPD's
 * SegmentTemplate `media` and `initialization`; HESP's initialization and continuation patterns.
 * `/utc` (UTCTiming, HESP timeSource) needs no token and is left alone.
 */
export function tokenizeManifest(kind: ManifestKind, text: string, token: string): string {
  const param = `${TOKEN_NAME}=${tokenQueryValue(token)}`;
  switch (kind) {
    case 'hls':
      return text
        .split('\n')
        .map((line) => {
          if (line === '') return line;
          if (!line.startsWith('#')) return append(line, param);
          if (line.startsWith('#EXT-X-PREFETCH:')) return `#EXT-X-PREFETCH:${append(line.slice(16), param)}`;
          return line.includes('URI="') ? line.replace(/URI="([^"]*)"/g, (_, uri: string) => `URI="${append(uri, param)}"`) : line;
        })
        .join('\n');
    case 'mpd':
      // The XML writer escapes `&` in attributes; a URI that already has a query gets `&amp;`.
      return text.replace(/ (media|initialization)="([^"]*)"/g, (_, name: string, uri: string) => ` ${name}="${uri}${uri.includes('?') ? '&amp;' : '?'}${param}"`);
    case 'hesp':
      return text.replace(/"(initializationPattern|continuationPattern)":(\s*)"([^"]*)"/g, (_, name: string, space: string, uri: string) => `"${name}":${space}"${append(uri, param)}"`);
  }
}

/**
 * Manifests with a token applied, made from the rendered (cached) manifest on first demand and
 * kept in a small LRU keyed by (rendered object, token): a thousand players with one token cost
 * one transform per manifest version; each rendered object stays cached once for all tokens.
 */
export class TokenizedManifests {
  private readonly ids = new WeakMap<Rendered, number>();
  private nextId = 0;
  private readonly cache: LRUCache<string, Rendered>;

  constructor(maxBytes = 32 << 20) {
    this.cache = new LRUCache<string, Rendered>({ max: 4096, maxSize: maxBytes, sizeCalculation: (r) => Math.max(1, r.bytes.length) });
  }

  get(kind: ManifestKind, rendered: Rendered, token: string): Rendered {
    let id = this.ids.get(rendered);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(rendered, id);
    }
    const key = `${id}|${token}`;
    let out = this.cache.get(key);
    if (!out) {
      out = new Rendered(Buffer.from(tokenizeManifest(kind, rendered.bytes.toString('utf8'), token), 'utf8'));
      this.cache.set(key, out);
    }
    return out;
  }
}
