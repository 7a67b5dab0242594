// parseBind, bindOne, closeListeners, listenerSpecs, systemd's listen_fds and
// Gunicorn's bind tries (bindWithRetries): the arbiter's listening sockets.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIND_TRIES, addressText, bindWithRetries } from '../../src/arbiter/bind-retries.js';
import {
  BindError,
  SocketError,
  bindOne,
  closeListeners,
  listenOn as listenBound,
  listenerSpecs,
  parseBind,
  reusePortUnsupported,
  unixSocketPath,
  type Listener,
} from '../../src/arbiter/listeners.js';
import { activatedBinds, listenFds } from '../../src/arbiter/systemd.js';
import { libc } from '../../src/runtime/host/libc.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-listeners-'));

const tcp = (host: string, port: number) => ({ kind: 'tcp', host, port });

test("parseBind 'HOST:PORT'", () => {
  assert.equal(parseBind('127.0.0.1:8080'), tcp('127.0.0.1', 8080));
  assert.equal(parseBind('localhost:1'), tcp('localhost', 1));
  assert.equal(parseBind('LocalHost:1'), tcp('localhost', 1), 'the host is lowercased, as parse_address does');
  assert.equal(parseBind('tcp://127.0.0.1:80'), tcp('127.0.0.1', 80), 'tcp:// is allowed and dropped');
});

test("parseBind '[IPv6]:PORT' strips the brackets", () => {
  assert.equal(parseBind('[::1]:8080'), tcp('::1', 8080));
  assert.equal(parseBind('[::]:80'), tcp('::', 80));
});

test('parseBind: a bare host listens on port 8000', () => {
  assert.equal(parseBind('example.com'), tcp('example.com', 8000));
  assert.equal(parseBind('[::1]'), tcp('::1', 8000));
});

test("parseBind ':PORT' and '' mean all interfaces (0.0.0.0)", () => {
  assert.equal(parseBind(':9000'), tcp('0.0.0.0', 9000));
  assert.equal(parseBind(''), tcp('0.0.0.0', 8000));
});

test('parseBind: a port above 65535 is a BindError', () => {
  assert.throws(() => parseBind('127.0.0.1:65536'), (e: unknown) => e instanceof BindError && /65536/.test(e.message));
  assert.equal(parseBind('127.0.0.1:65535'), tcp('127.0.0.1', 65535));
});

test('parseBind: a non-numeric port or a bare IPv6 address without brackets is a BindError', () => {
  for (const spec of ['127.0.0.1:http', 'host:80:90', '::1:8080']) {
    assert.throws(() => parseBind(spec), (e: unknown) => e instanceof BindError, spec);
  }
});

test("parseBind 'unix:PATH' and 'unix://PATH' (relative paths kept as written)", () => {
  assert.equal(parseBind('unix:/run/app.sock'), { kind: 'unix', path: '/run/app.sock' });
  assert.equal(parseBind('unix:///run/app.sock'), { kind: 'unix', path: '/run/app.sock' });
  assert.equal(parseBind('unix:app.sock'), { kind: 'unix', path: 'app.sock' });
  assert.throws(() => parseBind('unix:'), (e: unknown) => e instanceof BindError);
});

test("parseBind 'fd://FD'; a non-numeric FD is Gunicorn's 'not a valid file descriptor'", () => {
  assert.equal(parseBind('fd://3'), { kind: 'fd', fd: 3 });
  assert.equal(parseBind('fd://12'), { kind: 'fd', fd: 12 });
  for (const spec of ['fd://', 'fd://x', 'fd://-1']) {
    assert.throws(() => parseBind(spec), (e: unknown) => e instanceof BindError && /is not a valid file descriptor/.test(e.message), spec);
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
    l.handle.getsockname!(out);
    assert.is(out.port, port);
    assert.is(l.unixPath, undefined);
  } finally {
    l.handle.close();
  }
});

/** getsockopt(2) of an int option, through the host's C library. */
function intOption(fd: number, level: number, name: number): number {
  getsockopt ??= libc().func('int getsockopt(int, int, int, _Out_ int *, _Inout_ int *)') as unknown as typeof getsockopt;
  const value = [0];
  assert.is(getsockopt!(fd, level, name, value, [4]), 0, 'getsockopt');
  return value[0]!;
}
let getsockopt: ((fd: number, level: number, name: number, value: number[], len: number[]) => number) | null = null;
const [IPPROTO_TCP, TCP_NODELAY, SOL_SOCKET, SO_KEEPALIVE] = [6, 1, 1, 9];

