/** `public, max-age=N` with N a function of one number; each value's string is built once. */
function maxAge(seconds: (x: number) => number): (x: number) => string {
  const built = new Map<number, string>();
  return (x) => {
    let value = built.get(x);
    if (value === undefined) {
      value = `public, max-age=${seconds(x)}`;
      if (built.size < 64) built.set(x, value);
    }
    return value;
  };
}

/**
 * Cache-Control by resource class (draft-pantos-hls-rfc8216bis Appendix B.1 for playlists and
 * blocking requests; media objects are immutable because their URLs carry the stream instance tag).
 */
export const CacheControl = {
  /** Non-blocking playlist: half a target duration. */
  playlist: maxAge((targetDuration) => Math.max(1, Math.floor(targetDuration / 2))),
  /** A dynamic MPD: at most half its minimumUpdatePeriod. */
  mpd: maxAge((minimumUpdatePeriod) => Math.max(1, Math.floor(minimumUpdatePeriod / 2))),
  /** A blocking playlist response names one version of the playlist: six target durations. */
  blocking: maxAge((targetDuration) => 6 * targetDuration),
  /** A response that may be stored but is checked with the origin before any reuse. */
  revalidate: 'no-cache',
  /** An unsuccessful blocking playlist request: four target durations. */
  blockingError: maxAge((targetDuration) => 4 * targetDuration),
  /** An unsuccessful blocking media (hinted part) request: one target duration. */
  blockingMediaError: maxAge((targetDuration) => targetDuration),
  /** Complete segments, parts and init segments never change under their URL. */
  immutable: 'public, max-age=31536000, immutable',
  /**
   * A segment (or its last part) that a dying ingest cut short: its bytes never change here, but
   * another origin fed the same encoder may hold the whole one under the same URL.
   */
  cutShort: 'public, max-age=2',
  /** A segment still being produced: cacheable once complete; aborted responses are never stored. */
  growing: 'public, max-age=31536000',
  /** A 404 for something that may exist soon (a future segment, a stream not started). */
  notYet: 'no-store',
  /** Something that changes all the time (HESP `now`): cacheable for an instant only. */
  moving: 'public, max-age=1',
  /** The stream API: counters that move every second. */
  api: 'public, max-age=1',
  /** The status page's HTML: its scripts and styles are under content-addressed, immutable URLs. */
  page: 'public, max-age=60',
  /** Short-lived errors. */
  shortError: 'public, max-age=1',
  noStore: 'no-store',
} as const;
