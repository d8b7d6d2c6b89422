import { OriginError } from '../errors.js';
import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { hintedPart } from './boundary.js';
import type { LowLatencyParams } from './low-latency.js';

/** Delivery directives of a playlist request (RFC 8216bis 6.2.5). */
export interface Directives {
  readonly msn: number | null;
  readonly part: number | null;
  readonly skip: 'YES' | 'v2' | null;
}

const INTEGER = /^\d{1,15}$/;

const NONE: Directives = { msn: null, part: null, skip: null };

export function parseDirectives(query: URLSearchParams | null): Directives {
  if (query === null) return NONE;
  const msn = query.get('_HLS_msn');
  const part = query.get('_HLS_part');
  const skip = query.get('_HLS_skip');
  // "If the _HLS_part directive is present without _HLS_msn, the server MUST return Bad Request"
  if (part !== null && msn === null) throw new OriginError('BAD_REQUEST', '_HLS_part without _HLS_msn');
  if (msn !== null && !INTEGER.test(msn)) throw new OriginError('BAD_REQUEST', `_HLS_msn '${msn}' is not a decimal integer`);
  if (part !== null && !INTEGER.test(part)) throw new OriginError('BAD_REQUEST', `_HLS_part '${part}' is not a decimal integer`);
  if (skip !== null && skip !== 'YES' && skip !== 'v2') throw new OriginError('BAD_REQUEST', `_HLS_skip '${skip}' is neither YES nor v2`);
  return { msn: msn === null ? null : Number(msn), part: part === null ? null : Number(part), skip };
}

/** A position a blocking request waits for: segment `msn` complete, or part (msn, part) complete. */
export interface Target {
  readonly msn: number;
  readonly part: number | null;
}

/**
 * "A Part Index greater than the index of the last Partial Segment of a complete Parent Segment
 * is the first part of the next one" (6.2.5.2): normalises against the timeline as it is now.
 */
export function normalize(track: Track, target: Target): Target {
  if (target.part === null) return target;
  const seg = track.findSegment(target.msn);
  if (seg && seg.state === 'complete' && target.part >= seg.parts.length) return { msn: target.msn + 1, part: 0 };
  return target;
}

/** Whether the playlist as it is now contains what the request waits for. */
export function isSatisfied(stream: Stream, track: Track, target: Target): boolean {
  if (stream.ended) return true;
  const t = normalize(track, target);
  const lastMsn = track.lastCompleteMsn();
  if (t.part === null) return lastMsn !== null && lastMsn >= t.msn;
  if (lastMsn !== null && lastMsn >= t.msn) return true;
  const last = track.lastCompletePart();
  return last !== null && (last.msn > t.msn || (last.msn === t.msn && last.index >= t.part));
}

export type BlockingDecision =
  | { readonly kind: 'now' }
  | { readonly kind: 'wait'; readonly target: Target }
  | { readonly kind: 'reject'; readonly reason: 'msn-too-far' | 'part-too-far'; readonly message: string };

/** What to do with a playlist request carrying _HLS_msn (and maybe _HLS_part), per 6.2.5.2. */
export function decideBlocking(stream: Stream, track: Track, directives: Directives, ll: LowLatencyParams): BlockingDecision {
  // "the server MUST ignore _HLS_msn and _HLS_part if the Playlist contains EXT-X-ENDLIST"
  if (directives.msn === null || stream.ended) return { kind: 'now' };
  const target: Target = { msn: directives.msn, part: directives.part };
  const lastMsn = track.lastCompleteMsn() ?? (track.nextPart()?.msn ?? 1) - 1;
  // "greater than the Media Sequence Number of the last Media Segment in the current Playlist
  // plus two ... the server SHOULD immediately return Bad Request"
  if (target.msn > lastMsn + 2) {
    return { kind: 'reject', reason: 'msn-too-far', message: `_HLS_msn=${target.msn} is more than two past the last segment (${lastMsn})` };
  }
  if (isSatisfied(stream, track, target)) return { kind: 'now' };
  if (target.part !== null) {
    const ahead = partsAhead(track, normalize(track, target), ll);
    // "... or if the _HLS_part exceeds the last Partial Segment in the current Playlist by the
    // Advance Part Limit, the server SHOULD immediately return Bad Request"
    if (ahead > ll.advancePartLimit) {
      return { kind: 'reject', reason: 'part-too-far', message: `_HLS_msn=${target.msn}&_HLS_part=${target.part} is ${ahead} parts past the last part (limit ${Math.floor(ll.advancePartLimit)})` };
    }
  }
  return { kind: 'wait', target };
}

/** Parts between the newest complete part and the target, future segments counted at TD/PT parts. */
function partsAhead(track: Track, target: Target, ll: LowLatencyParams): number {
  const last = track.lastCompletePart() ?? { msn: (track.nextPart()?.msn ?? 1) - 1, index: -1 };
  const part = target.part ?? 0;
  if (target.msn === last.msn) return part - last.index;
  const perSegment = Math.ceil(ll.targetDuration / ll.partTarget - 1e-9);
  const seg = track.findSegment(last.msn);
  const inLast = seg && seg.state === 'complete' ? seg.parts.length : perSegment;
  return Math.max(0, inLast - last.index - 1) + (target.msn - last.msn - 1) * perSegment + part + 1;
}

/** Where a part request stands. */
export type PartLookup =
  | { readonly kind: 'ready' }
  | { readonly kind: 'wait' }
  | { readonly kind: 'missing'; readonly reason: 'future' | 'gone' | 'never'; readonly message: string };

/**
 * A part request: sent once the part is complete; held while the part may still be produced;
 * 404 otherwise. "A server MUST be prepared to respond to a request for a hinted resource"
 * (6.2.6): every part a playlist may hint is held (the part in production, the next part of its
 * segment, the first part of the next segment), and one that will never exist, because its
 * segment closed without it, is answered 404 the moment that segment closes ("SHOULD respond
 * with Not Found").
 */
export function lookupPart(stream: Stream, track: Track, msn: number, index: number): PartLookup {
  const seg = track.findSegment(msn);
  if (seg?.parts[index]?.complete) return { kind: 'ready' };
  const ended = stream.ended;
  if (!ended && mayStillCome(stream, track, msn, index)) return { kind: 'wait' };
  if (seg && seg.state !== 'open') return { kind: 'missing', reason: 'never', message: `segment ${msn} of '${track.name}' has no part ${index}` };
  const first = track.firstMsn;
  if (first !== null && msn < first) return { kind: 'missing', reason: 'gone', message: `part ${msn}.${index} of '${track.name}' has left the window` };
  if (ended) return { kind: 'missing', reason: 'never', message: `stream '${stream.name}' has ended` };
  return { kind: 'missing', reason: 'future', message: `part ${msn}.${index} of '${track.name}' is not hinted yet` };
}

function mayStillCome(stream: Stream, track: Track, msn: number, index: number): boolean {
  const open = track.openSegment;
  if (open) {
    if (msn === open.msn) return index <= open.parts.length;
    return msn === open.msn + 1 && index === 0;
  }
  const hint = hintedPart(stream, track);
  return hint !== null && hint.msn === msn && hint.index === index;
}
