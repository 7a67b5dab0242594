// The network an app gets (issue 14): socket, select/selectors, DNS and real
// clients (urllib, requests, pg8000, PyMySQL, redis-py, SQLAlchemy) through
// the host, served by `nicorn-py -w 2` from fixtures/netapp, against servers
// this file starts (node echo, UDP, HTTP) and the machine's PostgreSQL,
// MariaDB and Redis.

import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import http from 'node:http';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, PACKAGES, eventually, startServer, type Server } from '../helpers/server.js';

interface Ctx {
  srv?: Server;
  closers: (() => void)[];
  echo: number;
  udp: number;
  silent: number;
  web: number;
}

const netsuite = suite<Ctx>('network', { closers: [], echo: 0, udp: 0, silent: 0, web: 0 });

async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  return (server.address() as net.AddressInfo).port;
}

async function udpEcho(type: 'udp4' | 'udp6', host: string, ctx: Ctx): Promise<number> {
  const u = dgram.createSocket(type);
  u.on('message', (m, r) => u.send(m, r.port, r.address));
  await new Promise<void>((resolve) => u.bind(0, host, resolve));
  ctx.closers.push(() => u.close());
  return u.address().port;
}

/** The servers this file starts, and nicorn-py once: the first case that needs it pays the boot. */
async function server(ctx: Ctx): Promise<Server> {
  if (ctx.srv) return ctx.srv;
  const echo = net.createServer((c) => c.pipe(c));
  const silent = net.createServer(() => {});
  const web = http.createServer((req, res) => res.end(`hello from node, ${req.url}`));
  ctx.echo = await listen(echo, '127.0.0.1');
  ctx.silent = await listen(silent, '127.0.0.1');
  ctx.web = await listen(web, '127.0.0.1');
  for (const s of [echo, silent, web]) ctx.closers.push(() => s.close());
  ctx.udp = await udpEcho('udp4', '127.0.0.1', ctx);
  const dir = path.join(FIXTURES, 'netapp');
  ctx.srv = await startServer(['-w', '2', '--chdir', dir, '--pythonpath', PACKAGES, '-c', path.join(dir, 'gunicorn.conf.py'), 'app:app'], {
    env: { ECHO_PORT: String(ctx.echo) },
  });
  return ctx.srv;
}

/** GETs an endpoint of the fixture; its `ok` answer, or fails with what it raised. */
async function get(ctx: Ctx, route: string): Promise<any> {
  const srv = await server(ctx);
  const res = await fetch(srv.url + route);
  assert.is(res.status, 200, route);
  const body = (await res.json()) as { ok?: unknown; raised?: string; text?: string };
  if (!('ok' in body)) assert.unreachable(`${route} raised ${body.raised}: ${body.text}`);
  return body.ok;
}

/** Fails, naming the service, when a server the case needs does not answer. */
async function needService(name: string, port: number): Promise<void> {
  const up = await new Promise<string | null>((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port, timeout: 2000 });
    c.once('connect', () => (c.destroy(), resolve(null)));
    c.once('timeout', () => (c.destroy(), resolve('no answer within 2 s')));
    c.once('error', (e) => resolve(e.message));
  });
  if (up !== null) assert.unreachable(`${name} is not answering on 127.0.0.1:${port} (${up}); .ci/run starts it`);
}

netsuite.after((ctx) => {
  for (const close of ctx.closers) close();
  return ctx.srv?.stop().then(() => undefined);
});

netsuite('create_connection to a TCP echo server: sendall/recv (1 MB), TCP_NODELAY, getpeername', async (ctx) => {
  await server(ctx);
  const small = await get(ctx, `/echo?port=${ctx.echo}&data=hello`);
  assert.equal(small, { got: 'hello', length: 5, peer: ['127.0.0.1', ctx.echo], family: 'AF_INET', nodelay: true });
  const big = await get(ctx, `/echo?port=${ctx.echo}&data=0123456789&repeat=100000`);
  assert.is(big.length, 1_000_000);
});

