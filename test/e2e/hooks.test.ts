// Server hooks from a Python config file: each fires at Gunicorn's moment, in
// the process Gunicorn runs it in, with the attributes Gunicorn documents.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { get, raw } from '../helpers/http.js';
import { FIXTURES, INTERPRETERS_PER_WORKER, baseSnapshotSettled, eventually, runCli, runLimited, sleep, startServer, type Run, type Server } from '../helpers/server.js';

const CONF = path.join(FIXTURES, 'config');
const WSGI = path.join(FIXTURES, 'wsgi');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-hooks-'));

type Mark = Record<string, unknown> & { hook: string; pid: number };

function marks(file: string): Mark[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Mark);
}

const of = (all: Mark[], hook: string) => all.filter((m) => m.hook === hook);

/** Each interpreter of a worker runs the worker-side hooks itself (helpers/server.ts). */
const PER_WORKER = INTERPRETERS_PER_WORKER;

// ---------------------------------------------------------------- the lifecycle

const life = suite<{ srv: Server; file: string; all: Mark[]; code: number | null }>('server hooks');

// The whole lifecycle is driven in the first test (uvu would swallow a
// failure in before()); the tests after it read the markers it left.
life('the lifecycle runs: boot, a request, TTIN, TTOU, QUIT to a worker, a timeout, HUP, TERM', async (ctx) => {
  ctx.file = path.join(tmp, 'markers.jsonl');
  ctx.srv = await startServer(['-c', path.join(CONF, 'hooks.conf.py'), '--chdir', WSGI, 'conformance'], {
    env: { HOOK_MARKERS: ctx.file },
  });
  const { srv, file } = ctx;
  const count = (hook: string) => of(marks(file), hook).length;
  assert.ok(await eventually(() => count('post_worker_init') === 2 * PER_WORKER, 20_000), 'both workers booted');
  // A suite before this one (hashtz) made the run's base snapshot with another TZ: a worker here makes
  // it again, seconds of CPU in that worker; not while the timeout below is timed.
  assert.ok(await baseSnapshotSettled(srv), 'the base snapshot is made');
  // One request, through pre_request and post_request.
  const res = await fetch(`${srv.url}/hello/some/path?q=1`, { headers: { 'X-Hook': 'yes' } });
  assert.is(await res.text(), 'Hello, World!\n');
  assert.ok(await eventually(() => count('post_request') === 1));
  // TTIN: one more worker; TTOU: one fewer.
  process.kill(srv.pid, 'SIGTTIN');
  assert.ok(await eventually(() => count('post_worker_init') === 3 * PER_WORKER, 20_000), 'TTIN added a worker');
  process.kill(srv.pid, 'SIGTTOU');
  assert.ok(await eventually(() => count('child_exit') === 1, 10_000), 'TTOU retired a worker');
  // QUIT to one worker: worker_int there; the arbiter replaces it.
  const victim = of(marks(file), 'post_worker_init').at(-1)!.pid;
  process.kill(victim, 'SIGQUIT');
  assert.ok(await eventually(() => count('child_exit') === 2, 10_000), 'the QUIT worker exited');
  assert.ok(await eventually(() => count('post_worker_init') === 4 * PER_WORKER, 20_000), 'and was replaced');
  // A request stuck past timeout = 3: worker_abort in that worker; it is replaced.
  // A fresh connection: a pooled keep-alive one may lead to the worker QUIT just ended.
  await raw(srv.port, get('/spin'), 6000);
  const counts = () => JSON.stringify(Object.fromEntries(['worker_abort', 'child_exit', 'post_worker_init'].map((h) => [h, count(h)])));
  assert.ok(await eventually(() => count('worker_abort') === 1 && count('child_exit') === 3, 10_000), `timeout: ${counts()}\n${srv.log().slice(-3000)}`);
  assert.ok(await eventually(() => count('post_worker_init') === 5 * PER_WORKER, 20_000), 'and was replaced');
  // HUP: on_reload, new workers, old ones leave.
  process.kill(srv.pid, 'SIGHUP');
  assert.ok(await eventually(() => count('on_reload') === 1 && count('post_worker_init') === 7 * PER_WORKER, 20_000), 'HUP');
  assert.ok(await eventually(() => count('child_exit') === 5, 20_000), 'old workers left after HUP');
  ctx.code = await srv.stop('SIGTERM');
  ctx.all = marks(file);
});

