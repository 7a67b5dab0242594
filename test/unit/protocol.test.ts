// The frame formats shared by the I/O thread and python/nicorn/channel.py.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FRAME_HEADER,
  InFrame,
  OutFrame,
  decodeFile,
  decodeStart,
  encodeHead,
  frameHeader,
  goneSlot,
  Ctl,
  GONE_SLOTS,
  HEAD_FIELDS,
  type RequestHead,
} from '../../src/bridge/protocol.js';

const head = (over: Partial<RequestHead> = {}): RequestHead => ({
  method: 'POST',
  target: '/path?x=1',
  httpVersion: '1.1',
  hasBody: true,
  scheme: 'http',
  remoteAddress: '10.0.0.7',
  remotePort: 51234,
  serverName: '127.0.0.1',
  serverPort: '8000',
  proxy: '',
  rawHeaders: ['Host', 'example.com', 'X-Thing', 'a b'],
  ...over,
});

test('encodeHead lays out fields in order: method, target, version, hasBody, scheme, peer, server, proxy, header pairs', () => {
  const buf = encodeHead(head());
  assert.equal(buf.toString('latin1').split('\0'), [
    'POST', '/path?x=1', '1.1', '1', 'http', '10.0.0.7', '51234', '127.0.0.1', '8000', '',
    'Host', 'example.com', 'X-Thing', 'a b',
  ]);
});

test("encodeHead writes hasBody as '0' when there is no body", () => {
  const fields = encodeHead(head({ hasBody: false, method: 'GET' })).toString('latin1').split('\0');
  assert.is(fields[0], 'GET');
  assert.is(fields[3], '0');
});

test('encodeHead separates fields with single NUL bytes and adds none at the end', () => {
  const buf = encodeHead(head({ rawHeaders: [], proxy: 'TCP4 10.0.0.1 443' }));
  const nuls = [...buf].filter((b) => b === 0).length;
  assert.is(nuls, 9, '10 fields, 9 separators');
  assert.is.not(buf[buf.length - 1], 0);
});

test('encodeHead keeps empty server name/port fields (unix socket) as empty fields', () => {
  const fields = encodeHead(head({ serverName: '', serverPort: '', rawHeaders: [] })).toString('latin1').split('\0');
  assert.is(fields.length, 10);
  assert.is(fields[7], '');
  assert.is(fields[8], '');
});

test('encodeHead encodes latin-1: a header value byte 0xE9 stays one byte 0xE9', () => {
  // node:http hands over header bytes as latin-1 chars: byte 0xE9 arrives as 'é'.
  const buf = encodeHead(head({ rawHeaders: ['X-Name', 'caf\u00e9'] }));
  const tail = buf.subarray(buf.length - 4);
  assert.equal([...tail], [0x63, 0x61, 0x66, 0xe9]);
  assert.is(buf.indexOf(Buffer.from([0xc3, 0xa9])), -1, 'no UTF-8 encoding of é');
});

test('encodeHead keeps duplicate headers as separate pairs in arrival order', () => {
  const raw = ['Cookie', 'a=1', 'Accept', '*/*', 'Cookie', 'b=2'];
  const fields = encodeHead(head({ rawHeaders: raw })).toString('latin1').split('\0');
  assert.equal(fields.slice(10), raw);
});

const start = (s: string) => Buffer.from(s, 'latin1');

test("decodeStart: the 'c' flag asks to close the connection", () => {
  const r = decodeStart(start('c\u0000200 OK\u0000Content-Type\u0000text/plain'));
  assert.is(r.close, true);
  assert.is(r.statusCode, 200);
  assert.is(r.reason, 'OK');
  assert.equal(r.headers, ['Content-Type', 'text/plain']);
});

test("decodeStart: without the 'c' flag the connection may be kept", () => {
  const r = decodeStart(start('\u0000204 No Content'));
  assert.is(r.close, false);
  assert.is(r.statusCode, 204);
  assert.is(r.reason, 'No Content');
  assert.equal(r.headers, []);
});

test('decodeStart keeps every space of the reason phrase after the code', () => {
  const r = decodeStart(start('\u0000418 I am a  teapot \u0000X\u0000y'));
  assert.is(r.statusCode, 418);
  assert.is(r.reason, 'I am a  teapot ');
});

test('decodeStart keeps duplicate headers in order', () => {
  const r = decodeStart(start('\u0000200 OK\u0000Set-Cookie\u0000a=1\u0000X\u00001\u0000Set-Cookie\u0000b=2'));
  assert.equal(r.headers, ['Set-Cookie', 'a=1', 'X', '1', 'Set-Cookie', 'b=2']);
});

test('decodeStart reads header values as latin-1 (byte 0xE9 becomes é)', () => {
  const payload = Buffer.concat([start('\u0000200 OK\u0000X\u0000caf'), Buffer.from([0xe9])]);
  assert.equal(decodeStart(payload).headers, ['X', 'caf\u00e9']);
});

/** Builds an OUT_FILE payload as channel.py's file_frame does: struct '<Qq' + utf-8 path. */
function fileFrame(path: string, offset: number, count: number): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeBigUInt64LE(BigInt(offset), 0);
  fixed.writeBigInt64LE(BigInt(count), 8);
  return Buffer.concat([fixed, Buffer.from(path, 'utf8')]);
}

test('decodeFile round-trips offset, count and an ASCII path', () => {
  assert.equal(decodeFile(fileFrame('/srv/static/app.css', 1024, 4096)), {
    path: '/srv/static/app.css',
    offset: 1024,
    count: 4096,
  });
});

test('decodeFile reads count -1 (to end of file) as signed', () => {
  const f = decodeFile(fileFrame('/x', 0, -1));
  assert.is(f.count, -1);
  assert.is(f.offset, 0);
});

test('decodeFile decodes a non-ASCII path as UTF-8', () => {
  const p = '/tmp/données/naïve ☃.bin';
  assert.is(decodeFile(fileFrame(p, 7, 3)).path, p);
});

test('decodeFile handles offsets above 2^32', () => {
  const off = 2 ** 33 + 5;
  assert.is(decodeFile(fileFrame('/big', off, 10)).offset, off);
});

test('frameHeader is 8 bytes: type at byte 0, the exchange id in bytes 1-3 (u24 LE), u32 LE length at byte 4', () => {
  const h = frameHeader(OutFrame.Body, 0x0a0b0c, 0x01020304);
  assert.is(h.length, FRAME_HEADER);
  assert.is(FRAME_HEADER, 8);
  assert.equal([...h], [2, 0x0c, 0x0b, 0x0a, 0x04, 0x03, 0x02, 0x01]);
});

test('frameHeader carries lengths up to 2^32-1', () => {
  const h = frameHeader(InFrame.Head, 1, 0xffffffff);
  assert.is(h[0], 1);
  assert.is(new DataView(h.buffer).getUint32(4, true), 0xffffffff);
});

test('each exchange in flight has its own client-gone slot, past the fixed slots', () => {
  const slots = new Set(Array.from({ length: GONE_SLOTS }, (_, i) => goneSlot(1000 + i)));
  assert.is(slots.size, GONE_SLOTS);
  for (const slot of slots) assert.ok(slot >= Ctl.GoneBase && slot < Ctl.GoneBase + GONE_SLOTS);
  assert.ok(Math.max(...Object.values(Ctl).filter((v) => v !== Ctl.GoneBase)) < Ctl.GoneBase);
});

test('HEAD_FIELDS names the fields encodeHead writes before the header pairs', () => {
  assert.is(encodeHead(head({ rawHeaders: [] })).toString('latin1').split('\0').length, HEAD_FIELDS.length);
});

test.run();
