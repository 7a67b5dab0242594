// parseProxyHeader: the PROXY protocol header (HAProxy's v1 text and v2
// binary forms) at the start of a connection, as Gunicorn 24.1 reads it in
// http/message.py (_handle_proxy_protocol, _parse_proxy_protocol_v1/_v2),
// with its error texts (http/errors.py InvalidProxyLine, InvalidProxyHeader).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pyRepr } from '../../src/config/validators.js';
import { parseProxyHeader, V1_MAX_LENGTH, type ProxyParse } from '../../src/worker/front-door/proxy-protocol.js';

const HTTP = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
const parse = (data: string | Buffer) => parseProxyHeader(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
const errorOf = (r: ProxyParse) => (r.kind === 'error' ? r.message : `not an error: ${r.kind}`);

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
/** A v2 header: version/command byte, family/transport byte, then the address block. */
const v2 = (verCmd: number, famProto: number, body: Buffer = Buffer.alloc(0), lengthField = body.length) => {
  const fixed = Buffer.alloc(4);
  fixed[0] = verCmd;
  fixed[1] = famProto;
  fixed.writeUInt16BE(lengthField, 2);
  return Buffer.concat([SIG, fixed, body]);
};
const ipv4Block = Buffer.from([192, 0, 2, 1, 198, 51, 100, 7, 0xd4, 0x31, 0x01, 0xbb]); // ports 54321, 443
const ipv6Block = Buffer.concat([
  Buffer.from('20010db8000000000000000000000001', 'hex'),
  Buffer.from('00000000000000000000ffffc0000201', 'hex'),
  Buffer.from([0x00, 0x50, 0x1f, 0x90]), // ports 80, 8080
]);

// ---------------------------------------------------------------- plain HTTP

test('a connection that cannot start with a PROXY header is plain HTTP from its first byte', () => {
  for (const data of [HTTP, 'POST / HTTP/1.1\r\n', 'G', 'PUT', 'PROXX', 'PROXYX', 'P\r', '\r\r', '\r\n\r\n\x01']) {
    assert.equal(parse(data), { kind: 'none' }, JSON.stringify(data));
  }
});

test('a prefix of "PROXY " or of the v2 signature waits for more bytes', () => {
  for (const data of ['', 'P', 'PR', 'PRO', 'PROX', 'PROXY']) assert.equal(parse(data), { kind: 'more' }, JSON.stringify(data));
  for (let n = 1; n <= 16; n++) assert.equal(parse(v2(0x21, 0x11, ipv4Block).subarray(0, n)), { kind: 'more' }, `v2 prefix of ${n}`);
});

// ---------------------------------------------------------------- v1

test('v1 TCP4: the client and proxy addresses and ports; the HTTP bytes after the line are not consumed', () => {
  const line = 'PROXY TCP4 192.0.2.1 198.51.100.7 54321 443\r\n';
  const r = parse(line + HTTP);
  assert.equal(r, {
    kind: 'ok',
    info: { protocol: 'TCP4', clientAddr: '192.0.2.1', clientPort: 54321, proxyAddr: '198.51.100.7', proxyPort: 443 },
    consumed: line.length,
  });
});

test('v1 TCP6: the addresses are kept as written', () => {
  const line = 'PROXY TCP6 2001:DB8::1 ::ffff:192.0.2.1 0 65535\r\n';
  assert.equal(parse(line), {
    kind: 'ok',
    info: { protocol: 'TCP6', clientAddr: '2001:DB8::1', clientPort: 0, proxyAddr: '::ffff:192.0.2.1', proxyPort: 65535 },
    consumed: line.length,
  });
});

test("v1 ports are read with Python's int(): leading zeros, a sign, underscores, surrounding whitespace", () => {
  const r = parse('PROXY TCP4 1.2.3.4 5.6.7.8 +0080 6_5\t\r\n');
  assert.equal(r.kind === 'ok' && [r.info.clientPort, r.info.proxyPort], [80, 65]);
});

test('a v1 line split across several chunks: more until the CRLF, then ok', () => {
  const whole = Buffer.from(`PROXY TCP4 10.0.0.1 10.0.0.2 1000 2000\r\n${HTTP}`, 'latin1');
  let seen = Buffer.alloc(0);
  const kinds: string[] = [];
  for (const size of [3, 4, 10, 15, 7, 2, 100]) {
    const start = seen.length;
    seen = Buffer.concat([seen, whole.subarray(start, start + size)]);
    kinds.push(parse(seen).kind);
  }
  assert.equal(kinds, ['more', 'more', 'more', 'more', 'more', 'ok', 'ok']);
  const r = parse(seen);
  assert.is(r.kind === 'ok' && seen.subarray(r.consumed).toString('latin1'), HTTP);
});

test('a CR alone does not end a v1 line', () => {
  assert.equal(parse('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r'), { kind: 'more' });
  assert.equal(parse('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), { kind: 'more' });
});

test('v1 with other than six space-separated fields: the whole line', () => {
  assert.is(errorOf(parse('PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n')), "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 80'");
  assert.is(errorOf(parse('PROXY TCP4 1.2.3.4 5.6.7.8 80 443 x\r\n')), "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 80 443 x'");
  // Single spaces only, as Gunicorn splits on " ".
  assert.is(errorOf(parse('PROXY TCP4  1.2.3.4 5.6.7.8 80 443\r\n')), "Invalid PROXY line: 'PROXY TCP4  1.2.3.4 5.6.7.8 80 443'");
  assert.is(errorOf(parse('PROXY \r\n')), "Invalid PROXY line: 'PROXY '");
});

test('v1 UNKNOWN is refused as Gunicorn refuses it (the spec would accept it)', () => {
  assert.is(errorOf(parse('PROXY UNKNOWN\r\n')), "Invalid PROXY line: 'PROXY UNKNOWN'");
  assert.is(
    errorOf(parse('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n')),
    'Invalid PROXY line: "protocol \'UNKNOWN\' not supported"',
  );
  assert.is(errorOf(parse('PROXY TCP5 1.2.3.4 5.6.7.8 80 443\r\n')), 'Invalid PROXY line: "protocol \'TCP5\' not supported"');
});

test('v1 with an address that inet_pton refuses for the family: the whole line', () => {
  for (const line of [
    'PROXY TCP4 1.2.3 5.6.7.8 80 443',
    'PROXY TCP4 1.2.3.4 05.6.7.8 80 443',
    'PROXY TCP4 ::1 5.6.7.8 80 443',
    'PROXY TCP6 1.2.3.4 ::1 80 443',
    'PROXY TCP6 ::1 fe80::1%eth0 80 443',
    'PROXY TCP6 1::2::3 ::1 80 443',
  ]) {
    assert.is(errorOf(parse(`${line}\r\n`)), `Invalid PROXY line: '${line}'`, line);
  }
});

test('v1 with a port that is not an int in 0..65535: "invalid port" and the line', () => {
  for (const line of [
    'PROXY TCP4 1.2.3.4 5.6.7.8 65536 443',
    'PROXY TCP4 1.2.3.4 5.6.7.8 80 -1',
    'PROXY TCP4 1.2.3.4 5.6.7.8 http 443',
    'PROXY TCP4 1.2.3.4 5.6.7.8 0x50 443',
    'PROXY TCP4 1.2.3.4 5.6.7.8 8__0 443',
    'PROXY TCP4 1.2.3.4 5.6.7.8  443',
  ]) {
    assert.is(errorOf(parse(`${line}\r\n`)), `Invalid PROXY line: 'invalid port ${line}'`, line);
  }
});

test('the line is shown as Python repr() shows its latin-1 text', () => {
  assert.is(errorOf(parse("PROXY TCP4 it's\r\n")), `Invalid PROXY line: "PROXY TCP4 it's"`);
  assert.is(errorOf(parse('PROXY \x00\x80\xa0\xe9\\\r\n')), "Invalid PROXY line: 'PROXY \\x00\\x80\\xa0é\\\\'");
  assert.is(pyRepr(`'"`), `'\\'"'`);
});

test('a v1 line longer than the 107 bytes the spec allows is refused instead of buffered', () => {
  const long = `PROXY TCP4 ${'1'.repeat(200)}`;
  assert.equal(parse(long.slice(0, V1_MAX_LENGTH - 1)), { kind: 'more' });
  assert.is(errorOf(parse(long.slice(0, V1_MAX_LENGTH))), `Invalid PROXY line: '${long.slice(0, V1_MAX_LENGTH)}'`);
  assert.is(parse(long).kind, 'error');
  // The longest well-formed TCP6 line fits exactly.
  const max = `PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`;
  assert.is(max.length, 104);
  assert.is(parse(max).kind, 'ok');
  const tooLong = `PROXY TCP4 1.2.3.4 5.6.7.8 ${'0'.repeat(80)}80 443\r\n`;
  assert.ok(tooLong.length > V1_MAX_LENGTH);
  assert.is(parse(tooLong).kind, 'error');
});

test('the error carries the exception and its argument, for the log and the page', () => {
  assert.equal(parse('PROXY UNKNOWN\r\n'), {
    kind: 'error',
    message: "Invalid PROXY line: 'PROXY UNKNOWN'",
    exception: 'InvalidProxyLine',
    detail: 'PROXY UNKNOWN',
  });
  assert.equal(parse(v2(0x11, 0x11, ipv4Block)), {
    kind: 'error',
    message: 'Invalid PROXY header: unsupported version 1',
    exception: 'InvalidProxyHeader',
    detail: 'unsupported version 1',
  });
});

// ---------------------------------------------------------------- v2

test('v2 PROXY over TCP/IPv4: addresses, ports; the HTTP bytes after the header are not consumed', () => {
  const header = v2(0x21, 0x11, ipv4Block);
  const r = parse(Buffer.concat([header, Buffer.from(HTTP)]));
  assert.equal(r, {
    kind: 'ok',
    info: { protocol: 'TCP4', clientAddr: '192.0.2.1', clientPort: 54321, proxyAddr: '198.51.100.7', proxyPort: 443 },
    consumed: header.length,
  });
});

test('v2 PROXY over TCP/IPv6: addresses as inet_ntop writes them', () => {
  const header = v2(0x21, 0x21, ipv6Block);
  assert.equal(parse(header), {
    kind: 'ok',
    info: { protocol: 'TCP6', clientAddr: '2001:db8::1', clientPort: 80, proxyAddr: '::ffff:192.0.2.1', proxyPort: 8080 },
    consumed: header.length,
  });
});

test('v2 TLVs after the addresses are skipped with the header', () => {
  const tlv = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x00]); // ALPN "h2", an empty NOOP
  const header = v2(0x21, 0x11, Buffer.concat([ipv4Block, tlv]));
  const r = parse(Buffer.concat([header, Buffer.from(HTTP)]));
  assert.is(r.kind === 'ok' && r.consumed, header.length);
  assert.is(r.kind === 'ok' && r.info.clientAddr, '192.0.2.1');
});

test('v2 LOCAL (a health check from the proxy itself): no addresses, whatever the family says', () => {
  for (const famProto of [0x00, 0x11, 0x22, 0x31]) {
    const header = v2(0x20, famProto, famProto === 0x11 ? ipv4Block : Buffer.alloc(0));
    assert.equal(parse(Buffer.concat([header, Buffer.from(HTTP)])), {
      kind: 'ok',
      info: { protocol: 'LOCAL', clientAddr: null, clientPort: null, proxyAddr: null, proxyPort: null },
      consumed: header.length,
    });
  }
});

test('v2 PROXY with the UNSPEC family over STREAM: no addresses', () => {
  const header = v2(0x21, 0x01, Buffer.from([1, 2, 3]));
  assert.equal(parse(header), {
    kind: 'ok',
    info: { protocol: 'UNSPEC', clientAddr: null, clientPort: null, proxyAddr: null, proxyPort: null },
    consumed: header.length,
  });
});

test('v2 split across several chunks: more until 16 + length bytes, then ok', () => {
  const whole = Buffer.concat([v2(0x21, 0x21, ipv6Block), Buffer.from(HTTP)]);
  const total = 16 + ipv6Block.length;
  for (let n = 1; n < total; n++) assert.equal(parse(whole.subarray(0, n)), { kind: 'more' }, `${n} bytes`);
  assert.is(parse(whole.subarray(0, total)).kind, 'ok');
});

test('v2 with a version other than 2 or an unknown command is refused', () => {
  assert.is(errorOf(parse(v2(0x11, 0x11, ipv4Block))), 'Invalid PROXY header: unsupported version 1');
  assert.is(errorOf(parse(v2(0x31, 0x11, ipv4Block))), 'Invalid PROXY header: unsupported version 3');
  assert.is(errorOf(parse(v2(0x22, 0x11, ipv4Block))), 'Invalid PROXY header: unsupported command 2');
  assert.is(errorOf(parse(v2(0x2f, 0x11, ipv4Block))), 'Invalid PROXY header: unsupported command 15');
});

test('v2 PROXY over anything but STREAM is refused (DGRAM, and UNSPEC transport even with the UNSPEC family)', () => {
  assert.is(errorOf(parse(v2(0x21, 0x12, ipv4Block))), 'Invalid PROXY header: only TCP protocol is supported');
  assert.is(errorOf(parse(v2(0x21, 0x22, ipv6Block))), 'Invalid PROXY header: only TCP protocol is supported');
  assert.is(errorOf(parse(v2(0x21, 0x00))), 'Invalid PROXY header: only TCP protocol is supported');
});

test('v2 PROXY with the UNIX family, or with too short an address block, is refused', () => {
  assert.is(errorOf(parse(v2(0x21, 0x31, Buffer.alloc(216)))), 'Invalid PROXY header: unsupported address family 3');
  assert.is(errorOf(parse(v2(0x21, 0x41, Buffer.alloc(12)))), 'Invalid PROXY header: unsupported address family 4');
  assert.is(errorOf(parse(v2(0x21, 0x11, ipv4Block.subarray(0, 11)))), 'Invalid PROXY header: insufficient address data for IPv4');
  assert.is(errorOf(parse(v2(0x21, 0x21, ipv4Block))), 'Invalid PROXY header: insufficient address data for IPv6');
});

test('v2 errors that the first 16 bytes decide do not wait for the rest of the header', () => {
  assert.is(parse(v2(0x11, 0x11, Buffer.alloc(0), 60000)).kind, 'error');
  assert.is(parse(v2(0x21, 0x12, Buffer.alloc(0), 60000)).kind, 'error');
  assert.equal(parse(v2(0x21, 0x11, Buffer.alloc(0), 60000)), { kind: 'more' });
});

test.run();