life.after(async (ctx) => {
  await ctx.srv?.stop('SIGKILL');
});

life('the arbiter exits 0 after TERM', ({ code }) => {
  assert.is(code, 0);
});

life('arbiter-side hooks run in the arbiter process', ({ all, srv }) => {
  for (const hook of ['on_starting', 'when_ready', 'pre_fork', 'child_exit', 'nworkers_changed', 'on_reload', 'on_exit']) {
    const ms = of(all, hook);
    assert.ok(ms.length > 0, `${hook} fired`);
    for (const m of ms) assert.is(m.pid, srv.pid, `${hook} ran in the arbiter`);
    for (const m of ms) assert.is(m['server.pid'], srv.pid, `${hook}: server.pid`);
  }
});

life('worker-side hooks run in the worker process that they describe', ({ all, srv }) => {
  for (const hook of ['post_fork', 'post_worker_init', 'pre_request', 'post_request', 'worker_int', 'worker_abort', 'worker_exit']) {
    const ms = of(all, hook);
    assert.ok(ms.length > 0, `${hook} fired`);
    for (const m of ms) {
      assert.is.not(m.pid, srv.pid, `${hook} did not run in the arbiter`);
      assert.is(m['worker.pid'], m.pid, `${hook}: worker.pid is the process it ran in`);
    }
  }
  for (const m of of(all, 'post_fork')) assert.is(m['server.pid'], srv.pid, 'post_fork: server.pid is the arbiter');
});

life('start-up order: nworkers_changed(2, None), on_starting, when_ready, then pre_fork per worker', ({ all }) => {
  const order = all.map((m) => m.hook);
  const first = of(all, 'nworkers_changed')[0]!;
  assert.equal([first.new, first.old], [2, null]);
  assert.ok(order.indexOf('on_starting') < order.indexOf('when_ready'));
  assert.ok(order.indexOf('when_ready') < order.indexOf('pre_fork'));
  assert.is(of(all, 'on_starting')[0]!['server.cfg.workers'], 2, 'server.cfg carries the config file');
});

life('pre_fork sees the worker before it has a pid; post_fork after', ({ all }) => {
  const pre = of(all, 'pre_fork');
  assert.ok(pre.every((m) => m['worker.pid'] === null));
  assert.equal(pre.map((m) => m['worker.age']), pre.map((_, i) => i + 1), 'worker.age counts spawns');
  const post = of(all, 'post_fork');
  const perInterpreter = pre.flatMap((m) => Array<unknown>(PER_WORKER).fill(m['worker.age']));
  assert.equal(post.map((m) => m['worker.age']).sort(), perInterpreter.sort());
  for (const m of of(all, 'post_worker_init')) {
    assert.is(m.wsgi, true, 'worker.wsgi is the loaded app');
    assert.is(m['worker.cfg.keepalive'], 1, 'worker.cfg carries the config file');
  }
});

life('pre_request and post_request see req, environ and resp', ({ all }) => {
  const pre = of(all, 'pre_request')[0]!;
  assert.is(pre.method, 'GET');
  assert.is(pre.path, '/hello/some/path');
  assert.is(pre.query, 'q=1');
  assert.equal(pre.version, [1, 1]);
  assert.equal(pre.headers, [['X-HOOK', 'yes']]);
  const post = of(all, 'post_request')[0]!;
  assert.is(post.pid, pre.pid);
  assert.is(post.path_info, '/hello/some/path');
  assert.is(post.status, '200 OK');
  assert.is(post.status_code, 200);
  assert.is(post.sent, 14);
  assert.equal(post.resp_headers, [['Content-Type', 'text/plain'], ['Content-Length', '14']]);
});

life('a timeout runs worker_abort in the stuck worker, which then exits', ({ all }) => {
  const abort = of(all, 'worker_abort')[0]!;
  assert.is(abort['worker.alive'], false);
  assert.ok(of(all, 'worker_exit').some((m) => m.pid === abort.pid));
  assert.ok(of(all, 'child_exit').some((m) => m['worker.pid'] === abort.pid));
});

