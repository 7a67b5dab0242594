// An HTTP/1 request parser that takes and refuses what Gunicorn 26.2's own
// Python parser does (gunicorn/http/message.py, body.py), with its errors.
// llhttp (node:http) frames requests first; this one reads the requests that
// llhttp refuses and Gunicorn takes (a method that is a token but not in
// llhttp's table, Transfer-Encoding: identity beside Content-Length,
// whitespace around ";" in a chunk line, and what the compatibility settings
// permit_obsolete_folding, strip_header_spaces and
// permit_unconventional_http_method/_version allow).
//
// Push parser: execute() takes the bytes as they arrive and calls the events
// in order; a RequestError thrown from it (or from onHead) is the request's
// refusal and the parser takes no more bytes. What it leaves to the front
// door's rules (rules.ts), as it leaves them to llhttp's output: the
// header policy (singleton fields, scheme headers, header_map) and the
// transfer codings' names beyond the framing they decide.

import {
  chunkMissingTerminator, invalidChunkExtension, invalidChunkSize, invalidHeader, invalidHeaderName,
  invalidMethod, invalidRequestLine, invalidVersion, limitRequestHeaders, limitRequestLine, obsoleteFolding,
} from './errors.js';
import { transferCodings } from './rules.js';
import { pyRepr } from '../../config/validators.js';

/** Gunicorn's settings that shape its parser (message.py). */
export interface H1ParserOptions {
  limit_request_line: number;
  limit_request_fields: number;
  limit_request_field_size: number;
  permit_obsolete_folding: boolean;
  strip_header_spaces: boolean;
  permit_unconventional_http_method: boolean;
  permit_unconventional_http_version: boolean;
  casefold_http_method: boolean;
}

/** One request's head as Gunicorn's parser reads it. */
export interface H1Head {
  method: string;
  /** The request target, as sent (latin-1). */
  target: string;
  /** "1.1", "1.0" (others with permit_unconventional_http_version). */
  httpVersion: string;
  versionMajor: number;
  versionMinor: number;
  /** name, value, ... : names as sent (less the spaces strip_header_spaces takes), values trimmed, folded lines joined. */
  rawHeaders: string[];
  /** The body's framing. */
  body: { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };
  /** Gunicorn's should_close(): the connection ends after this request. */
  close: boolean;
  /** A compressing transfer coding (Gunicorn's force_close). */
  forceClose: boolean;
  /** Expect: 100-continue on HTTP/1.1 and later. */
  expectsContinue: boolean;
}

export interface H1Events {
  /** The head is complete; throwing a RequestError refuses it. */
  onHead(head: H1Head): void;
  onBody(data: Buffer): void;
  /** The request is complete; `trailers`: name, value, ... */
  onComplete(trailers: string[]): void;
}

const MAX_REQUEST_LINE = 8190;
const MAX_HEADERS = 32768;
const DEFAULT_MAX_HEADERFIELD_SIZE = 8190;

