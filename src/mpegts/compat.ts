import type { TrackInfo } from '../isobmff/init.js';
import { adtsTemplate } from './adts.js';
import { parseAvcC } from './avc.js';

const verdicts = new WeakMap<TrackInfo, boolean>();

/**
 * Whether MPEG-TS can carry a track under this CMAF header: H.264 with a complete avcC, or AAC
 * whose configuration fits an ADTS header. Decided once per header.
 */
export function tsCarriage(info: TrackInfo): boolean {
  let ok = verdicts.get(info);
  if (ok === undefined) {
    try {
      if (info.sampleEntry.startsWith('avc')) ok = parseAvcC(info.codecConfig).lengthSize > 0;
      else if (info.sampleEntry === 'mp4a') ok = adtsTemplate(info.codecConfig).length === 7;
      else ok = false;
    } catch {
      ok = false;
    }
    verdicts.set(info, ok);
  }
  return ok;
}