life('TTIN and TTOU announce the new worker count', ({ all }) => {
  const changes = of(all, 'nworkers_changed').map((m) => [m.new, m.old]);
  assert.equal(changes, [[2, null], [3, 2], [2, 3]]);
});

life('QUIT to a worker runs worker_int then worker_exit in it; child_exit in the arbiter', ({ all }) => {
  const int = of(all, 'worker_int');
  assert.is(int.length, PER_WORKER, 'once in each of its interpreters');
  const pid = int[0]!.pid;
  assert.ok(int.every((m) => m.pid === pid), 'all in the one worker');
  assert.is(int[0]!['worker.alive'], false);
  assert.ok(of(all, 'worker_exit').some((m) => m.pid === pid));
  assert.ok(of(all, 'child_exit').some((m) => m['worker.pid'] === pid && m['worker.alive'] === false));
});

life('TERM: every worker runs worker_exit; on_exit is the last hook', ({ all }) => {
  assert.is(all.at(-1)!.hook, 'on_exit');
  const booted = new Set(of(all, 'post_fork').map((m) => m.pid));
  const exited = new Set(of(all, 'worker_exit').map((m) => m.pid));
  assert.equal([...exited].sort(), [...booted].sort(), 'each worker ran worker_exit');
});

life.run();

// ---------------------------------------------------------------- hooks that raise

const failing = suite<{ runs: Record<string, Run>; srv: Server; srvPost: Server }>('hooks that raise');

failing.before(async (ctx) => {
  const conf = path.join(CONF, 'failing_hooks.conf.py');
  const cli = (hook: string) =>
    runCli(['-c', conf, '--chdir', WSGI, '-b', '127.0.0.1:0', 'hello'], { env: { FAIL_HOOK: hook }, timeoutMs: 30_000 });
  const serve = (hook: string) => startServer(['-c', conf, '--chdir', WSGI, 'hello'], { env: { FAIL_HOOK: hook } });
  const done = await runLimited<Run | Server>({
    onStarting: () => cli('on_starting'),
    whenReady: () => cli('when_ready'),
    postWorkerInit: () => cli('post_worker_init'),
    srv: () => serve('pre_request'),
    srvPost: () => serve('post_request'),
  });
  ctx.runs = { onStarting: done.onStarting as Run, whenReady: done.whenReady as Run, postWorkerInit: done.postWorkerInit as Run };
  ctx.srv = done.srv as Server;
  ctx.srvPost = done.srvPost as Server;
});

failing.after(async (ctx) => {
  await Promise.all([ctx.srv?.stop(), ctx.srvPost?.stop()]);
});

failing('on_starting raising stops the arbiter with its traceback, exit 1', ({ runs }) => {
  assert.is(runs.onStarting!.code, 1);
  assert.match(runs.onStarting!.stderr, /RuntimeError: hook on_starting failed on purpose/);
  assert.not.match(runs.onStarting!.stderr, /Booting worker/);
});

failing('when_ready raising stops the arbiter before any worker, exit 1', ({ runs }) => {
  assert.is(runs.whenReady!.code, 1);
  assert.match(runs.whenReady!.stderr, /RuntimeError: hook when_ready failed on purpose/);
  assert.not.match(runs.whenReady!.stderr, /Booting worker/);
});

failing('post_worker_init raising is a worker boot failure, exit 3', ({ runs }) => {
  const r = runs.postWorkerInit!;
  assert.is(r.code, 3);
  assert.match(r.stderr, /Exception in worker process[\s\S]*RuntimeError: hook post_worker_init failed on purpose/);
  assert.match(r.stderr, /Reason: Worker failed to boot\./);
});

failing('pre_request raising is a 500 for that request; the worker serves on', async ({ srv }) => {
  const res = await fetch(`${srv.url}/x`);
  assert.is(res.status, 500);
  assert.ok(await eventually(() => /Error handling request GET \/x[\s\S]*hook pre_request failed on purpose/.test(srv.log())));
  await sleep(10);
  assert.is(srv.workerPids().length, 1);
});

failing('post_request raising is logged; the response was already complete', async ({ srvPost }) => {
  const res = await fetch(`${srvPost.url}/y`);
  assert.is(res.status, 200);
  assert.is(await res.text(), 'Hello, World!\n');
  assert.ok(await eventually(() => /Exception in post_request hook[\s\S]*hook post_request failed on purpose/.test(srvPost.log())));
});

