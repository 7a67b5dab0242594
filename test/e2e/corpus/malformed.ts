// Requests a Gunicorn-compatible server must refuse, as raw bytes, each with
// the status Gunicorn answers and where the rule comes from: Gunicorn's own
// corpus (tests/requests/invalid/*.http with its *.py expectation), its parser
// (gunicorn/http/message.py, body.py) or RFC 9110 / 9112.
//
// `note` marks a case where nicorn-py's answer is not Gunicorn 23's: llhttp is
// stricter (the README lists these differences), or only the
// newest Gunicorn refuses it, or Gunicorn notices the error only while the app
// reads wsgi.input whereas nicorn-py refuses before the app is called.

/** Which of the suite's servers a case is sent to. */
export type ServerName =
  /** Gunicorn's defaults: --limit-request-line 4094, --limit-request-fields 100, --limit-request-field_size 8190, --header-map drop. */
  | 'main'
  /** --limit-request-line 100 --limit-request-fields 5 --limit-request-field_size 50 --header-map refuse */
  | 'small'
  /** --limit-request-line 0 --limit-request-fields 0 --limit-request-field_size 0 --header-map dangerous */
  | 'unlimited';

export const SERVER_ARGS: Record<ServerName, string[]> = {
  main: [],
  small: ['--limit-request-line', '100', '--limit-request-fields', '5', '--limit-request-field_size', '50', '--header-map', 'refuse'],
  unlimited: ['--limit-request-line', '0', '--limit-request-fields', '0', '--limit-request-field_size', '0', '--header-map', 'dangerous'],
};

export interface RefusedCase {
  id: string;
  title: string;
  /** Where the rule comes from. */
  source: string;
  server: ServerName;
  /** Sent as they are, in one write, on a fresh connection. */
  bytes: Buffer;
  status: 400 | 431 | 501;
  /** Why nicorn-py's status differs from (or goes beyond) Gunicorn 23's. */
  note?: string;
}

export const REASONS: Record<number, string> = {
  400: 'Bad Request',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
};

/** Bytes as written (latin-1: one char, one byte). */
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
/** Bytes of a Gunicorn .http file, which is UTF-8 text. */
const u = (s: string): Buffer => Buffer.from(s, 'utf8');

const G = (file: string, expect: string) => `gunicorn tests/requests/invalid/${file}.http (${expect})`;
const MSG = 'gunicorn/http/message.py';

const LATE_CHUNK =
  'Gunicorn meets chunk errors only while the app reads wsgi.input (an IOError, no error page); ' +
  'nicorn-py refuses the request before the app is called';
const NEWEST = 'Gunicorn 23 accepts it; the newest Gunicorn refuses it';

const chunked = (path: string, body: string, extra = '') =>
  b(`POST ${path} HTTP/1.1\r\nHost: example.com\r\n${extra}Transfer-Encoding: chunked\r\n\r\n${body}`);

const manyHeaders = (n: number) => Array.from({ length: n }, (_, i) => `header${i}: ${i}\r\n`).join('');

