// The HTTP/2 side's pieces that need no socket: the request rules as a stream
// gets them, Gunicorn's InvalidH2CPreface text, and the SETTINGS the http2_*
// settings become.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registry } from '../../src/config/registry.js';
import { RequestError, invalidH2CPreface, pyBytesRepr } from '../../src/worker/front-door/errors.js';
import { http2SessionSettings } from '../../src/worker/front-door/http2-streams.js';
import { RequestRules, type RuleSettings } from '../../src/worker/front-door/rules.js';

const defaults: RuleSettings = {
  limit_request_line: registry.limit_request_line.default(),
  limit_request_fields: registry.limit_request_fields.default(),
  limit_request_field_size: registry.limit_request_field_size.default(),
  header_map: registry.header_map.default(),
  secure_scheme_headers: registry.secure_scheme_headers.default(),
  forwarded_allow_ips: ['127.0.0.1', '::1'],
  forwarder_headers: registry.forwarder_headers.default(),
};

/** The error `fn` throws, or null. */
function thrown(fn: () => unknown): RequestError | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof RequestError) return e;
    throw e;
  }
}

test('a stream passes the HTTP/1 rules with version 2.0; an HTTP/1 head with 2.0 does not', () => {
  const rules = new RequestRules(defaults);
  const h = { method: 'GET', url: '/x', httpVersion: '2.0', rawHeaders: ['accept', '*/*'] };
  assert.equal(rules.checkStream(h, '127.0.0.1', 'https').headers, ['accept', '*/*']);
  assert.is(thrown(() => rules.check(h, '127.0.0.1', 'https'))?.message, 'Invalid HTTP Version: (2, 0)');
});

test('per stream: the request line limit counts "METHOD path HTTP/2.0", the field limits and header_map apply', () => {
  const rules = new RequestRules({ ...defaults, limit_request_line: 20, limit_request_fields: 2 });
  assert.is(thrown(() => rules.checkStream({ method: 'GET', url: '/123456789', httpVersion: '2.0', rawHeaders: [] }, null, 'http'))?.status, 400);
  const fields = thrown(() => rules.checkStream({ method: 'GET', url: '/', httpVersion: '2.0', rawHeaders: ['a', '1', 'b', '2', 'c', '3'] }, null, 'http'));
  assert.is(fields?.status, 431);
  assert.equal(rules.checkStream({ method: 'GET', url: '/', httpVersion: '2.0', rawHeaders: ['x_y', '1'] }, null, 'http').headers, []);
});

test('a scheme header counts from a trusted peer only; a unix socket (null) is trusted', () => {
  const rules = new RequestRules(defaults);
  const h = { method: 'GET', url: '/', httpVersion: '2.0', rawHeaders: ['x-forwarded-proto', 'https'] };
  assert.is(rules.checkStream(h, '127.0.0.1', 'http').scheme, 'https');
  assert.is(rules.checkStream(h, '10.1.1.1', 'http').scheme, 'http');
  assert.ok(rules.trusts(null));
  assert.not.ok(rules.trusts('10.1.1.1'));
});

test("InvalidH2CPreface: Gunicorn 26.2's words, the data as Python's bytes repr", () => {
  const e = invalidH2CPreface(Buffer.from('GET /hello HTTP/1.1\r\nHos', 'latin1'));
  assert.is(e.status, 400);
  assert.is(e.message, "Expected HTTP/2 connection preface, got b'GET /hello HTTP/1.1\\r\\nHos'");
  assert.is(pyBytesRepr(Buffer.from([0x27, 0x00, 0xff, 0x5c])), `b"'\\x00\\xff\\\\"`);
  assert.is(pyBytesRepr(Buffer.from(`a'"`, 'latin1')), `b'a\\'"'`);
  assert.is(pyBytesRepr(Buffer.alloc(0)), "b''");
});

test('the http2_* settings are node SETTINGS; a header list size of 0 (no limit) is left unsent', () => {
  const s = {
    http2_max_concurrent_streams: 7,
    http2_initial_window_size: 1 << 20,
    http2_max_frame_size: 32768,
    http2_max_header_list_size: 4096,
  };
  assert.equal(http2SessionSettings(s), { maxConcurrentStreams: 7, initialWindowSize: 1 << 20, maxFrameSize: 32768, maxHeaderListSize: 4096 });
  assert.not.ok('maxHeaderListSize' in http2SessionSettings({ ...s, http2_max_header_list_size: 0 }));
});

test.run();