test("TCP listeners have TCP_NODELAY (Gunicorn's set_options), and a connection accepted as the front door accepts it has it too, without SO_KEEPALIVE", async () => {
  const bound = await bindOne('127.0.0.1:0');
  const inherited = await bindOne(`fd://${bound.handle.fd}`);
  const server = http.createServer({ noDelay: false, keepAlive: false });
  try {
    assert.is(intOption(bound.handle.fd, IPPROTO_TCP, TCP_NODELAY), 1, 'a bound listener');
    assert.is(intOption(inherited.handle.fd, IPPROTO_TCP, TCP_NODELAY), 1, 'an fd:// listener');
    await new Promise<void>((resolve) => server.listen(bound.handle as never, resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const sock = await accepted;
    const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
    // Linux copies the listener's TCP_NODELAY to what accept() returns: node need not set it per connection.
    assert.is(intOption(fd, IPPROTO_TCP, TCP_NODELAY), 1, 'the accepted connection');
    assert.is(intOption(fd, SOL_SOCKET, SO_KEEPALIVE), 0, 'no TCP keep-alive probes (Gunicorn sets none)');
    client.destroy();
  } finally {
    // (`inherited` wraps the same descriptor: closing the server's handle closes it.)
    server.close();
  }
});

test('reuse_port: node passes SO_REUSEPORT since v23.1.0 and v22.12.0; an older one is named', () => {
  for (const v of ['20.20.2', '22.11.0', '23.0.0']) assert.match(reusePortUnsupported(v) ?? '', new RegExp(`^reuse_port needs Node 22\\.12 or later .*; this is Node ${v.replace(/\./g, '\\.')}$`));
  for (const v of ['22.12.0', '23.1.0', '24.21.0', '26.10.0']) assert.is(reusePortUnsupported(v), null, v);
});

/** Listens on the handle of `l` (as a worker does); resolves with the error, or null. */
function listenOn(l: Listener): Promise<{ server: net.Server; error: NodeJS.ErrnoException | null }> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', (error) => resolve({ server, error }));
    server.listen(l.handle as never, () => resolve({ server, error: null }));
  });
}

test('bindOne with reusePort: two listeners share one port (Node 22.12+), or the arbiter says this Node cannot', async () => {
  const unsupported = reusePortUnsupported();
  if (unsupported) {
    const error = await bindOne('127.0.0.1:0', { reusePort: true }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof BindError, String(error));
    assert.is((error as BindError).message, unsupported);
    return;
  }
  const a = await bindOne('127.0.0.1:0', { reusePort: true });
  const port = Number(/:(\d+)$/.exec(a.url)![1]);
  const b = await bindOne(`127.0.0.1:${port}`, { reusePort: true });
  const c = await bindOne(`127.0.0.1:${port}`);
  const listening = [await listenOn(a), await listenOn(b), await listenOn(c)];
  try {
    assert.is(listening[0]!.error, null);
    assert.is(listening[1]!.error, null, 'the second SO_REUSEPORT listener on the port');
    assert.is(listening[2]!.error?.code, 'EADDRINUSE', 'a listener without the flag is refused');
  } finally {
    for (const { server } of listening) server.close();
  }
});

test("bindOne('[::1]:0') shows the IPv6 address in brackets", async () => {
  let l: Listener;
  try {
    l = await bindOne('[::1]:0');
  } catch (e) {
    if (e instanceof BindError) {
      console.log(`  (skipped: no IPv6 loopback here: ${e.message})`);
      return;
    }
    throw e;
  }
  try {
    assert.match(l.url, /^http:\/\/\[::1\]:\d+$/);
  } finally {
    l.handle.close();
  }
});

test("bindOne on a port already in use: a SocketError, CPython's '[Errno 98] Address already in use'", async () => {
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
  assert.instance(error, SocketError);
  assert.is((error as SocketError).errno, 98);
  assert.is((error as Error).message, '[Errno 98] Address already in use');
});

test("bindOne: an unresolvable host is CPython's socket.gaierror, '[Errno -2] Name or service not known' (-3 without DNS)", async () => {
  try {
    await bindOne('no-such-host.invalid:80');
    assert.unreachable('resolved an .invalid host');
  } catch (e) {
    assert.instance(e, SocketError);
    const { errno, message } = e as SocketError;
    assert.ok(errno < 0, `an EAI_ code: ${errno}`);
    assert.match(message, new RegExp(`^\\[Errno ${errno}\\] (Name or service not known|Temporary failure in name resolution)$`));
  }
});

