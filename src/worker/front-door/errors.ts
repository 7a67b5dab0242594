// Gunicorn's answers to requests it refuses (workers/base.py handle_error and
// util.write_error): the status, the small HTML page, and the text of the
// exception as the error log's "Invalid request from ip=...: ..." line shows it.

import { pyRepr } from '../../config/validators.js';

/** A request refused before it reaches the app. */
export class RequestError extends Error {
  constructor(
    /** str() of Gunicorn's exception: the log line's text. */
    message: string,
    readonly status: number,
    readonly reason: string,
    /** The sentence in the error page's body. */
    readonly mesg: string,
  ) {
    super(message);
  }
}

const bad = (message: string, mesg = message) => new RequestError(message, 400, 'Bad Request', mesg);

// One constructor per Gunicorn exception (gunicorn/http/errors.py), with handle_error's page text.
export const invalidRequestLine = (line: string) => {
  const s = `Invalid HTTP request line: ${pyRepr(line)}`;
  return bad(s, `Invalid Request Line '${s}'`);
};
export const invalidMethod = (method: string) => {
  const s = `Invalid HTTP method: ${pyRepr(method)}`;
  return bad(s, `Invalid Method '${s}'`);
};
export const invalidVersion = (version: string) => {
  const s = `Invalid HTTP Version: ${version}`;
  return bad(s, `Invalid HTTP Version '${s}'`);
};
export const invalidHeader = (name: string) => bad(`Invalid HTTP Header: ${pyRepr(name)}`);
export const invalidHeaderName = (name: string) => bad(`Invalid HTTP header name: ${pyRepr(name)}`);
export const obsoleteFolding = (name: string) => bad(`Obsolete line folding is unacceptable: ${pyRepr(name)}`);
export const invalidSchemeHeaders = () => bad('Contradictory scheme headers');
export const limitRequestLine = (size: number, max: number) => bad(`Request Line is too large (${size} > ${max})`);
export const limitRequestHeaders = (msg: string) =>
  new RequestError(msg, 431, 'Request Header Fields Too Large', `Error parsing headers: '${msg}'`);
export const unsupportedTransferCoding = (value: string) => {
  const s = `Unsupported transfer coding: ${pyRepr(value)}`;
  return new RequestError(s, 501, 'Not Implemented', s);
};
export const invalidProxyLine = (text: string) => {
  const s = `Invalid PROXY line: ${pyRepr(text)}`;
  return bad(s, `'${s}'`);
};
export const invalidProxyHeader = (detail: string) => bad(`Invalid PROXY header: ${detail}`);
export const forbiddenProxyRequest = (host: string) =>
  new RequestError(`Proxy request from ${pyRepr(host)} not allowed`, 403, 'Forbidden', 'Request forbidden');
// Gunicorn reads bodies lazily, inside the app; its chunk errors are IOErrors. Here
// the parser meets them before the app is called, and the request is refused.
export const invalidChunk = (detail: string) => bad(`Invalid chunk size: ${pyRepr(detail)}`);

/** Gunicorn's InvalidChunkSize (its data is bytes: the log quotes them as b'...'). */
export const invalidChunkSize = (data: Buffer) => bad(`Invalid chunk size: ${pyBytesRepr(data)}`);
export const chunkMissingTerminator = (term: Buffer) => bad(`Invalid chunk terminator is not '\\r\\n': ${pyBytesRepr(term)}`);
export const invalidChunkExtension = (reason: string) => bad(`Invalid chunk extension: ${reason}`);

export const unsupportedConnect = (target: string) => bad(`CONNECT with a body is not supported: ${pyRepr(target)}`);

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');

/** util.write_error's page: the body alone. */
export function errorPage(reason: string, mesg: string): Buffer {
  const page =
    `<html>\n  <head>\n    <title>${reason}</title>\n  </head>\n  <body>\n` +
    `    <h1><p>${reason}</p></h1>\n    ${escapeHtml(mesg)}\n  </body>\n</html>\n`;
  return Buffer.from(page, 'latin1');
}

/** util.write_error: the whole response, ready for the socket. */
export function errorResponse(e: RequestError): Buffer {
  const body = errorPage(e.reason, e.mesg);
  const head =
    `HTTP/1.1 ${e.status} ${e.reason}\r\nConnection: close\r\nContent-Type: text/html\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** What node's parser error (llhttp's code and reason) means in Gunicorn's terms. */
export interface ParserError {
  code: string;
  reason: string;
  /** The bytes the parser was given when it failed (node's err.rawPacket). */
  rawPacket?: Buffer;
}

/** The first line of what the parser was reading, for the log and the page. */
function firstLine(raw: Buffer | undefined): string {
  if (!raw) return '';
  const s = raw.toString('latin1');
  const end = s.search(/\r?\n/);
  return end < 0 ? s : s.slice(0, end);
}

/** The error as Gunicorn would have raised it, from what llhttp says (its transfer codings aside: rules.ts). */
export function fromParserError(err: ParserError, requestLineLimit: number): RequestError {
  const line = firstLine(err.rawPacket);
  switch (err.code) {
    case 'HPE_INVALID_METHOD':
      return invalidMethod(line.split(' ')[0] ?? '');
    case 'HPE_INVALID_VERSION':
      return invalidVersion(pyRepr(line.split(' ')[2] ?? line));
    case 'HPE_INVALID_URL':
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_CR_EXPECTED':
    case 'HPE_LF_EXPECTED':
      return invalidRequestLine(line);
    case 'HPE_HEADER_OVERFLOW':
      // The head outgrew what Gunicorn's limits allow in total: a request line
      // still without its end, or the header block (Gunicorn's "max buffer headers").
      if (err.rawPacket && !err.rawPacket.includes('\n') && requestLineLimit > 0) {
        return limitRequestLine(err.rawPacket.length, requestLineLimit);
      }
      return limitRequestHeaders('max buffer headers');
    case 'HPE_INVALID_HEADER_TOKEN':
      if (/whitespace after header value/i.test(err.reason)) return obsoleteFolding('');
      if (/value/i.test(err.reason)) return invalidHeader('');
      return invalidHeaderName('');
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return invalidHeader('CONTENT-LENGTH');
    case 'HPE_INVALID_TRANSFER_ENCODING':
      if (/Content-Length/i.test(err.reason)) return invalidHeader('CONTENT-LENGTH');
      return invalidHeader('TRANSFER-ENCODING');
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_STRICT':
    case 'HPE_INVALID_EOF_STATE':
      return invalidChunk(err.reason);
    default:
      return bad(`${err.code}: ${err.reason}`, err.reason);
  }
}

/** Every value of a header in raw request bytes (for what llhttp refused without saying). */
export function headerValues(raw: Buffer | undefined, name: string): string[] {
  if (!raw) return [];
  const re = new RegExp(`^${name}:[ \\t]*([^\\r\\n]*)`, 'gim');
  return [...raw.toString('latin1').matchAll(re)].map((m) => m[1]!.trim());
}

/** Python's repr() of bytes (b'...'), as Gunicorn's messages quote raw data. */
export function pyBytesRepr(data: Buffer): string {
  const s = data.toString('latin1');
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = `b${q}`;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}

/**
 * Gunicorn 26.2's InvalidH2CPreface: a trusted peer on a prior-knowledge h2c
 * port sent something other than the HTTP/2 connection preface (`data`: the
 * bytes read, at most the preface's 24).
 */
export const invalidH2CPreface = (data: Buffer) => bad(`Expected HTTP/2 connection preface, got ${pyBytesRepr(data)}`);
