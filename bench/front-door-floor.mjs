// What a request costs below the app (issue 17): the same hello response from
// node:http, from node:net, from two threads on raw syscalls (the shape a
// worker has: an I/O thread and a thread that makes the response), next to
// nicorn-py's and Gunicorn's hello app. Each server is a process group of its
// own; its CPU per request is every thread's user+system time (/proc) over
// one wrk run, divided by the requests wrk counted.
//   node bench/front-door-floor.mjs [--seconds N] [--warmup N] [--node PATH] [--doc FILE]
// Needs wrk; Gunicorn's row needs bench/.gunicorn (npm run bench fetches it).
// Figures only, printed as a table; the suite asserts behaviour.
//
// The raw server is a measuring device, not a front door: it answers every
// read with one response and checks nothing (not even a socket closed and its
// number reused while its answer is on the way). Its I/O thread runs its own
// epoll loop through koffi (accept4, read, write, close), hands the socket
// to the other thread through a SharedArrayBuffer (Atomics.notify), and that
// thread hands it back through an eventfd the loop polls.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { CLK_TCK, GUNICORN_CMD, GUNICORN_SITE, NICORN_BIN, ROOT, deploymentEnv, nodeVersion, procStat } from './servers.mjs';

const BODY = 'Hello, world!\n'; // bench/apps/hello.py's
const response = (close) =>
  Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${BODY}`);
const wantsClose = (head) => /\r\nconnection:[ \t]*close/i.test(head);

// ------------------------------------------------------------------ servers

function serveHttp(port) {
  http
    .createServer({ keepAlive: true }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(BODY.length) });
      res.end(BODY);
    })
    .listen(port, '127.0.0.1');
}

function serveNet(port) {
  const [keep, close] = [response(false), response(true)];
  net
    .createServer((s) => {
      s.on('data', (d) => (wantsClose(d.latin1Slice()) ? s.end(close) : s.write(keep)));
      s.on('error', () => {});
    })
    .listen(port, '127.0.0.1');
}

const RING = 4096;

async function serveRaw(port) {
  const { default: koffi } = await import('koffi');
  const c = koffi.load('libc.so.6');
  const f = {
    socket: c.func('int socket(int, int, int)'),
    setsockopt: c.func('int setsockopt(int, int, int, int*, int)'),
    bind: c.func('int bind(int, void*, int)'),
    listen: c.func('int listen(int, int)'),
    accept4: c.func('int accept4(int, void*, void*, int)'),
    read: c.func('long read(int, void*, long)'),
    write: c.func('long write(int, void*, long)'),
    close: c.func('int close(int)'),
    epoll_create1: c.func('int epoll_create1(int)'),
    epoll_ctl: c.func('int epoll_ctl(int, int, int, void*)'),
    epoll_wait: c.func('int epoll_wait(int, void*, int, int)'),
    eventfd: c.func('int eventfd(unsigned int, int)'),
  };
  const [O_NONBLOCK, O_CLOEXEC] = [0o4000, 0o2000000];
  if (isMainThread) {
    // [handed, answered] counters, then the sockets handed over and the sockets answered.
    const sab = new SharedArrayBuffer(8 + RING * 8);
    const efd = f.eventfd(0, O_NONBLOCK | O_CLOEXEC);
    const url = new URL(import.meta.url);
    new Worker(url, { workerData: { role: 'responder', sab, efd }, argv: ['--serve', 'raw-thread'] });
    new Worker(url, { workerData: { role: 'io', sab, efd, port }, argv: ['--serve', 'raw-thread'] });
    return;
  }
  const ctl = new Int32Array(workerData.sab, 0, 2);
  const handed = new Int32Array(workerData.sab, 8, RING);
  const answered = new Int32Array(workerData.sab, 8 + RING * 4, RING);
  const efd = workerData.efd;
  if (workerData.role === 'responder') {
    const one = Buffer.alloc(8);
    one.writeBigUInt64LE(1n);
    for (let r = 0, out = 0; ; ) {
      while (Atomics.load(ctl, 0) === r) Atomics.wait(ctl, 0, r);
      for (const w = Atomics.load(ctl, 0); r !== w; r++) answered[out++ % RING] = handed[r % RING];
      Atomics.store(ctl, 1, out);
      f.write(efd, one, 8);
    }
  }
  const lfd = f.socket(2, 1 | O_NONBLOCK | O_CLOEXEC, 0);
  f.setsockopt(lfd, 1, 2, [1], 4);
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(2, 0);
  sa.writeUInt16BE(workerData.port, 2);
  sa.set([127, 0, 0, 1], 4);
  if (f.bind(lfd, sa, 16) < 0 || f.listen(lfd, 1024) < 0) throw new Error('raw server: bind/listen failed');
  const ep = f.epoll_create1(O_CLOEXEC);
  const watch = (fd) => {
    const ev = Buffer.alloc(12); // struct epoll_event is packed on x86-64: u32 events, u64 data
    ev.writeUInt32LE(1 /* EPOLLIN */, 0);
    ev.writeInt32LE(fd, 4);
    f.epoll_ctl(ep, 1 /* EPOLL_CTL_ADD */, fd, ev);
  };
  watch(lfd);
  watch(efd);
  const events = Buffer.alloc(12 * 256);
  const buf = Buffer.alloc(65536);
  const [keep, close] = [response(false), response(true)];
  const closing = new Set();
  for (let handedOut = 0, taken = 0; ; ) {
    const n = f.epoll_wait(ep, events, 256, -1);
    const before = handedOut;
    for (let i = 0; i < n; i++) {
      const fd = events.readInt32LE(i * 12 + 4);
      if (fd === lfd) {
        for (let s; (s = f.accept4(lfd, null, null, O_NONBLOCK | O_CLOEXEC)) >= 0; ) watch(s);
      } else if (fd === efd) {
        f.read(efd, buf, 8);
        for (const w = Atomics.load(ctl, 1); taken !== w; taken++) {
          const s = answered[taken % RING];
          if (closing.delete(s)) {
            f.write(s, close, close.length);
            f.close(s);
          } else f.write(s, keep, keep.length);
        }
      } else {
        const k = f.read(fd, buf, buf.length);
        if (k <= 0) {
          f.close(fd);
          continue;
        }
        if (wantsClose(buf.latin1Slice(0, k))) closing.add(fd);
        handed[handedOut++ % RING] = fd;
      }
    }
    if (handedOut !== before) {
      Atomics.store(ctl, 0, handedOut);
      Atomics.notify(ctl, 0);
    }
  }
}

// ------------------------------------------------------------------ measuring

async function main() {
  // A new nicorn-py worker runs at a fraction of its speed while V8 compiles (hello keep-alive on
  // Node 26: 2.7k, 3.2k, 8.9k, then 16k req/s in four 3 s runs after boot): the warm-up outlasts that.
  const opts = { seconds: 10, warmup: 12, node: process.execPath, doc: null };
  for (let i = 2; i < process.argv.length; i++) {
    if (process.argv[i] === '--seconds') opts.seconds = Number(process.argv[++i]);
    else if (process.argv[i] === '--warmup') opts.warmup = Number(process.argv[++i]);
    else if (process.argv[i] === '--node') opts.node = process.argv[++i];
    else if (process.argv[i] === '--doc') opts.doc = path.resolve(process.argv[++i]);
    else throw new Error(`unknown option ${process.argv[i]}`);
  }
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is missing (apt-get install wrk)');
  const self = new URL(import.meta.url).pathname;
  const apps = path.join(ROOT, 'bench/apps');
  const env = deploymentEnv();
  const servers = [
    { name: 'node:http, bare', cmd: (p) => [opts.node, self, '--serve', 'http', p] },
    { name: 'node:net, bare', cmd: (p) => [opts.node, self, '--serve', 'net', p] },
    { name: 'raw syscalls, two threads', cmd: (p) => [opts.node, self, '--serve', 'raw', p] },
    { name: 'nicorn-py -w 1, hello.py', cmd: (p) => [opts.node, NICORN_BIN, '-w', '1', '-b', `127.0.0.1:${p}`, '--chdir', apps, 'hello:app'] },
  ];
  if (fs.existsSync(path.join(GUNICORN_SITE, 'gunicorn'))) {
    servers.push({
      name: 'Gunicorn 26 -w 1, hello.py',
      cmd: (p) => [...GUNICORN_CMD, '-w', '1', '-b', `127.0.0.1:${p}`, '--chdir', apps, 'hello:app'],
      env: { PYTHONPATH: GUNICORN_SITE },
    });
  }
  const rows = [];
  for (const server of servers) {
    for (const mode of ['keep-alive', 'Connection: close']) {
      const port = await freePort();
      const [cmd, ...args] = server.cmd(String(port));
      const proc = spawn(cmd, args, { stdio: 'ignore', detached: true, env: { ...env, ...server.env } });
      try {
        await answered(port);
        const header = mode === 'keep-alive' ? [] : ['-H', 'Connection: close'];
        wrk(port, header, opts.warmup);
        const before = groupCpuUs(proc.pid);
        const requests = wrk(port, header, opts.seconds);
        const cpu = groupCpuUs(proc.pid) - before;
        rows.push([server.name, mode, Math.round(requests / opts.seconds), Math.round(cpu / requests)]);
        console.error(`front-door-floor: ${rows.at(-1).join(' | ')}`);
      } finally {
        process.kill(-proc.pid, 'SIGTERM');
        await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      }
    }
  }
  const table = [
    '| server | connections | req/s | CPU per request, µs (all threads) |',
    '| --- | --- | ---: | ---: |',
    ...rows.map((r) => `| ${r[0]} | ${r[1]} | ${r[2].toLocaleString('en-US')} | ${r[3]} |`),
  ].join('\n');
  console.log(table);
  if (opts.doc) {
    const when = new Date().toISOString().slice(0, 19).replace('T', ' ');
    fs.writeFileSync(
      opts.doc,
      `# What a request costs below the app: node's socket layers, raw syscalls, nicorn-py, Gunicorn 26