test('listenOn: a listen() that fails is a SocketError too (another socket bound to the port listened first)', async () => {
  // Both bound with SO_REUSEADDR (libuv sets it), neither listening: allowed; then only the first to listen may.
  const first = await bindOne('127.0.0.1:0');
  const port = Number(/:(\d+)$/.exec(first.url)![1]);
  const second = await bindOne(`127.0.0.1:${port}`);
  try {
    listenBound(second, 16);
    assert.throws(() => listenBound(first, 16), (e: unknown) => e instanceof SocketError && e.message === '[Errno 98] Address already in use');
  } finally {
    closeListeners([first, second]);
  }
});

// ---------------------------------------------------------------- unix:PATH

interface RawListen {
  listen(backlog: number): number;
  onconnection: ((status: number, client?: { close(): void }) => void) | null;
}

/** listen()s on the handle as a worker does (raw, without a net.Server) and sees that a client gets in. */
async function listensOn(l: Listener, to: net.NetConnectOpts): Promise<boolean> {
  const raw = l.handle as unknown as RawListen;
  raw.onconnection = (_status, client) => client?.close();
  assert.is(raw.listen(16), 0, 'listen()');
  return new Promise<boolean>((resolve) => {
    const c = net.connect(to);
    c.on('connect', () => (c.destroy(), resolve(true)));
    c.on('error', () => resolve(false));
  });
}

test("bindOne('unix:PATH') creates the socket file; its url is unix:PATH; closing removes the file", async () => {
  const file = path.join(tmp, 'a.sock');
  const l = await bindOne(`unix:${file}`);
  try {
    assert.is(l.url, `unix:${file}`);
    assert.is(l.unixPath, file);
    assert.ok(fs.statSync(file).isSocket(), 'a socket file exists at the path');
    assert.is(fs.statSync(file).mode & 0o777, 0o777, "Gunicorn's default umask (0): srwxrwxrwx");
    assert.is(unixSocketPath(l.handle.fd), file, '/proc/net/unix names it by its path');
  } finally {
    closeListeners([l]);
  }
  assert.not.ok(fs.existsSync(file), 'the file is gone after closeListeners');
});

test('bindOne(unix:RELATIVE) binds under --chdir (where Gunicorn\'s arbiter is) and shows the path as written', async () => {
  const l = await bindOne('unix:rel.sock', { cwd: tmp });
  try {
    assert.is(l.url, 'unix:rel.sock');
    assert.is(l.unixPath, path.join(tmp, 'rel.sock'));
    assert.ok(fs.statSync(path.join(tmp, 'rel.sock')).isSocket());
    assert.not.ok(fs.existsSync(path.resolve('rel.sock')), 'nothing in the current directory');
  } finally {
    closeListeners([l]);
  }
  assert.not.ok(fs.existsSync(path.join(tmp, 'rel.sock')));
});

test('bindOne(unix:PATH) applies the umask to the file mode', async () => {
  const file = path.join(tmp, 'umask.sock');
  const l = await bindOne(`unix:${file}`, { umask: 0o077 });
  try {
    assert.is(fs.statSync(file).mode & 0o777, 0o700);
  } finally {
    closeListeners([l]);
  }
});

test('bindOne(unix:PATH): a stale socket file left by a dead process is replaced, and the new one answers', async () => {
  const file = path.join(tmp, 'stale.sock');
  // A process that binds the path and dies without cleaning up (SIGKILL).
  const script = `require('net').createServer().listen(${JSON.stringify(file)}, () => { process.stdout.write('up'); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(fs.statSync(file).isSocket(), 'the dead process left its socket file');
  const refused = await new Promise<string>((resolve) => {
    const c = net.connect(file);
    c.on('connect', () => (c.destroy(), resolve('connected')));
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  assert.is(refused, 'ECONNREFUSED', 'nobody listens on the stale file');

  const l = await bindOne(`unix:${file}`);
  try {
    assert.ok(fs.statSync(file).isSocket());
    assert.ok(await listensOn(l, { path: file }), 'a client reaches the new socket through the path');
  } finally {
    closeListeners([l]);
  }
  assert.not.ok(fs.existsSync(file));
});

test("bindOne(unix:PATH) on a file that is not a socket: BindError ''PATH' is not a socket', file untouched", async () => {
  const file = path.join(tmp, 'regular');
  fs.writeFileSync(file, 'keep me');
  try {
    await bindOne(`unix:${file}`);
    assert.unreachable('bound over a regular file');
  } catch (e) {
    assert.instance(e, BindError);
    assert.is((e as Error).message, `'${file}' is not a socket`);
  }
  assert.is(fs.readFileSync(file, 'utf8'), 'keep me');
});

test("bindOne(unix:PATH) in a directory that does not exist: CPython's '[Errno 2] No such file or directory' (libuv says EACCES)", async () => {
  const file = path.join(tmp, 'no-such-dir', 'x.sock');
  try {
    await bindOne(`unix:${file}`);
    assert.unreachable('bound in a missing directory');
  } catch (e) {
    assert.instance(e, SocketError);
    assert.is((e as Error).message, '[Errno 2] No such file or directory');
  }
});

test('closeListeners(.., unlink=false) closes the socket but keeps its file (systemd, USR2 hand-over)', async () => {
  const file = path.join(tmp, 'kept.sock');
  const l = await bindOne(`unix:${file}`);
  closeListeners([l], false);
  assert.ok(fs.statSync(file).isSocket(), 'the file is still there');
  assert.equal(fs.readdirSync(tmp).filter((f) => f.startsWith('.kept')), [], 'no spare link left behind');
  fs.rmSync(file, { force: true });
});

// ---------------------------------------------------------------- fd://FD

// Node cannot dup() a descriptor, so here fd://N opens a second handle on a
// socket this process bound itself; only that second handle is closed (the
// first is left to process exit, so no descriptor number is closed twice).

test('bindOne(fd://N) on a bound TCP socket: shown by its address, as Gunicorn does; listening on it serves', async () => {
  const bound = await bindOne('127.0.0.1:0');
  const l = await bindOne(`fd://${bound.handle.fd}`);
  try {
    assert.is(l.spec, `fd://${bound.handle.fd}`);
    assert.is(l.url, bound.url);
    assert.is(l.unixPath, undefined);
    const port = Number(/:(\d+)$/.exec(l.url)![1]);
    assert.ok(await listensOn(l, { host: '127.0.0.1', port }));
  } finally {
    l.handle.close();
  }
});

