import { malformed } from '../errors.js';
import { crc32Mpeg } from '../mpegts/crc32.js';

/** ANSI/SCTE 35 9.2: splice_info_section table_id. */
export const SPLICE_TABLE_ID = 0xfc;
export const SPLICE_NULL = 0x00;
export const SPLICE_INSERT = 0x05;
export const TIME_SIGNAL = 0x06;
export const BANDWIDTH_RESERVATION = 0x07;
export const PRIVATE_COMMAND = 0xff;
/** pts_time, pts_adjustment and break durations are 33-bit 90 kHz values. */
const WRAP_33 = 2 ** 33;

export interface BreakDuration {
  readonly autoReturn: boolean;
  /** 90 kHz ticks. */
  readonly duration: number;
}

export type SpliceCommand =
  | { readonly type: 'splice_null' }
  | {
      readonly type: 'splice_insert';
      readonly spliceEventId: number;
      readonly cancel: boolean;
      readonly outOfNetwork: boolean;
      readonly immediate: boolean;
      /** splice_time() pts_time (the program's, or the first component's); null when immediate or unspecified. */
      readonly ptsTime: number | null;
      readonly breakDuration: BreakDuration | null;
      readonly uniqueProgramId: number;
      readonly availNum: number;
      readonly availsExpected: number;
    }
  | { readonly type: 'time_signal'; readonly ptsTime: number | null }
  | { readonly type: 'bandwidth_reservation' }
  | { readonly type: 'private_command'; readonly identifier: number };

export interface SpliceInfo {
  readonly ptsAdjustment: number;
  readonly tier: number;
  readonly command: SpliceCommand;
  /** The descriptor loop as it is (segmentation descriptors etc. are carried, not interpreted). */
  readonly descriptors: Buffer;
  /** The whole section, CRC included. */
  readonly bytes: Buffer;
}

/** Reads a 33-bit value whose top bit is bit 0 of `b[at]`. */
function read33(b: Buffer, at: number): number {
  return (b[at]! & 1) * 2 ** 32 + b.readUInt32BE(at + 1);
}

function write33(b: Buffer, at: number, high7: number, v: number): void {
  const x = ((v % WRAP_33) + WRAP_33) % WRAP_33;
  b[at] = high7 | (x >= 2 ** 32 ? 1 : 0);
  b.writeUInt32BE(x % 2 ** 32, at + 1);
}

/** splice_time(): returns the pts_time (null if not time_specified) and the bytes read. */
function readSpliceTime(b: Buffer, at: number, end: number): [number | null, number] {
  if (at >= end) throw malformed('splice_time() is truncated');
  if ((b[at]! & 0x80) === 0) return [null, 1];
  if (at + 5 > end) throw malformed('splice_time() is truncated');
  return [read33(b, at), 5];
}

