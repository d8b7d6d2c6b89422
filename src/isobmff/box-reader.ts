import { OriginError, malformed } from '../errors.js';
import { FIRST_BOX_TYPES, fourccToString, isPrintableFourcc } from './fourcc.js';

/** A complete top-level box: `data` holds the whole box, header included. */
export interface Box {
  readonly type: number;
  readonly headerSize: number;
  /** Byte offset of the box in the stream fed to the reader. */
  readonly offset: number;
  readonly data: Buffer;
}

export interface BoxReaderOptions {
  /** Largest box accepted, in bytes (413 above it). */
  readonly maxBoxSize: number;
  /**
   * Bytes held for incomplete boxes grow by `delta` (before they are allocated; it may throw to
   * refuse them) or shrink by −`delta` (the box completed, or the reader was reset).
   */
  readonly onHold?: (delta: number) => void;
}

const MAX_HEADER = 16;

/**
 * Incremental reader of top-level ISO BMFF boxes from a byte stream that arrives in arbitrary
 * pieces. A box that lies inside one piece is handed out as a view of it; a box that spans
 * pieces is copied once into a buffer allocated at its final size. Handles 64-bit (`size == 1`)
 * and to-the-end (`size == 0`) boxes.
 */
export class BoxReader {
  private readonly maxBoxSize: number;
  private readonly header = Buffer.allocUnsafe(MAX_HEADER);
  private headerFill = 0;
  private box: Buffer | null = null;
  private boxType = 0;
  private boxHeaderSize = 0;
  private boxOffset = 0;
  private boxFill = 0;
  private tail: Buffer[] | null = null;
  private tailSize = 0;
  private consumed = 0;
  private boxes = 0;
  private readonly onHold: ((delta: number) => void) | undefined;
  /** Bytes reported to onHold and not yet given back. */
  private held = 0;

  constructor(options: BoxReaderOptions) {
    this.maxBoxSize = options.maxBoxSize;
    this.onHold = options.onHold;
  }

  private hold(bytes: number): void {
    if (!this.onHold) return;
    this.onHold(bytes);
    this.held += bytes;
  }

  private unhold(): void {
    if (this.held === 0) return;
    const bytes = this.held;
    this.held = 0;
    this.onHold!(-bytes);
  }

  /** Bytes of the stream read so far. */
  get offset(): number {
    return this.consumed;
  }

  /** Bytes held for a box that is not complete yet. */
  get pendingBytes(): number {
    return this.headerFill + this.boxFill + this.tailSize;
  }

