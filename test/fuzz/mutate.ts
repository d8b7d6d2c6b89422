import { box, walk, type BoxAt } from './bmff.js';

/** xorshift32: seeded, reproducible, fast. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let s = this.state;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.state = s;
    return s;
  }

  /** 0 ≤ n < max. */
  int(max: number): number {
    return max <= 1 ? 0 : this.next() % max;
  }

  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
}

export type Mutator = (body: Buffer, rng: Rng) => Buffer;

const U32_EDGES = [0, 1, 7, 8, 9, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function boxesOf(body: Buffer, types?: readonly string[]): BoxAt[] {
  const all = walk(body);
  // A full box whose version/flags and first field do not fit (a flooded empty trun) has no layout to patch.
  return types ? all.filter((b) => types.includes(b.type) && b.end - b.payload >= 8) : all;
}

/** Replaces `target`'s bytes with `replacement`, fixing the 32-bit sizes of its ancestors. */
export function splice(body: Buffer, target: BoxAt, replacement: Buffer): Buffer {
  const delta = replacement.length - (target.end - target.start);
  const out = Buffer.concat([body.subarray(0, target.start), replacement, body.subarray(target.end)]);
  for (const a of walk(body)) {
    if (a.start < target.start && a.end >= target.end && a.payload === a.start + 8 && a.depth < target.depth) {
      out.writeUInt32BE((body.readUInt32BE(a.start) + delta) >>> 0, a.start);
    }
  }
  return out;
}

function copy(body: Buffer): Buffer {
  return Buffer.from(body);
}

/** Fields of a trun: where the sample table starts and which per-sample fields it has. */
function trunLayout(body: Buffer, trun: BoxAt): { flags: number; count: number; countAt: number; offsetAt: number | null; samplesAt: number; stride: number } {
  const flags = body.readUInt32BE(trun.payload) & 0xffffff;
  const countAt = trun.payload + 4;
  let p = trun.payload + 8;
  const offsetAt = flags & 1 ? p : null;
  if (flags & 1) p += 4;
  if (flags & 4) p += 4;
  const stride = (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) + (flags & 0x800 ? 4 : 0);
  return { flags, count: body.readUInt32BE(countAt), countAt, offsetAt, samplesAt: p, stride };
}

export const MUTATORS: Record<string, Mutator> = {
  bitflip(body, rng) {
    const out = copy(body);
    const flips = 1 + rng.int(8);
    for (let i = 0; i < flips; i++) {
      const at = rng.int(out.length);
      out[at] = out[at]! ^ (1 << rng.int(8));
    }
    return out;
  },
  /** Cut at a box boundary (start or end of any box, nested or not). */
  truncateAtBox(body, rng) {
    const all = boxesOf(body);
    if (all.length === 0) return body.subarray(0, rng.int(body.length));
    const b = rng.pick(all);
    return body.subarray(0, rng.chance(0.5) ? b.start : b.payload + rng.int(Math.max(1, b.end - b.payload)));
  },
  truncateAnywhere(body, rng) {
    return body.subarray(0, rng.int(body.length));
  },
  sizeField(body, rng) {
    const all = boxesOf(body);
    if (all.length === 0) return body;
    const out = copy(body);
    const b = rng.pick(all);
    const edges = [...U32_EDGES, b.end - b.start + 1, b.end - b.start - 1, rng.next()];
    out.writeUInt32BE(rng.pick(edges) >>> 0, b.start);
    return out;
  },
  /** Rewrites a box with a 64-bit largesize: exact, too large, or smaller than its header. */
  largesize(body, rng) {
    const all = boxesOf(body).filter((b) => b.payload === b.start + 8);
    if (all.length === 0) return body;
    const b = rng.pick(all);
    const size = b.end - b.start + 8;
    const head = Buffer.alloc(16);
    head.writeUInt32BE(1, 0);
    body.copy(head, 4, b.start + 4, b.start + 8);
    const choices = [BigInt(size), BigInt(size), 2n ** 63n, 2n ** 64n - 1n, 15n, 0n, BigInt(size) + 1000n];
    head.writeBigUInt64BE(rng.pick(choices), 8);
    return splice(body, b, Buffer.concat([head, body.subarray(b.payload, b.end)]));
  },
  trunCount(body, rng) {
    const truns = boxesOf(body, ['trun']);
    if (truns.length === 0) return body;
    const out = copy(body);
    const t = trunLayout(out, rng.pick(truns));
    out.writeUInt32BE(rng.pick([0, 1, t.count + 1, t.count * 2, 65536, 0x10000000, 0xffffffff, rng.next()]) >>> 0, t.countAt);
    return out;
  },
  trunOffset(body, rng) {
    const truns = boxesOf(body, ['trun']);
    const out = copy(body);
    for (const trun of truns) {
      const t = trunLayout(out, trun);
      if (t.offsetAt !== null) {
        out.writeInt32BE(rng.pick([-0x80000000, -8, -1, 0, 4, 0x7fffffff, out.readInt32BE(t.offsetAt) + 1 + rng.int(64), out.readInt32BE(t.offsetAt) - 1]) | 0, t.offsetAt);
        return out;
      }
    }
    return out;
  },
  /** A sample size or duration field set to an edge value. */
  sampleField(body, rng) {
    const truns = boxesOf(body, ['trun']);
    if (truns.length === 0) return body;
    const out = copy(body);
    const t = trunLayout(out, rng.pick(truns));
    if (t.stride === 0 || t.count === 0) return out;
    const i = rng.int(Math.min(t.count, Math.floor((out.length - t.samplesAt) / t.stride)));
    const field = rng.int(t.stride / 4);
    const at = t.samplesAt + i * t.stride + field * 4;
    if (at + 4 <= out.length) out.writeUInt32BE(rng.pick([...U32_EDGES, 1, 2, 48000 * 12, 90000 * 15]) >>> 0, at);
    return out;
  },
  /** Every sample's duration set to one value: zero, one tick, or huge. */
  durations(body, rng) {
    const out = copy(body);
    const value = rng.pick([0, 1, 1_000_000, 0xffffffff]);
    for (const trun of boxesOf(out, ['trun'])) {
      const t = trunLayout(out, trun);
      if (!(t.flags & 0x100)) continue;
      // The entries the box holds, whatever count it declares (a mutated 0xffffffff would cost seconds).
      const room = trun.end - t.samplesAt - 4;
      const entries = room < 0 ? 0 : Math.min(t.count, Math.floor(room / t.stride) + 1);
      for (let i = 0; i < entries; i++) out.writeUInt32BE(value, t.samplesAt + i * t.stride);
    }
    for (const tfhd of boxesOf(out, ['tfhd'])) {
      const flags = out.readUInt32BE(tfhd.payload) & 0xffffff;
      const p = tfhd.payload + 8 + (flags & 1 ? 8 : 0) + (flags & 2 ? 4 : 0);
      if (flags & 8 && p + 4 <= tfhd.end) out.writeUInt32BE(value, p);
    }
    return out;
  },
  tfdt(body, rng) {
    const out = copy(body);
    for (const b of boxesOf(out, ['tfdt'])) {
      const v1 = out[b.payload] === 1;
      const current = v1 ? out.readBigUInt64BE(b.payload + 4) : BigInt(out.readUInt32BE(b.payload + 4));
      const choices = [0n, current / 2n, current > 90000n ? current - 90000n : 0n, current + 90000n * 3600n, 2n ** 64n - 1n, 2n ** 64n - 1000n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 32n - 1n];
      const value = rng.pick(choices);
      if (v1) out.writeBigUInt64BE(BigInt.asUintN(64, value), b.payload + 4);
      else out.writeUInt32BE(Number(BigInt.asUintN(32, value)), b.payload + 4);
      if (rng.chance(0.5)) break;
    }
    return out;
  },
  trackId(body, rng) {
    const out = copy(body);
    for (const b of boxesOf(out, ['tfhd', 'tkhd', 'trex'])) {
      if (!rng.chance(0.6)) continue;
      const at = b.type === 'tfhd' || b.type === 'trex' ? b.payload + 4 : b.payload + (out[b.payload] === 1 ? 20 : 12);
      if (at + 4 <= b.end) out.writeUInt32BE(rng.pick([0, 2, 3, 7, 0xffffffff]), at);
    }
    return out;
  },
  /** A box nested thousands deep: at the top level, or as the last child of a moof. */
  deepNesting(body, rng) {
    const depth = 1000 + rng.int(4000);
    const type = rng.pick(['traf', 'moof', 'trak', 'udta', 'moov']);
    const nested = Buffer.alloc(8 * (depth + 1));
    for (let i = 0; i <= depth; i++) {
      nested.writeUInt32BE(8 * (depth + 1 - i), 8 * i);
      nested.write(type, 8 * i + 4, 'latin1');
    }
    const moof = boxesOf(body, ['moof'])[0];
    if (moof && rng.chance(0.5)) return wrapInto(body, moof, nested);
    const tops = boxesOf(body).filter((b) => b.depth === 0);
    const at = tops.length > 0 ? rng.pick(tops).end : 0;
    return Buffer.concat([body.subarray(0, at), nested, body.subarray(at)]);
  },
  /** Thousands of tiny boxes: at the top level between fragments, or inside a moof or traf. */
  boxFlood(body, rng) {
    const count = 1000 + rng.int(30_000);
    const type = rng.pick(['free', 'emsg', 'skip', 'trun', 'sgpd']);
    const flood = Buffer.alloc(8 * count);
    for (let i = 0; i < count; i++) {
      flood.writeUInt32BE(8, 8 * i);
      flood.write(type, 8 * i + 4, 'latin1');
    }
    const parents = boxesOf(body, ['moof', 'traf']);
    if (parents.length > 0 && rng.chance(0.5)) return wrapInto(body, rng.pick(parents), flood);
    const tops = boxesOf(body).filter((b) => b.depth === 0);
    const at = tops.length > 0 ? rng.pick(tops).end : 0;
    return Buffer.concat([body.subarray(0, at), flood, body.subarray(at)]);
  },
  duplicateBox(body, rng) {
    const all = boxesOf(body);
    if (all.length === 0) return body;
    const b = rng.pick(all);
    const bytes = body.subarray(b.start, b.end);
    return splice(body, b, Buffer.concat([bytes, bytes]));
  },
  /** Swaps two sibling boxes (mdat before moof, trun before tfhd, …). */
  reorder(body, rng) {
    const all = boxesOf(body);
    const pairs: [BoxAt, BoxAt][] = [];
    for (let i = 0; i + 1 < all.length; i++) {
      const a = all[i]!;
      const next = all.find((x) => x.start === a.end && x.depth === a.depth);
      if (next) pairs.push([a, next]);
    }
    if (pairs.length === 0) return body;
    const [a, b] = rng.pick(pairs);
    return Buffer.concat([body.subarray(0, a.start), body.subarray(b.start, b.end), body.subarray(a.start, a.end), body.subarray(b.end)]);
  },
  removeBox(body, rng) {
    const all = boxesOf(body);
    if (all.length === 0) return body;
    return splice(body, rng.pick(all), Buffer.alloc(0));
  },
  /** Init fields that decide parsing: timescale, handler, sample entry, codec configuration. */
  initField(body, rng) {
    const out = copy(body);
    const all = boxesOf(out);
    const mdhd = all.find((b) => b.type === 'mdhd');
    const hdlr = all.find((b) => b.type === 'hdlr');
    const stsd = all.find((b) => b.type === 'stsd');
    switch (rng.int(5)) {
      case 0:
        if (mdhd) out.writeUInt32BE(rng.pick([0, 1, 0xffffffff, 7]), mdhd.payload + (out[mdhd.payload] === 1 ? 20 : 12));
        break;
      case 1:
        if (hdlr) out.write(rng.pick(['soun', 'vide', 'text', 'meta']), hdlr.payload + 8, 'latin1');
        break;
      case 2:
        if (stsd) out.write(rng.pick(['avc1', 'avc3', 'hvc1', 'mp4a', 'Opus', 'encv', 'xxxx']), stsd.payload + 12, 'latin1');
        break;
      case 3: {
        const config = all.find((b) => b.type === 'avcC' || b.type === 'hvcC' || b.type === 'esds' || b.type === 'dOps');
        if (config) for (let i = 0; i < 4; i++) out[config.payload + rng.int(config.end - config.payload)] = rng.int(256);
        break;
      }
      default:
        if (stsd) out.writeUInt32BE(rng.pick([0, 2, 0xffffffff]), stsd.payload + 4);
    }
    return out;
  },
  /** Junk between boxes: a box of unknown type, or bytes that are no box at all. */
  garbage(body, rng) {
    const tops = boxesOf(body).filter((b) => b.depth === 0);
    const at = tops.length > 0 ? rng.pick(tops).end : 0;
    const junk = rng.chance(0.5) ? box(rng.pick(['free', 'skip', 'uuid', 'zzzz', 'mdat', 'moof', 'emsg', 'prft', 'styp', 'sidx']), Buffer.alloc(rng.int(64), rng.int(256))) : Buffer.from(Array.from({ length: 1 + rng.int(32) }, () => rng.int(256)));
    return Buffer.concat([body.subarray(0, at), junk, body.subarray(at)]);
  },
};

/** Puts `inner` as the last child of `parent` (its size and its ancestors' grow). */
function wrapInto(body: Buffer, parent: BoxAt, inner: Buffer): Buffer {
  const grown = Buffer.concat([body.subarray(parent.start, parent.end), inner]);
  if (parent.payload === parent.start + 8) grown.writeUInt32BE(grown.length, 0);
  return splice(body, parent, grown);
}

export const MUTATOR_NAMES = Object.keys(MUTATORS);
