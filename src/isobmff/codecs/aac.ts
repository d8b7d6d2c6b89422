import { malformed } from '../../errors.js';

const SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const CHANNELS = [0, 1, 2, 3, 4, 5, 6, 8];

/** The fields of an MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) the origin needs. */
export interface AudioSpecificConfig {
  readonly audioObjectType: number;
  readonly samplingFrequencyIndex: number;
  readonly samplingFrequency: number;
  /** 0 means "defined in the program config element". */
  readonly channelConfiguration: number;
  readonly channels: number;
  /** Output rate after SBR for HE-AAC (explicit signalling), else the core rate. */
  readonly outputSamplingFrequency: number;
}

class BitReader {
  private bit = 0;
  constructor(private readonly buf: Buffer) {}
  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bit >> 3;
      if (byte >= this.buf.length) throw malformed('AudioSpecificConfig is truncated');
      v = (v << 1) | ((this.buf[byte]! >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v >>> 0;
  }
}

function readObjectType(r: BitReader): number {
  const t = r.read(5);
  return t === 31 ? 32 + r.read(6) : t;
}

function readFrequency(r: BitReader): { index: number; rate: number } {
  const index = r.read(4);
  if (index === 15) return { index, rate: r.read(24) };
  const rate = SAMPLE_RATES[index];
  if (rate === undefined) throw malformed(`AudioSpecificConfig has reserved sampling frequency index ${index}`);
  return { index, rate };
}

export function parseAudioSpecificConfig(asc: Buffer): AudioSpecificConfig {
  const r = new BitReader(asc);
  let audioObjectType = readObjectType(r);
  const freq = readFrequency(r);
  const channelConfiguration = r.read(4);
  let outputSamplingFrequency = freq.rate;
  const signalled = audioObjectType;
  if (audioObjectType === 5 || audioObjectType === 29) {
    // Explicit SBR (HE-AAC) / PS (HE-AACv2): the extension rate is the output rate.
    outputSamplingFrequency = readFrequency(r).rate;
    audioObjectType = readObjectType(r);
  }
  return {
    audioObjectType: signalled,
    samplingFrequencyIndex: freq.index,
    samplingFrequency: freq.rate,
    channelConfiguration,
    channels: CHANNELS[channelConfiguration] ?? 0,
    outputSamplingFrequency,
  };
}

/** RFC 6381 codecs parameter: `mp4a.40.<audio object type>`. */
export function aacCodecString(asc: AudioSpecificConfig): string {
  return `mp4a.40.${asc.audioObjectType}`;
}
