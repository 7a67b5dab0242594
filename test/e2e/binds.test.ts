// Every form of --bind against the real server: TCP and a unix socket at once
// (the socket file replaced when stale, removed on exit), [::1], fd://N on an
// inherited socket, systemd socket activation, --backlog as listen() got it,
// and Gunicorn's five bind tries at a port another socket holds.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, FIXTURES, ROOT, eventually } from '../helpers/server.js';

const APP = ['--chdir', path.join(FIXTURES, 'wsgi'), 'hello'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-binds-'));

// ---------------------------------------------------------------- processes

const live = new Set<number>();

function kill(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

process.on('exit', () => {
  for (const pid of live) kill(pid);
});

interface Running {
  proc: ChildProcess;
  pid: number;
  log(): string;
  /** The addresses on the "Listening at:" line. */
  listening(): Promise<string[]>;
  workerPids(): number[];
  /** Resolves with the exit code once the arbiter is gone. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Spawns nicorn-py (or `command` when given, e.g. a shell that execs it) and
 * tracks every pid it and its workers get, to kill them all by pid.
 */
function start(args: string[], opts: { stdio?: (number | 'ignore')[]; env?: NodeJS.ProcessEnv; command?: string[] } = {}): Running {
  const argv = [...(opts.command ?? [process.execPath, CLI]), ...args];
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.stdio ?? [])],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  live.add(proc.pid!);
  const workerPids = () => [...out.matchAll(/Booting worker with pid: (\d+)/g)].map((m) => Number(m[1]));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      live.delete(proc.pid!);
      for (const pid of workerPids()) kill(pid);
      resolve(code);
    }),
  );
  return {
    proc,
    pid: proc.pid!,
    log: () => out,
    workerPids,
    exited,
    async listening() {
      const ok = await eventually(() => /Listening at: .* \(\d+\)\n/.test(out) || proc.exitCode !== null, 60_000);
      const m = /Listening at: (.*) \((\d+)\)\n/.exec(out);
      if (!ok || !m) throw new Error(`no "Listening at:" line:\n${out}`);
      assert.is(Number(m[2]), proc.pid, 'the arbiter pid on the Listening line');
      return m[1]!.split(',');
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => kill(proc.pid!), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

// ---------------------------------------------------------------- clients

function get(opts: http.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ path: '/', agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GETs / until a worker answers (workers boot Pyodide after "Listening at:"). */
async function hello(opts: http.RequestOptions): Promise<string> {
  let last: unknown;
  const ok = await eventually(async () => {
    try {
      const r = await get(opts);
      last = r;
      return r.status === 200;
    } catch (e) {
      last = e;
      return false;
    }
  }, 60_000);
  assert.ok(ok, `no 200 from ${JSON.stringify(opts)}: ${String((last as Error)?.message ?? JSON.stringify(last))}`);
  return (await get(opts)).body;
}

const portOf = (url: string) => Number(/:(\d+)$/.exec(url)![1]);

/** The backlog the kernel reports for a listening socket (ss's Send-Q), or null without ss. */
function listenBacklog(filter: string[], unix = false): number | null {
  try {
    const line = execFileSync('ss', [unix ? '-lxH' : '-ltnH', ...filter], { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
    const cols = line.trim().split(/\s+/);
    return Number(cols[unix ? 3 : 2]);
  } catch {
    return null;
  }
}

const somaxconn = (() => {
  try {
    return Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  } catch {
    return Infinity;
  }
})();

/** A socket file left behind by a process that died without closing it. */
async function staleSocket(file: string): Promise<void> {
  const script = `require('net').createServer().listen(${JSON.stringify(file)}, () => process.stdout.write('up'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(child.pid!);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  live.delete(child.pid!);
}

interface RawHandle {
  readonly fd: number;
  close(): void;
}
const createServerHandle = (net as unknown as { _createServerHandle(a: string, p: number, t: number): RawHandle | number })._createServerHandle;

/** A bound (not listening) socket in this process, to hand to nicorn-py as an inherited fd. */
function boundHandle(address: string, port: number): RawHandle {
  const h = address.startsWith('/') ? createServerHandle(address, -1, -1) : createServerHandle(address, port, 4);
  if (typeof h === 'number') throw new Error(`bind ${address}: ${h}`);
  return h;
}

function hasIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------- tests

const binds = suite('--bind forms');

binds('TCP and unix:PATH at once: one Listening line as Gunicorn prints it, both answer; a stale socket file is replaced; TERM removes the file', async () => {
  const sock = path.join(tmp, 'app.sock');
  await staleSocket(sock);
  assert.ok(fs.statSync(sock).isSocket(), 'a stale socket file is in the way');
  const srv = start(['-b', '127.0.0.1:0', '-b', `unix:${sock}`, ...APP]);
  try {
    const urls = await srv.listening();
    assert.is(urls.length, 2, urls.join(','));
    assert.match(urls[0]!, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.is(urls[1], `unix:${sock}`);
    assert.is(await hello({ host: '127.0.0.1', port: portOf(urls[0]!) }), 'Hello, World!\n');
    assert.is(await hello({ socketPath: sock }), 'Hello, World!\n', 'served on the unix socket');
    assert.is(fs.statSync(sock).mode & 0o777, 0o777, "the socket file's mode with Gunicorn's default umask 0");

    // Measured: the backlog the workers' listen() used (default 2048, capped by somaxconn).
    const tcpBacklog = listenBacklog([`sport = :${portOf(urls[0]!)}`]);
    const unixBacklog = listenBacklog([`src = ${sock}`], true);
    if (tcpBacklog === null) console.log('  (ss not available: backlog not measured)');
    else {
      assert.is(tcpBacklog, Math.min(2048, somaxconn), 'TCP listen backlog');
      assert.is(unixBacklog, Math.min(2048, somaxconn), 'unix listen backlog');
    }
  } finally {
    assert.is(await srv.stop(), 0, srv.log());
  }
  assert.not.ok(fs.existsSync(sock), 'the socket file is removed when the arbiter exits');
  assert.equal(fs.readdirSync(tmp), [], 'nothing else is left in the directory');
});

binds('--backlog N is the listen() backlog of every listener', async () => {
  const sock = path.join(tmp, 'backlog.sock');
  const srv = start(['--backlog', '37', '-b', '127.0.0.1:0', '-b', `unix:${sock}`, ...APP]);
  try {
    const urls = await srv.listening();
    await hello({ socketPath: sock });
    const tcpBacklog = listenBacklog([`sport = :${portOf(urls[0]!)}`]);
    if (tcpBacklog === null) {
      console.log('  (ss not available: backlog not measured)');
      return;
    }
    assert.is(tcpBacklog, 37);
    assert.is(listenBacklog([`src = ${sock}`], true), 37);
  } finally {
    await srv.stop();
  }
});

binds('[::1]:PORT: IPv6, shown in brackets', async () => {
  if (!(await hasIPv6Loopback())) {
    console.log('  (skipped: this machine has no IPv6 loopback ::1)');
    return;
  }
  const srv = start(['-b', '[::1]:0', ...APP]);
  try {
    const urls = await srv.listening();
    assert.is(urls.length, 1);
    assert.match(urls[0]!, /^http:\/\/\[::1\]:\d+$/);
    assert.is(await hello({ host: '::1', port: portOf(urls[0]!), family: 6 }), 'Hello, World!\n');
  } finally {
    assert.is(await srv.stop(), 0, srv.log());
  }
});

binds('fd://3: an inherited socket is served and shown by its address; the TCP --bind beside it is not bound (Gunicorn)', async () => {
  const inherited = boundHandle('127.0.0.1', 0);
  const ignored = boundHandle('127.0.0.1', 0);
  const addrOf = (h: RawHandle) => {
    const out: { port?: number } = {};
    (h as unknown as { getsockname(o: object): number }).getsockname(out);
    return out.port!;
  };
  const port = addrOf(inherited);
  const ignoredPort = addrOf(ignored);
  ignored.close(); // free again: nicorn-py must not bind it
  let srv: Running;
  try {
    srv = start(['-b', `127.0.0.1:${ignoredPort}`, '-b', 'fd://3', ...APP], { stdio: [inherited.fd] });
  } finally {
    inherited.close(); // the child has its own copy of the descriptor
  }
  try {
    assert.equal(await srv.listening(), [`http://127.0.0.1:${port}`]);
    assert.is(await hello({ host: '127.0.0.1', port }), 'Hello, World!\n');
    const refused = await new Promise<boolean>((resolve) => {
      const c = net.connect(ignoredPort, '127.0.0.1');
      c.on('connect', () => (c.destroy(), resolve(false)));
      c.on('error', () => resolve(true));
    });
    assert.ok(refused, `port ${ignoredPort} (beside fd://3) was not bound`);
  } finally {
    assert.is(await srv.stop(), 0, srv.log());
  }
});

binds('fd://N that is not an open descriptor: an error naming it, exit 1', async () => {
  const srv = start(['-b', 'fd://987', ...APP]);
  const timer = setTimeout(() => kill(srv.pid), 30_000);
  assert.is(await srv.exited, 1, srv.log());
  clearTimeout(timer);
  assert.match(srv.log(), /fd:\/\/987: no such open file descriptor/);
  assert.match(srv.log(), /Can't bind the listening sockets; shutting down\./);
});

binds('systemd socket activation: LISTEN_PID=our pid, LISTEN_FDS=2 (TCP and unix at fds 3, 4) are served; the variables are unset for workers; the unix file stays', async () => {
  const sock = path.join(tmp, 'systemd.sock');
  const tcpSock = boundHandle('127.0.0.1', 0);
  const out: { port?: number } = {};
  (tcpSock as unknown as { getsockname(o: object): number }).getsockname(out);
  const port = out.port!;
  const unixSock = boundHandle(sock, -1);
  // sh's pid is the one nicorn-py keeps across exec: LISTEN_PID must equal it.
  const srv = start(['-b', '127.0.0.1:1', ...APP], {
    command: ['/bin/sh', '-c', 'export LISTEN_PID=$$; exec "$0" "$@"', process.execPath, CLI],
    env: { LISTEN_FDS: '2' },
    stdio: [tcpSock.fd, unixSock.fd],
  });
  tcpSock.close();
  try {
    const urls = await srv.listening();
    assert.equal(urls, [`http://127.0.0.1:${port}`, `unix:${sock}`], 'the activated sockets, not -b 127.0.0.1:1');
    assert.is(await hello({ host: '127.0.0.1', port }), 'Hello, World!\n');
    assert.is(await hello({ socketPath: sock }), 'Hello, World!\n');
    const [worker] = srv.workerPids();
    assert.ok(worker, 'a worker booted');
    const env = fs.readFileSync(`/proc/${worker}/environ`, 'utf8').split('\0');
    assert.equal(env.filter((e) => e.startsWith('LISTEN_')), [], "the worker's environment has no LISTEN_PID/LISTEN_FDS");
  } finally {
    assert.is(await srv.stop(), 0, srv.log());
  }
  assert.ok(fs.statSync(sock).isSocket(), "a systemd socket's file is systemd's: nicorn-py leaves it");
  unixSock.close(); // (this process bound it by path: closing removes the file)
});

// ---------------------------------------------------------------- a port in use

/** A port held by a listening socket of this process (as another server would hold it). */
async function heldPort(): Promise<{ port: number; release(): Promise<void> }> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as net.AddressInfo;
  let released: Promise<void> | null = null;
  return { port, release: () => (released ??= new Promise<void>((resolve) => holder.close(() => resolve()))) };
}

/** The log's lines without Gunicorn's "[time] [pid] " prefix. */
const logLines = (log: string) => log.split('\n').filter(Boolean).map((l) => l.replace(/^\[[^\]]*\] \[\d+\] /, ''));

const FAILED_TRY = /connection to .* failed/;

binds("a port held by another socket all along: Gunicorn 26's five tries a second apart, then \"Can't connect to ('127.0.0.1', PORT)\", exit 1, pid file removed", async () => {
  const { port, release } = await heldPort();
  const pidfile = path.join(tmp, 'held.pid');
  const started = Date.now();
  const srv = start(['-b', `127.0.0.1:${port}`, '--log-level', 'debug', '--pid', pidfile, ...APP]);
  const timer = setTimeout(() => kill(srv.pid), 30_000);
  try {
    assert.is(await srv.exited, 1, srv.log());
  } finally {
    clearTimeout(timer);
    await release();
  }
  const elapsed = Date.now() - started;
  const addr = `('127.0.0.1', ${port})`;
  const once = [`[ERROR] Connection in use: ${addr}`, `[ERROR] connection to ${addr} failed: [Errno 98] Address already in use`, '[DEBUG] Retrying in 1 second.'];
  const lines = logLines(srv.log());
  const first = lines.indexOf(once[0]!);
  assert.ok(first > 0, srv.log());
  assert.equal(lines.slice(first), [...once, ...once, ...once, ...once, ...once, `[ERROR] Can't connect to ${addr}`], 'from the first try to the exit');
  assert.ok(elapsed >= 4900, `it waited a second after each of the 5 tries: ${elapsed} ms`);
  assert.not.ok(fs.existsSync(pidfile), 'the pid file is removed');
});

binds('a port freed during the tries: bound at the next one ("Retrying in 1 second." at debug), then served', async () => {
  const { port, release } = await heldPort();
  const srv = start(['-b', `127.0.0.1:${port}`, '--log-level', 'debug', ...APP]);
  try {
    assert.ok(await eventually(() => FAILED_TRY.test(srv.log()) || srv.proc.exitCode !== null, 30_000), srv.log());
    // Half-way to the next try, a second after the first.
    await sleep(500);
    await release();
    assert.equal(await srv.listening(), [`http://127.0.0.1:${port}`]);
    assert.match(srv.log(), /\[DEBUG\] Retrying in 1 second\.\n/);
    assert.not.match(srv.log(), /Can't connect/);
    assert.is(await hello({ host: '127.0.0.1', port }), 'Hello, World!\n');
  } finally {
    await release();
    assert.is(await srv.stop(), 0, srv.log());
  }
});

binds('TERM during the tries stops the arbiter at once (Gunicorn sleeps the tries out): exit 0, pid file removed', async () => {
  const { port, release } = await heldPort();
  const pidfile = path.join(tmp, 'term.pid');
  const srv = start(['-b', `127.0.0.1:${port}`, '--pid', pidfile, ...APP]);
  const timer = setTimeout(() => kill(srv.pid), 30_000);
  let waited: number;
  try {
    assert.ok(await eventually(() => FAILED_TRY.test(srv.log()) || srv.proc.exitCode !== null, 30_000), srv.log());
    const sent = Date.now();
    srv.proc.kill('SIGTERM');
    assert.is(await srv.exited, 0, srv.log());
    waited = Date.now() - sent;
  } finally {
    clearTimeout(timer);
    await release();
  }
  // The four tries left would take 4 s.
  assert.ok(waited < 2000, `exited ${waited} ms after TERM`);
  const lines = logLines(srv.log());
  assert.equal(lines.slice(-2), ['[INFO] Handling signal: term', '[INFO] Shutting down: Master'], srv.log());
  assert.not.match(srv.log(), /Can't connect|Listening at/);
  assert.not.ok(fs.existsSync(pidfile), 'the pid file is removed');
});

binds.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

binds.run();
