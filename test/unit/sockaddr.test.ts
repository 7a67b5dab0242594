// Socket addresses between Python and the host (src/runtime/host/sockaddr.ts):
// what the interpreter's IPv6 and AF_UNIX calls give Python must be what the
// host's CPython gives for the same address.

import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AF_INET6, addressOf, packIn6, sockaddrIn6, sockaddrUn, unpackIn6 } from '../../src/runtime/host/sockaddr.js';

const test = suite('sockaddr');

/** Runs `code` in the host's python3 and returns what it printed as JSON. */
function hostPython(code: string): unknown {
  const py = spawnSync('python3', ['-c', `import json, socket\n${code}`], { encoding: 'utf8' });
  assert.is(py.status, 0, py.stderr);
  return JSON.parse(py.stdout);
}

const TEXTS = ['::1', '::', '::ffff:127.0.0.1', '::7f00:1', '1:0:0:0:0:0:0:8', '2001:db8::ff00:42:8329', 'fe80::1:2:3:4'];

test('packIn6/unpackIn6 are inet_pton/inet_ntop as host CPython gives them', () => {
  const host = hostPython(
    `print(json.dumps([[socket.inet_pton(socket.AF_INET6, t).hex(), socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, t))] for t in ${JSON.stringify(TEXTS)}]))`,
  );
  const ours = TEXTS.map((t) => {
    const packed = packIn6(t)!;
    return [Buffer.from(packed).toString('hex'), unpackIn6(packed)];
  });
  assert.equal(ours, host);
  assert.is(packIn6('not an address'), null);
  assert.is(packIn6('127.0.0.1'), null);
});

test('an IPv6 sockaddr reads back as the (host, port, flowinfo, scope_id) host CPython makes of it', () => {
  // getaddrinfo's sockaddr for a scoped address, as CPython's makesockaddr shows it (inet_ntop: no "%lo"; the scope is the tuple's).
  const host = hostPython(
    `print(json.dumps([socket.getaddrinfo(h, 8080, socket.AF_INET6, socket.SOCK_STREAM)[0][4] for h in ("::1", "fe80::1%lo", "::ffff:127.0.0.1")]))`,
  ) as [string, number, number, number][];
  const ours = host.map(([text, port, , scope]) => {
    const resolved = new Uint8Array(28);
    resolved.set(packIn6(text.replace(/%.*/, ''))!, 8);
    return addressOf(sockaddrIn6(resolved, port, 0, scope));
  });
  assert.equal(ours, host);
  // Port and flowinfo in network order, scope_id in host order; the tuple's values win over the resolver's.
  const sa = sockaddrIn6(new Uint8Array(28).fill(0xff), 0x1234, 0xabcde, 7);
  assert.equal(Array.from(sa.subarray(0, 8)), [AF_INET6, 0, 0x12, 0x34, 0x00, 0x0a, 0xbc, 0xde]);
  assert.equal(Array.from(sa.subarray(24, 28)), [7, 0, 0, 0]);
  assert.equal(addressOf(sa).slice(1), [0x1234, 0xabcde, 7]);
});

test('AF_UNIX: a path, an abstract name and an unnamed socket read back; a path past sun_path is refused', () => {
  assert.is(addressOf(sockaddrUn('/tmp/x.sock')!), '/tmp/x.sock');
  assert.is(addressOf(sockaddrUn('\0abstract')!), '\0abstract');
  assert.is(addressOf(new Uint8Array([1, 0])), '');
  assert.is(sockaddrUn('/' + 'x'.repeat(106))?.byteLength, 2 + 107 + 1);
  assert.is(sockaddrUn('/' + 'x'.repeat(107)), null, '108 bytes and the NUL do not fit sun_path');
});

test.run();