function parseCommand(b: Buffer, type: number, at: number, end: number): [SpliceCommand, number] {
  const start = at;
  switch (type) {
    case SPLICE_NULL:
      return [{ type: 'splice_null' }, 0];
    case BANDWIDTH_RESERVATION:
      return [{ type: 'bandwidth_reservation' }, 0];
    case TIME_SIGNAL: {
      const [ptsTime, n] = readSpliceTime(b, at, end);
      return [{ type: 'time_signal', ptsTime }, n];
    }
    case PRIVATE_COMMAND:
      if (at + 4 > end) throw malformed('private_command() is truncated');
      return [{ type: 'private_command', identifier: b.readUInt32BE(at) }, end - at];
    case SPLICE_INSERT: {
      if (at + 5 > end) throw malformed('splice_insert() is truncated');
      const spliceEventId = b.readUInt32BE(at);
      const cancel = (b[at + 4]! & 0x80) !== 0;
      at += 5;
      let outOfNetwork = false;
      let immediate = false;
      let ptsTime: number | null = null;
      let breakDuration: BreakDuration | null = null;
      let uniqueProgramId = 0;
      let availNum = 0;
      let availsExpected = 0;
      if (!cancel) {
        if (at + 1 > end) throw malformed('splice_insert() is truncated');
        const flags = b[at]!;
        outOfNetwork = (flags & 0x80) !== 0;
        const program = (flags & 0x40) !== 0;
        const hasDuration = (flags & 0x20) !== 0;
        immediate = (flags & 0x10) !== 0;
        at += 1;
        if (program && !immediate) {
          const [t, n] = readSpliceTime(b, at, end);
          ptsTime = t;
          at += n;
        }
        if (!program) {
          if (at + 1 > end) throw malformed('splice_insert() component_count is truncated');
          const count = b[at]!;
          at += 1;
          for (let i = 0; i < count; i++) {
            if (at + 1 > end) throw malformed('splice_insert() component is truncated');
            at += 1;
            if (!immediate) {
              const [t, n] = readSpliceTime(b, at, end);
              if (i === 0) ptsTime = t;
              at += n;
            }
          }
        }
        if (hasDuration) {
          if (at + 5 > end) throw malformed('break_duration() is truncated');
          breakDuration = { autoReturn: (b[at]! & 0x80) !== 0, duration: read33(b, at) };
          at += 5;
        }
        if (at + 4 > end) throw malformed('splice_insert() is truncated');
        uniqueProgramId = b.readUInt16BE(at);
        availNum = b[at + 2]!;
        availsExpected = b[at + 3]!;
        at += 4;
      }
      return [{ type: 'splice_insert', spliceEventId, cancel, outOfNetwork, immediate, ptsTime, breakDuration, uniqueProgramId, availNum, availsExpected }, at - start];
    }
    default:
      throw malformed(`splice_command_type 0x${type.toString(16).padStart(2, '0')} is reserved`);
  }
}

/**
 * Parses a splice_info_section (ANSI/SCTE 35 9.6) strictly: table_id 0xFC, section_length that
 * fills the buffer exactly, protocol_version 0, no encryption, a splice_command_length that
 * matches the command, a descriptor loop that fits, and a CRC_32 that checks. Throws a
 * MALFORMED_MEDIA OriginError naming the first fault.
 */
export function parseSpliceInfo(bytes: Buffer): SpliceInfo {
  const b = bytes;
  if (b.length < 17) throw malformed(`splice_info_section of ${b.length} bytes is shorter than its fixed fields`);
  if (b[0] !== SPLICE_TABLE_ID) throw malformed(`splice_info_section table_id is 0x${b[0]!.toString(16)}, not 0xfc`);
  // "section_syntax_indicator ... shall be set to '0'"
  if ((b[1]! & 0x80) !== 0) throw malformed('splice_info_section section_syntax_indicator is 1');
  const sectionLength = b.readUInt16BE(1) & 0x0fff;
  if (sectionLength + 3 !== b.length) throw malformed(`section_length ${sectionLength} does not match the ${b.length - 3} bytes that follow it`);
  if (crc32Mpeg(b, 0, b.length) !== 0) throw malformed('splice_info_section CRC_32 does not check');
  if (b[3] !== 0) throw malformed(`protocol_version ${b[3]} is not 0`);
  if ((b[4]! & 0x80) !== 0) throw malformed('encrypted splice_info_section is not supported');
  const ptsAdjustment = read33(b, 4);
  const tier = (b[10]! << 4) | (b[11]! >> 4);
  const commandLength = b.readUInt16BE(11) & 0x0fff;
  const commandType = b[13]!;
  const end = b.length - 4;
  const commandStart = 14;
  // splice_command_length 0xFFF: "unspecified" in older versions; the command then sizes itself.
  const commandEnd = commandLength === 0xfff ? end : commandStart + commandLength;
  if (commandEnd + 2 > end) throw malformed(`splice_command_length ${commandLength} overruns the section`);
  const [command, used] = parseCommand(b, commandType, commandStart, commandEnd);
  if (commandLength !== 0xfff && used !== commandLength) throw malformed(`splice_command_length ${commandLength} but the command holds ${used} bytes`);
  const loopAt = commandStart + used;
  if (loopAt + 2 > end) throw malformed('descriptor_loop_length is truncated');
  const loopLength = b.readUInt16BE(loopAt);
  if (loopAt + 2 + loopLength !== end) throw malformed(`descriptor_loop_length ${loopLength} does not end at the CRC_32`);
  const descriptors = b.subarray(loopAt + 2, end);
  for (let at = 0; at < descriptors.length; ) {
    if (at + 2 > descriptors.length || at + 2 + descriptors[at + 1]! > descriptors.length) throw malformed('a splice_descriptor overruns the descriptor loop');
    at += 2 + descriptors[at + 1]!;
  }
  return { ptsAdjustment, tier, command, descriptors, bytes: b };
}