test('bindOne(fd://N) on a unix socket: unix:PATH, and closeListeners removes the file (Gunicorn unlinks it)', async () => {
  const file = path.join(tmp, 'fd.sock');
  const bound = await bindOne(`unix:${file}`);
  const l = await bindOne(`fd://${bound.handle.fd}`);
  assert.is(l.url, `unix:${file}`);
  assert.is(l.unixPath, file);
  assert.ok(await listensOn(l, { path: file }));
  closeListeners([l]);
  assert.not.ok(fs.existsSync(file));
});

test('bindOne(fd://N): a descriptor that is not open, or not a socket, is a BindError', async () => {
  for (const [spec, message] of [
    ['fd://987', 'no such open file descriptor'],
    [`fd://${fs.openSync(path.join(tmp, 'plain'), 'w')}`, 'is not a socket'],
  ] as const) {
    try {
      await bindOne(spec);
      assert.unreachable(spec);
    } catch (e) {
      assert.instance(e, BindError, spec);
      assert.match((e as Error).message, message, spec);
    }
  }
});

// ---------------------------------------------------------------- which sockets

test("listenerSpecs: every --bind, unless an fd:// or systemd socket is there (then only those, Gunicorn's create_sockets)", () => {
  assert.equal(listenerSpecs(['127.0.0.1:8000', 'unix:/s.sock']), ['127.0.0.1:8000', 'unix:/s.sock']);
  assert.equal(listenerSpecs(['127.0.0.1:8000', 'fd://5']), ['fd://5']);
  assert.equal(listenerSpecs(['127.0.0.1:8000'], ['fd://3', 'fd://4']), ['fd://3', 'fd://4']);
  assert.equal(listenerSpecs(['fd://7', '127.0.0.1:8000'], ['fd://3']), ['fd://7', 'fd://3']);
});

test('listenFds: LISTEN_FDS counts only when LISTEN_PID is this process; then both are unset', () => {
  const mine = { LISTEN_PID: '4242', LISTEN_FDS: '2', OTHER: 'x' };
  assert.is(listenFds(mine, 4242), 2);
  assert.equal(mine, { OTHER: 'x' });

  const theirs = { LISTEN_PID: '1', LISTEN_FDS: '2' };
  assert.is(listenFds(theirs, 4242), 0);
  assert.equal(theirs, { LISTEN_PID: '1', LISTEN_FDS: '2' }, "someone else's variables are left alone");

  assert.is(listenFds({}, 4242), 0);
  assert.is(listenFds({ LISTEN_PID: '4242' }, 4242), 0);
});

test('activatedBinds: fd://3.. for systemd sockets, none otherwise', () => {
  assert.equal(activatedBinds({ LISTEN_PID: '7', LISTEN_FDS: '3' }, 7), ['fd://3', 'fd://4', 'fd://5']);
  assert.equal(activatedBinds({ LISTEN_PID: '8', LISTEN_FDS: '3' }, 7), []);
});

