import { createFile, Log, MP4BoxBuffer } from 'mp4box';
import { BoxReader, type Box } from '../../src/isobmff/box-reader.js';
import { FTYP, MOOV } from '../../src/isobmff/fourcc.js';
import { parseInit, type InitSegment } from '../../src/isobmff/init.js';
import type { SampleRun } from '../../src/isobmff/sample-run.js';
import type { Chunk, Segment } from '../../src/timeline/segment.js';
import type { Track } from '../../src/timeline/track.js';

Log.setLogLevel(Log.error);

export function topLevelBoxes(data: Buffer): Box[] {
  const boxes: Box[] = [];
  const reader = new BoxReader({ maxBoxSize: data.length + 16 });
  reader.push(data, (b) => boxes.push(b));
  reader.end((b) => boxes.push(b));
  return boxes;
}

export function initOf(data: Buffer): InitSegment {
  const boxes = topLevelBoxes(data);
  const moov = boxes.find((b) => b.type === MOOV)!;
  return parseInit(boxes.find((b) => b.type === FTYP)?.data, moov.data, moov.headerSize);
}

export interface Mp4boxTrack {
  readonly id: number;
  readonly codec: string;
  readonly timescale: number;
  readonly width?: number;
  readonly height?: number;
  readonly sampleRate?: number;
}

/** What mp4box.js, an independent parser, reads from an init segment (or a whole file). */
export function mp4boxTracks(data: Buffer): Mp4boxTrack[] {
  const copy = data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
  const file = createFile();
  let tracks: Mp4boxTrack[] = [];
  file.onReady = (info) => {
    tracks = info.tracks.map((t) => ({
      id: t.id,
      codec: t.codec,
      timescale: t.timescale,
      ...(t.video ? { width: t.video.width, height: t.video.height } : {}),
      ...(t.audio ? { sampleRate: t.audio.sample_rate } : {}),
    }));
  };
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(copy, 0));
  file.flush();
  return tracks;
}

/** A segment's bytes as the origin serves them (from its store once complete). */
export async function segmentBuffer(track: Track, msn: number): Promise<Buffer> {
  const seg = track.findSegment(msn);
  if (!seg) throw new Error(`no segment ${msn} in '${track.name}'`);
  const bytes = await track.bytes(seg);
  return Buffer.concat(bytes.range(0, seg.byteLength) as Buffer[]);
}

/** The samples of a segment's chunk (bytes from memory: the tests' origins keep no DVR). */
export function samplesOf(track: Track, seg: Segment, chunk: Chunk): SampleRun {
  return track.samples(track.residentBytes(seg)!, chunk);
}

/** Lets deferred timeline notifications (readers, waiters) run. */
export function delivered(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
