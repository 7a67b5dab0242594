// The error log, syslog and statsd of a real server, as Gunicorn writes them:
// --error-logfile with every level from the arbiter, the worker and the app's
// Python thread; wsgi.errors and --capture-output; mv + USR1 under load
// losing no line; syslog datagrams and statsd metrics on real UDP sockets.

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startLoad } from '../helpers/http.js';
import { alive, CLI, FIXTURES, eventually, runCli, sleep, startServer, type Server } from '../helpers/server.js';

const WSGI = path.join(FIXTURES, 'wsgi');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-logging-')));
const APP = ['--chdir', WSGI, 'conformance'];
const TS = '\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}\\]';

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
const get = async (url: string) => {
  const res = await fetch(url);
  await res.text();
  return res.status;
};

/** A UDP server on 127.0.0.1 collecting datagrams as strings. */
async function collector(): Promise<{ port: number; got: string[]; close(): void }> {
  const sock = dgram.createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, got, close: () => sock.close() };
}

// ------------------------------------------------------------ --error-logfile

const file = suite<{ srv: Server; log: string }>('--error-logfile');

file.before(async (ctx) => {
  ctx.log = path.join(tmp, 'error.log');
  ctx.srv = await startServer(['--error-logfile', ctx.log, '--log-level', 'debug', ...APP], { logFile: ctx.log });
});

file.after(async (ctx) => {
  await ctx.srv?.stop();
});

file('the arbiter and the worker write their lines to the file, not to stderr', async ({ srv, log }) => {
  const worker = srv.workerPids()[0]!;
  const text = read(log);
  assert.match(text, new RegExp(`^${TS} \\[${srv.pid}\\] \\[INFO\\] Starting nicorn-py `, 'm'));
  assert.match(text, new RegExp(`^${TS} \\[${srv.pid}\\] \\[INFO\\] Listening at: http://127\\.0\\.0\\.1:${srv.port} \\(${srv.pid}\\)$`, 'm'));
  assert.match(text, new RegExp(`^${TS} \\[${worker}\\] \\[INFO\\] Booting worker with pid: ${worker}$`, 'm'));
  // Gunicorn's manage_workers reports the count at debug level.
  assert.ok(await eventually(() => new RegExp(`^${TS} \\[${srv.pid}\\] \\[DEBUG\\] 1 workers$`, 'm').test(read(log))), read(log));
  assert.not.match(srv.stdio(), /Listening at|Booting worker|\[INFO\]/);
});

file("the app's gunicorn.error logger: every level, with the worker's pid", async ({ srv, log }) => {
  const worker = srv.workerPids()[0]!;
  for (const level of ['debug', 'info', 'warning', 'error', 'critical', 'exception']) {
    assert.is(await get(`${srv.url}/log?level=${level}&msg=lvl-${level}`), 200);
  }
  assert.ok(await eventually(() => read(log).includes('log route: lvl-exception')), read(log));
  const text = read(log);
  for (const [level, name] of [['DEBUG', 'debug'], ['INFO', 'info'], ['WARNING', 'warning'], ['ERROR', 'error'], ['CRITICAL', 'critical'], ['ERROR', 'exception']]) {
    assert.match(text, new RegExp(`^${TS} \\[${worker}\\] \\[${level}\\] log route: lvl-${name}$`, 'm'));
  }
  assert.match(text, /log route: lvl-exception\nTraceback \(most recent call last\):\n[\s\S]*?KeyError: 'lvl-exception'\n/);
});

file('an app error: "Error handling request" and its traceback in the file', async ({ srv, log }) => {
  assert.is(await get(`${srv.url}/fail-before`), 500);
  assert.ok(await eventually(() => read(log).includes('deliberate error before start_response')));
  assert.match(
    read(log),
    new RegExp(`\\[ERROR\\] Error handling request GET /fail-before\\nTraceback \\(most recent call last\\):\\n[\\s\\S]*?ValueError: deliberate error before start_response\\n`),
  );
});

