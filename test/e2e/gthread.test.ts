// -k gthread / --threads N: N interpreters in one worker process behind its
// one I/O thread, each taking the next request when idle
// (src/bridge/interpreter-pool.ts). fixtures/wsgi/which_interpreter.py tells
// which interpreter served a request (each imports it itself).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connected, raw, splitResponses } from '../helpers/http.js';
import { FIXTURES, alive, eventually, sleep, startServer, type Server } from '../helpers/server.js';

const WSGI = path.join(FIXTURES, 'wsgi');

interface Served {
  token: string;
  pid: number;
  served: number;
  multithread: boolean;
  multiprocess: boolean;
}

async function served(srv: Server, query = ''): Promise<Served> {
  const res = await fetch(`${srv.url}/${query}`, { signal: AbortSignal.timeout(30_000) });
  assert.is(res.status, 200);
  return (await res.json()) as Served;
}

const s = suite<{ srv: Server | null; hooks: string }>('gthread', { srv: null, hooks: '' });

s.after(async (ctx) => {
  await ctx.srv?.stop();
});

s('--threads 3: requests that sleep at once are served by three interpreters of one worker', async (ctx) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-gthread-'));
  ctx.hooks = path.join(dir, 'booted');
  const conf = path.join(dir, 'gunicorn.conf.py');
  fs.writeFileSync(
    conf,
    'import sys\n\ndef post_worker_init(worker):\n' +
      `    with open(${JSON.stringify(ctx.hooks)}, "a") as f:\n` +
      '        f.write("%d %s\\n" % (worker.pid, sys.modules["which_interpreter"].TOKEN))\n',
  );
  ctx.srv = await startServer(['-c', conf, '--chdir', WSGI, '--pythonpath', WSGI, '-w', '1', '--threads', '3', 'which_interpreter:application']);
  const three = await Promise.all([0, 1, 2].map(() => served(ctx.srv!, '?s=1')));
  assert.is(new Set(three.map((r) => r.pid)).size, 1, 'one worker process');
  assert.is(new Set(three.map((r) => r.token)).size, 3, 'three interpreters, each taking a request while the others sleep');
  assert.ok(three.every((r) => r.multithread), 'wsgi.multithread is True with threads > 1, as in Gunicorn');
  assert.ok(three.every((r) => !r.multiprocess), 'one worker: wsgi.multiprocess False');
});

s('worker hooks run in every interpreter (post_worker_init: once per interpreter, same worker pid)', async (ctx) => {
  const srv = ctx.srv!;
  const pid = srv.workerPids()[0]!;
  const lines = fs.readFileSync(ctx.hooks, 'utf8').trim().split('\n');
  assert.is(lines.length, 3, lines.join('\n'));
  assert.ok(lines.every((l) => l.startsWith(`${pid} `)), lines.join('\n'));
  const seen = await served(srv);
  assert.ok(lines.some((l) => l.endsWith(seen.token)), 'the serving interpreters are the booted ones');
});