  push(piece: Buffer, onBox: (box: Box) => void): void {
    let pos = 0;
    const len = piece.length;
    while (pos < len) {
      if (this.tail) {
        if (this.tailSize + len - pos > this.maxBoxSize) throw tooLarge(this.boxType, this.tailSize + len - pos, this.maxBoxSize);
        this.hold(len - pos);
        this.tailSize += len - pos;
        this.tail.push(pos === 0 ? piece : piece.subarray(pos));
        this.consumed += len - pos;
        return;
      }
      if (this.box) {
        const n = Math.min(this.box.length - this.boxFill, len - pos);
        piece.copy(this.box, this.boxFill, pos, pos + n);
        this.boxFill += n;
        pos += n;
        this.consumed += n;
        if (this.boxFill === this.box.length) {
          const data = this.box;
          this.box = null;
          this.boxFill = 0;
          this.unhold();
          this.emit(data, onBox);
        }
        continue;
      }
      // Header: parse in place when it lies in this piece, otherwise gather it first.
      let src: Buffer;
      let at: number;
      if (this.headerFill === 0 && len - pos >= MAX_HEADER) {
        src = piece;
        at = pos;
      } else {
        const want = this.headerFill < 8 ? 8 : MAX_HEADER;
        const n = Math.min(want - this.headerFill, len - pos);
        piece.copy(this.header, this.headerFill, pos, pos + n);
        this.headerFill += n;
        pos += n;
        this.consumed += n;
        if (this.headerFill < 8) continue;
        if (this.headerFill < MAX_HEADER && this.header.readUInt32BE(0) === 1) continue;
        src = this.header;
        at = 0;
      }
      const size32 = src.readUInt32BE(at);
      const type = src.readUInt32BE(at + 4);
      this.checkType(type);
      let size: number;
      let headerSize = 8;
      if (size32 === 1) {
        const large = src.readBigUInt64BE(at + 8);
        if (large > BigInt(this.maxBoxSize)) throw tooLarge(type, large, this.maxBoxSize);
        size = Number(large);
        headerSize = 16;
      } else {
        size = size32;
      }
      const boxOffset = this.consumed - this.headerFill;
      if (size32 === 0) {
        // "box extends to the end of the file": everything until end() belongs to it.
        this.boxType = type;
        this.boxOffset = boxOffset;
        this.boxHeaderSize = 8;
        const head = src === this.header ? Buffer.from(this.header.subarray(0, this.headerFill)) : Buffer.alloc(0);
        this.tail = src === this.header ? [head] : [];
        this.tailSize = head.length;
        this.headerFill = 0;
        continue;
      }
      if (size < headerSize) throw malformed(`box '${fourccToString(type)}' declares size ${size}, smaller than its header`);
      if (size > this.maxBoxSize) throw tooLarge(type, size, this.maxBoxSize);
      if (src === piece) {
        if (len - pos >= size) {
          const data = piece.subarray(pos, pos + size);
          pos += size;
          this.consumed += size;
          this.emitAt(type, headerSize, boxOffset, data, onBox);
          continue;
        }
        this.startBox(type, headerSize, boxOffset, size);
        continue;
      }
      // Header gathered in this.header: the box body follows in later bytes.
      this.hold(size);
      const box = Buffer.allocUnsafe(size);
      const have = Math.min(this.headerFill, size);
      this.header.copy(box, 0, 0, have);
      this.headerFill = 0;
      this.box = box;
      this.boxType = type;
      this.boxHeaderSize = headerSize;
      this.boxOffset = boxOffset;
      this.boxFill = have;
      if (have === size) {
        this.box = null;
        this.boxFill = 0;
        this.unhold();
        this.emit(box, onBox);
      }
    }
  }

  /** End of stream: completes a to-the-end box; a partial box is an error (truncated input). */
  end(onBox: (box: Box) => void): void {
    if (this.tail) {
      const data = Buffer.concat(this.tail, this.tailSize);
      this.tail = null;
      this.tailSize = 0;
      this.unhold();
      this.emitAt(this.boxType, this.boxHeaderSize, this.boxOffset, data, onBox);
      return;
    }
    if (this.box || this.headerFill > 0) {
      const held = this.pendingBytes;
      this.reset();
      throw malformed(`stream ends inside a box (${held} bytes of an incomplete box)`);
    }
  }

  /** Drops whatever belongs to an incomplete box. */
  reset(): void {
    this.box = null;
    this.boxFill = 0;
    this.headerFill = 0;
    this.tail = null;
    this.tailSize = 0;
    this.unhold();
  }

  private startBox(type: number, headerSize: number, offset: number, size: number): void {
    this.hold(size);
    this.box = Buffer.allocUnsafe(size);
    this.boxType = type;
    this.boxHeaderSize = headerSize;
    this.boxOffset = offset;
    this.boxFill = 0;
  }

  private checkType(type: number): void {
    if (this.boxes === 0 && !FIRST_BOX_TYPES.has(type)) {
      throw new OriginError('UNSUPPORTED_MEDIA', `not ISO BMFF: the body starts with '${printable(type)}', not a box such as ftyp, styp or moof`);
    }
    if (!isPrintableFourcc(type)) throw malformed(`invalid box type 0x${type.toString(16).padStart(8, '0')} at byte ${this.consumed}`);
    this.boxes++;
  }

  private emit(data: Buffer, onBox: (box: Box) => void): void {
    this.emitAt(this.boxType, this.boxHeaderSize, this.boxOffset, data, onBox);
  }

  private emitAt(type: number, headerSize: number, offset: number, data: Buffer, onBox: (box: Box) => void): void {
    onBox({ type, headerSize, offset, data });
  }
}

function printable(type: number): string {
  return isPrintableFourcc(type) ? fourccToString(type) : `0x${type.toString(16).padStart(8, '0')}`;
}

function tooLarge(type: number, size: number | bigint, max: number): OriginError {
  return new OriginError('BOX_TOO_LARGE', `box '${printable(type)}' of ${size} bytes exceeds the limit of ${max} bytes`);
}
