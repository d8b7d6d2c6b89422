import type { InbandEvent } from './inband.js';
import { parseSpliceInfo, type SpliceInfo } from './splice.js';

/** SCTE 214-3 / DASH-IF Live Media Ingest: a splice_info_section in an emsg message_data. */
export const SCTE35_EMSG_SCHEME = 'urn:scte:scte35:2013:bin';
/** SCTE 214-1: an MPD Event holding `<Signal><Binary>` (base64 of the section). */
export const SCTE35_XML_BIN_SCHEME = 'urn:scte:scte35:2014:xml+bin';
export const SCTE35_XML_NS = 'http://www.scte.org/schemas/35/2016';

export type CueType = 'out' | 'in' | 'cmd';

/** One ad marker on a stream's timeline, whatever carried it in. */
export interface Cue {
  /** EXT-X-DATERANGE ID: an out and its in share it. */
  readonly id: string;
  readonly type: CueType;
  /** Splice point on the stream timeline, in seconds. */
  readonly time: number;
  /** Planned break length in seconds (an out), or null. */
  readonly duration: number | null;
  /** DASH Event@id (and the emsg id): distinct for every cue of the stream. */
  readonly eventId: number;
  /** The splice_info_section, as received or as built by the API. */
  readonly section: Buffer;
  readonly source: 'api' | 'inband';
}

export interface SavedCue {
  readonly id: string;
  readonly type: CueType;
  readonly time: number;
  readonly duration: number | null;
  readonly eventId: number;
  readonly section: string;
  readonly source: 'api' | 'inband';
}

/** FNV-1a, 32 bits: the splice_event_id and Event@id of an API cue, the same on every origin. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * What a parsed section means as a cue: splice_insert out/in (paired by splice_event_id),
 * time_signal and the rest as a command. A cancel or a splice_null is no cue (null).
 */
export function cueOf(info: SpliceInfo, time: number, eventId: number, source: Cue['source']): Cue | null {
  const c = info.command;
  if (c.type === 'splice_null' || c.type === 'bandwidth_reservation') return null;
  if (c.type === 'splice_insert') {
    if (c.cancel) return null;
    const id = `splice-${c.spliceEventId}`;
    if (c.outOfNetwork) return { id, type: 'out', time, duration: c.breakDuration ? c.breakDuration.duration / 90000 : null, eventId, section: info.bytes, source };
    return { id, type: 'in', time, duration: null, eventId, section: info.bytes, source };
  }
  return { id: `scte35-${eventId}`, type: 'cmd', time, duration: null, eventId, section: info.bytes, source };
}

const TOLERANCE = 1e-3;

/**
 * The cues of one stream, in time order. A cue is kept once (an emsg repeated in every track,
 * or resent, is the same cue), and goes when its time leaves the retained window.
 */
export class CueList {
  private list: Cue[] = [];
  /** Tracks whose segments carry SCTE-35 emsg boxes (DASH InbandEventStream). */
  readonly inbandTracks = new Set<string>();

  get all(): readonly Cue[] {
    return this.list;
  }

  /** Adds a cue; false when the same cue (id, type and time) is already there. */
  add(cue: Cue): boolean {
    if (this.list.some((c) => c.id === cue.id && c.type === cue.type && Math.abs(c.time - cue.time) < TOLERANCE)) return false;
    let i = this.list.length;
    while (i > 0 && this.list[i - 1]!.time > cue.time) i--;
    this.list.splice(i, 0, cue);
    return true;
  }

  /**
   * SCTE-35 emsg of one of a track's chunks at their media time (`offsetSeconds`: the track's
   * anchor on the stream timeline); whether anything changed (a new cue, or a first for the track).
   */
  addInband(track: string, offsetSeconds: number, events: readonly InbandEvent[]): boolean {
    let changed = !this.inbandTracks.has(track);
    this.inbandTracks.add(track);
    for (const e of events) {
      const cue = cueOf(e.info, Number(e.presentationTime) / e.timescale - offsetSeconds, e.id, 'inband');
      if (cue && this.add(cue)) changed = true;
    }
    return changed;
  }

  /** Cues with `from − tolerance <= time < to − tolerance`: those a segment `[from, to)` carries. */
  within(from: number, to: number): Cue[] {
    return this.list.filter((c) => c.time >= from - TOLERANCE && c.time < to - TOLERANCE);
  }

  /** Whether a cue falls in `(from, to]`: a splice point a segment must start at. */
  splitsWithin(from: number, to: number): boolean {
    return this.list.some((c) => c.time > from + TOLERANCE && c.time <= to + TOLERANCE);
  }

  /** Time of the first cue after `time` (a splice point still ahead of a boundary at `time`). */
  nextAfter(time: number): number | undefined {
    return this.list.find((c) => c.time > time + TOLERANCE)?.time;
  }

  /** The out an in closes (the newest out with its id before it). */
  outFor(cue: Cue): Cue | undefined {
    let found: Cue | undefined;
    for (const c of this.list) if (c.id === cue.id && c.type === 'out' && c.time <= cue.time) found = c;
    return found;
  }

  /** The in that closes an out, if it came. */
  inFor(out: Cue): Cue | undefined {
    return this.list.find((c) => c.id === out.id && c.type === 'in' && c.time >= out.time);
  }

  /** Drops cues before `time` (stream seconds); true when some went. */
  trimBefore(time: number): boolean {
    const before = this.list.length;
    this.list = this.list.filter((c) => c.time >= time);
    return this.list.length !== before;
  }

  saved(): { cues: SavedCue[]; inbandTracks: string[] } {
    return { cues: this.list.map((c) => ({ ...c, section: c.section.toString('hex') })), inbandTracks: [...this.inbandTracks] };
  }

  /** Takes back saved cues; a section that no longer parses is left out. */
  restore(saved: { cues: readonly SavedCue[]; inbandTracks: readonly string[] }): void {
    for (const s of saved.cues) {
      try {
        const section = Buffer.from(s.section, 'hex');
        parseSpliceInfo(section);
        this.add({ ...s, section });
      } catch {
        continue;
      }
    }
    for (const t of saved.inbandTracks) this.inbandTracks.add(t);
  }
}
