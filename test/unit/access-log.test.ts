// The access log line, atom by atom, as Gunicorn's glogging formats it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accessAtoms, accessTimestamp, environAtoms, formatAccess } from '../../src/log/access-log.js';
import type { AccessRecord } from '../../src/log/access-record.js';

const GUNICORN_DEFAULT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"';

const record = (over: Partial<AccessRecord> = {}): AccessRecord => ({
  method: 'GET',
  target: '/caf%C3%A9/x?a=1&b=2',
  httpVersion: '1.1',
  remoteAddress: '127.0.0.1',
  requestHeaders: ['Host', 'example.com', 'User-Agent', 'curl/8 "quoted"', 'Referer', 'http://ref/', 'Authorization', 'Basic ' + Buffer.from('alice:secret').toString('base64')],
  status: 200,
  responseHeaders: ['Content-Type', 'text/plain', 'Content-Length', '14'],
  bytesSent: 14,
  startedAt: Date.UTC(2026, 10, 25, 9, 30, 5),
  durationUs: 1_234_567,
  environ: { REMOTE_USER: 'bob', 'wsgi.url_scheme': 'http' },
  ...over,
});

test("t is '[%d/%b/%Y:%H:%M:%S %z]'", () => {
  assert.match(accessTimestamp(new Date(Date.UTC(2026, 0, 5, 7, 8, 9))), /^\[\d\d\/(Jan|Dec)\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]$/);
});

test("Gunicorn's default format, byte for byte", () => {
  const atoms = accessAtoms(record(), 42);
  const line = formatAccess(GUNICORN_DEFAULT, atoms);
  assert.is(line, `127.0.0.1 - alice ${atoms.get('t')} "GET /caf%C3%A9/x?a=1&b=2 HTTP/1.1" 200 14 "http://ref/" "curl/8 \\"quoted\\""`);
});

test('every single-letter atom', () => {
  const a = accessAtoms(record(), 42);
  assert.is(a.get('h'), '127.0.0.1');
  assert.is(a.get('l'), '-');
  assert.is(a.get('u'), 'alice');
  assert.is(a.get('r'), 'GET /caf%C3%A9/x?a=1&b=2 HTTP/1.1');
  assert.is(a.get('m'), 'GET');
  assert.is(a.get('U'), '/caf\u00c3\u00a9/x', 'PATH_INFO: percent-decoded, bytes as latin-1');
  assert.is(a.get('q'), 'a=1&b=2');
  assert.is(a.get('H'), 'HTTP/1.1');
  assert.is(a.get('s'), '200');
  assert.is(a.get('B'), '14');
  assert.is(a.get('b'), '14');
  assert.is(a.get('f'), 'http://ref/');
  assert.is(a.get('a'), 'curl/8 "quoted"');
  assert.is(a.get('T'), '1');
  assert.is(a.get('D'), '1234567');
  assert.is(a.get('M'), '1234');
  assert.is(a.get('L'), '1.234567');
  assert.is(a.get('p'), '<42>');
});

test('{header}i, {header}o and {variable}e, case-insensitive names', () => {
  const line = formatAccess('%({host}i)s %({Content-Type}o)s %({REMOTE_USER}e)s %({wsgi.url_scheme}e)s', accessAtoms(record(), 1));
  assert.is(line, 'example.com text/plain bob http');
});

test("a missing atom prints '-'; %% is a percent sign; %d works like %s", () => {
  const line = formatAccess('%(nope)s %({x-none}i)s 100%% %(s)d', accessAtoms(record(), 1));
  assert.is(line, '- - 100% 200');
});

test('no Authorization: u is -; no body: b is 0', () => {
  const a = accessAtoms(record({ requestHeaders: [], bytesSent: 0 }), 1);
  assert.is(a.get('u'), '-');
  assert.is(a.get('f'), '-');
  assert.is(a.get('a'), '-');
  assert.is(a.get('b'), '0');
});

test('the environ names a format needs are found, lower-cased, once each', () => {
  assert.equal(environAtoms('%({REMOTE_USER}e)s %({remote_user}e)s %({wsgi.url_scheme}e)s %(h)s'), ['remote_user', 'wsgi.url_scheme']);
});

test.run();
