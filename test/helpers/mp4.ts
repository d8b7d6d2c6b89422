import { createFile, Log, MP4BoxBuffer } from 'mp4box';
import { BoxReader, type Box } from '../../src/isobmff/box-reader.js';
import { FTYP, MOOV } from '../../src/isobmff/fourcc.js';
import { parseInit, type InitSegment } from '../../src/isobmff/init.js';

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