file("wsgi.errors goes to the file; without --capture-output print() and sys.stderr don't", async ({ srv, log }) => {
  assert.is(await get(`${srv.url}/log?msg=nocap`), 200);
  assert.ok(await eventually(() => read(log).includes('wsgi.errors: nocap')));
  assert.ok(await eventually(() => srv.stdio().includes('stderr: nocap')));
  assert.match(read(log), /^wsgi\.errors: nocap$/m);
  assert.match(srv.stdio(), /^stdout: nocap$/m);
  assert.not.match(read(log), /stdout: nocap|stderr: nocap/);
});

file('mv + USR1 under load: no line lost, and every process continues in the new file', async ({ srv, log }) => {
  const moved = `${log}.1`;
  // Its "Booting worker" line moves away with the old file.
  const worker = srv.workerPids()[0]!;
  const load = startLoad((n) => `${srv.url}/log?msg=rot-${n}`, 3);
  await sleep(500);
  fs.renameSync(log, moved);
  process.kill(srv.pid, 'SIGUSR1');
  assert.ok(await eventually(() => fs.existsSync(log), 5000), 'a new file was opened');
  await sleep(700);
  const sent = (await load.stop()).ok;
  await sleep(300);
  const count = (re: RegExp) => (read(moved).match(re)?.length ?? 0) + (read(log).match(re)?.length ?? 0);
  assert.ok(/log route: rot-/.test(read(log)), 'the Python thread writes the new file');
  assert.is(count(/\[INFO\] log route: rot-\d+$/gm), sent, 'gunicorn.error lines');
  assert.is(count(/^wsgi\.errors: rot-\d+$/gm), sent, 'wsgi.errors lines');
  assert.match(read(moved), /\[INFO\] Handling signal: usr1/);
  // The arbiter and the worker's I/O thread reopened too.
  assert.is(await srv.stop(), 0);
  assert.match(read(log), new RegExp(`\\[${worker}\\] \\[INFO\\] Worker exiting \\(pid: ${worker}\\)`));
  assert.match(read(log), new RegExp(`\\[${srv.pid}\\] \\[INFO\\] Shutting down: Master`));
});

file.run();

// ------------------------------------------------------------ --capture-output, errors

const misc = suite('--capture-output and configuration errors');

misc('--capture-output: print() and sys.stderr land in the error log file too', async () => {
  const log = path.join(tmp, 'capture.log');
  const srv = await startServer(['--error-logfile', log, '--capture-output', ...APP], { logFile: log });
  try {
    assert.is(await get(`${srv.url}/log?msg=cap`), 200);
    assert.ok(await eventually(() => /^stderr: cap$/m.test(read(log))), read(log));
    assert.match(read(log), /^stdout: cap$/m);
    assert.match(read(log), /^wsgi\.errors: cap$/m);
    assert.match(read(log), /\[INFO\] log route: cap$/m);
    assert.not.match(srv.stdio(), /cap/);
  } finally {
    await srv.stop();
  }
});

