// Gunicorn's request rules (gunicorn/http/message.py) that llhttp, strict as it
// is, does not apply itself: the size limits, HTTP versions other than 1.0 and
// 1.1, stacked or unknown transfer codings, header names with "_", and the
// scheme headers a trusted proxy may set. Checked once per request head,
// before anything reaches Python.

import http from 'node:http';
import type { Settings } from '../../config/registry.js';
import { AllowList, parseIPv6 } from '../../config/networks.js';
import {
  RequestError, fromParserError, headerValues, invalidHeader, invalidHeaderName, invalidRequestLine, invalidSchemeHeaders,
  invalidVersion, limitRequestHeaders, limitRequestLine, unsupportedTransferCoding, type ParserError,
} from './errors.js';

export type RuleSettings = Pick<
  Settings,
  | 'limit_request_line'
  | 'limit_request_fields'
  | 'limit_request_field_size'
  | 'header_map'
  | 'secure_scheme_headers'
  | 'forwarded_allow_ips'
  | 'forwarder_headers'
> &
  Partial<Pick<Settings, 'permit_unconventional_http_version'>>;

/** Gunicorn's hard ceilings (message.py). */
const MAX_REQUEST_LINE = 8190;
const MAX_HEADERS = 32768;
const DEFAULT_MAX_HEADERFIELD_SIZE = 8190;

/**
 * RFC 9110 section 5.3: fields whose grammar admits one member only, so a
 * repeat cannot be merged and leaves the message ambiguous (Gunicorn 26's
 * RFC9110_5_3_SINGLETON_FIELDS; a repeated Content-Length llhttp refuses itself).
 */
const SINGLETON_FIELDS = new Set(['HOST', 'CONTENT-TYPE']);

/** The parts of a parsed request head the rules look at. */
export interface ParsedHead {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: readonly string[];
}

export interface CheckedHead {
  /** The header pairs the app may see (names with "_" dropped under header_map 'drop'). */
  headers: string[];
  /** wsgi.url_scheme: the listener's, or what a trusted proxy's scheme header says. */
  scheme: 'http' | 'https';
  /** A compressing transfer coding: the connection closes after this request, as in Gunicorn. */
  close: boolean;
}

export class RequestRules {
  /** Longest request line (without CRLF); 0 means no limit. */
  readonly requestLine: number;
  readonly fields: number;
  /** Longest header line (with CRLF); 0 means no limit. */
  readonly fieldSize: number;
  /** Gunicorn's max_buffer_headers: the header block may never grow past it. */
  readonly headerBuffer: number;
  private readonly trusted: AllowList;
  private readonly schemeHeaders: Map<string, string>;
  private readonly forwarders: Set<string>;
  private readonly headerMap: RuleSettings['header_map'];
  private readonly anyVersion: boolean;

  constructor(s: RuleSettings) {
    const line = s.limit_request_line;
    this.requestLine = line < 0 || line >= MAX_REQUEST_LINE ? MAX_REQUEST_LINE : line;
    const fields = s.limit_request_fields;
    this.fields = fields <= 0 || fields > MAX_HEADERS ? MAX_HEADERS : fields;
    this.fieldSize = s.limit_request_field_size < 0 ? DEFAULT_MAX_HEADERFIELD_SIZE : s.limit_request_field_size;
    this.headerBuffer = this.fields * ((this.fieldSize || DEFAULT_MAX_HEADERFIELD_SIZE) + 2) + 4;
    this.trusted = AllowList.parse(s.forwarded_allow_ips);
    this.schemeHeaders = new Map(Object.entries(s.secure_scheme_headers).map(([k, v]) => [k.toUpperCase(), String(v)]));
    this.forwarders = new Set(s.forwarder_headers.map((h) => h.toUpperCase()));
    this.headerMap = s.header_map;
    this.anyVersion = s.permit_unconventional_http_version ?? false;
  }

  /** The most a request head may take before the parser gives up (node's maxHeaderSize). */
  get maxHeadBytes(): number {
    return (this.requestLine || MAX_REQUEST_LINE) + 2 + this.headerBuffer;
  }

  /**
   * Throws the RequestError Gunicorn would raise for this head.
   * `peer` is the socket's peer address, null on a unix socket (always trusted, as in Gunicorn).
   */
  check(head: ParsedHead, peer: string | null, listenerScheme: 'http' | 'https'): CheckedHead {
    return this.checkHead(head, peer, listenerScheme, false);
  }