// ---------------------------------------------------------------- Gunicorn's tries (bind-retries.ts)

test("addressText: Python's str() of the address Gunicorn parsed", () => {
  assert.is(addressText('127.0.0.1:8000'), "('127.0.0.1', 8000)");
  assert.is(addressText('[::1]:8000'), "('::1', 8000)");
  assert.is(addressText('LocalHost'), "('localhost', 8000)");
  assert.is(addressText(''), "('0.0.0.0', 8000)");
  assert.is(addressText('unix:run/app.sock'), 'run/app.sock', 'a unix socket: its path as given');
});

/** A log that keeps each line as 'LEVEL message'. */
function recorder(onError: (message: string) => void = () => undefined): { lines: string[]; error(m: string): void; debug(m: string): void } {
  const lines: string[] = [];
  return {
    lines,
    error(m) {
      lines.push(`ERROR ${m}`);
      onError(m);
    },
    debug(m) {
      lines.push(`DEBUG ${m}`);
    },
  };
}

const never = new AbortController().signal;

test("bindWithRetries: an address not on this host, 5 tries: 'Invalid address', the OSError, 'Retrying', then 'Can't connect'", async () => {
  if (fs.readFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', 'utf8').trim() !== '0') {
    console.log('  (skipped: ip_nonlocal_bind lets any address be bound here)');
    return;
  }
  const log = recorder();
  // 192.0.2.1: TEST-NET-1, on no host.
  assert.is(await bindWithRetries('192.0.2.1:8000', {}, 16, log, never, 1), null);
  const addr = "('192.0.2.1', 8000)";
  const once = [`ERROR Invalid address: ${addr}`, `ERROR connection to ${addr} failed: [Errno 99] Cannot assign requested address`, 'DEBUG Retrying in 1 second.'];
  assert.equal(log.lines, [...Array.from({ length: BIND_TRIES }, () => once).flat(), `ERROR Can't connect to ${addr}`]);
});

test("bindWithRetries: any other OSError is retried with only its text (a unix socket's missing directory)", async () => {
  const given = path.join(tmp, 'missing', 'x.sock');
  const log = recorder();
  assert.is(await bindWithRetries(`unix:${given}`, {}, 16, log, never, 1), null);
  const once = [`ERROR connection to ${given} failed: [Errno 2] No such file or directory`, 'DEBUG Retrying in 1 second.'];
  assert.equal(log.lines, [...Array.from({ length: BIND_TRIES }, () => once).flat(), `ERROR Can't connect to ${given}`]);
});

test('bindWithRetries: the port freed after a failed try is bound and listened on at the next', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as net.AddressInfo;
  // The holder closes at the first failure (its fd at once: it has no connection); the next try is 200 ms later.
  let closed: Promise<unknown> | undefined;
  const log = recorder((m) => {
    if (m.startsWith('connection to')) closed ??= new Promise((resolve) => taken.close(resolve));
  });
  const l = await bindWithRetries(`127.0.0.1:${port}`, {}, 16, log, never, 200);
  await closed;
  try {
    assert.ok(l, log.lines.join('\n'));
    const addr = `('127.0.0.1', ${port})`;
    assert.equal(log.lines, [`ERROR Connection in use: ${addr}`, `ERROR connection to ${addr} failed: [Errno 98] Address already in use`, 'DEBUG Retrying in 1 second.']);
    const connected = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    assert.ok(connected, 'listening: a connection waits in its queue');
  } finally {
    if (l) closeListeners([l]);
  }
});

test("bindWithRetries: aborting `stop` ends the wait at once, without 'Can't connect'", async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as net.AddressInfo;
  const stop = new AbortController();
  const log = recorder(() => stop.abort());
  const started = Date.now();
  try {
    // A minute between tries: only the abort can end it in time.
    assert.is(await bindWithRetries(`127.0.0.1:${port}`, {}, 16, log, stop.signal, 60_000), null);
  } finally {
    await new Promise((r) => taken.close(r));
  }
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  assert.not.ok(log.lines.some((l) => l.includes("Can't connect")), log.lines.join('\n'));
});

test('bindWithRetries: an error that is no OSError (a file that is not a socket) is not retried', async () => {
  const file = path.join(tmp, 'not-a-socket');
  fs.writeFileSync(file, '');
  const log = recorder();
  try {
    await bindWithRetries(`unix:${file}`, {}, 16, log, never, 60_000);
    assert.unreachable('bound over a regular file');
  } catch (e) {
    assert.instance(e, BindError);
    assert.not.instance(e, SocketError);
    assert.is((e as Error).message, `'${file}' is not a socket`);
  }
  assert.equal(log.lines, []);
});

test.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test.run();