// RFC 9110 5.6.2 token; Gunicorn's TOKEN_RE, METHOD_BADCHAR_RE, VERSION_RE.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$/;
const METHOD_BADCHAR = /[a-z#]/;
const VERSION = /^HTTP\/([0-9])\.([0-9])$/;
/** RFC 9110 5.5: controls other than HTAB, and DEL, never in a field value. */
const INVALID_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;
const HEX = /^[0-9a-fA-F]+$/;
/** RFC 9110 6.5.1: fields Gunicorn refuses in trailers. */
const FORBIDDEN_TRAILERS = new Set(['HOST', 'CONTENT-LENGTH', 'TRANSFER-ENCODING', 'TRAILER', 'AUTHORIZATION', 'TE']);

const CRLF = Buffer.from('\r\n', 'latin1');
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

type State =
  | { at: 'head' }
  | { at: 'length'; left: number }
  | { at: 'chunk-size' }
  | { at: 'chunk-data'; left: number }
  | { at: 'chunk-end' }
  | { at: 'trailers' }
  /** After a request that closes the connection (Gunicorn reads nothing more), or a refusal. */
  | { at: 'closed' }
  | { at: 'failed' };

/**
 * The client closed its side in the middle of a request (Gunicorn's
 * NoMoreData): nothing to answer, the connection just ends.
 */
export class NoMoreData extends Error {}

export class H1Parser {
  /** The request line's limit; 0: none. */
  readonly requestLine: number;
  readonly fields: number;
  /** A header line's limit (with its CRLF). */
  readonly fieldSize: number;
  /** Gunicorn's max_buffer_headers: the most a header block (or a trailer section) may take. */
  readonly headerBuffer: number;
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes given to execute() so far. */
  private fed = 0;
  private state: State = { at: 'head' };
  /** The request being read closes the connection after it. */
  private closing = false;

  constructor(
    private readonly opts: H1ParserOptions,
    private readonly events: H1Events,
  ) {
    const line = opts.limit_request_line;
    this.requestLine = line < 0 || line >= MAX_REQUEST_LINE ? MAX_REQUEST_LINE : line;
    const fields = opts.limit_request_fields;
    this.fields = fields <= 0 || fields > MAX_HEADERS ? MAX_HEADERS : fields;
    this.fieldSize = opts.limit_request_field_size <= 0 ? DEFAULT_MAX_HEADERFIELD_SIZE : opts.limit_request_field_size;
    this.headerBuffer = this.fields * (this.fieldSize + 2) + 4;
  }

  /** Between requests, with no byte of the next one in hand. */
  get idle(): boolean {
    return this.state.at === 'head' && this.buf.length === 0;
  }

  /** Reading a request's body (or its trailers). */
  get inBody(): boolean {
    return this.state.at !== 'head' && !this.done;
  }

  /** Bytes of the stream gone through so far (where the next request begins, after onComplete). */
  get position(): number {
    return this.fed - this.buf.length;
  }

  /**
   * Starts in the middle of a request whose head another parser read (llhttp,
   * which refused what came next): at a chunk line of its body, or past it
   * when it has none. `close`: the connection ends after it.
   */
  resumeBody(kind: 'chunked' | 'none', close: boolean): void {
    this.closing = close;
    if (kind === 'chunked') this.state = { at: 'chunk-size' };
    else this.complete([]);
  }

  /** No more requests on this connection: one closed it, or was refused. */
  get done(): boolean {
    return this.state.at === 'closed' || this.state.at === 'failed';
  }

  /** Takes the connection's next bytes; throws the RequestError that refuses the request they hold. */
  execute(data: Buffer): void {
    if (this.done) return;
    this.fed += data.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    try {
      while (this.step());
    } catch (e) {
      this.state = { at: 'failed' };
      this.buf = Buffer.alloc(0);
      throw e;
    }
  }

  /** One step on the bytes in hand; false when it needs more. */
  private step(): boolean {
    const s = this.state;
    switch (s.at) {
      case 'head':
        return this.head();
      case 'length': {
        if (this.buf.length === 0) return false;
        const n = Math.min(s.left, this.buf.length);
        const data = this.take(n);
        s.left -= n;
        this.events.onBody(data);
        if (s.left === 0) this.complete([]);
        return true;
      }
      case 'chunk-size':
        return this.chunkSize();
      case 'chunk-data': {
        if (this.buf.length === 0) return false;
        const n = Math.min(s.left, this.buf.length);
        const data = this.take(n);
        s.left -= n;
        this.events.onBody(data);
        if (s.left === 0) this.state = { at: 'chunk-end' };
        return true;
      }
      case 'chunk-end':
        if (this.buf.length < 2) return false;
        if (this.buf[0] !== 0x0d || this.buf[1] !== 0x0a) throw chunkMissingTerminator(this.buf.subarray(0, 2));
        this.take(2);
        this.state = { at: 'chunk-size' };
        return true;
      case 'trailers':
        return this.trailers();
      case 'closed':
      case 'failed':
        return false;
    }
  }

  /**
   * The client closed its side (FIN). Between requests nothing happens; a
   * body shorter than its Content-Length is complete with what came (Gunicorn
   * hands the app those bytes); a chunked body without its terminating CRLF
   * is ChunkMissingTerminator; anything else unfinished is NoMoreData.
   */
  end(): void {
    const s = this.state;
    if (this.done || this.idle) return;
    try {
      if (s.at === 'length') return this.complete([]);
      if (s.at === 'chunk-end') throw chunkMissingTerminator(this.buf.subarray(0, 2));
      if (s.at === 'trailers') throw chunkMissingTerminator(Buffer.alloc(0));
      throw new NoMoreData();
    } catch (e) {
      this.state = { at: 'failed' };
      throw e;
    }
  }

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  private complete(trailers: string[]): void {
    this.state = this.closing ? { at: 'closed' } : { at: 'head' };
    if (this.closing) this.buf = Buffer.alloc(0);
    this.events.onComplete(trailers);
  }

  /** Gunicorn's read_line for the request line, then the header block up to its empty line. */
  private head(): boolean {
    const buf = this.buf;
    if (buf.length === 0) return false;
    const lineEnd = buf.indexOf(CRLF);
    const limit = this.requestLine;
    if (lineEnd < 0) {
      if (limit > 0 && buf.length - 2 > limit) throw limitRequestLine(buf.length, limit);
      return false;
    }
    if (limit > 0 && lineEnd > limit) throw limitRequestLine(lineEnd, limit);
    const after = lineEnd + 2;
    let headerEnd: number;
    let next: number;
    if (buf[after] === 0x0d && buf[after + 1] === 0x0a) {
      headerEnd = after;
      next = after + 2;
    } else {
      const end = buf.indexOf(CRLFCRLF, after);
      if (end < 0) {
        if (buf.length - after > this.headerBuffer) throw limitRequestHeaders('max buffer headers');
        return false;
      }
      headerEnd = end;
      next = end + 4;
    }
    const line = buf.subarray(0, lineEnd).toString('latin1');
    const block = buf.subarray(after, headerEnd).toString('latin1');
    this.buf = buf.subarray(next);
    const head = this.parseRequestLine(line);
    head.rawHeaders = this.parseFields(block, false);
    this.frame(head);
    this.closing = head.close;
    this.events.onHead(head);
    const body = head.body;
    if (body.kind === 'chunked') this.state = { at: 'chunk-size' };
    else if (body.kind === 'length' && body.length > 0) this.state = { at: 'length', left: body.length };
    else this.complete([]);
    return true;
  }

  /** Gunicorn's parse_request_line. */
  private parseRequestLine(line: string): H1Head {
    const first = line.indexOf(' ');
    const second = first < 0 ? -1 : line.indexOf(' ', first + 1);
    if (second < 0) throw invalidRequestLine(line);
    let method = line.slice(0, first);
    const target = line.slice(first + 1, second);
    const version = line.slice(second + 1);
    if (!this.opts.permit_unconventional_http_method) {
      if (METHOD_BADCHAR.test(method) || method.length < 3 || method.length > 20) throw invalidMethod(method);
    }
    if (!TOKEN.test(method)) throw invalidMethod(method);
    if (this.opts.casefold_http_method) method = method.toUpperCase();
    // RFC 9112 3.2: no request-target form is empty; "*" is OPTIONS' only,
    // and a target that is neither origin- nor absolute-form is CONNECT's authority-form.
    if (target === '') throw invalidRequestLine(line);
    if (target === '*' && method !== 'OPTIONS') throw invalidRequestLine(line);
    if (method !== 'CONNECT' && target !== '*' && !target.startsWith('/') && !target.includes('://')) {
      throw invalidRequestLine(line);
    }
    const m = VERSION.exec(version);
    if (!m) throw invalidVersion(pyRepr(version));
    const major = Number(m[1]);
    const minor = Number(m[2]);
    if ((major !== 1 || minor > 9) && !this.opts.permit_unconventional_http_version) {
      throw invalidVersion(`(${major}, ${minor})`);
    }
    return {
      method,
      target,
      httpVersion: `${major}.${minor}`,
      versionMajor: major,
      versionMinor: minor,
      rawHeaders: [],
      body: { kind: 'none' },
      close: false,
      forceClose: false,
      expectsContinue: false,
    };
  }

  /** Gunicorn's parse_headers on a header block (or a trailer section), CRLF-separated, without its empty line. */
  private parseFields(block: string, trailer: boolean): string[] {
    const out: string[] = [];
    if (block === '') return out;
    const lines = block.split('\r\n');
    let i = 0;
    while (i < lines.length) {
      if (out.length / 2 >= this.fields) throw limitRequestHeaders('limit request headers fields');
      const curr = lines[i++]!;
      let length = curr.length + 2;
      const colon = curr.indexOf(':');
      if (colon <= 0) throw invalidHeader(curr);
      let name = curr.slice(0, colon);
      if (this.opts.strip_header_spaces) name = name.replace(/[ \t]+$/, '');
      if (!TOKEN.test(name)) throw invalidHeaderName(name);
      const upper = name.toUpperCase();
      if (trailer && FORBIDDEN_TRAILERS.has(upper)) throw invalidHeaderName(upper);
      const parts = [trimOws(curr.slice(colon + 1))];
      while (i < lines.length && (lines[i]!.startsWith(' ') || lines[i]!.startsWith('\t'))) {
        if (!this.opts.permit_obsolete_folding) throw obsoleteFolding(upper);
        const cont = lines[i++]!;
        length += cont.length + 2;
        if (length > this.fieldSize) throw limitRequestHeaders('limit request headers fields size');
        parts.push(trimOws(cont));
      }
      const value = parts.join(' ');
      if (INVALID_VALUE_CHAR.test(value)) throw invalidHeader(upper);
      if (length > this.fieldSize) throw limitRequestHeaders('limit request headers fields size');
      out.push(name, value);
    }
    return out;
  }

  /** Gunicorn's set_body_reader and should_close. */
  private frame(head: H1Head): void {
    let chunked = false;
    let length: string | null = null;
    let connection: string | null = null;
    const raw = head.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toUpperCase();
      const value = raw[i + 1]!;
      if (name === 'CONTENT-LENGTH') {
        if (length !== null) throw invalidHeader('CONTENT-LENGTH');
        length = value;
      } else if (name === 'TRANSFER-ENCODING') {
        const codings = transferCodings(value, chunked);
        chunked = codings.chunked;
        if (codings.close) head.forceClose = true;
      } else if (name === 'CONNECTION' && connection === null) {
        connection = value.toLowerCase().replace(/^[ \t]+|[ \t]+$/g, '');
      } else if (name === 'EXPECT' && value.toLowerCase() === '100-continue' && head.versionMajor * 10 + head.versionMinor >= 11) {
        head.expectsContinue = true;
      }
    }
    const v = head.versionMajor * 10 + head.versionMinor;
    if (chunked) {
      // Chunked framing in HTTP/1.0 is always faulty; beside a Content-Length, ambiguous (RFC 9112 6.1, 6.3).
      if (v < 11) throw invalidHeader('TRANSFER-ENCODING');
      if (length !== null) throw invalidHeader('CONTENT-LENGTH');
      head.body = { kind: 'chunked' };
    } else if (length !== null) {
      if (!/^[0-9]+$/.test(length)) throw invalidHeader('CONTENT-LENGTH');
      head.body = { kind: 'length', length: Number(length) };
    }
    head.close = head.forceClose || (connection === 'close' ? true : connection === 'keep-alive' ? false : v <= 10);
  }

  /** Gunicorn's parse_chunk_size: hex digits, then BWS only before a ";" extension. */
  private chunkSize(): boolean {
    const end = this.buf.indexOf(CRLF);
    // Gunicorn bounds the line by limit_request_field_size (8190 when unset).
    const limit = this.opts.limit_request_field_size || DEFAULT_MAX_HEADERFIELD_SIZE;
    if (end < 0) {
      if (this.buf.length > limit) throw invalidChunkSize(Buffer.from(`line over ${limit} bytes with no terminator`, 'latin1'));
      return false;
    }
    const line = this.take(end + 2).subarray(0, end);
    let size = line;
    const semi = line.indexOf(0x3b);
    if (semi >= 0) {
      if (line.subarray(semi + 1).includes(0x0d)) throw invalidChunkExtension('bare CR not allowed');
      size = line.subarray(0, semi);
      let e = size.length;
      while (e > 0 && (size[e - 1] === 0x20 || size[e - 1] === 0x09)) e--;
      size = size.subarray(0, e);
    }
    const text = size.toString('latin1');
    if (!HEX.test(text)) throw invalidChunkSize(size);
    const n = parseInt(text, 16);
    if (n === 0) this.state = { at: 'trailers' };
    else this.state = { at: 'chunk-data', left: n };
    return true;
  }

  /** Gunicorn's parse_trailers: an empty line, or fields up to one. */
  private trailers(): boolean {
    const buf = this.buf;
    if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
      this.take(2);
      this.complete([]);
      return true;
    }
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      if (buf.length > this.headerBuffer) throw limitRequestHeaders('limit request trailer section size');
      return false;
    }
    const block = buf.subarray(0, end).toString('latin1');
    this.buf = buf.subarray(end + 4);
    this.complete(this.parseFields(block, true));
    return true;
  }
}

/** Python's str.strip(" \t"). */
function trimOws(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}