  /**
   * The same rules for one HTTP/2 stream (Gunicorn 26's HTTP2Request puts an
   * h2 request's headers through the HTTP/1 header policy): the request line
   * measured as "METHOD path HTTP/2.0", no HTTP/1 version or transfer-coding
   * rules (HTTP/2 frames its own bodies; node refuses connection-specific fields).
   */
  checkStream(head: ParsedHead, peer: string | null, listenerScheme: 'http' | 'https'): CheckedHead {
    return this.checkHead(head, peer, listenerScheme, true);
  }

  /** Whether `peer` is in forwarded_allow_ips (a unix socket's null always is, as in Gunicorn). */
  trusts(peer: string | null): boolean {
    return peer === null || this.trusted.allows(peer);
  }

  private checkHead(head: ParsedHead, peer: string | null, listenerScheme: 'http' | 'https', http2: boolean): CheckedHead {
    if (head.url === '*' && head.method !== 'OPTIONS') throw invalidRequestLine(`${head.method} * HTTP/${head.httpVersion}`);
    // Gunicorn 26.2's parser passes a NUL in the target on (its corpus once refused it: nonascii_05);
    // the head crosses to Python as a NUL-separated record (bridge/protocol.ts), which cannot carry one.
    if (head.url.includes('\0')) throw invalidRequestLine(`${head.method} ${head.url} HTTP/${head.httpVersion}`);
    if (!validAuthority(head.url)) throw invalidRequestLine(`${head.method} ${head.url} HTTP/${head.httpVersion}`);
    const lineLength = head.method.length + head.url.length + head.httpVersion.length + 7;
    if (this.requestLine > 0 && lineLength > this.requestLine) throw limitRequestLine(lineLength, this.requestLine);
    // Gunicorn takes any HTTP/1.x (1.2 too: h1-parser.ts reads what llhttp refuses), others with
    // permit_unconventional_http_version (llhttp itself passes 0.9 and 2.0 on).
    if (!http2 && !head.httpVersion.startsWith('1.') && !this.anyVersion) {
      throw invalidVersion(`(${head.httpVersion.split('.').join(', ')})`);
    }

    const trusted = this.trusts(peer);
    const raw = head.rawHeaders;
    const headers: string[] = [];
    let scheme = listenerScheme;
    let schemeSet = false;
    let chunked = false;
    let close = false;
    const seen = new Set<string>();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (headers.length / 2 >= this.fields) throw limitRequestHeaders('limit request headers fields');
      const name = raw[i]!;
      const value = raw[i + 1]!;
      // Gunicorn measures the line as received, "Name: value\r\n"; llhttp has dropped the optional whitespace.
      if (this.fieldSize > 0 && name.length + value.length + 4 > this.fieldSize) {
        throw limitRequestHeaders('limit request headers fields size');
      }
      const upper = name.toUpperCase();
      // Gunicorn applies this before its scheme and header_map rules.
      if (SINGLETON_FIELDS.has(upper)) {
        if (seen.has(upper)) throw invalidHeader(upper);
        seen.add(upper);
      }
      if (trusted) {
        const expected = this.schemeHeaders.get(upper);
        if (expected !== undefined) {
          const said = value === expected ? 'https' : 'http';
          if (schemeSet && said !== scheme) throw invalidSchemeHeaders();
          scheme = said;
          schemeSet = true;
        }
      }
      if (upper === 'TRANSFER-ENCODING' && !http2) {
        const codings = transferCodings(value, chunked);
        chunked = codings.chunked;
        close ||= codings.close;
      }
      if (upper.includes('_') && !(trusted && (this.forwarders.has(upper) || this.forwarders.has('*')))) {
        if (this.headerMap === 'drop') continue;
        if (this.headerMap !== 'dangerous') throw invalidHeaderName(upper);
      }
      headers.push(name, value);
    }
    // Chunked framing in HTTP/1.0 is always faulty (RFC 9112 section 6.1).
    if (chunked && head.httpVersion === '1.0') throw invalidHeader('TRANSFER-ENCODING');
    return { headers, scheme, close };
  }
}

/**
 * One Transfer-Encoding value, as Gunicorn's set_body_reader reads the list:
 * chunked once and last; identity and the compressions only before it.
 */
