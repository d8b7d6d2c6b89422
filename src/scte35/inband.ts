import { OriginError } from '../errors.js';
import { parseEmsg, writeEmsgV1 } from '../isobmff/emsg.js';
import { EMSG } from '../isobmff/fourcc.js';
import { SCTE35_EMSG_SCHEME } from './cue.js';
import { parseSpliceInfo, type SpliceInfo } from './splice.js';

/** A SCTE-35 emsg of an ingested chunk, its time made absolute. */
export interface InbandEvent {
  readonly id: number;
  readonly timescale: number;
  /** presentation_time (v1), or the chunk's tfdt (in the emsg timescale) + presentation_time_delta (v0). */
  readonly presentationTime: bigint;
  readonly eventDuration: number;
  readonly info: SpliceInfo;
}

export interface InbandResult {
  /** The prefix as it is served: SCTE-35 emsg as version 1, bad ones left out. */
  readonly prefix: Buffer[];
  readonly events: InbandEvent[];
  /** Why a SCTE-35 emsg was dropped, one line each. */
  readonly errors: string[];
}

/**
 * Reads the SCTE-35 emsg boxes (scheme `urn:scte:scte35:2013:bin`) among the boxes that precede
 * a moof. Each is parsed strictly; a bad one is dropped with its reason, never the chunk. A
 * version 0 box is rewritten as version 1: its delta is relative to the fragment it came with
 * (tfdt `baseMediaDecodeTime` in `trackTimescale`), which is not where it lands in a segment of ours.
 */
export function readInbandEvents(prefix: readonly Buffer[], baseMediaDecodeTime: bigint, trackTimescale: number): InbandResult {
  const out: InbandResult = { prefix: [], events: [], errors: [] };
  for (const box of prefix) {
    if (box.length < 8 || box.readUInt32BE(4) !== EMSG) {
      out.prefix.push(box);
      continue;
    }
    try {
      const headerSize = box.readUInt32BE(0) === 1 ? 16 : 8;
      const e = parseEmsg(box, headerSize);
      if (e.schemeIdUri !== SCTE35_EMSG_SCHEME) {
        out.prefix.push(box);
        continue;
      }
      const info = parseSpliceInfo(Buffer.from(e.messageData));
      const presentationTime = e.presentationTime ?? (baseMediaDecodeTime * BigInt(e.timescale)) / BigInt(trackTimescale) + BigInt(e.presentationTimeDelta);
      out.events.push({ id: e.id, timescale: e.timescale, presentationTime, eventDuration: e.eventDuration, info });
      out.prefix.push(e.version === 1 ? box : writeEmsgV1({ ...e, presentationTime }));
    } catch (err) {
      out.errors.push(`SCTE-35 emsg dropped: ${err instanceof OriginError ? err.message : String(err)}`);
    }
  }
  return out;
}
