// Gunicorn's request rules (gunicorn/http/message.py) that llhttp, strict as it
// is, does not apply itself: the size limits, HTTP versions other than 1.0 and
// 1.1, stacked or unknown transfer codings, header names with "_", and the
// scheme headers a trusted proxy may set. Checked once per request head,
// before anything reaches Python.

import type { Settings } from '../../config/registry.js';
import { AllowList } from '../../config/networks.js';
import {
  invalidHeader, invalidHeaderName, invalidSchemeHeaders, invalidVersion, limitRequestHeaders, limitRequestLine,
  unsupportedTransferCoding,
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
>;

/** Gunicorn's hard ceilings (message.py). */
const MAX_REQUEST_LINE = 8190;
const MAX_HEADERS = 32768;
const DEFAULT_MAX_HEADERFIELD_SIZE = 8190;

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
    const lineLength = head.method.length + head.url.length + head.httpVersion.length + 7;
    if (this.requestLine > 0 && lineLength > this.requestLine) throw limitRequestLine(lineLength, this.requestLine);
    if (head.httpVersion !== '1.1' && head.httpVersion !== '1.0') {
      throw invalidVersion(`(${head.httpVersion.split('.').join(', ')})`);
    }

    const trusted = peer === null || this.trusted.allows(peer);
    const raw = head.rawHeaders;
    const headers: string[] = [];
    let scheme = listenerScheme;
    let schemeSet = false;
    let chunked = false;
    let close = false;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (headers.length / 2 >= this.fields) throw limitRequestHeaders('limit request headers fields');
      const name = raw[i]!;
      const value = raw[i + 1]!;
      // Gunicorn measures the line as received, "Name: value\r\n"; llhttp has dropped the optional whitespace.
      if (this.fieldSize > 0 && name.length + value.length + 4 > this.fieldSize) {
        throw limitRequestHeaders('limit request headers fields size');
      }
      const upper = name.toUpperCase();
      if (trusted) {
        const expected = this.schemeHeaders.get(upper);
        if (expected !== undefined) {
          const said = value === expected ? 'https' : 'http';
          if (schemeSet && said !== scheme) throw invalidSchemeHeaders();
          scheme = said;
          schemeSet = true;
        }
      }
      if (upper === 'TRANSFER-ENCODING') {
        for (const coding of value.split(',').map((v) => v.trim().toLowerCase())) {
          if (coding === 'chunked') {
            if (chunked) throw invalidHeader('TRANSFER-ENCODING');
            chunked = true;
          } else if (coding === 'identity') {
            if (chunked) throw invalidHeader('TRANSFER-ENCODING');
          } else if (coding === 'compress' || coding === 'deflate' || coding === 'gzip') {
            if (chunked) throw invalidHeader('TRANSFER-ENCODING');
            close = true;
          } else {
            throw unsupportedTransferCoding(value);
          }
        }
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
