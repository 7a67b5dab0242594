// parseBind and bindOne: the arbiter's listening sockets.

import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BindError, bindOne, parseBind, type Listener } from '../../src/arbiter/listeners.js';

test("parseBind 'HOST:PORT'", () => {
  assert.equal(parseBind('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.equal(parseBind('localhost:1'), { host: 'localhost', port: 1 });
});

test("parseBind '[IPv6]:PORT' strips the brackets", () => {
  assert.equal(parseBind('[::1]:8080'), { host: '::1', port: 8080 });
  assert.equal(parseBind('[::]:80'), { host: '::', port: 80 });
});

test('parseBind: a bare host listens on port 8000', () => {
  assert.equal(parseBind('example.com'), { host: 'example.com', port: 8000 });
  assert.equal(parseBind('[::1]'), { host: '::1', port: 8000 });
});

test("parseBind ':PORT' means all interfaces (0.0.0.0)", () => {
  assert.equal(parseBind(':9000'), { host: '0.0.0.0', port: 9000 });
});

test('parseBind: a port above 65535 is a BindError', () => {
  assert.throws(() => parseBind('127.0.0.1:65536'), (e: unknown) => e instanceof BindError && /65536/.test(e.message));
  assert.equal(parseBind('127.0.0.1:65535'), { host: '127.0.0.1', port: 65535 });
});

test('parseBind: a non-numeric port or a bare IPv6 address without brackets is a BindError', () => {
  for (const spec of ['127.0.0.1:http', 'host:80:90', '::1:8080']) {
    assert.throws(() => parseBind(spec), (e: unknown) => e instanceof BindError, spec);
  }
});

test("bindOne('127.0.0.1:0') binds an ephemeral port and reports it in the url", async () => {
  const l = await bindOne('127.0.0.1:0');
  try {
    assert.is(l.spec, '127.0.0.1:0');
    const m = /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(l.url);
    assert.ok(m, l.url);
    const port = Number(m![1]);
    assert.ok(port > 0 && port < 65536, `port ${port}`);
    const out: { port?: number } = {};
    l.handle.getsockname(out);
    assert.is(out.port, port);
  } finally {
    l.handle.close();
  }
});

test("bindOne('[::1]:0') shows the IPv6 address in brackets", async () => {
  let l: Listener;
  try {
    l = await bindOne('[::1]:0');
  } catch (e) {
    // No IPv6 loopback on this host: nothing to check.
    if (e instanceof BindError) return;
    throw e;
  }
  try {
    assert.match(l.url, /^http:\/\/\[::1\]:\d+$/);
  } finally {
    l.handle.close();
  }
});

test("bindOne on a port already in use fails with a BindError 'Connection in use'", async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as net.AddressInfo;
  let bound: Listener | undefined;
  let error: unknown;
  try {
    bound = await bindOne(`127.0.0.1:${port}`);
  } catch (e) {
    error = e;
  } finally {
    bound?.handle.close();
    await new Promise((r) => taken.close(r));
  }
  assert.ok(bound === undefined, `bindOne returned a listener for the taken port ${port}`);
  assert.instance(error, BindError);
  assert.match((error as Error).message, 'Connection in use');
  assert.match((error as Error).message, String(port));
});

test('bindOne: an unresolvable host is a BindError naming it', async () => {
  try {
    await bindOne('no-such-host.invalid:80');
    assert.unreachable('resolved an .invalid host');
  } catch (e) {
    assert.instance(e, BindError);
    assert.match((e as Error).message, 'no-such-host.invalid');
  }
});

test.run();
