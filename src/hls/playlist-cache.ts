import { gzipSync } from 'node:zlib';

/** A rendered playlist: its bytes and, made on first demand, their gzip. */
export class RenderedPlaylist {
  private gzipped: Buffer | undefined;
  constructor(readonly bytes: Buffer) {}

  get gzip(): Buffer {
    this.gzipped ??= gzipSync(this.bytes);
    return this.gzipped;
  }
}

/**
 * Playlists rendered once per (owner, variant, version): a thousand requests for the same version
 * cost one render and at most one compression.
 */
export class PlaylistCache {
  private readonly entries = new WeakMap<object, Map<string, { version: string; rendered: RenderedPlaylist | null }>>();

  get(owner: object, variant: string, version: string, render: () => string | null): RenderedPlaylist | null {
    let byVariant = this.entries.get(owner);
    if (!byVariant) {
      byVariant = new Map();
      this.entries.set(owner, byVariant);
    }
    const hit = byVariant.get(variant);
    if (hit && hit.version === version) return hit.rendered;
    const text = render();
    const rendered = text === null ? null : new RenderedPlaylist(Buffer.from(text, 'utf8'));
    byVariant.set(variant, { version, rendered });
    return rendered;
  }
}