misc("an error log that cannot be written: Gunicorn's message, exit 1", async () => {
  const r = await runCli(['--error-logfile', '/nonexistent-nicorn-dir/error.log', ...APP]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /Error: Error: '\/nonexistent-nicorn-dir\/error\.log' isn't writable \[FileNotFoundError\(2, 'No such file or directory'\)\]/);
});

misc('syslog to a unix socket is refused by name; an unknown facility as Gunicorn says it', async () => {
  const unix = await runCli(['--log-syslog', '--log-syslog-to', 'unix:///dev/log', ...APP]);
  assert.is(unix.code, 1);
  assert.match(unix.stderr, /Error: syslog_addr 'unix:\/\/\/dev\/log' is not supported by nicorn-py yet/);
  const facility = await runCli(['--log-syslog', '--log-syslog-to', 'udp://127.0.0.1:9', '--log-syslog-facility', 'nope', ...APP]);
  assert.is(facility.code, 1);
  assert.match(facility.stderr, /Error: unknown facility name/);
});

misc('-D -R (--enable-stdio-inheritance): the daemon keeps a stderr that is not a terminal', async () => {
  const pidfile = path.join(tmp, 'daemon.pid');
  const parent = spawn(process.execPath, [CLI, '-D', '-R', '-p', pidfile, '-b', '127.0.0.1:0', ...APP], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  parent.stdout!.on('data', (d) => (out += d));
  parent.stderr!.on('data', (d) => (out += d));
  let daemon = 0;
  try {
    assert.ok(await eventually(() => fs.existsSync(pidfile) && /Listening at: /.test(out), 30_000), out);
    daemon = Number(read(pidfile).trim());
    assert.ok(daemon > 0 && daemon !== parent.pid);
  } finally {
    daemon ||= Number(read(pidfile).trim() || 0);
    if (daemon) {
      process.kill(daemon, 'SIGTERM');
      await eventually(() => !alive(daemon), 10_000);
    }
    parent.stdout!.destroy();
    parent.stderr!.destroy();
  }
});

misc.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

misc.run();

// ------------------------------------------------------------ syslog

const syslog = suite<{ udp: Awaited<ReturnType<typeof collector>>; srv: Server; quiet: Server }>('--log-syslog');

syslog.before(async (ctx) => {
  ctx.udp = await collector();
  const to = `udp://127.0.0.1:${ctx.udp.port}`;
  [ctx.srv, ctx.quiet] = await Promise.all([
    startServer(['--log-syslog', '--log-syslog-to', to, '--log-syslog-prefix', 'e2e', '--log-syslog-facility', 'local3', ...APP]),
    startServer(['--log-syslog', '--log-syslog-to', to, '--disable-redirect-access-to-syslog', '-n', 'quiet:app', ...APP]),
  ]);
});

syslog.after(async (ctx) => {
  await Promise.all([ctx.srv?.stop(), ctx.quiet?.stop()]);
  ctx.udp?.close();
});

syslog("the arbiter's and the worker's lines: <PRI>gunicorn.<prefix>.error: [pid] message\\0", async ({ udp, srv }) => {
  const worker = srv.workerPids()[0]!;
  const listening = `<158>gunicorn.e2e.error: [${srv.pid}] Listening at: http://127.0.0.1:${srv.port} (${srv.pid})\0`;
  const booting = `<158>gunicorn.e2e.error: [${worker}] Booting worker with pid: ${worker}\0`;
  assert.ok(await eventually(() => udp.got.includes(listening) && udp.got.includes(booting)), udp.got.join('\n'));
  // Still on stderr too: syslog is one more handler.
  assert.match(srv.log(), /\[INFO\] Listening at/);
});

syslog("the app's gunicorn.error records, at their syslog severity", async ({ udp, srv }) => {
  const worker = srv.workerPids()[0]!;
  await get(`${srv.url}/log?level=warning&msg=sys-w`);
  await get(`${srv.url}/log?level=exception&msg=sys-x`);
  const warn = `<156>gunicorn.e2e.error: [${worker}] log route: sys-w\0`;
  assert.ok(await eventually(() => udp.got.includes(warn)), udp.got.join('\n'));
  assert.ok(await eventually(() => udp.got.some((m) => /^<155>gunicorn\.e2e\.error: \[\d+\] log route: sys-x\nTraceback[\s\S]*KeyError: 'sys-x'\0$/.test(m))));
});

syslog('access lines go to syslog as gunicorn.<prefix>.access, at info', async ({ udp, srv }) => {
  const worker = srv.workerPids()[0]!;
  await get(`${srv.url}/hello?syslog=1`);
  const re = new RegExp(`^<158>gunicorn\\.e2e\\.access: \\[${worker}\\] 127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET /hello\\?syslog=1 HTTP/1\\.1" 200 \\d+ "-" "[^"]*"\\0$`);
  assert.ok(await eventually(() => udp.got.some((m) => re.test(m))), udp.got.join('\n'));
});

syslog('--disable-redirect-access-to-syslog keeps access lines out; the default prefix is proc_name', async ({ udp, quiet }) => {
  await get(`${quiet.url}/hello?quiet=1`);
  const listening = `<14>gunicorn.quiet.app.error: [${quiet.pid}] Listening at: http://127.0.0.1:${quiet.port} (${quiet.pid})\0`;
  assert.ok(await eventually(() => udp.got.includes(listening)), udp.got.join('\n'));
  await sleep(500);
  assert.not.ok(udp.got.some((m) => m.includes('quiet=1')), 'no access line for the quiet server');
});

syslog.run();

// ------------------------------------------------------------ statsd

const statsd = suite<{ udp: Awaited<ReturnType<typeof collector>>; srv: Server }>('--statsd-host');

statsd.before(async (ctx) => {
  ctx.udp = await collector();
  ctx.srv = await startServer(['--statsd-host', `127.0.0.1:${ctx.udp.port}`, '--statsd-prefix', 'e2e', '--dogstatsd-tags', 'env:test,app:x', '--enable-backlog-metric', ...APP]);
});

statsd.after(async (ctx) => {
  await ctx.srv?.stop();
  ctx.udp?.close();
});

const TAGS = '|#env:test,app:x';

statsd('gunicorn.workers gauge from the arbiter', async ({ udp }) => {
  assert.ok(await eventually(() => udp.got.includes(`e2e.gunicorn.workers:1|g${TAGS}`)), udp.got.join('\n'));
});

statsd('a request: duration, count, status', async ({ udp, srv }) => {
  await get(`${srv.url}/hello`);
  assert.ok(await eventually(() => udp.got.includes(`e2e.gunicorn.request.status.200:1|c|@1.0${TAGS}`)), udp.got.join('\n'));
  assert.ok(udp.got.includes(`e2e.gunicorn.requests:1|c|@1.0${TAGS}`));
  assert.ok(udp.got.some((m) => new RegExp(`^e2e\\.gunicorn\\.request\\.duration:\\d+\\.\\d+\\|ms\\|#env:test,app:x$`).test(m)), udp.got.join('\n'));
});

statsd('an app error: status 500 and gunicorn.log.exception; a warning: gunicorn.log.warning', async ({ udp, srv }) => {
  await get(`${srv.url}/fail-before`);
  await get(`${srv.url}/log?level=warning&msg=metric`);
  assert.ok(await eventually(() => udp.got.includes(`e2e.gunicorn.request.status.500:1|c|@1.0${TAGS}`)), udp.got.join('\n'));
  assert.ok(await eventually(() => udp.got.includes(`e2e.gunicorn.log.exception:1|c|@1.0${TAGS}`)), udp.got.join('\n'));
  assert.ok(await eventually(() => udp.got.includes(`e2e.gunicorn.log.warning:1|c|@1.0${TAGS}`)), udp.got.join('\n'));
});

statsd('--enable-backlog-metric: gunicorn.backlog, the connections waiting in the listen queue, each second', async ({ udp, srv }) => {
  assert.ok(await eventually(() => udp.got.includes(`e2e.gunicorn.backlog:0|h${TAGS}`)), udp.got.join('\n'));
  // A stopped worker accepts nothing: the kernel queues the next three connections.
  const pids = srv.workerPids();
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  const waiting: net.Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) waiting.push(await new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(srv.port, '127.0.0.1', () => resolve(c));
      c.once('error', reject);
    }));
    assert.ok(await eventually(() => udp.got.includes(`e2e.gunicorn.backlog:3|h${TAGS}`), 10_000), udp.got.join('\n'));
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
    for (const c of waiting) c.destroy();
  }
});

statsd('TTIN: the gauge follows the worker count', async ({ udp, srv }) => {
  process.kill(srv.pid, 'SIGTTIN');
  assert.ok(await eventually(() => udp.got.includes(`e2e.gunicorn.workers:2|g${TAGS}`), 10_000), udp.got.join('\n'));
});

statsd.run();