failing.run();

// ---------------------------------------------------------------- os.environ

const environ = suite<{ srv: Server }>('hooks that change os.environ');

environ.after(async (ctx) => {
  await ctx.srv?.stop();
});

/** Europe/Paris's UTC offset at `d`, as strftime's %z writes it ("+0100"). */
function parisOffset(d: Date): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Paris', timeZoneName: 'longOffset' }).formatToParts(d).find((p) => p.type === 'timeZoneName')!.value;
  return name === 'GMT' ? '+0000' : name.slice(3).replace(':', '');
}

environ('os.environ set or removed by on_starting and pre_fork reaches the workers; TZ set there moves the log lines after it', async (ctx) => {
  // As a forked worker inherits the master's os.environ (Django's TIME_ZONE
  // sets TZ and calls time.tzset() wherever its settings load).
  const conf = path.join(tmp, 'environ.conf.py');
  fs.writeFileSync(
    conf,
    [
      'import os, time',
      'def on_starting(server):',
      '    os.environ["NICORN_TEST_ON_STARTING"] = "set in on_starting"',
      '    del os.environ["NICORN_TEST_REMOVED"]',
      '    os.environ["TZ"] = "Europe/Paris"',
      '    time.tzset()',
      'def pre_fork(server, worker):',
      '    os.environ["NICORN_TEST_PRE_FORK"] = "set in pre_fork"',
      'def post_worker_init(worker):',
      '    os.environ["TZ"] = "Asia/Tokyo"',
      '    time.tzset()',
      '    worker.log.info("post_worker_init: TZ is %s", os.environ["TZ"])',
      '',
    ].join('\n'),
  );
  ctx.srv = await startServer(['-c', conf, '--access-logfile', '-', '--chdir', WSGI, 'environ_echo'], {
    env: { TZ: 'UTC', NICORN_TEST_REMOVED: 'from the shell', NICORN_TEST_KEPT: 'from the shell' },
  });
  const body = (await (await fetch(ctx.srv.url + '/')).json()) as { 'os.environ': Record<string, string> };
  assert.equal(body['os.environ'], {
    NICORN_TEST_KEPT: 'from the shell',
    NICORN_TEST_ON_STARTING: 'set in on_starting',
    NICORN_TEST_PRE_FORK: 'set in pre_fork',
  });
  const log = ctx.srv.log();
  const stamp = (what: RegExp) => log.split('\n').find((l) => what.test(l))?.match(/^\[[^\]]* ([+-]\d{4})\]/)?.[1];
  // Gunicorn logs "Starting" before on_starting runs.
  assert.is(stamp(/Starting nicorn-py/), '+0000', log);
  const paris = parisOffset(new Date());
  assert.is(stamp(/Listening at/), paris, log);
  assert.is(stamp(/Booting worker/), paris, log);
});

environ('TZ set in a worker (post_worker_init, or Django as its settings load) moves that worker\'s log lines, not the arbiter\'s', async ({ srv }) => {
  // Tokyo is +0900 all year.
  // The first case's request: its access line comes after post_worker_init's.
  await eventually(() => /"GET \/ HTTP\/1\.1" 200/.test(srv.log()), 10_000);
  const log = srv.log();
  const line = (what: RegExp) => log.split('\n').find((l) => what.test(l)) ?? '';
  // Logged by the worker's Python, after its tzset.
  assert.match(line(/post_worker_init: TZ is/), /^\[[^\]]* \+0900\]/, log);
  // The access log's `t`, written by the worker's I/O thread.
  const access = line(/"GET \/ HTTP\/1\.1" 200/);
  assert.match(access, /\[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0900\]/, log);
  // The arbiter's next line is still in its own zone (Paris): a signal it handles.
  process.kill(srv.pid, 'SIGTTIN');
  await eventually(() => /Handling signal: ttin/.test(srv.log()), 10_000);
  assert.match(srv.log().split('\n').find((l) => /Handling signal: ttin/.test(l)) ?? '', new RegExp(`^\\[[^\\]]* \\${parisOffset(new Date())}\\]`), srv.log());
});

environ.run();

// ---------------------------------------------------------------- cleanup

const cleanup = suite('hooks cleanup');
cleanup('temp files removed', () => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
cleanup.run();
