import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { readRun, type SampleRun } from '../../src/isobmff/sample-run.js';
import { parseInitFile } from '../../src/isobmff/init.js';
import { get, parseMaster, parseMedia, resolve, type MediaPlaylist } from './hls.js';
import type { HttpFeeder } from './http-feed.js';

/** A playlist fetched and parsed by hls-parser in strict mode (a spec violation it knows throws), with its text. */
export async function mediaPlaylist(url: string): Promise<{ text: string; pl: MediaPlaylist }> {
  const r = await get(url);
  assert.equal(r.status, 200, `${url}: ${r.status} ${r.body.toString()}`);
  const text = r.body.toString();
  return { text, pl: parseMedia(text) };
}

/** Every media playlist URI a multivariant playlist names (variants and renditions), resolved. */
export async function childPlaylists(url: string): Promise<string[]> {
  const r = await get(url);
  assert.equal(r.status, 200, `${url}: ${r.status} ${r.body.toString()}`);
  const master = parseMaster(r.body.toString());
  const uris = new Set<string>();
  for (const v of master.variants) {
    uris.add(resolve(url, v.uri));
    for (const a of v.audio) if (a.uri) uris.add(resolve(url, a.uri));
  }
  return [...uris];
}

/** Seconds a playlist lists (sum of EXTINF). */
export function listedSeconds(pl: MediaPlaylist): number {
  return pl.segments.filter((s) => s.uri).reduce((n, s) => n + s.duration, 0);
}

export interface ParsedMpd {
  readonly text: string;
  readonly mpd: Record<string, unknown> & { Period: Record<string, unknown>[] };
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['Period', 'AdaptationSet', 'Representation', 'S'].includes(name) });

/** An MPD fetched, checked to be well-formed XML, and parsed (attributes as fields). */
export async function fetchMpd(url: string): Promise<ParsedMpd> {
  const r = await get(url);
  assert.equal(r.status, 200, `${url}: ${r.status} ${r.body.toString()}`);
  const text = r.body.toString();
  assert.equal(XMLValidator.validate(text), true, 'MPD is well-formed XML');
  const doc = xml.parse(text) as { MPD: ParsedMpd['mpd'] };
  assert.ok(doc.MPD, 'an MPD element');
  return { text, mpd: doc.MPD };
}

/** xs:duration (PT…H…M…S) in seconds. */
export function seconds(duration: string): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$/.exec(duration);
  assert.ok(m, `xs:duration ${duration}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** The S entries of a Representation's SegmentTimeline, expanded: [t, d] per segment. */
export function timelineOf(rep: Record<string, unknown>): { t: bigint; d: number }[] {
  const tpl = rep['SegmentTemplate'] as { SegmentTimeline: { S: Record<string, string>[] } };
  const out: { t: bigint; d: number }[] = [];
  let t = 0n;
  for (const s of tpl.SegmentTimeline.S) {
    if (s['t'] !== undefined) t = BigInt(s['t']);
    const d = Number(s['d']);
    for (let i = 0; i <= Number(s['r'] ?? 0); i++) {
      out.push({ t, d });
      t += BigInt(d);
    }
  }
  return out;
}

/**
 * Checks that a served segment carries, sample by sample, the media the feeder pushed for the
 * same decode times (the moofs are the origin's own; a chunk may be a slice of a pushed fragment).
 * Returns how many samples it checked.
 */
export function assertCarriesPushed(segment: Buffer, init: Buffer, feeder: HttpFeeder, track: string): number {
  const defaults = parseInitFile(init).tracks[0]!.defaults;
  const sent = feeder.sent.get(track);
  assert.ok(sent && sent.length > 0, `the feeder pushed ${track}`);
  let at = 0;
  let start = 0;
  let samples = 0;
  while (at + 8 <= segment.length) {
    const size = segment.readUInt32BE(at);
    const type = segment.toString('latin1', at + 4, at + 8);
    assert.ok(size >= 8 && at + size <= segment.length, `box ${type} at ${at} fits`);
    at += size;
    if (type !== 'mdat') continue;
    const run = readRun([segment.subarray(start, at)], defaults);
    start = at;
    let t = run.baseMediaDecodeTime;
    let offset = 0;
    for (let i = 0; i < run.sizes.length; i++) {
      const pushed = sampleAt(sent, t);
      assert.ok(pushed, `${track}: a sample was pushed at decode time ${t}`);
      const size = run.sizes[i]!;
      assert.equal(size, pushed.length, `${track}: the sample at ${t} has its pushed size`);
      assert.ok(run.payload.subarray(offset, offset + size).equals(pushed), `${track}: the sample at ${t} has its pushed bytes`);
      offset += size;
      t += BigInt(run.durations[i]!);
      samples++;
    }
  }
  assert.equal(at, segment.length, 'the segment is whole boxes');
  return samples;
}

/** The bytes of the pushed sample that starts at decode time `t`. */
function sampleAt(runs: readonly SampleRun[], t: bigint): Buffer | undefined {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (runs[mid]!.baseMediaDecodeTime <= t) lo = mid;
    else hi = mid - 1;
  }
  const run = runs[lo]!;
  let time = run.baseMediaDecodeTime;
  let offset = 0;
  for (let i = 0; i < run.sizes.length; i++) {
    if (time === t) return run.payload.subarray(offset, offset + run.sizes[i]!);
    time += BigInt(run.durations[i]!);
    offset += run.sizes[i]!;
  }
  return undefined;
}