s('pipelined requests of one connection are served one after another, answered in order (RFC 9112 9.3.2, Gunicorn\'s gthread)', async (ctx) => {
  // Spread over two idle interpreters they would run at the same time: the
  // POST's side effects could come after the GET behind it had run.
  const r = await raw(ctx.srv!.port, 'POST /?s=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /?n=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 5000);
  const answers = splitResponses(r.bytes).map((res) => JSON.parse(res.body.toString()) as Served & { began: number; ended: number });
  assert.is(answers.length, 2, r.text);
  const [first, second] = answers as [Served & { began: number; ended: number }, Served & { began: number; ended: number }];
  assert.ok(first.ended - first.began >= 1, 'the POST slept first (answered first)');
  assert.ok(second.began >= first.ended, `the GET began ${(first.ended - second.began).toFixed(3)} s before the POST had ended`);
});

s('-k gthread is accepted by name and path; the worker serves; TERM stops it cleanly', async (ctx) => {
  await ctx.srv?.stop();
  ctx.srv = await startServer(['--chdir', WSGI, '-k', 'gunicorn.workers.gthread.ThreadWorker', '--threads', '2', 'which_interpreter:application']);
  const a = await served(ctx.srv);
  assert.ok(a.multithread);
  const code = await ctx.srv.stop('SIGTERM');
  assert.is(code, 0, ctx.srv.log());
  assert.ok(await eventually(() => ctx.srv!.log().includes('Worker exiting')), ctx.srv.log());
  ctx.srv = null;
});

s('--preload --threads 2: both interpreters start from the arbiter\'s snapshot (each its own descriptor of it)', async (ctx) => {
  await ctx.srv?.stop();
  ctx.srv = await startServer(['--chdir', WSGI, '--preload', '--threads', '2', '--log-level', 'debug', 'which_interpreter:application']);
  const srv = ctx.srv;
  const two = await Promise.all([0, 1].map(() => served(srv, '?s=0.5')));
  // Restored from one image, both hold the arbiter's TOKEN; each counts its own requests.
  assert.is(new Set(two.map((r) => r.token)).size, 1);
  assert.equal(two.map((r) => r.served), [1, 1], 'each interpreter served one of the two');
  const log = srv.log();
  assert.is((log.match(/Started from the preload snapshot/g) ?? []).length, 2, log);
  assert.not.match(log, 'Cannot start from');
  // Gunicorn's worker_class_str: sync with threads > 1 is announced as gthread.
  assert.match(log, '[INFO] Using worker: gthread');
});

s('--timeout per interpreter: a stuck one is aborted (500, worker_abort), the others serve on, the worker is replaced', async (ctx) => {
  await ctx.srv?.stop();
  ctx.srv = await startServer(['--chdir', WSGI, '--threads', '2', '--timeout', '2', 'which_interpreter:application']);
  const srv = ctx.srv;
  const stuck = fetch(`${srv.url}/?s=60`, { signal: AbortSignal.timeout(30_000) });
  // While one interpreter sleeps, the other serves.
  const other = await served(srv);
  assert.is(other.served, 1);
  const res = await stuck;
  assert.is(res.status, 500);
  assert.match(await res.text(), 'Internal Server Error');
  assert.ok(await eventually(() => srv.workerPids().length === 2, 30_000), srv.log());
  const log = srv.log();
  assert.match(log, /\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\): an interpreter was stuck in "GET \/\?s=60 HTTP\/1.1" for --timeout 2 s; aborted/);
  assert.match(log, 'Worker aborted while handling /?s=60');
  assert.match(log, 'Autorestarting worker: 1 of its 2 interpreters serve until its replacement does.');
  // The arbiter did not abort the worker itself: its I/O thread kept beating.
  assert.not.match(log, /WORKER TIMEOUT \(pid:\d+\)$/m);
  const after = await served(srv);
  assert.ok(after.pid > 0);
});

s('--timeout per interpreter holds while TERM drains the worker: a stuck request on a kept-alive connection gets the 500 page', async (ctx) => {
  await ctx.srv?.stop();
  ctx.srv = await startServer(['--chdir', WSGI, '--threads', '2', '--timeout', '2', 'which_interpreter:application']);
  const srv = ctx.srv;
  const [pid] = srv.workerPids();
  const c = await connected(srv.port);
  try {
    c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.is((await c.response(10_000)).status, 200);
    // TERM drains the worker: it stops accepting and serves what comes on its kept-alive connections.
    process.kill(pid!, 'SIGTERM');
    // The signal is handled well within this (a stuck request sent before it
    // would be timed out by the serving worker's watch: no test of draining).
    await sleep(500);
    const t0 = Date.now();
    c.send('GET /?s=30 HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await c.response(20_000);
    assert.is(res.status, 500, srv.log());
    assert.ok(Date.now() - t0 < 10_000, `answered after ${Date.now() - t0} ms, not when the app returned`);
  } finally {
    c.close();
  }
  assert.ok(await eventually(() => !alive(pid!), 10_000), srv.log());
  const log = srv.log();
  assert.match(log, `[CRITICAL] WORKER TIMEOUT (pid:${pid}): an interpreter was stuck in "GET /?s=30 HTTP/1.1"`);
  assert.match(log, 'Worker aborted while handling /?s=30');
  assert.match(log, `Worker exiting (pid: ${pid})`);
});

s.run();
