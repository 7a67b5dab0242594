// Gunicorn's request rules as the front door applies them after llhttp
// (gunicorn/http/message.py), and its refusal page (util.write_error).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registry } from '../../src/config/registry.js';
import { RequestError, errorResponse, fromParserError, invalidRequestLine } from '../../src/worker/front-door/errors.js';
import { RequestRules, forbiddenTrailer, parserRefusal, versionlessRequestLine, type ParsedHead, type RuleSettings } from '../../src/worker/front-door/rules.js';

const defaults: RuleSettings = {
  limit_request_line: registry.limit_request_line.default(),
  limit_request_fields: registry.limit_request_fields.default(),
  limit_request_field_size: registry.limit_request_field_size.default(),
  header_map: registry.header_map.default(),
  secure_scheme_headers: registry.secure_scheme_headers.default(),
  forwarded_allow_ips: ['127.0.0.1', '::1'],
  forwarder_headers: registry.forwarder_headers.default(),
};

const head = (over: Partial<ParsedHead> = {}): ParsedHead => ({
  method: 'GET',
  url: '/',
  httpVersion: '1.1',
  rawHeaders: ['Host', 'example.com'],
  ...over,
});

function refusal(rules: RequestRules, h: ParsedHead, peer: string | null = '127.0.0.1'): RequestError {
  try {
    rules.check(h, peer, 'http');
  } catch (e) {
    if (e instanceof RequestError) return e;
    throw e;
  }
  throw new Error('the request was accepted');
}

const rules = new RequestRules(defaults);

test('a plain request passes with its headers and the listener scheme', () => {
  const c = rules.check(head(), '127.0.0.1', 'http');
  assert.equal(c.headers, ['Host', 'example.com']);
  assert.is(c.scheme, 'http');
  assert.is(c.close, false);
});

test('limit_request_line: a longer line is 400 "Request Line is too large"', () => {
  const small = new RequestRules({ ...defaults, limit_request_line: 20 });
  const e = refusal(small, head({ url: '/' + 'a'.repeat(20) }));
  assert.is(e.status, 400);
  assert.match(e.message, /^Request Line is too large \(\d+ > 20\)$/);
  // "GET / HTTP/1.1" is 14 bytes: fits.
  small.check(head(), '127.0.0.1', 'http');
});

test('limit_request_line: 0 means no limit; values past 8190 are 8190', () => {
  const none = new RequestRules({ ...defaults, limit_request_line: 0 });
  none.check(head({ url: '/' + 'a'.repeat(20000) }), null, 'http');
  assert.is(new RequestRules({ ...defaults, limit_request_line: 100000 }).requestLine, 8190);
});

test('limit_request_fields: one header more than allowed is 431', () => {
  const few = new RequestRules({ ...defaults, limit_request_fields: 2 });
  few.check(head({ rawHeaders: ['A', '1', 'B', '2'] }), null, 'http');
  const e = refusal(few, head({ rawHeaders: ['A', '1', 'B', '2', 'C', '3'] }));
  assert.is(e.status, 431);
  assert.is(e.reason, 'Request Header Fields Too Large');
  assert.is(e.message, 'limit request headers fields');
  assert.is(new RequestRules({ ...defaults, limit_request_fields: 0 }).fields, 32768);
});

test('limit_request_field_size: a longer "Name: value" line is 431; 0 is unlimited', () => {
  const small = new RequestRules({ ...defaults, limit_request_field_size: 20 });
  small.check(head({ rawHeaders: ['X-A', '1234567890123'] }), null, 'http');
  const e = refusal(small, head({ rawHeaders: ['X-A', '12345678901234'] }));
  assert.is(e.status, 431);
  assert.is(e.message, 'limit request headers fields size');
  new RequestRules({ ...defaults, limit_request_field_size: 0 }).check(head({ rawHeaders: ['X', 'v'.repeat(100000)] }), null, 'http');
});

test("node's maxHeaderSize is Gunicorn's request line plus its header buffer", () => {
  assert.is(rules.headerBuffer, 100 * (8190 + 2) + 4);
  assert.is(rules.maxHeadBytes, 4094 + 2 + rules.headerBuffer);
});

test('HTTP versions other than 1.0 and 1.1 are 400 Invalid HTTP Version', () => {
  for (const v of ['2.0', '0.9']) {
    const e = refusal(rules, head({ httpVersion: v }));
    assert.is(e.status, 400);
    assert.match(e.mesg, /^Invalid HTTP Version 'Invalid HTTP Version: \(\d, \d\)'$/);
  }
  rules.check(head({ httpVersion: '1.0' }), null, 'http');
});