export const REFUSED: RefusedCase[] = [
  // ------------------------------------------------------- request line
  { id: 'g002', title: 'request line without a target', source: G('002', 'InvalidRequestLine'), server: 'main', bytes: b('GET HTTP/1.1\r\n\r\n'), status: 400 },
  { id: 'g003', title: 'bare LF between method, target and version', source: G('003', 'InvalidRequestMethod'), server: 'main', bytes: b('GET\n/\nHTTP/1.1\r\n\r\n'), status: 400 },
  { id: 'g003b', title: 'lowercase and ":" in the method', source: G('003b', 'InvalidRequestMethod'), server: 'main', bytes: b('bla:rgh /foo HTTP/1.1\r\n\r\n'), status: 400 },
  { id: 'g003c', title: 'method "-bl"', source: G('003c', 'InvalidRequestMethod'), server: 'main', bytes: b('-bl /foo HTTP/1.1\r\n\r\n'), status: 400 },
  { id: 'g004', title: 'protocol FTP/1.1', source: G('004', 'InvalidHTTPVersion'), server: 'main', bytes: b('GET /foo FTP/1.1\r\n\r\n'), status: 400 },
  { id: 'http09', title: 'HTTP/0.9 request line (no version), nothing after it: refused at once', source: `${MSG} parse_request_line (three parts, else InvalidRequestLine)`, server: 'main', bytes: b('GET /nine\r\n'), status: 400 },
  { id: 'http09-head', title: 'HTTP/0.9 request line then an empty line', source: `${MSG} parse_request_line (three parts, else InvalidRequestLine)`, server: 'main', bytes: b('GET /nine\r\n\r\n'), status: 400 },
  { id: 'leading-empty-line', title: 'an empty line before the request line (a connection\'s first)', source: `${MSG} parse_request_line (an empty line has no three parts); llhttp skips it (RFC 9112 2.2)`, server: 'main', bytes: b('\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'method-two-spaces', title: 'two spaces between method and target (a connection\'s first request)', source: `${MSG} parse_request_line (split on single spaces: an empty target)`, server: 'main', bytes: b('GET  / HTTP/1.1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'g016', title: 'target "s://]ufd/:" that urlsplit cannot parse', source: G('016', 'InvalidRequestLine'), server: 'main', bytes: b('PUT s://]ufd/: HTTP/1.1\r\n\r\n'), status: 400 },
  { id: 'g018', title: 'version HTTP/111', source: G('018', 'InvalidHTTPVersion'), server: 'main', bytes: b('GET /test HTTP/111\r\nHost: localhost\r\n\r\n'), status: 400 },
  { id: 'prefix01', title: 'NUL inside the method', source: G('prefix_01', 'InvalidRequestMethod'), server: 'main', bytes: b('GET\0PROXY /foo HTTP/1.1\r\n\r\n'), status: 400 },
  { id: 'prefix02', title: 'NUL after the method', source: G('prefix_02', 'InvalidRequestMethod'), server: 'main', bytes: b('GET\0 /foo HTTP/1.1\r\n\r\n'), status: 400 },
  { id: 'prefix05', title: 'method "GET:"', source: G('prefix_05', 'InvalidRequestMethod'), server: 'main', bytes: b('GET: /stuff/here?foo=bar HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz'), status: 400 },
  { id: 'prefix06', title: 'version with a 100-digit major', source: G('prefix_06', 'InvalidHTTPVersion'), server: 'main', bytes: b(`GET /the/future HTTP/${'1'.repeat(100)}.1\r\nContent-Length: 7\r\n\r\nOld Man`), status: 400 },
  { id: 'version01', title: 'version HTTP/0.99', source: G('version_01', 'InvalidHTTPVersion'), server: 'main', bytes: b('GET /foo HTTP/0.99\r\n\r\n'), status: 400 },
  { id: 'version02', title: 'version HTTP/2.0 on an HTTP/1 connection', source: G('version_02', 'InvalidHTTPVersion'), server: 'main', bytes: b('GET /foo HTTP/2.0\r\n\r\n'), status: 400 },
  { id: 'version03', title: 'version HTTP/0.9', source: G('version_03', 'InvalidHTTPVersion'), server: 'main', bytes: b('GET /foo HTTP/0.9\r\n\r\n'), status: 400 },
  { id: 'version-lower', title: 'version in lowercase (http/1.1)', source: `RFC 9112 §2.3 (HTTP-name is case-sensitive); ${MSG} VERSION_RE`, server: 'main', bytes: b('GET / http/1.1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'version-short', title: 'version without a minor (HTTP/1)', source: `RFC 9112 §2.3; ${MSG} VERSION_RE`, server: 'main', bytes: b('GET / HTTP/1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'version-long', title: 'version HTTP/1.1.1', source: `RFC 9112 §2.3; ${MSG} VERSION_RE.fullmatch`, server: 'main', bytes: b('GET / HTTP/1.1.1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'version-space', title: 'space after the version', source: `RFC 9112 §3; ${MSG} VERSION_RE.fullmatch`, server: 'main', bytes: b('GET / HTTP/1.1 \r\nHost: x\r\n\r\n'), status: 400 },
  // Not here: 'GET  / HTTP/1.1' (two spaces). Gunicorn refuses the empty target; llhttp skips the
  // extra space and node does not show the raw line, so nicorn-py serves it (a known difference).
  { id: 'tabs', title: 'tabs instead of spaces in the request line', source: `RFC 9112 §3 (single SP); ${MSG} parse_request_line`, server: 'main', bytes: b('GET\t/\tHTTP/1.1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'method-lower', title: 'lowercase method "get" (casefold off)', source: `RFC 9110 §9.1 (case-sensitive); ${MSG} METHOD_BADCHAR_RE`, server: 'main', bytes: b('get / HTTP/1.1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'method-hash', title: 'method with "#"', source: `${MSG} METHOD_BADCHAR_RE`, server: 'main', bytes: b('GE#T / HTTP/1.1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'method-long', title: 'method of 21 characters', source: `${MSG} parse_request_line (3..20 characters)`, server: 'main', bytes: b('ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\nHost: x\r\n\r\n'), status: 400 },
  { id: 'nonascii01', title: 'UTF-8 "ß" in the method', source: G('nonascii_01', 'InvalidRequestMethod'), server: 'main', bytes: u('GETß /germans.. HTTP/1.1\r\nContent-Length: 3\r\n\r\nÄÄÄ'), status: 400 },
  { id: 'nonascii02', title: 'UTF-8 "ÿ" in the method', source: G('nonascii_02', 'InvalidRequestMethod'), server: 'main', bytes: u('GETÿ /french.. HTTP/1.1\r\nContent-Length: 3\r\n\r\nÄÄÄ'), status: 400 },
  { id: 'nonascii05', title: 'NUL inside the target', source: G('nonascii_05', 'InvalidRequestLine'), server: 'main', bytes: b('GET /one\0/two HTTP/1.1\r\nContent-Length: 3\r\n\r\nWOW'), status: 400 },
  { id: 'target-relative', title: 'relative target "foo/bar"', source: G('rfc9112_target_relative_01', 'InvalidRequestLine'), server: 'main', bytes: b('GET foo/bar HTTP/1.1\r\nHost: example.com\r\n\r\n'), status: 400, note: NEWEST },
  { id: 'target-authority', title: 'authority-form target with GET', source: G('rfc9112_target_authority_non_connect_01', 'InvalidRequestLine'), server: 'main', bytes: b('GET example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), status: 400, note: NEWEST },
  { id: 'target-asterisk', title: 'asterisk-form target with GET', source: G('rfc9112_target_asterisk_non_options_01', 'InvalidRequestLine'), server: 'main', bytes: b('GET * HTTP/1.1\r\nHost: example.com\r\n\r\n'), status: 400, note: `${NEWEST} (RFC 9112 §3.2.4: "*" only with OPTIONS)` },

  // ------------------------------------------------------- header fields
  { id: 'obsfold01', title: 'obsolete line folding', source: G('obs_fold_01', 'ObsoleteFolding'), server: 'main', bytes: b('GET / HTTP/1.1\r\nLong: one\r\n two\r\nHost: localhost\r\n\r\n'), status: 400 },
  { id: 'obsfold-tab', title: 'obsolete line folding with a tab', source: `RFC 9112 §5.2; ${MSG} parse_headers (ObsoleteFolding)`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: x\r\nLong: one\r\n\ttwo\r\n\r\n'), status: 400 },
  { id: 'first-header-ws', title: 'whitespace before the first header line', source: `RFC 9112 §2.2; ${MSG} parse_headers (InvalidHeaderName)`, server: 'main', bytes: b('GET / HTTP/1.1\r\n Host: x\r\n\r\n'), status: 400 },
  { id: 'g020', title: 'space between field name and colon', source: G('020', 'InvalidHeaderName'), server: 'main', bytes: b('GET /stuff/here?foo=bar HTTP/1.1\r\nContent-Length : 3\r\n\r\nxyz'), status: 400 },
  { id: 'name-tab-colon', title: 'tab between field name and colon', source: `RFC 9112 §5.1; ${MSG} parse_headers (TOKEN_RE)`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost\t: x\r\n\r\n'), status: 400 },
  { id: 'name-space', title: 'space inside a field name', source: `RFC 9110 §5.1 (token); ${MSG} parse_headers (TOKEN_RE)`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n'), status: 400 },
  { id: 'name-paren', title: '"(" in a field name', source: `RFC 9110 §5.6.2 (delimiters are not tchar); ${MSG} TOKEN_RE`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: x\r\nX(y): v\r\n\r\n'), status: 400 },
  { id: 'name-empty', title: 'empty field name', source: `RFC 9110 §5.1; ${MSG} parse_headers (InvalidHeader)`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n'), status: 400 },
  { id: 'no-colon', title: 'header line without a colon', source: `RFC 9112 §5; ${MSG} parse_headers (InvalidHeader)`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'), status: 400 },
  { id: 'nonascii03', title: 'UTF-8 "ß" in a field name', source: G('nonascii_03', 'InvalidHeaderName'), server: 'main', bytes: u('GET /germans.. HTTP/1.1\r\nContent-Lengthß: 3\r\nContent-Length: 3\r\n\r\nÄÄÄ'), status: 400 },
  { id: 'nonascii04', title: 'UTF-8 "ÿ" in a field name', source: G('nonascii_04', 'InvalidHeaderName'), server: 'main', bytes: u('GET /french.. HTTP/1.1\r\nContent-Lengthÿ: 3\r\nContent-Length: 3\r\n\r\nÄÄÄ'), status: 400 },
  { id: 'value-bare-lf', title: 'bare LF inside a field value (smuggles a request)', source: G('invalid_field_value_01', 'InvalidHeader'), server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: x\r\nNewline: a\nContent-Length: 26\r\nGET / HTTP/1.1\nHost: x\r\n\r\n'), status: 400 },
  { id: 'value-nul', title: 'NUL inside a field value', source: `RFC 9110 §5.5; ${MSG} RFC9110_5_5_INVALID_AND_DANGEROUS`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: x\r\nX-Value: a\0b\r\n\r\n'), status: 400 },
  { id: 'value-bare-cr', title: 'bare CR inside a field value', source: `RFC 9112 §2.2; ${MSG} RFC9110_5_5_INVALID_AND_DANGEROUS`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: x\r\nX-Value: a\rb\r\n\r\n'), status: 400 },
  { id: 'value-bel', title: 'BEL (0x07) inside a field value', source: G('rfc9110_field_value_ctl_bel_01', 'InvalidHeader'), server: 'main', bytes: b('GET /foo HTTP/1.1\r\nHost: example.com\r\nX-Value: plain\x07injected\r\n\r\n'), status: 400, note: NEWEST },
  { id: 'value-del', title: 'DEL (0x7F) inside a field value', source: G('rfc9110_field_value_ctl_del_01', 'InvalidHeader'), server: 'main', bytes: b('GET /foo HTTP/1.1\r\nHost: example.com\r\nX-Value: plain\x7finjected\r\n\r\n'), status: 400, note: NEWEST },
  { id: 'host-twice', title: 'two Host headers', source: `RFC 9110 §5.3, §7.2; ${MSG} RFC9110_5_3_SINGLETON_FIELDS (Gunicorn 26)`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'), status: 400 },
  { id: 'host-twice-same', title: 'the same Host twice, in different case', source: `RFC 9110 §5.3; ${MSG} RFC9110_5_3_SINGLETON_FIELDS (Gunicorn 26)`, server: 'main', bytes: b('GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n'), status: 400 },
  { id: 'ctype-twice', title: 'two Content-Type headers', source: `RFC 9110 §5.3, §8.3; ${MSG} RFC9110_5_3_SINGLETON_FIELDS (Gunicorn 26)`, server: 'main', bytes: b('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'), status: 400 },
  { id: 'g019', title: 'contradictory scheme headers from a trusted peer', source: G('019', 'InvalidSchemeHeaders'), server: 'main', bytes: b('GET /test HTTP/1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n'), status: 400 },

  // ------------------------------------------------------- Content-Length
  { id: 'g014', title: 'Content-Length -1', source: G('014', 'InvalidHeader'), server: 'main', bytes: b('PUT /stuff/here?foo=bar HTTP/1.0\r\nCONTENT-LENGTH: -1\r\n\r\n{"test": "-1}'), status: 400 },
  { id: 'g015', title: 'Content-Length "bla-bla-bla"', source: G('015', 'InvalidHeader'), server: 'main', bytes: b('POST /stuff/here?foo=bar HTTP/1.0\r\nCONTENT-LENGTH: bla-bla-bla\r\n\r\n{"test": "-1}'), status: 400 },
  { id: 'g021', title: 'two different Content-Length headers', source: G('021', 'InvalidHeader'), server: 'main', bytes: b('GET /stuff/here?foo=bar HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 2\r\n\r\nxyz'), status: 400 },
  { id: 'cl-twice-same', title: 'the same Content-Length twice', source: `RFC 9110 §8.6; ${MSG} set_body_reader (any second CONTENT-LENGTH)`, server: 'main', bytes: b('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nxyz'), status: 400 },
  { id: 'cl-list', title: 'Content-Length "3, 3"', source: `RFC 9110 §8.6; ${MSG} set_body_reader (isnumeric)`, server: 'main', bytes: b('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nxyz'), status: 400 },
  { id: 'g022', title: 'Content-Length -0', source: G('022', 'InvalidHeader'), server: 'main', bytes: b('GET /first HTTP/1.0\r\nContent-Length: -0\r\n\r\n'), status: 400 },
  { id: 'g023', title: 'Content-Length 0_1', source: G('023', 'InvalidHeader'), server: 'main', bytes: b('GET /first HTTP/1.0\r\nContent-Length: 0_1\r\n\r\n'), status: 400 },
  { id: 'g024', title: 'Content-Length +1', source: G('024', 'InvalidHeader'), server: 'main', bytes: b('GET /first HTTP/1.0\r\nContent-Length: +1\r\n\r\n'), status: 400 },
  { id: 'cl-hex', title: 'Content-Length 0x10', source: `RFC 9110 §8.6 (1*DIGIT); ${MSG} set_body_reader`, server: 'main', bytes: b('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n'), status: 400 },
  { id: 'prefix03', title: 'Content-Length "0 1"', source: G('prefix_03', 'InvalidHeader'), server: 'main', bytes: b('GET /stuff/here?foo=bar HTTP/1.1\r\nContent-Length: 0 1\r\n\r\nx'), status: 400 },
  { id: 'prefix04', title: 'Content-Length "3 1"', source: G('prefix_04', 'InvalidHeader'), server: 'main', bytes: b('GET /stuff/here?foo=bar HTTP/1.1\r\nContent-Length: 3 1\r\n\r\nxyz\nabc123'), status: 400 },

  // ------------------------------------------------------- Transfer-Encoding
  { id: 'chunked02', title: 'Content-Length with Transfer-Encoding "\\tchunked"', source: G('chunked_02', 'InvalidHeader'), server: 'main', bytes: b('POST /chunked_with_prefixed_value HTTP/1.1\r\nContent-Length: 12\r\nTransfer-Encoding: \tchunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n\r\n'), status: 400 },
  { id: 'smuggle-cl-te', title: 'Content-Length and Transfer-Encoding: chunked (CL.TE)', source: G('rfc9112_smuggle_cl_te_chunked_01', 'InvalidHeader'), server: 'main', bytes: b('POST /p HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), status: 400 },
  { id: 'smuggle-te-cl', title: 'Transfer-Encoding: chunked then Content-Length (TE.CL)', source: `RFC 9112 §6.1; ${MSG} set_body_reader`, server: 'main', bytes: b('POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n'), status: 400 },
  { id: 'chunked03', title: 'Transfer-Encoding "identity, chunked, identity, chunked"', source: `${G('chunked_03', 'UnsupportedTransferCoding before 22')}; ${MSG} set_body_reader (identity after chunked: InvalidHeader)`, server: 'main', bytes: b('POST /double_chunked HTTP/1.1\r\nTransfer-Encoding: identity, chunked, identity, chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n\r\n'), status: 400 },
  { id: 'chunked04', title: 'four Transfer-Encoding headers, chunked twice', source: G('chunked_04', 'InvalidHeader'), server: 'main', bytes: b('POST /chunked_twice HTTP/1.1\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n\r\n'), status: 400 },
  { id: 'chunked05', title: 'chunked request in HTTP/1.0', source: G('chunked_05', 'InvalidHeader'), server: 'main', bytes: b('POST /chunked_HTTP_1.0 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n'), status: 400 },
  { id: 'chunked06', title: 'chunked not the last transfer coding (two headers)', source: G('chunked_06', 'InvalidHeader'), server: 'main', bytes: b('POST /chunked_not_last HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n5\r\nhello\r\n6\r\n world\r\n\r\n'), status: 400 },
  { id: 'te-chunked-gzip', title: 'Transfer-Encoding "chunked, gzip"', source: `RFC 9112 §6.3; ${MSG} set_body_reader (gzip after chunked: InvalidHeader)`, server: 'main', bytes: b('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n'), status: 400 },
  { id: 'te-vtab', title: 'vertical tab before "chunked"', source: G('chunked_whitespace', 'InvalidHeader'), server: 'main', bytes: b('POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: identity, \x0bchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'), status: 400, note: NEWEST },
  { id: 'te-unknown', title: 'unknown transfer coding "foo"', source: `RFC 9112 §6.1; ${MSG} set_body_reader (UnsupportedTransferCoding)`, server: 'main', bytes: b('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n'), status: 501 },

  // ------------------------------------------------------- chunked framing
  { id: 'chunked01', title: 'chunk size "6_0", then a pipelined request', source: G('chunked_01', 'InvalidChunkSize'), server: 'main', bytes: chunked('/chunked_w_underscore_chunk_size', '5\r\nhello\r\n6_0\r\n world\r\n0\r\n\r\nPOST /after HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunked09', title: 'whitespace after the chunk size, no extension', source: G('chunked_09', 'InvalidChunkSize'), server: 'main', bytes: chunked('/chunked_ows_without_ext', '5\r\nhello\r\n0 \r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunked10', title: 'whitespace before the chunk size', source: G('chunked_10', 'InvalidChunkSize'), server: 'main', bytes: chunked('/chunked_ows_before', '5\r\nhello\r\n 0\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunked11', title: 'bare LF after the chunk size', source: G('chunked_11', 'InvalidChunkSize'), server: 'main', bytes: chunked('/chunked_ows_before', '5\n;\r\nhello\r\n0\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunked12', title: 'chunk extension without a chunk size', source: G('chunked_12', 'InvalidChunkSize'), server: 'main', bytes: chunked('/chunked_no_chunk_size_but_ext', ' ;foo=bar\r\nhello\r\n0\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunked13', title: 'empty chunk size line', source: G('chunked_13', 'InvalidChunkSize'), server: 'main', bytes: chunked('/chunked_no_chunk_size', '\r\nhello\r\n0\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunked14', title: 'bare CR in a chunk extension', source: G('chunked_14', 'InvalidChunkExtension'), server: 'main', bytes: chunked('/chunked_bare_cr_in_extension', '5;ext=val\rue\r\nhello\r\n0\r\n\r\n'), status: 400, note: `${NEWEST}; ${LATE_CHUNK}` },
  { id: 'chunk-minus', title: 'chunk size "-5"', source: G('rfc9112_chunked_size_minus_sign_01', 'InvalidChunkSize'), server: 'main', bytes: chunked('/upload', '-5\r\nhello\r\n0\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunk-plus', title: 'chunk size "+5"', source: G('rfc9112_chunked_size_plus_sign_01', 'InvalidChunkSize'), server: 'main', bytes: chunked('/upload', '+5\r\nhello\r\n0\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunk-hex-prefix', title: 'chunk size "0x5"', source: 'RFC 9112 §7.1 (chunk-size = 1*HEXDIG); gunicorn/http/body.py parse_chunk_size', server: 'main', bytes: chunked('/upload', '0x5\r\nhello\r\n0\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunk-no-crlf', title: 'chunk data not followed by CRLF', source: 'RFC 9112 §7.1; gunicorn/http/body.py ChunkedReader (ChunkMissingTerminator)', server: 'main', bytes: chunked('/upload', '5\r\nhelloXX0\r\n\r\n'), status: 400, note: LATE_CHUNK },
  { id: 'chunk-too-long', title: 'chunk data longer than its size', source: 'RFC 9112 §7.1; gunicorn/http/body.py ChunkedReader (ChunkMissingTerminator)', server: 'main', bytes: chunked('/upload', '3\r\nhello\r\n0\r\n\r\n'), status: 400, note: LATE_CHUNK },

  // ------------------------------------------------------- trailers
  { id: 'trailer-cl', title: 'Content-Length in the trailer section', source: G('rfc9110_trailer_forbidden_cl_01', 'InvalidHeaderName'), server: 'main', bytes: chunked('/p', '5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n'), status: 400, note: `${NEWEST} (RFC 9110 §6.5.1)` },
  { id: 'trailer-host', title: 'Host in the trailer section', source: G('rfc9110_trailer_forbidden_host_01', 'InvalidHeaderName'), server: 'main', bytes: chunked('/p', '5\r\nhello\r\n0\r\nHost: evil.example.com\r\n\r\n'), status: 400, note: `${NEWEST} (RFC 9110 §6.5.1)` },
  { id: 'trailer-authorization', title: 'Authorization in the trailer section', source: `${MSG} RFC9110_6_5_1_FORBIDDEN_TRAILER (Gunicorn 26)`, server: 'main', bytes: chunked('/p', '5\r\nhello\r\n0\r\nAuthorization: Basic eDp5\r\n\r\n'), status: 400 },
  { id: 'trailer-te', title: 'Transfer-Encoding in the trailer section', source: G('rfc9110_trailer_forbidden_te_01', 'InvalidHeaderName'), server: 'main', bytes: chunked('/p', '5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n'), status: 400, note: `${NEWEST} (RFC 9110 §6.5.1)` },

  // ------------------------------------------------------- limits, Gunicorn's defaults
  { id: 'g006', title: 'request line over 4094 (a 4000+ character PUT target)', source: G('006', 'LimitRequestLine'), server: 'main', bytes: b(`PUT /q=${'x'.repeat(4100)} HTTP/1.0\r\n\r\n`), status: 400 },
  { id: 'line-4095', title: 'request line of 4095 (one over the default)', source: `${MSG} read_line (idx > limit)`, server: 'main', bytes: b(`GET /${'a'.repeat(4081)} HTTP/1.1\r\nHost: x\r\n\r\n`), status: 400 },
  { id: 'g009', title: '103 header fields (over the default 100)', source: G('009', 'LimitRequestHeaders'), server: 'main', bytes: b(`PUT /stuff/here?foo=bar HTTP/1.0\r\nServer: http://127.0.0.1:5984\r\nContent-Type: application/json\r\nContent-Length: 14\r\n${manyHeaders(100)}\r\n{"nom": "nom"}\n`), status: 431 },
  { id: 'fields-101', title: '101 header fields', source: `${MSG} parse_headers (len(headers) >= limit)`, server: 'main', bytes: b(`GET / HTTP/1.1\r\n${manyHeaders(101)}\r\n`), status: 431 },
  { id: 'g017', title: 'a header field over 8190 bytes', source: G('017', 'LimitRequestHeaders'), server: 'main', bytes: b(`GET /test HTTP/1.1\r\nLong-header: ${'0123456789'.repeat(819)}\r\n\r\n`), status: 431 },
  { id: 'field-8191', title: 'a header line of 8191 bytes with its CRLF', source: `${MSG} parse_headers (header_length > limit_request_field_size)`, server: 'main', bytes: b(`GET / HTTP/1.1\r\nX: ${'y'.repeat(8186)}\r\n\r\n`), status: 431 },

  // ------------------------------------------------------- limits and header map, small server
  { id: 'small-line-101', title: 'request line of 101 with --limit-request-line 100', source: `${MSG} read_line (LimitRequestLine)`, server: 'small', bytes: b(`GET /${'a'.repeat(87)} HTTP/1.1\r\nHost: x\r\n\r\n`), status: 400 },
  { id: 'small-line-long', title: 'request line of 300 with --limit-request-line 100', source: `${MSG} read_line (LimitRequestLine)`, server: 'small', bytes: b(`GET /${'a'.repeat(286)} HTTP/1.1\r\n\r\n`), status: 400 },
  { id: 'small-fields-6', title: '6 header fields with --limit-request-fields 5', source: `${MSG} parse_headers (LimitRequestHeaders)`, server: 'small', bytes: b(`GET / HTTP/1.1\r\n${manyHeaders(6)}\r\n`), status: 431 },
  { id: 'small-field-51', title: 'header line of 51 with --limit-request-field_size 50', source: `${MSG} parse_headers (LimitRequestHeaders)`, server: 'small', bytes: b(`GET / HTTP/1.1\r\nX-Long: ${'v'.repeat(41)}\r\n\r\n`), status: 431 },
  { id: 'g010', title: 'header "Accept: */*" over --limit-request-field_size 10', source: `${G('010', 'LimitRequestHeaders')} (here 50 bytes)`, server: 'small', bytes: b(`GET /test HTTP/1.1\r\nAccept: ${'*/*'.repeat(20)}\r\n\r\n`), status: 431 },
  { id: 'refuse-underscore', title: 'header name with "_" under --header-map refuse', source: `${MSG} parse_headers (header_map refuse: InvalidHeaderName)`, server: 'small', bytes: b('GET / HTTP/1.1\r\nHost: x\r\nX_Foo: bar\r\n\r\n'), status: 400 },
  { id: 'g040', title: 'Transfer_Encoding and Content_Length under --header-map refuse', source: G('040', 'InvalidHeaderName'), server: 'small', bytes: b('GET /keep/same/as?invalid/040 HTTP/1.0\r\nTransfer_Encoding: tricked\r\nContent-Length: 7\r\nContent_Length: -1E23\r\n\r\ntricked\r\n'), status: 400 },
  { id: 'chunked07', title: 'Transfer_Encoding beside Transfer-Encoding under --header-map refuse', source: G('chunked_07', 'InvalidHeaderName'), server: 'small', bytes: b('POST /chunked_ambiguous_header_mapping HTTP/1.1\r\nTransfer_Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'), status: 400 },
];

const ids = new Set<string>();
for (const c of REFUSED) {
  if (ids.has(c.id)) throw new Error(`duplicate corpus id ${c.id}`);
  ids.add(c.id);
}
