// Turns the bytes read off the out ring into frames (protocol.ts), with no
// I/O of its own: the reader hands it each batch it read, in order, and
// plays what comes out. Reads cut frames anywhere (a header, a payload,
// the padding), so the decoder keeps what it has of a frame between batches.

import { FRAME_HEADER, framePadding } from './protocol.js';

/**
 * What a batch holds: a piece of a body frame (played as it comes: a large
 * body is never assembled), or a whole frame of another type.
 */
export type Decoded =
  | { kind: 'body'; exchange: number; data: Buffer }
  | { kind: 'frame'; type: number; exchange: number; payload: Buffer };

export class FrameDecoder {
  private readonly header = Buffer.alloc(FRAME_HEADER);
  private headerFill = 0;
  private type = 0;
  private exchange = 0;
  private remaining = 0;
  private padding = 0;
  /** A control frame's payload pieces (reused: the payload is made from them before the next frame). */
  private readonly assembled: Buffer[] = [];
  private payloadDone = false;

  /**
   * @param bodyType the frame type whose payload is passed on piece by piece.
   */
  constructor(private readonly bodyType: number) {}

  /**
   * The frames in `buf[from, to)`. Body pieces point into `buf` (the caller
   * keeps it until they are written); other payloads do only when the frame
   * lies wholly in this batch, else they are copied out of it.
   */
  *decode(buf: Buffer, from: number, to: number): Generator<Decoded> {
    let off = from;
    for (;;) {
      if (this.headerFill < FRAME_HEADER) {
        if (off >= to) return;
        // Most headers lie whole in one read: read them in place; only one cut by the read's end is assembled.
        let from: Buffer = buf;
        let at = off;
        if (this.headerFill === 0 && to - off >= FRAME_HEADER) {
          off += FRAME_HEADER;
        } else {
          const take = Math.min(FRAME_HEADER - this.headerFill, to - off);
          buf.copy(this.header, this.headerFill, off, off + take);
          this.headerFill += take;
          off += take;
          if (this.headerFill < FRAME_HEADER) return;
          from = this.header;
          at = 0;
        }
        this.headerFill = FRAME_HEADER;
        const word = from.readUInt32LE(at);
        this.type = word & 0xff;
        this.exchange = word >>> 8;
        this.remaining = from.readUInt32LE(at + 4);
        this.padding = framePadding(this.remaining);
        this.assembled.length = 0;
        this.payloadDone = false;
      }
      if (!this.payloadDone) {
        if (this.remaining > 0) {
          if (off >= to) return;
          const take = Math.min(this.remaining, to - off);
          const piece = buf.subarray(off, off + take);
          off += take;
          this.remaining -= take;
          if (this.type === this.bodyType) yield { kind: 'body', exchange: this.exchange, data: piece };
          // A frame continued in the next batch must not point into this one's buffer.
          else this.assembled.push(this.remaining > 0 ? Buffer.from(piece) : piece);
          if (this.remaining > 0) continue;
        }
        this.payloadDone = true;
        if (this.type !== this.bodyType) {
          const parts = this.assembled;
          const payload = parts.length === 1 ? parts[0]! : parts.length === 0 ? EMPTY : Buffer.concat(parts);
          yield { kind: 'frame', type: this.type, exchange: this.exchange, payload };
        }
      }
      // The padding comes after the whole payload, which may have spanned batches.
      if (this.padding > 0) {
        if (off >= to) return;
        const skip = Math.min(this.padding, to - off);
        this.padding -= skip;
        off += skip;
        if (this.padding > 0) continue;
      }
      this.headerFill = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