test("header_map: 'drop' (default) leaves names with '_' out, 'refuse' is 400, 'dangerous' keeps them", () => {
  const h = head({ rawHeaders: ['Host', 'h', 'X_Auth', 'admin'] });
  assert.equal(rules.check(h, '10.1.1.1', 'http').headers, ['Host', 'h']);
  const e = refusal(new RequestRules({ ...defaults, header_map: 'refuse' }), h, '10.1.1.1');
  assert.is(e.status, 400);
  assert.is(e.message, "Invalid HTTP header name: 'X_AUTH'");
  assert.equal(new RequestRules({ ...defaults, header_map: 'dangerous' }).check(h, '10.1.1.1', 'http').headers, ['Host', 'h', 'X_Auth', 'admin']);
});

test('forwarder_headers: SCRIPT_NAME passes from a trusted peer only', () => {
  const h = head({ rawHeaders: ['SCRIPT_NAME', '/app'] });
  assert.equal(rules.check(h, '127.0.0.1', 'http').headers, ['SCRIPT_NAME', '/app']);
  assert.equal(rules.check(h, null, 'http').headers, ['SCRIPT_NAME', '/app']);
  assert.equal(rules.check(h, '203.0.113.9', 'http').headers, []);
});

test('secure_scheme_headers: https from a trusted peer, ignored from others, contradictions are 400', () => {
  const proto = head({ rawHeaders: ['X-Forwarded-Proto', 'https'] });
  assert.is(rules.check(proto, '127.0.0.1', 'http').scheme, 'https');
  assert.is(rules.check(proto, '::1', 'http').scheme, 'https');
  assert.is(rules.check(proto, '203.0.113.9', 'http').scheme, 'http');
  const both = head({ rawHeaders: ['X-Forwarded-Proto', 'https', 'X-Forwarded-Ssl', 'off'] });
  const e = refusal(rules, both);
  assert.is(e.status, 400);
  assert.is(e.message, 'Contradictory scheme headers');
  assert.is(rules.check(both, '203.0.113.9', 'http').scheme, 'http');
  assert.is(rules.check(head({ rawHeaders: ['X-Forwarded-Proto', 'http'] }), null, 'https').scheme, 'http');
});

test('Transfer-Encoding: stacked chunked, chunked in HTTP/1.0 are 400; unknown codings 501; gzip closes', () => {
  assert.is(refusal(rules, head({ rawHeaders: ['Transfer-Encoding', 'chunked, chunked'] })).status, 400);
  const old = refusal(rules, head({ httpVersion: '1.0', rawHeaders: ['Transfer-Encoding', 'chunked'] }));
  assert.is(old.message, "Invalid HTTP Header: 'TRANSFER-ENCODING'");
  const unknown = refusal(rules, head({ rawHeaders: ['Transfer-Encoding', 'foo, chunked'] }));
  assert.is(unknown.status, 501);
  assert.is(unknown.reason, 'Not Implemented');
  assert.is(unknown.message, "Unsupported transfer coding: 'foo, chunked'");
  assert.is(rules.check(head({ rawHeaders: ['Transfer-Encoding', 'gzip, chunked'] }), null, 'http').close, true);
});

test("llhttp's errors in Gunicorn's terms", () => {
  const limits = 4094;
  const pkt = (s: string) => Buffer.from(s, 'latin1');
  assert.is(fromParserError({ code: 'HPE_INVALID_METHOD', reason: 'x', rawPacket: pkt('get / HTTP/1.1\r\n') }, limits).mesg,
    "Invalid Method 'Invalid HTTP method: 'get''");
  assert.is(fromParserError({ code: 'HPE_INVALID_VERSION', reason: 'x', rawPacket: pkt('GET / HTTP/1.2\r\n') }, limits).status, 400);
  assert.is(fromParserError({ code: 'HPE_HEADER_OVERFLOW', reason: 'x', rawPacket: pkt('GET /aaaa') }, limits).message,
    'Request Line is too large (9 > 4094)');
  const overflow = fromParserError({ code: 'HPE_HEADER_OVERFLOW', reason: 'x', rawPacket: pkt('GET / HTTP/1.1\r\nX: y') }, limits);
  assert.is(overflow.status, 431);
  assert.is(fromParserError({ code: 'HPE_INVALID_HEADER_TOKEN', reason: 'Unexpected whitespace after header value' }, limits).message,
    "Obsolete line folding is unacceptable: ''");
  assert.is(fromParserError({ code: 'HPE_UNEXPECTED_CONTENT_LENGTH', reason: 'Duplicate Content-Length' }, limits).message,
    "Invalid HTTP Header: 'CONTENT-LENGTH'");
  const te = (value: string) => parserRefusal({ code: 'HPE_INVALID_TRANSFER_ENCODING', reason: 'Request has invalid `Transfer-Encoding`', rawPacket: pkt(`POST / HTTP/1.1\r\nTransfer-Encoding: ${value}\r\n\r\n`) }, limits);
  assert.is(te('foo').status, 501);
  assert.is(te('chunked, gzip').message, "Invalid HTTP Header: 'TRANSFER-ENCODING'");
  // Gunicorn takes a bare gzip (no body); llhttp refuses it.
  assert.is(te('gzip').status, 400);
  assert.is(fromParserError({ code: 'HPE_INVALID_CHUNK_SIZE', reason: 'Invalid character in chunk size' }, limits).status, 400);
});

