import { malformed, OriginError } from '../errors.js';
import { forEachBox } from '../isobmff/boxes.js';
import { fourcc } from '../isobmff/fourcc.js';
import type { SampleRun } from '../isobmff/sample-run.js';
import { Clock90 } from '../mpegts/pes.js';
import { TIMESTAMP_OFFSET } from '../mpegts/constants.js';

/** One WebVTT cue, its times in seconds from the start of its segment. */
export interface VttCue {
  readonly start: number;
  readonly end: number;
  readonly id: string;
  readonly settings: string;
  readonly payload: string;
}

const VTTC = fourcc('vttc');
const IDEN = fourcc('iden');
const STTG = fourcc('sttg');
const PAYL = fourcc('payl');

interface SampleCue {
  readonly id: string;
  readonly settings: string;
  readonly payload: string;
}

/**
 * The cues of one `wvtt` sample: a `vttc` box each ("vtte" and "vtta" carry none, ISO/IEC 14496-30
 * 7.5). A sample whose boxes do not parse shows nothing (the rest of the segment still does).
 */
function sampleCues(data: Buffer): SampleCue[] {
  try {
    return readSampleCues(data);
  } catch (err) {
    if (err instanceof OriginError) return [];
    throw err;
  }
}

function readSampleCues(data: Buffer): SampleCue[] {
  const cues: SampleCue[] = [];
  forEachBox(data, 0, data.length, (box) => {
    if (box.type !== VTTC) return;
    let id = '';
    let settings = '';
    let payload = '';
    forEachBox(data, box.payload, box.end, (child) => {
      const text = data.toString('utf8', child.payload, child.end);
      if (child.type === IDEN) id = text;
      else if (child.type === STTG) settings = text;
      else if (child.type === PAYL) payload = text;
    });
    cues.push({ id, settings, payload });
  });
  return cues;
}

/**
 * The cues of a segment's (or part's) `wvtt` runs, relative to `segmentStart` (its tfdt, in track
 * ticks). A cue carried by consecutive samples (a packager splits it at every sample boundary)
 * becomes one cue. A cue that touches either end of the file may be a piece of a longer one: it
 * keeps no identifier, since hls.js 1.7 keeps one cue per identifier (`addCueToTrack`) and would
 * drop the next piece.
 */
export function wvttCues(runs: readonly SampleRun[], segmentStart: bigint, timescale: number): VttCue[] {
  const out: VttCue[] = [];
  let open: { cue: SampleCue; start: number; end: number }[] = [];
  let fileEnd = 0;
  for (const run of runs) {
    let t = Number(run.baseMediaDecodeTime - segmentStart);
    let at = 0;
    for (let i = 0; i < run.durations.length; i++) {
      const size = run.sizes[i]!;
      if (at + size > run.payload.length) throw malformed('a wvtt sample lies outside its mdat');
      const start = t + run.ctos[i]!;
      const end = start + run.durations[i]!;
      const cues = sampleCues(run.payload.subarray(at, at + size));
      const next: typeof open = [];
      for (const cue of cues) {
        const same = open.find((o) => o.end === start && o.cue.id === cue.id && o.cue.settings === cue.settings && o.cue.payload === cue.payload);
        if (same) {
          open = open.filter((o) => o !== same);
          next.push({ cue, start: same.start, end });
        } else next.push({ cue, start, end });
      }
      for (const o of open) out.push(toCue(o, timescale, false));
      open = next;
      t += run.durations[i]!;
      at += size;
      fileEnd = Math.max(fileEnd, end);
    }
  }
  for (const o of open) out.push(toCue(o, timescale, o.end >= fileEnd));
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

function toCue(o: { cue: SampleCue; start: number; end: number }, timescale: number, atEnd: boolean): VttCue {
  const cut = atEnd || o.start <= 0;
  return { start: o.start / timescale, end: o.end / timescale, ...o.cue, id: cut ? '' : o.cue.id };
}

/** `hh:mm:ss.ttt`, the WebVTT timestamp. */
export function vttTimestamp(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
}

/**
 * The MPEGTS value of X-TIMESTAMP-MAP for a segment starting at `segmentStart` ticks: its media
 * time at 90 kHz on the timeline of the media it goes with. fMP4 media: the tfdt timeline itself;
 * MPEG-TS media: the PTS this origin writes (tfdt + TIMESTAMP_OFFSET, mod 2^33).
 */
export function timestampMapMpegts(segmentStart: bigint, timescale: number, media: 'fmp4' | 'ts'): number {
  const clock = new Clock90(timescale, segmentStart);
  return media === 'ts' ? (clock.at(0) + TIMESTAMP_OFFSET) % 2 ** 33 : clock.at(0);
}

/**
 * A WebVTT segment: the track's header (vttC: the signature line and any STYLE/REGION blocks),
 * the timestamp map, then the cues, their times relative to the segment. "To synchronize
 * timestamps between audio/video and subtitles, an X-TIMESTAMP-MAP metadata header SHOULD be
 * added to each WebVTT header" (RFC 8216 3.5); here with LOCAL zero at the segment start.
 */
export function renderWebVtt(header: string, mpegts: number, cues: readonly VttCue[]): string {
  const head = header.trim().startsWith('WEBVTT') ? header.trim() : 'WEBVTT';
  const [first, ...blocks] = head.split(/\r?\n\r?\n/);
  const lines = [first!.split(/\r?\n/)[0]!, `X-TIMESTAMP-MAP=MPEGTS:${mpegts},LOCAL:00:00:00.000`, ''];
  for (const b of blocks) lines.push(b, '');
  for (const c of cues) {
    if (c.id) lines.push(c.id.replace(/-->|\r?\n/g, ' '));
    lines.push(`${vttTimestamp(c.start)} --> ${vttTimestamp(c.end)}${c.settings ? ' ' + c.settings : ''}`);
    // A cue's payload "MUST NOT contain ... a blank line" (WebVTT 4.1).
    lines.push(c.payload.replace(/(\r?\n){2,}/g, '\n').replace(/-->/g, '--&gt;').trimEnd(), '');
  }
  return lines.join('\n');
}
