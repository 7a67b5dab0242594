// Gunicorn 26's rules for the HTTP/1 response it writes (gunicorn/http/wsgi.py,
// Response: default_headers, start_response, write; and the wsgi.early_hints
// callback), applied where the front door's response is written:
// - the status line carries the request's HTTP version (HTTP/1.0 for an
//   HTTP/1.0 request), then `Server` and `Date`, then the app's headers;
// - 1xx and 204 responses lose the app's Content-Length (RFC 9110 §8.6), a HEAD
//   or 304 keeps it;
// - HEAD, 1xx, 204 and 304 responses carry no body: bytes the app sends for
//   one are dropped, with one warning per request (Gunicorn's words);
// - a 103 Early Hints response goes out before the final one, to HTTP/1.1
//   clients only.
// Gunicorn's own error pages (util.write_error: a request the app never
// saw, a 500 for an app error) keep their HTTP/1.1 status line and have no
// Server or Date header, as there.
//
// One Http1Response per request: the front door makes it with the request, the
// bridge hands it the app's status and headers, body sizes and hints.

import type { ServerResponse } from 'node:http';

/** Gunicorn's SERVER (the product without its version; SERVER_SOFTWARE in environ has the version). */
export const SERVER = 'nicorn-py';

/** What the app's start_response gave, as the bridge decoded it. */
export interface AppStart {
  statusCode: number;
  reason: string;
  /** name, value, name, value, ... */
  headers: string[];
  /** Gunicorn's error page (write_error), not the app's response. */
  errorPage?: boolean;
}

/** RFC 9110: no content for HEAD, 1xx, 204, 304 (Gunicorn's _response_omits_body). */
export function omitsBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** RFC 9110 §8.6: never Content-Length on 1xx or 204 (Gunicorn's _response_forbids_content_length). */
export function forbidsContentLength(status: number): boolean {
  return status === 204 || (status >= 100 && status < 200);
}

/** Gunicorn's warning, once per request, when the app sends body bytes on a response without content. */
export function noBodyWarning(method: string, status: number): string {
  return `WSGI app sent body bytes on a no-body response (method=${method} status=${status}); dropping per RFC 9110.`;
}

let dateSecond = -1;
let dateText = '';
/** The Date header's value; made once a second, as node's own. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

// RFC 9110 token and field value, as Gunicorn's TOKEN_RE and HEADER_VALUE_RE.
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
export const FIELD_VALUE = /^[ \t\x21-\x7e\x80-\xff]*$/;

/**
 * The 103 Early Hints head for name/value pairs, or null when a pair is not a
 * valid header (the Python side refuses those to the app; this is the wire's guard).
 */
export function earlyHintsHead(pairs: readonly string[]): string | null {
  let head = 'HTTP/1.1 103 Early Hints\r\n';
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i]!;
    const value = pairs[i + 1]!;
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return null;
    head += `${name}: ${value.replace(/^[ \t]+|[ \t]+$/g, '')}\r\n`;
  }
  return `${head}\r\n`;
}

/** node:http's internals this module writes through; both exist in node 20 and 26. */
interface NodeResponseInternals {
  /** The head node built in writeHead, sent with the first body bytes. */
  _header?: string | null;
  /** Writes raw bytes in the response's place (queued behind earlier pipelined responses): what writeEarlyHints uses. */
  _writeRaw?: (data: string, encoding: BufferEncoding) => boolean;
}

/**
 * Gunicorn's content rules for one response, on any protocol: a response to
 * HEAD, a 1xx, 204 or 304 carries no body bytes (dropped, the first drop
 * logged), and a 1xx or 204 no Content-Length.
 */
export class BodyRules {
  private status = 0;
  private noBody = false;
  private warned = false;

  constructor(
    private readonly method: string,
    private readonly warn: (message: string) => void,
  ) {}

  /** Takes the response's status; returns its headers as they are sent. */
  begin(code: number, headers: string[]): string[] {
    this.status = code;
    this.noBody = omitsBody(this.method, code);
    return forbidsContentLength(code) ? withoutContentLength(headers) : headers;
  }

  /**
   * Whether `bytes` body bytes go on the wire. On a response without content
   * they are dropped, and the first non-empty drop of the request is logged.
   */
  keepsBody(bytes: number): boolean {
    if (!this.noBody) return true;
    if (bytes !== 0 && !this.warned) {
      this.warned = true;
      this.warn(noBodyWarning(this.method, this.status));
    }
    return false;
  }
}

export class Http1Response {
  private readonly body: BodyRules;

  constructor(
    method: string,
    private readonly httpVersion: string,
    private readonly warn: (message: string) => void,
  ) {
    this.body = new BodyRules(method, warn);
  }

  /** Writes the head of the app's response (or of Gunicorn's error page) with Gunicorn's rules. */
  writeHead(res: ServerResponse, start: AppStart): void {
    const code = start.statusCode;
    const headers = this.body.begin(code, start.headers);
    if (start.errorPage) {
      res.sendDate = false;
      res.writeHead(code, start.reason, headers);
      return;
    }
    res.writeHead(code, start.reason, ['Server', SERVER, 'Date', httpDate(), ...headers]);
    if (this.httpVersion === '1.0') {
      // node writes "HTTP/1.1" whatever the request said; Gunicorn answers in the request's version.
      const r = res as ServerResponse & NodeResponseInternals;
      if (typeof r._header === 'string' && r._header.startsWith('HTTP/1.1 ')) r._header = `HTTP/1.0 ${r._header.slice(9)}`;
    }
  }

  /** Whether `bytes` body bytes go on the wire (BodyRules). */
  keepsBody(bytes: number): boolean {
    return this.body.keepsBody(bytes);
  }

  /**
   * wsgi.early_hints: a 103 response now, before the final one; not once the
   * final head is out, and never to an HTTP/1.0 client (Gunicorn 26's rules).
   */
  writeEarlyHints(res: ServerResponse, pairs: readonly string[]): void {
    if (this.httpVersion === '1.0' || res.headersSent || res.destroyed) return;
    const head = earlyHintsHead(pairs);
    const r = res as ServerResponse & NodeResponseInternals;
    if (head === null) return;
    if (typeof r._writeRaw !== 'function') {
      // Nothing silent: a node without it would lose every hint.
      this.warn('103 Early Hints not sent: this node has no ServerResponse._writeRaw');
      return;
    }
    r._writeRaw(head, 'latin1');
  }
}

export function withoutContentLength(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'content-length') continue;
    out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}