export function transferCodings(value: string, chunkedBefore: boolean): { chunked: boolean; close: boolean } {
  let chunked = chunkedBefore;
  let close = false;
  for (const coding of value.split(',').map((v) => v.trim().toLowerCase())) {
    if (coding === 'chunked') {
      if (chunked) throw invalidHeader('TRANSFER-ENCODING');
      chunked = true;
    } else if (coding === 'identity' || coding === 'compress' || coding === 'deflate' || coding === 'gzip') {
      if (chunked) throw invalidHeader('TRANSFER-ENCODING');
      close ||= coding !== 'identity';
    } else {
      throw unsupportedTransferCoding(value);
    }
  }
  return { chunked, close };
}

/**
 * What llhttp's refusal means in Gunicorn's terms. For transfer codings llhttp
 * only says "invalid": Gunicorn's own reading of the header picks the error
 * (a bare gzip, which Gunicorn would take, llhttp refuses: 400).
 */
export function parserRefusal(err: ParserError, requestLineLimit: number): RequestError {
  if (err.code === 'HPE_INVALID_TRANSFER_ENCODING' && !/Content-Length/i.test(err.reason)) {
    try {
      let chunked = false;
      for (const value of headerValues(err.rawPacket, 'transfer-encoding')) chunked = transferCodings(value, chunked).chunked;
    } catch (e) {
      if (e instanceof RequestError) return e;
      throw e;
    }
  }
  return fromParserError(err, requestLineLimit);
}

/**
 * The refusal of a connection's first request line when it has no HTTP
 * version ("GET /path", HTTP/0.9's form): Gunicorn's parse_request_line splits
 * the line on its first two spaces and refuses anything but three parts, at
 * once. llhttp takes such a line for HTTP/0.9 and waits for header lines
 * that never come. The same look at the line refuses, as Gunicorn does, an
 * empty line before the request and two spaces after the method, which
 * llhttp takes (a connection's first request only: later ones reach llhttp
 * directly). `bytes` are the connection's first bytes; null while the
 * line is not complete, or when it has its three parts (the parser's to judge).
 */
export function versionlessRequestLine(bytes: Buffer): RequestError | null {
  const end = bytes.indexOf(0x0a);
  if (end < 0) return null;
  const line = bytes.subarray(0, end > 0 && bytes[end - 1] === 0x0d ? end - 1 : end).toString('latin1');
  // Gunicorn 26 refuses an empty line before the request (llhttp skips it, as RFC 9112 2.2 allows).
  if (line === '') return invalidRequestLine(line);
  const parts = line.split(' ');
  if (parts.length < 3) return invalidRequestLine(line);
  // Two spaces after a method llhttp knows: Gunicorn's split makes the target empty and refuses
  // the line; llhttp takes the spaces as one. (Other methods are llhttp's to refuse, and the
  // front door's own parser's to judge: h1-fallback.ts.)
  if (parts[1] === '' && http.METHODS.includes(parts[0]!)) return invalidRequestLine(line);
  return null;
}

/**
 * Fields RFC 9110 section 6.5.1 keeps out of trailers that Gunicorn 26 refuses
 * there (RFC9110_6_5_1_FORBIDDEN_TRAILER: those that alter routing, framing or
 * authentication), upper-cased. Others (Vary, Content-Type, ...) are taken, as
 * Gunicorn takes them; WSGI has no place for trailers, so the app does not see them.
 */
const FORBIDDEN_TRAILERS = new Set(['HOST', 'CONTENT-LENGTH', 'TRANSFER-ENCODING', 'TRAILER', 'AUTHORIZATION', 'TE']);

export function forbiddenTrailer(rawTrailers: readonly string[]): string | null {
  for (let i = 0; i < rawTrailers.length; i += 2) {
    const name = rawTrailers[i]!.toUpperCase();
    if (FORBIDDEN_TRAILERS.has(name)) return name;
  }
  return null;
}

/**
 * Whether Python's urlsplit (Gunicorn's split_request_uri) takes an
 * absolute-form target's authority: brackets must pair and hold an IPv6 address.
 */
function validAuthority(target: string): boolean {
  if (target.startsWith('/') || target === '*') return true;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(target);
  if (!scheme) return true;
  const rest = target.slice(scheme[0].length);
  const netloc = rest.slice(0, rest.search(/[/?#]|$/));
  const open = netloc.includes('[');
  if (open !== netloc.includes(']')) return false;
  if (!open) return true;
  const host = /\[([^\]]*)\]/.exec(netloc)?.[1] ?? '';
  return host.startsWith('v') || parseIPv6(host.split('%')[0]!) !== null;
}
