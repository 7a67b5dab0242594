// Gunicorn's dirty wire protocol (gunicorn/dirty/protocol.py): a 16-byte
// header (magic "GD", version 1, message type, payload length, request id)
// and a TLV payload (tlv.ts). Our own implementation of the format, so that
// Gunicorn's pure-Python client works against nicorn-py's dirty arbiter.

import { decode, encode, isDict, type TlvValue } from './tlv.js';

export const HEADER_SIZE = 16;
export const MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
const MAGIC = 0x4744;
const VERSION = 0x01;

export const MSG = {
  request: 0x01,
  response: 0x02,
  error: 0x03,
  chunk: 0x04,
  end: 0x05,
  stash: 0x10,
  status: 0x11,
  manage: 0x12,
} as const;
export type MessageType = keyof typeof MSG;
const TYPE_NAMES = new Map<number, MessageType>(Object.entries(MSG).map(([k, v]) => [v, k as MessageType]));

export interface Frame {
  type: MessageType;
  /** The request id, 8 bytes as sent (a client's uuid hashed to uint64): echoed back, never interpreted. */
  id: Buffer;
  payload: Buffer;
  /** The whole frame, header included, to pass on as it is. */
  raw: Buffer;
}

export class ProtocolError extends Error {}

export function frame(type: MessageType, id: Buffer, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt16BE(MAGIC, 0);
  header[2] = VERSION;
  header[3] = MSG[type];
  header.writeUInt32BE(payload.length, 4);
  id.copy(header, 8, 0, 8);
  return Buffer.concat([header, payload]);
}

/** Gunicorn's error payload: {"error": {"error_type", "message", "details"}}, as DirtyError.to_dict gives it. */
export interface DirtyErrorInfo {
  error_type: string;
  message: string;
  details: { [key: string]: TlvValue };
}

export function errorFrame(id: Buffer, error: DirtyErrorInfo): Buffer {
  return frame('error', id, encode({ error: { ...error } }));
}

export function responseFrame(id: Buffer, result: TlvValue): Buffer {
  return frame('response', id, encode({ result }));
}

/** The payload as a dict (an empty payload is {}), as Gunicorn's read_message gives it. */
export function payloadOf(f: Frame): { [key: string]: TlvValue } {
  if (f.payload.length === 0) return {};
  const value = decode(f.payload);
  if (!isDict(value)) throw new ProtocolError('Payload is not a dict');
  return value;
}

/** Splits a byte stream into frames; a bad header is a ProtocolError (the connection is then closed). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(data: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const out: Frame[] = [];
    while (this.buf.length >= HEADER_SIZE) {
      const b = this.buf;
      if (b.readUInt16BE(0) !== MAGIC) throw new ProtocolError(`Invalid magic: ${b.subarray(0, 2).toString('hex')}, expected 4744`);
      if (b[2] !== VERSION) throw new ProtocolError(`Unsupported protocol version: ${b[2]}, expected ${VERSION}`);
      const type = TYPE_NAMES.get(b[3]!);
      if (!type) throw new ProtocolError(`Unknown message type: 0x${b[3]!.toString(16).padStart(2, '0')}`);
      const length = b.readUInt32BE(4);
      if (length > MAX_MESSAGE_SIZE) throw new ProtocolError(`Message too large: ${length} bytes (max: ${MAX_MESSAGE_SIZE})`);
      if (b.length < HEADER_SIZE + length) break;
      const raw = b.subarray(0, HEADER_SIZE + length);
      out.push({ type, id: Buffer.from(raw.subarray(8, 16)), payload: raw.subarray(HEADER_SIZE), raw });
      this.buf = b.subarray(HEADER_SIZE + length);
    }
    return out;
  }
}