Produced by \`node bench/front-door-floor.mjs --seconds ${opts.seconds} --warmup ${opts.warmup}${opts.node === process.execPath ? '' : ' --node NODE'} --doc ${path.relative(ROOT, opts.doc)}\` on ${when} UTC, node ${nodeVersion(opts.node)}, ${os.cpus().length} cores; wrk -t1 -c10, one warm-up run of ${opts.warmup} s, then ${opts.seconds} s measured. Every server answers the same 14 bytes; the bare and raw servers check nothing (see the script's header). CPU is every thread of the server's processes, user + system.

${table}
`,
    );
    console.error(`wrote ${path.relative(ROOT, opts.doc)}`);
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function answered(port) {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200 && (await res.text()) === BODY) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no server answered on port ${port}`);
}

/** Requests wrk completed (-t1 -c10) in `seconds`. */
function wrk(port, header, seconds) {
  const r = spawnSync('wrk', ['-t1', '-c10', `-d${seconds}s`, ...header, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const m = /(\d+) requests in/.exec(r.stdout);
  if (!m || /Non-2xx/.test(r.stdout)) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

/** User+system CPU of every process in process group `pgid`, µs. */
function groupCpuUs(pgid) {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const stat = procStat(pid);
    if (stat?.pgrp === pgid) ticks += stat.ticks;
  }
  return (ticks * 1e6) / CLK_TCK;
}

// ------------------------------------------------------------------ entry (last: main() reads the constants above)

const serveAt = process.argv.indexOf('--serve');
if (serveAt > 0) {
  const [kind, port] = [process.argv[serveAt + 1], Number(process.argv[serveAt + 2])];
  if (kind === 'http') serveHttp(port);
  else if (kind === 'net') serveNet(port);
  else serveRaw(port);
} else {
  await main();
}
