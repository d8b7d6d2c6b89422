import { z } from 'zod';
import { OriginError } from '../errors.js';
import type { Stream } from '../timeline/stream.js';
import { hash32, type Cue } from './cue.js';
import { parseSpliceInfo, writeSpliceInsert } from './splice.js';

const HEX = /^0[xX](?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A section given to the API, parsed strictly (a bad one is a 400 naming its fault). */
function givenSection(text: string): Buffer {
  let bytes: Buffer;
  if (HEX.test(text)) bytes = Buffer.from(text.slice(2), 'hex');
  else if (BASE64.test(text) && text.length > 0) bytes = Buffer.from(text, 'base64');
  else throw new OriginError('BAD_REQUEST', 'scte35 must be 0x-prefixed hex or base64');
  return parseSpliceInfo(bytes).bytes;
}

/** `POST /live/{stream}/cues`: a splice out (with its break length) or in, now or at a given time. */
export const CueRequestSchema = z
  .object({
    /** EXT-X-DATERANGE ID; an out and its in share it (and so the splice_event_id). */
    id: z.string({ error: 'id must be a string' }).regex(/^[A-Za-z0-9._:-]{1,64}$/, 'id must be 1-64 characters of A-Z a-z 0-9 . _ : -'),
    type: z.enum(['out', 'in'], { error: "type must be 'out' or 'in'" }),
    /** Break length in seconds (required for an out). */
    duration: z.number({ error: 'duration must be a number of seconds' }).positive('duration must be positive').max(86_400, 'duration must be at most 86400 s').optional(),
    /** The encoder's media time in seconds (tfdt / timescale), or an ISO 8601 date; absent: the newest media. */
    at: z.union([z.number().nonnegative('at must be a media time of at least 0 s').finite(), z.iso.datetime({ offset: true })], { error: 'at must be a media time in seconds or an ISO 8601 date' }).optional(),
    /** The playout system's own splice_info_section (`0x` hex or base64), carried as it is instead of one built here. */
    scte35: z.string({ error: 'scte35 must be a string' }).max(8192, 'scte35 must be at most 8192 characters').optional(),
  })
  .strict()
  .refine((b) => b.type !== 'out' || b.duration !== undefined, { message: 'an out needs a duration', path: ['duration'] });

export type CueRequest = z.infer<typeof CueRequestSchema>;

/** The request body, checked: a one-line BAD_REQUEST naming the first fault otherwise. */
export function parseCueRequest(body: unknown): CueRequest {
  const r = CueRequestSchema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new OriginError('BAD_REQUEST', `${where}${issue.message}`);
  }
  return r.data;
}

/**
 * The cue a request asks for, on the stream's timeline, with its splice_insert section: pts_time
 * is the encoder's media time of the splice point at 90 kHz (what an emsg from the encoder would
 * carry), the break_duration that of an out (auto_return), the splice_event_id a hash of the id.
 */
export function apiCue(stream: Stream, req: CueRequest): Cue {
  const zero = stream.availabilityStartTimeMs;
  const newest = stream.frontier();
  if (zero === null || newest === null) throw new OriginError('NOT_YET', `stream '${stream.name}' has no media yet`);
  const shift = stream.mediaShiftSeconds;
  let time: number;
  if (req.at === undefined) time = newest;
  else if (typeof req.at === 'number') time = req.at + shift;
  else time = (Date.parse(req.at) - zero) / 1000;
  const oldest = stream.grid.first?.time ?? 0;
  if (time < oldest - 1e-3) throw new OriginError('BAD_REQUEST', `at is ${(oldest - time).toFixed(3)} s before the oldest media of stream '${stream.name}'`);
  const media = time - shift;
  const section = req.scte35 !== undefined ? givenSection(req.scte35) : writeSpliceInsert({
    spliceEventId: hash32(req.id),
    outOfNetwork: req.type === 'out',
    ptsTime: Math.round(media * 90000),
    breakDuration: req.type === 'out' ? Math.round(req.duration! * 90000) : null,
  });
  return { id: req.id, type: req.type, time, duration: req.type === 'out' ? req.duration! : null, eventId: hash32(`${req.id}/${req.type}`), section, source: 'api' };
}

/** What the API answers about a cue (JSON). */
export function describeCue(stream: Stream, cue: Cue): Record<string, unknown> {
  return {
    id: cue.id,
    type: cue.type,
    time: Math.round(cue.time * 1e6) / 1e6,
    mediaTime: Math.round((cue.time - stream.mediaShiftSeconds) * 1e6) / 1e6,
    date: new Date(stream.wallClockMs(cue.time)).toISOString(),
    duration: cue.duration,
    eventId: cue.eventId,
    scte35: '0x' + cue.section.toString('hex').toUpperCase(),
  };
}