netsuite('IPv6 on ::1: TCP echo, create_server/accept, UDP, urllib/requests/http.client to [::1]; has_ipv6', async (ctx) => {
  await server(ctx);
  const echo = net.createServer((c) => c.pipe(c));
  const web = http.createServer((req, res) => res.end(`v6 ${req.socket.remoteAddress} ${req.url}`));
  const closed = net.createServer();
  const port = await listen(echo, '::1');
  const webPort = await listen(web, '::1');
  const closedPort = await listen(closed, '::1');
  await new Promise((r) => closed.close(r));
  const udp = await udpEcho('udp6', '::1', ctx);
  try {
    const got = await get(ctx, `/ipv6?port=${port}&udp=${udp}&web=${webPort}&closed=${closedPort}`);
    assert.equal(got, {
      has_ipv6: true, echo: 'over ipv6', family: 'AF_INET6', peer: ['::1', port, 0, 0], own: 'self', accepted_from_self: true,
      udp: ['datagram6', ['::1', udp, 0, 0]], urllib: 'v6 ::1 /v6', requests: 'v6 ::1 /v6', 'http.client': 'v6 ::1 /client',
      refused: 'ConnectionRefusedError',
    });
  } finally {
    echo.close();
    web.close();
  }
});

netsuite('Unix domain sockets: connect to a node server at a path; bind/listen/accept of its own', async (ctx) => {
  await server(ctx);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-net-'));
  const sock = path.join(dir, 'echo.sock');
  const echo = net.createServer((c) => c.pipe(c));
  await new Promise<void>((resolve) => echo.listen(sock, resolve));
  try {
    const got = await get(ctx, `/unix?path=${encodeURIComponent(sock)}`);
    assert.equal(got, { got: 'over unix', peer: sock, own: 'self', bound: `${sock}.app`, missing: 'FileNotFoundError' });
  } finally {
    echo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

netsuite('getaddrinfo/getnameinfo/gethostbyname(_ex)/gethostbyaddr answer as host CPython does (errors: gaierror/herror); getaddrinfo as node dns.lookup all:true', async (ctx) => {
  await server(ctx);
  const names = ['localhost', '::1', '127.0.0.1', os.hostname(), 'no-such-host.invalid'];
  const got = await get(ctx, `/resolve?names=${encodeURIComponent(names.join(','))}`);
  // The same function of the fixture, run by the host's CPython.
  const code = `import json, sys; sys.path.insert(0, ${JSON.stringify(path.join(FIXTURES, 'netapp'))}); from app import resolve; print(json.dumps(resolve({"names": ${JSON.stringify(names.join(','))}})))`;
  const py = spawnSync('python3', ['-c', code], { encoding: 'utf8', env: { ...process.env, ECHO_PORT: String(ctx.echo) } });
  assert.is(py.status, 0, py.stderr);
  assert.equal(got, JSON.parse(py.stdout));
  for (const name of names.slice(0, 4)) {
    const lookup = (await dns.lookup(name, { all: true })).map((a) => a.address);
    assert.equal([...new Set(got.names[name].addrinfo.map((e: any) => e[4][0]))], [...new Set(lookup)], name);
  }
  assert.equal(got.names['no-such-host.invalid'].gethostbyname_ex.slice(0, 2), ['gaierror', -2], 'EAI_NONAME');
  assert.is(got.hostname, os.hostname());
});

netsuite('a closed port raises ConnectionRefusedError; a silent server, TimeoutError after the timeout', async (ctx) => {
  await server(ctx);
  const closed = net.createServer();
  const port = await listen(closed, '127.0.0.1');
  await new Promise((r) => closed.close(r));
  const refused = await get(ctx, `/refused?port=${port}`);
  assert.is(refused.error, 'ConnectionRefusedError');
  assert.is(refused.errno, (await get(ctx, '/refused?port=1')).errno);
  const timedOut = await get(ctx, `/timeout?port=${ctx.silent}&t=0.5`);
  assert.is(timedOut.error, 'TimeoutError');
  assert.ok(timedOut.seconds >= 0.45 && timedOut.seconds < 2, `took ${timedOut.seconds} s`);
});

netsuite('select.select, select.poll and selectors see data (and a regular file as ready)', async (ctx) => {
  await server(ctx);
  const got = await get(ctx, `/select?port=${ctx.echo}`);
  assert.equal(got, { before: 0, select: 1, poll: [1], selector: 'PollSelector', events: 1, data: 'ping', mixed: [true] });
});

netsuite('UDP: sendto/recvfrom against a node dgram echo', async (ctx) => {
  await server(ctx);
  assert.equal(await get(ctx, `/udp?port=${ctx.udp}`), { got: 'datagram', from: ['127.0.0.1', ctx.udp] });
});

netsuite('urllib.request.urlopen and requests.get reach a local node HTTP server', async (ctx) => {
  await server(ctx);
  const url = encodeURIComponent(`http://127.0.0.1:${ctx.web}/path?q=1`);
  assert.equal(await get(ctx, `/urllib?url=${url}`), { status: 200, body: 'hello from node, /path?q=1' });
  assert.equal(await get(ctx, `/requests?url=${url}`), { status: 200, body: 'hello from node, /path?q=1' });
});

netsuite('a connection opened at import and one opened in post_fork work in the worker', async (ctx) => {
  const got = await get(ctx, '/held');
  assert.is(got.import, 'import');
  assert.is(got.post_fork, 'post_fork');
});

netsuite('pg8000 to PostgreSQL: SELECT 1 and a table round trip', async (ctx) => {
  await needService('PostgreSQL', 5432);
  assert.equal(await get(ctx, '/pg?name=caf%C3%A9'), { one: 1, rows: [[7, 'café']] });
});

netsuite('PyMySQL to MariaDB: SELECT 1 and a table round trip', async (ctx) => {
  await needService('MariaDB', 3306);
  assert.equal(await get(ctx, '/mysql?name=caf%C3%A9'), { one: 1, rows: [[7, 'café']] });
});

netsuite('redis-py to Redis: SET/GET and PING', async (ctx) => {
  await needService('Redis', 6379);
  assert.equal(await get(ctx, `/redis?key=${process.pid}&value=v${process.pid}`), { got: `v${process.pid}`, ping: true });
});

netsuite('SQLAlchemy with postgresql+pg8000:// and mysql+pymysql://', async (ctx) => {
  await needService('PostgreSQL', 5432);
  await needService('MariaDB', 3306);
  const pg = await get(ctx, `/sqlalchemy?name=pg&url=${encodeURIComponent('postgresql+pg8000://root@127.0.0.1/test')}`);
  assert.equal(pg, { one: 1, name: 'pg', dialect: 'postgresql', driver: 'pg8000' });
  const my = await get(ctx, `/sqlalchemy?name=my&url=${encodeURIComponent('mysql+pymysql://root@127.0.0.1/test')}`);
  assert.equal(my, { one: 1, name: 'my', dialect: 'mysql', driver: 'pymysql' });
});

netsuite('--timeout interrupts a worker blocked in recv: worker_abort runs, the traceback is logged, a worker replaces it', async (ctx) => {
  const srv = await server(ctx);
  const before = srv.workerPids().length;
  const stuck = await fetch(`${srv.url}/hang?port=${ctx.silent}`).then(
    (r) => `status ${r.status}`,
    (e: Error) => `failed: ${e.message}`,
  );
  assert.match(stuck, /failed|status 5/);
  assert.ok(await eventually(() => srv.workerPids().length === before + 1, 15_000), 'a replacement booted');
  // The stuck worker runs worker_abort and logs the frames as it unwinds, which may end after its replacement boots.
  await eventually(() => /Worker aborted while handling \/hang[\s\S]*in hang/.test(srv.log()), 15_000);
  const log = srv.log();
  const tail = `\n${log.slice(-4000)}`;
  assert.ok(/WORKER TIMEOUT \(pid:\d+\)/.test(log), `no WORKER TIMEOUT line:${tail}`);
  assert.ok(/netapp worker_abort ran/.test(log), `worker_abort did not run:${tail}`);
  assert.ok(/Worker aborted while handling \/hang[\s\S]*in hang/.test(log), `no traceback of the abort:${tail}`);
});

netsuite.run();
