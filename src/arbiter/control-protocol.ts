// The control socket's wire format, as Gunicorn 26.2.2's gunicorn/ctl/protocol.py:
// each message is a 4-byte big-endian length and that many bytes of UTF-8 JSON.
//   request   {"id": 1, "command": "show workers", "args": []}
//   answer    {"id": 1, "status": "ok", "data": {...}}
//             {"id": 1, "status": "error", "error": "message"}
// Both ends are here: the arbiter's server (control-socket.ts) and
// `nicorn-py ctl` (src/ctl/). JSON goes out as Python's json.dumps writes it,
// and a float stays a float both ways (PyFloat), so that gunicornc and
// `nicorn-py ctl` print `2.0s ago` where Gunicorn's answer makes them.

/** ControlProtocol.MAX_MESSAGE_SIZE: a longer message is a protocol error. */
export const MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

/** A number that is a float on the Python side (json writes 2.0, not 2). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Python's round(x, 2), a float. */
export function round2(x: number): PyFloat {
  return new PyFloat(Math.round(x * 100) / 100);
}

export type Json = null | boolean | number | string | PyFloat | Json[] | { [key: string]: Json };

export class ProtocolError extends Error {}

/** Python's repr() of a float. */
export function pyFloatText(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  return String(x).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** A str as json.dumps writes it (ensure_ascii: every non-ASCII character as \uXXXX). */
function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** json.dumps(value), or json.dumps(value, indent=N) when `indent` is given. */
export function pyJson(value: Json, indent?: number, depth = 0): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : pyFloatText(value);
  if (value instanceof PyFloat) return pyFloatText(value.value);
  if (typeof value === 'string') return jsonString(value);
  const entries: [string | null, Json][] = Array.isArray(value) ? value.map((v) => [null, v]) : Object.entries(value);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return open + close;
  const item = ([k, v]: [string | null, Json]) => (k === null ? '' : `${jsonString(k)}: `) + pyJson(v, indent, depth + 1);
  if (indent === undefined) return open + entries.map(item).join(', ') + close;
  const pad = ' '.repeat(indent * (depth + 1));
  return `${open}\n${entries.map((e) => pad + item(e)).join(',\n')}\n${' '.repeat(indent * depth)}${close}`;
}

/** json.loads, keeping which numbers were floats (PyFloat) and which ints. */
export function parseJson(text: string): Json {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new ProtocolError(`Invalid JSON: ${what} at char ${i}`);
  };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: { [key: string]: Json } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('Expecting property name enclosed in double quotes');
        const key = str();
        ws();
        if (text[i] !== ':') fail("Expecting ':' delimiter");
        i++;
        obj[key] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === '[') {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [['true', true], ['false', false], ['null', null], ['NaN', new PyFloat(NaN)], ['Infinity', new PyFloat(Infinity)], ['-Infinity', new PyFloat(-Infinity)]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) return fail('Expecting value');
    i += m[0].length;
    const n = Number(m[0]);
    return m[1] !== undefined || m[2] !== undefined ? new PyFloat(n) : n;
  };
  const str = (): string => {
    const start = i;
    i++;
    let out = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e === undefined || !(e in map)) fail('Invalid \\escape');
        out += map[e!];
        i += 2;
      } else out += text[i++];
    }
    if (i >= text.length) {
      i = start;
      fail('Unterminated string starting');
    }
    i++;
    return out;
  };
  const v = value();
  ws();
  if (i !== text.length) fail('Extra data');
  return v;
}

/** One message on the wire. */
export function encodeMessage(data: Json): Buffer {
  const payload = Buffer.from(pyJson(data), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length);
  return Buffer.concat([head, payload]);
}

/** Collects a stream's bytes and gives back whole messages as they complete. */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the messages they complete. Throws ProtocolError on a bad one. */
  push(chunk: Buffer): Json[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Json[] = [];
    while (this.buf.length >= 4) {
      const length = this.buf.readUInt32BE(0);
      if (length > MAX_MESSAGE_SIZE) throw new ProtocolError(`Message too large: ${length}`);
      if (this.buf.length < 4 + length) break;
      const payload = this.buf.subarray(4, 4 + length);
      this.buf = this.buf.subarray(4 + length);
      out.push(parseJson(payload.toString('utf8')));
    }
    return out;
  }

  /** Bytes of an unfinished message are waiting. */
  get partial(): boolean {
    return this.buf.length > 0;
  }
}

const STRERROR: Record<string, string> = {
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
  EADDRINUSE: 'Address already in use',
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ENOTSOCK: 'Socket operation on non-socket',
  ENAMETOOLONG: 'File name too long',
  ETIMEDOUT: 'Connection timed out',
};

/** Python's str() of the OSError a node error stands for: "[Errno 2] No such file or directory". */
export function osErrorText(e: NodeJS.ErrnoException, withPath = false): string {
  if (e.errno === undefined || e.code === undefined) return e.message;
  const text = `[Errno ${Math.abs(e.errno)}] ${STRERROR[e.code] ?? e.code}`;
  return withPath && e.path ? `${text}: '${e.path}'` : text;
}
