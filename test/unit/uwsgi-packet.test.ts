// readPacket / requestInfo / uwsgiPeerAllowed: the uwsgi packet as Gunicorn
// 26.2.2's gunicorn/uwsgi/message.py reads it, with its exceptions' texts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_UWSGI_VARS, readPacket, requestInfo, uwsgiPeerAllowed, type PacketRead } from '../../src/worker/front-door/uwsgi-packet.js';

function block(vars: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of vars) {
    const key = Buffer.from(k, 'latin1');
    const val = Buffer.from(v, 'latin1');
    const ks = Buffer.alloc(2);
    ks.writeUInt16LE(key.length);
    const vs = Buffer.alloc(2);
    vs.writeUInt16LE(val.length);
    parts.push(ks, key, vs, val);
  }
  return Buffer.concat(parts);
}

function packet(vars: [string, string][], modifier1 = 0, modifier2 = 0): Buffer {
  const b = block(vars);
  return Buffer.concat([Buffer.from([modifier1, b.length & 0xff, b.length >> 8, modifier2]), b]);
}

const errorOf = (r: PacketRead) => (r.kind === 'error' ? `${r.error.pythonClass}: ${r.error.message}` : `not an error: ${r.kind}`);

test('a packet: header, vars in order, the bytes it took (the body follows)', () => {
  const p = packet([['REQUEST_METHOD', 'POST'], ['PATH_INFO', '/a'], ['CONTENT_LENGTH', '3']], 0, 7);
  const r = readPacket(Buffer.concat([p, Buffer.from('abc')]), false);
  if (r.kind !== 'packet') throw new Error(errorOf(r));
  assert.is(r.packet.consumed, p.length);
  assert.is(r.packet.modifier2, 7, 'modifier2 is read and not refused');
  assert.equal([...r.packet.vars.keys()], ['REQUEST_METHOD', 'PATH_INFO', 'CONTENT_LENGTH']);
});

test('more bytes are waited for; at the end of the stream they are an incomplete header or vars block', () => {
  const p = packet([['PATH_INFO', '/']]);
  for (let n = 0; n < p.length; n++) assert.is(readPacket(p.subarray(0, n), false).kind, 'more', `at ${n} bytes`);
  assert.is(errorOf(readPacket(p.subarray(0, 3), true)), 'gunicorn.uwsgi.errors.InvalidUWSGIHeader: Invalid uWSGI header: incomplete header');
  assert.is(
    errorOf(readPacket(p.subarray(0, 6), true)),
    'gunicorn.uwsgi.errors.InvalidUWSGIHeader: Invalid uWSGI header: incomplete vars block',
  );
});

test('modifier1 other than 0 is refused before the vars are read', () => {
  assert.is(errorOf(readPacket(Buffer.from([9, 0xff, 0xff, 0]), false)), 'gunicorn.uwsgi.errors.UnsupportedModifier: Unsupported uWSGI modifier1: 9');
});

test("truncated pieces of the vars block, each with Gunicorn's words", () => {
  const cases: [number[], string][] = [
    [[1], 'truncated key size'],
    [[5, 0, 0x41], 'truncated key'],
    [[1, 0, 0x41, 2], 'truncated value size'],
    [[1, 0, 0x41, 2, 0, 0x42], 'truncated value'],
  ];
  for (const [vars, why] of cases) {
    const data = Buffer.concat([Buffer.from([0, vars.length, 0, 0]), Buffer.from(vars)]);
    assert.is(errorOf(readPacket(data, false)), `gunicorn.uwsgi.errors.InvalidUWSGIHeader: Invalid uWSGI header: ${why}`);
  }
});

test(`more than ${MAX_UWSGI_VARS} variables is "too many variables"`, () => {
  const vars: [string, string][] = Array.from({ length: MAX_UWSGI_VARS + 1 }, (_, i) => [`K${i}`, '']);
  assert.is(errorOf(readPacket(packet(vars), false)), 'gunicorn.uwsgi.errors.InvalidUWSGIHeader: Invalid uWSGI header: too many variables');
  assert.is(readPacket(packet(vars.slice(1)), false).kind, 'packet');
});

test('requestInfo: method, path, query, uri, headers from HTTP_* and CONTENT_*, a repeated key keeps its last value', () => {
  const r = readPacket(
    packet([
      ['QUERY_STRING', 'a=1'], ['REQUEST_METHOD', 'PUT'], ['CONTENT_TYPE', 'text/plain'], ['CONTENT_LENGTH', ' +1_0 '],
      ['PATH_INFO', '/x y'], ['HTTP_X_FORWARDED_FOR', '1.2.3.4'], ['REMOTE_ADDR', '9.9.9.9'], ['HTTP_HOST', 'a'], ['HTTP_HOST', 'b'],
    ]),
    false,
  );
  if (r.kind !== 'packet') throw new Error(errorOf(r));
  const info = requestInfo(r.packet.vars, 'http');
  assert.is(info.method, 'PUT');
  assert.is(info.uri, '/x y?a=1');
  assert.is(info.contentLength, 10, "Python's int(' +1_0 ')");
  assert.equal(info.headers, ['CONTENT-TYPE', 'text/plain', 'CONTENT-LENGTH', ' +1_0 ', 'X-FORWARDED-FOR', '1.2.3.4', 'HOST', 'b']);
  assert.is(info.close, false);
});

test('requestInfo: defaults, a bad or negative CONTENT_LENGTH is 0, HTTPS and wsgi.url_scheme, Connection: close', () => {
  const info = requestInfo(new Map(), 'http');
  assert.equal([info.method, info.path, info.query, info.uri, info.scheme, info.contentLength], ['GET', '/', '', '/', 'http', 0]);
  assert.is(requestInfo(new Map([['CONTENT_LENGTH', 'x']]), 'http').contentLength, 0);
  assert.is(requestInfo(new Map([['CONTENT_LENGTH', '-5']]), 'http').contentLength, 0);
  assert.is(requestInfo(new Map([['HTTPS', 'On']]), 'http').scheme, 'https');
  assert.is(requestInfo(new Map([['HTTPS', 'off'], ['wsgi.url_scheme', 'ws']]), 'http').scheme, 'ws');
  assert.is(requestInfo(new Map([['HTTP_CONNECTION', 'Close']]), 'http').close, true);
});

test('uwsgiPeerAllowed: exact addresses, *, unix sockets, IPv4-mapped peers; networks are not matched (as Gunicorn)', () => {
  assert.ok(uwsgiPeerAllowed('127.0.0.1', ['127.0.0.1', '::1']));
  assert.ok(uwsgiPeerAllowed('::ffff:127.0.0.1', ['127.0.0.1']));
  assert.ok(uwsgiPeerAllowed(null, []));
  assert.ok(uwsgiPeerAllowed('203.0.113.9', ['*']));
  assert.not.ok(uwsgiPeerAllowed('10.1.2.3', ['10.0.0.0/8']));
  assert.not.ok(uwsgiPeerAllowed('127.0.0.2', ['127.0.0.1', '::1']));
});

test.run();
