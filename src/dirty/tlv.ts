// Gunicorn's dirty-protocol payload encoding (gunicorn/dirty/tlv.py): a type
// byte, then the value. The dirty arbiter reads only what it routes by (a
// request's app_path) and writes only its own answers (errors, status); the
// frames between clients and dirty workers pass through untouched.

export const TYPE_NONE = 0x00;
export const TYPE_BOOL = 0x01;
export const TYPE_INT64 = 0x05;
export const TYPE_FLOAT64 = 0x06;
export const TYPE_BYTES = 0x10;
export const TYPE_STRING = 0x11;
export const TYPE_LIST = 0x20;
export const TYPE_DICT = 0x21;

/** Gunicorn's limits: 64 MB for a string or bytes, a million items for a list or dict. */
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_ITEMS = 1024 * 1024;

/**
 * A TLV value as JavaScript holds it: int64 as a number when it is a safe
 * integer, else a bigint; float64 as a number, or a Float when integral (so
 * that 3.0 is given back as a float, not as the int 3).
 */
export type TlvValue = null | boolean | number | bigint | Float | string | Uint8Array | TlvValue[] | { [key: string]: TlvValue };

/** Whether a value is a dict (a TLV dict decodes to a plain object). */
export function isDict(v: TlvValue | undefined): v is { [key: string]: TlvValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Float);
}

/** Gunicorn's DirtyProtocolError: malformed or truncated data. */
export class TlvError extends Error {}

/** A float that must be encoded as float64 even when it is integral (TLV distinguishes 1 and 1.0). */
export class Float {
  constructor(readonly value: number) {}
}

export function encode(value: TlvValue): Buffer {
  const parts: Buffer[] = [];
  put(value, parts);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function put(value: TlvValue, parts: Buffer[]): void {
  if (value === null) parts.push(Buffer.of(TYPE_NONE));
  else if (typeof value === 'boolean') parts.push(Buffer.of(TYPE_BOOL, value ? 1 : 0));
  else if (value instanceof Float || (typeof value === 'number' && !Number.isInteger(value))) {
    const b = Buffer.alloc(9);
    b[0] = TYPE_FLOAT64;
    b.writeDoubleBE(value instanceof Float ? value.value : value, 1);
    parts.push(b);
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    const b = Buffer.alloc(9);
    b[0] = TYPE_INT64;
    b.writeBigInt64BE(BigInt(value), 1);
    parts.push(b);
  } else if (typeof value === 'string') {
    const s = Buffer.from(value, 'utf8');
    if (s.length > MAX_BYTES) throw new TlvError(`String too large: ${s.length} bytes (max: ${MAX_BYTES})`);
    parts.push(Buffer.of(TYPE_STRING), u32(s.length), s);
  } else if (value instanceof Uint8Array) {
    if (value.length > MAX_BYTES) throw new TlvError(`Bytes too large: ${value.length} bytes (max: ${MAX_BYTES})`);
    parts.push(Buffer.of(TYPE_BYTES), u32(value.length), Buffer.from(value));
  } else if (Array.isArray(value)) {
    parts.push(Buffer.of(TYPE_LIST), u32(value.length));
    for (const item of value) put(item, parts);
  } else {
    const entries = Object.entries(value);
    parts.push(Buffer.of(TYPE_DICT), u32(entries.length));
    for (const [k, v] of entries) {
      put(k, parts);
      put(v, parts);
    }
  }
}

/** Decodes one whole value; trailing bytes are an error, as in Gunicorn's decode_full. */
export function decode(data: Uint8Array): TlvValue {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const [value, end] = take(buf, 0);
  if (end !== buf.length) throw new TlvError(`Trailing data after TLV: ${buf.length - end} bytes`);
  return value;
}

function need(buf: Buffer, offset: number, n: number, what: string): void {
  if (offset + n > buf.length) throw new TlvError(`Truncated TLV data: ${what}`);
}

function take(buf: Buffer, offset: number): [TlvValue, number] {
  need(buf, offset, 1, 'no type byte');
  const type = buf[offset++]!;
  switch (type) {
    case TYPE_NONE:
      return [null, offset];
    case TYPE_BOOL:
      need(buf, offset, 1, 'missing bool value');
      return [buf[offset] !== 0, offset + 1];
    case TYPE_INT64: {
      need(buf, offset, 8, 'incomplete int64');
      const n = buf.readBigInt64BE(offset);
      const small = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);
      return [small ? Number(n) : n, offset + 8];
    }
    case TYPE_FLOAT64: {
      need(buf, offset, 8, 'incomplete float64');
      const x = buf.readDoubleBE(offset);
      return [Number.isInteger(x) ? new Float(x) : x, offset + 8];
    }
    case TYPE_BYTES:
    case TYPE_STRING: {
      need(buf, offset, 4, 'incomplete length');
      const len = buf.readUInt32BE(offset);
      offset += 4;
      if (len > MAX_BYTES) throw new TlvError(`Value too large: ${len} bytes (max: ${MAX_BYTES})`);
      need(buf, offset, len, `expected ${len} bytes, got ${buf.length - offset}`);
      const raw = buf.subarray(offset, offset + len);
      if (type === TYPE_BYTES) return [new Uint8Array(raw), offset + len];
      try {
        return [new TextDecoder('utf-8', { fatal: true }).decode(raw), offset + len];
      } catch (e) {
        throw new TlvError(`Invalid UTF-8 in string: ${(e as Error).message}`);
      }
    }
    case TYPE_LIST:
    case TYPE_DICT: {
      need(buf, offset, 4, 'incomplete count');
      const count = buf.readUInt32BE(offset);
      offset += 4;
      if (count > MAX_ITEMS) throw new TlvError(`Too many items: ${count} (max: ${MAX_ITEMS})`);
      if (type === TYPE_LIST) {
        const items: TlvValue[] = [];
        for (let i = 0; i < count; i++) {
          const [item, next] = take(buf, offset);
          items.push(item);
          offset = next;
        }
        return [items, offset];
      }
      const dict: { [key: string]: TlvValue } = {};
      for (let i = 0; i < count; i++) {
        const [key, afterKey] = take(buf, offset);
        if (typeof key !== 'string') throw new TlvError(`Dict key must be string, got ${typeof key}`);
        const [value, next] = take(buf, afterKey);
        dict[key] = value;
        offset = next;
      }
      return [dict, offset];
    }
    default:
      throw new TlvError(`Unknown TLV type code: 0x${type.toString(16).padStart(2, '0')}`);
  }
}
