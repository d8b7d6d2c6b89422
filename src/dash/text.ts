import type { Stream } from '../timeline/stream.js';
import type { Track } from '../timeline/track.js';
import { closedCaptions } from '../hls/renditions.js';
import type { XmlWriter } from './xml.js';

const ROLE = 'urn:mpeg:dash:role:2011';
const CEA608 = 'urn:scte:dash:cc:cea-608:2015';
const CEA708 = 'urn:scte:dash:cc:cea-708:2015';

/** AdaptationSet@mimeType: text in ISO BMFF is "application/mp4" (ISO/IEC 14496-30, DASH-IF IOP 6.4.5). */
export function mimeTypeOf(kind: Track['kind']): string {
  return kind === 'video' ? 'video/mp4' : kind === 'audio' ? 'audio/mp4' : 'application/mp4';
}

/**
 * The Accessibility and Role descriptors of an AdaptationSet: subtitles get Role "subtitle"; video
 * carrying CEA-608/708 in its SEI gets the SCTE 214-1 Accessibility ("CC1=eng", "1=lang:eng").
 */
export function writeTextDescriptors(x: XmlWriter, stream: Stream, kind: Track['kind'], first: Track): void {
  if (kind === 'video') {
    const cc = closedCaptions(stream);
    const lang = first.info.language;
    if (cc === 'CC1') x.leaf('Accessibility', [['schemeIdUri', CEA608], ['value', `CC1=${lang}`]]);
    else if (cc === 'SERVICE1') x.leaf('Accessibility', [['schemeIdUri', CEA708], ['value', `1=lang:${lang}`]]);
  }
  if (kind === 'text') x.leaf('Role', [['schemeIdUri', ROLE], ['value', 'subtitle']]);
}
