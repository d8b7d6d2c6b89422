import type { Stream } from '../timeline/stream.js';

/** A client that fetched nothing of a stream for this long no longer counts as its viewer. */
export const VIEWER_TTL_MS = 10_000;

/**
 * Current viewers per stream: distinct clients (address + User-Agent) that requested any of the
 * stream's manifests or media in the last {@link VIEWER_TTL_MS}. Behind a CDN these are its edges.
 */
export class Audience {
  private readonly byStream = new WeakMap<Stream, { seen: Map<string, number>; pruneAt: number }>();

  seen(stream: Stream, client: string, nowMs: number): void {
    let entry = this.byStream.get(stream);
    if (!entry) {
      entry = { seen: new Map(), pruneAt: 64 };
      this.byStream.set(stream, entry);
    }
    entry.seen.set(client, nowMs);
    // Bounded without a timer: a burst of new clients prunes the ones gone quiet.
    if (entry.seen.size >= entry.pruneAt) {
      this.prune(entry.seen, nowMs);
      entry.pruneAt = Math.max(64, 2 * entry.seen.size);
    }
  }

  count(stream: Stream, nowMs: number): number {
    const entry = this.byStream.get(stream);
    if (!entry) return 0;
    this.prune(entry.seen, nowMs);
    return entry.seen.size;
  }

  private prune(seen: Map<string, number>, nowMs: number): void {
    for (const [client, at] of seen) if (nowMs - at > VIEWER_TTL_MS) seen.delete(client);
  }
}