export interface SpliceInsertSpec {
  readonly spliceEventId: number;
  readonly outOfNetwork: boolean;
  /** 90 kHz pts_time of the splice point. */
  readonly ptsTime: number;
  /** 90 kHz ticks of the break (an out), or null. */
  readonly breakDuration: number | null;
  readonly ptsAdjustment?: number;
}

/** Fixed header, command and CRC around a command body: section_length, lengths and CRC filled in. */
function section(commandType: number, command: Buffer, ptsAdjustment: number): Buffer {
  const length = 14 + command.length + 2 + 4;
  const b = Buffer.alloc(length);
  b[0] = SPLICE_TABLE_ID;
  // section_syntax_indicator 0, private_indicator 0, sap_type 3 (not specified).
  b.writeUInt16BE(0x3000 | (length - 3), 1);
  b[3] = 0;
  write33(b, 4, 0, ptsAdjustment);
  b[9] = 0; // cw_index
  // tier 0xFFF ("no tiering") then splice_command_length, 12 bits each.
  b[10] = 0xff;
  b[11] = 0xf0 | ((command.length >> 8) & 0x0f);
  b[12] = command.length & 0xff;
  b[13] = commandType;
  command.copy(b, 14);
  b.writeUInt16BE(0, 14 + command.length); // descriptor_loop_length
  b.writeUInt32BE(crc32Mpeg(b, 0, length - 4), length - 4);
  return b;
}

function spliceTime(ptsTime: number): Buffer {
  const b = Buffer.alloc(5);
  write33(b, 0, 0xfe, ptsTime);
  return b;
}

/** A splice_insert() section: program splice at `ptsTime`, with a break_duration (auto_return) on an out. */
export function writeSpliceInsert(spec: SpliceInsertSpec): Buffer {
  const body: Buffer[] = [];
  const head = Buffer.alloc(6);
  head.writeUInt32BE(spec.spliceEventId >>> 0, 0);
  head[4] = 0x7f; // splice_event_cancel_indicator 0, reserved
  const hasDuration = spec.breakDuration !== null;
  // out_of_network_indicator, program_splice_flag 1, duration_flag, splice_immediate_flag 0, reserved.
  head[5] = (spec.outOfNetwork ? 0x80 : 0) | 0x40 | (hasDuration ? 0x20 : 0) | 0x0f;
  body.push(head, spliceTime(spec.ptsTime));
  if (hasDuration) {
    const d = Buffer.alloc(5);
    write33(d, 0, 0x80 | 0x7e, spec.breakDuration!);
    body.push(d);
  }
  body.push(Buffer.from([0, 0, 0, 0])); // unique_program_id, avail_num, avails_expected
  return section(SPLICE_INSERT, Buffer.concat(body), spec.ptsAdjustment ?? 0);
}

/** A time_signal() section at `ptsTime`. */
export function writeTimeSignal(ptsTime: number, ptsAdjustment = 0): Buffer {
  return section(TIME_SIGNAL, spliceTime(ptsTime), ptsAdjustment);
}

/** The same section with another pts_adjustment (and its CRC_32 recomputed). */
export function withPtsAdjustment(bytes: Buffer, ptsAdjustment: number): Buffer {
  const b = Buffer.from(bytes);
  write33(b, 4, b[4]! & 0xfe, ptsAdjustment);
  b.writeUInt32BE(crc32Mpeg(b, 0, b.length - 4), b.length - 4);
  return b;
}

/** pts_time + pts_adjustment of the splice, mod 2^33 (SCTE 35 9.6: "added to the pts_time"), or null. */
export function splicePts(info: SpliceInfo): number | null {
  const c = info.command;
  const t = c.type === 'splice_insert' || c.type === 'time_signal' ? c.ptsTime : null;
  return t === null ? null : (t + info.ptsAdjustment) % WRAP_33;
}
