export const TS_PACKET = 188;
export const TS_PAYLOAD = 184;
export const PAT_PID = 0x0000;
export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;
/** ISO/IEC 13818-1 Table 2-34 (and ISO/IEC 14496-3 for ADTS AAC). */
export const STREAM_TYPE_H264 = 0x1b;
export const STREAM_TYPE_AAC_ADTS = 0x0f;
export const STREAM_ID_VIDEO = 0xe0;
export const STREAM_ID_AUDIO = 0xc0;
/** 90 kHz timestamps are 33-bit. */
export const TS_WRAP = 2 ** 33;
/**
 * Added to every PTS/DTS: keeps DTS − PCR_LEAD and B-frame DTS shifts positive for streams that
 * start at 0. The same for every segment and rendition, or timestamps would jump.
 */
export const TIMESTAMP_OFFSET = 90000;
/** PCR runs this far (100 ms) ahead of the DTS it precedes: "PCR never after DTS". */
export const PCR_LEAD = 9000;