test('request targets urlsplit refuses, and * outside OPTIONS, are 400 Invalid Request Line', () => {
  assert.is(refusal(rules, head({ method: 'PUT', url: 's://]ufd/:' })).status, 400);
  assert.is(refusal(rules, head({ url: 'http://[::1/x' })).status, 400);
  assert.is(refusal(rules, head({ url: 'http://[zz]/x' })).status, 400);
  rules.check(head({ url: 'http://[::1]:8000/x?y' }), null, 'http');
  assert.is(refusal(rules, head({ url: '*' })).status, 400);
  rules.check(head({ method: 'OPTIONS', url: '*' }), null, 'http');
});

test('a second Host or Content-Type is 400 "Invalid HTTP Header" naming it (Gunicorn 26, RFC 9110 section 5.3)', () => {
  const host = refusal(rules, head({ rawHeaders: ['Host', 'a', 'host', 'b'] }));
  assert.is(host.status, 400);
  assert.is(host.message, "Invalid HTTP Header: 'HOST'");
  assert.is(refusal(rules, head({ rawHeaders: ['Host', 'a', 'Host', 'a'] })).message, "Invalid HTTP Header: 'HOST'");
  const type = refusal(rules, head({ rawHeaders: ['Host', 'a', 'Content-Type', 'a/b', 'CONTENT-TYPE', 'c/d'] }));
  assert.is(type.message, "Invalid HTTP Header: 'CONTENT-TYPE'");
  // Fields that may repeat still do.
  const c = rules.check(head({ rawHeaders: ['Host', 'a', 'Accept', 'x', 'Accept', 'y', 'Cookie', 'a=1', 'Cookie', 'b=2'] }), null, 'http');
  assert.is(c.headers.length, 10);
});

test('a first request line without an HTTP version is Invalid Request Line once the line is complete', () => {
  const e = versionlessRequestLine(Buffer.from('GET /nine\r\n'));
  assert.ok(e);
  assert.is(e.status, 400);
  assert.is(e.message, "Invalid HTTP request line: 'GET /nine'");
  assert.is(versionlessRequestLine(Buffer.from('GET /nine\n'))?.message, "Invalid HTTP request line: 'GET /nine'");
  assert.is(versionlessRequestLine(Buffer.from('GET\r\n'))?.message, "Invalid HTTP request line: 'GET'");
  // Gunicorn 26 refuses an empty line first, and two spaces after the method (an empty target).
  assert.is(versionlessRequestLine(Buffer.from('\r\nGET / HTTP/1.1\r\n'))?.message, "Invalid HTTP request line: ''");
  assert.is(versionlessRequestLine(Buffer.from('GET  / HTTP/1.1\r\n'))?.message, "Invalid HTTP request line: 'GET  / HTTP/1.1'");
  // Not complete yet, or three parts (llhttp judges those; methods it does not know, the fallback parser).
  assert.is(versionlessRequestLine(Buffer.from('GET /nine')), null);
  assert.is(versionlessRequestLine(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n')), null);
  assert.is(versionlessRequestLine(Buffer.from('GET / FTP/1.1\r\n')), null);
  assert.is(versionlessRequestLine(Buffer.from('get  / HTTP/1.1\r\n')), null);
});

test("trailers may not carry framing, routing or authentication fields (Gunicorn 26's list)", () => {
  assert.is(forbiddenTrailer(['X-Checksum', 'abc']), null);
  // Gunicorn 26 takes these (its corpus, valid/012): RFC 9110 6.5.1 leaves them to the recipient.
  assert.is(forbiddenTrailer(['Vary', '*', 'Content-Type', 'text/plain', 'Cache-Control', 'no-cache']), null);
  assert.is(forbiddenTrailer(['Authorization', 'x']), 'AUTHORIZATION');
  assert.is(forbiddenTrailer(['TE', 'trailers']), 'TE');
  assert.is(forbiddenTrailer(['X-Checksum', 'abc', 'host', 'evil']), 'HOST');
  assert.is(forbiddenTrailer(['Content-Length', '5']), 'CONTENT-LENGTH');
});

test("the refusal page is util.write_error's", () => {
  const text = errorResponse(invalidRequestLine('GET <x>')).toString('latin1');
  const [headText, body] = text.split('\r\n\r\n') as [string, string];
  assert.equal(headText.split('\r\n'), [
    'HTTP/1.1 400 Bad Request',
    'Connection: close',
    'Content-Type: text/html',
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
  ]);
  assert.ok(body.startsWith('<html>\n  <head>\n    <title>Bad Request</title>'));
  // html.escape(quote=True), as Gunicorn escapes the sentence.
  assert.ok(body.includes('Invalid Request Line &#x27;Invalid HTTP request line: &#x27;GET &lt;x&gt;&#x27;&#x27;'), body);
});

test.run();
