import { SCTE35_EMSG_SCHEME, SCTE35_XML_BIN_SCHEME, SCTE35_XML_NS } from '../scte35/cue.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import type { XmlWriter } from './xml.js';

const TIMESCALE = 90000;

/**
 * The Period's SCTE-35 cues as an EventStream (SCTE 214-1 `urn:scte:scte35:2014:xml+bin`): each
 * Event at its time from the Period start, with its duration and id, holding
 * `<Signal><Binary>` (base64 of the same splice_info_section the playlists carry in hex).
 * `[from, until)`: stream seconds of the Period's listed media; `start`: where the Period starts.
 */
export function writeEventStream(x: XmlWriter, stream: Stream, start: number, from: number, until: number): void {
  const cues = stream.cues.all.filter((c) => c.time >= Math.max(start, from) - 1e-3 && c.time < until - 1e-3);
  if (cues.length === 0) return;
  x.open('EventStream', [
    ['schemeIdUri', SCTE35_XML_BIN_SCHEME],
    ['timescale', TIMESCALE],
  ]);
  for (const c of cues) {
    x.open('Event', [
      ['presentationTime', Math.max(0, Math.round((c.time - start) * TIMESCALE))],
      ['duration', c.duration !== null ? Math.round(c.duration * TIMESCALE) : undefined],
      ['id', c.eventId],
    ]);
    x.open('Signal', [['xmlns', SCTE35_XML_NS]]);
    x.leaf('Binary', [], c.section.toString('base64'));
    x.close();
    x.close();
  }
  x.close();
}

/** The AdaptationSet's segments carry SCTE-35 emsg boxes: declared so players read them (ISO/IEC 23009-1 5.10.3.2). */
export function writeInbandEventStream(x: XmlWriter, stream: Stream, tracks: readonly Track[]): void {
  if (tracks.some((t) => stream.cues.inbandTracks.has(t.name))) x.leaf('InbandEventStream', [['schemeIdUri', SCTE35_EMSG_SCHEME]]);
}
