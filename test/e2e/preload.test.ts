// --preload: the app is imported once, in the arbiter, the interpreter is
// snapshotted, and every worker starts from the snapshot (cached on disk,
// rebuilt when the app changes and on HUP). Workers restored from it answer
// as booted ones do, each with its own pid and random sequence; what cannot
// be snapshotted, or restored, falls back to a normal boot, logged.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { get, parseResponse, raw } from '../helpers/http.js';
import { FIXTURES, INTERPRETERS_PER_WORKER, PACKAGES, eventually, startServer, type Server } from '../helpers/server.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-preload-')));
/** A snapshot cache of this suite's own. */
const CACHE_HOME = path.join(tmp, 'cache');
const CACHE = path.join(CACHE_HOME, 'nicorn-py');
// Bytecode is written (as by CPython by default) wherever this runs: a
// changed source must make a new snapshot even when its import found __pycache__.
const ENV = { XDG_CACHE_HOME: CACHE_HOME, PRELOAD_TEST_VAR: 'from the environment', PYTHONDONTWRITEBYTECODE: undefined };

/** An app that reports what is per process: pid, random numbers, cwd, environment. */
// Each version has another length: CPython reuses a module's __pycache__
// bytecode while the source keeps its size and its mtime (whole seconds).
const probeApp = (version: number) => `# ${'v'.repeat(version)}
import json
import os
import random

VERSION = ${version}
IMPORTED_IN = os.getpid()


def application(environ, start_response):
    body = json.dumps({
        "version": VERSION,
        "pid": os.getpid(),
        "imported_in": IMPORTED_IN,
        "random": random.random(),
        "cwd": os.getcwd(),
        "env": os.environ.get("PRELOAD_TEST_VAR"),
        "snapshot_fd_env": os.environ.get("NICORN_SNAPSHOT_FD"),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
`;

interface Probe {
  version: number;
  pid: number;
  imported_in: number;
  random: number;
  cwd: string;
  env: string | null;
  snapshot_fd_env: string | null;
}

/** One request on a fresh connection, so that either worker may answer it. */
async function probe(port: number): Promise<Probe> {
  const res = parseResponse((await raw(port, get('/', 'Connection: close\r\n'))).bytes);
  assert.is(res.status, 200);
  return JSON.parse(res.body.toString()) as Probe;
}

/** Probes until every pid in `pids` has answered; the answers by pid. */
async function fromEach(port: number, pids: number[]): Promise<Map<number, Probe>> {
  const seen = new Map<number, Probe>();
  for (let i = 0; i < 200 && pids.some((p) => !seen.has(p)); i++) {
    const p = await probe(port);
    seen.set(p.pid, p);
  }
  return seen;
}

function makeApp(name: string, source: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'probe.py'), source);
  return dir;
}

/** Resolves once the arbiter has heard from worker `pid` that it serves (--log-level debug). */
const serving = (srv: Server, pid: number, ms = 30_000) => eventually(() => srv.log().includes(`Worker ${pid} is serving`), ms);

const imageFiles = () => (fs.existsSync(CACHE) ? fs.readdirSync(CACHE).filter((f) => f.endsWith('.snap')) : []);
const bootLines = (log: string) => log.match(/Booting worker with pid: \d+/g)?.length ?? 0;

// ---------------------------------------------------------------- one app, from snapshot to HUP

const probeSuite = suite<{ srv: Server; dir: string }>('a worker restored from the snapshot');

probeSuite.after(async (ctx) => {
  await ctx.srv?.stop();
});

probeSuite('the arbiter makes a snapshot, caches it, and both workers start from it', async (ctx) => {
  ctx.dir = makeApp('probe', probeApp(1));
  ctx.srv = await startServer(['--preload', '-w', '2', '--log-level', 'debug', '--chdir', ctx.dir, 'probe'], { env: ENV });
  const log = ctx.srv.log();
  assert.match(log, /\[INFO\] Preload: snapshot made in \d+ ms \(no snapshot yet\): .*\.snap/);
  assert.is(imageFiles().length, 1, 'one image in the cache');
  assert.is(fs.statSync(path.join(CACHE, imageFiles()[0]!)).mode & 0o777, 0o600, 'the image is private: it holds the app memory');
  assert.is(fs.statSync(CACHE).mode & 0o777, 0o700);
  // One line per interpreter: each of a gthread worker's restores the image (README, "Worker classes").
  const restores = 2 * INTERPRETERS_PER_WORKER;
  assert.ok(await eventually(() => (ctx.srv.log().match(/Started from the preload snapshot in \d+ ms/g)?.length ?? 0) === restores, 20_000), ctx.srv.log());
});

probeSuite('each worker has its own pid, its own random sequence, the cwd and the environment', async ({ srv, dir }) => {
  const pids = srv.workerPids();
  assert.is(pids.length, 2);
  const answers = await fromEach(srv.port, pids);
  assert.equal([...answers.keys()].sort(), [...pids].sort(), 'both workers answer, each with its own pid');
  const [a, b] = [answers.get(pids[0]!)!, answers.get(pids[1]!)!];
  assert.is.not(a.random, b.random, 'random is reseeded in each worker (as Gunicorn does after fork)');
  for (const p of [a, b]) {
    assert.is(p.version, 1);
    assert.is(p.imported_in, srv.pid, 'the app was imported once, in the arbiter, as with Gunicorn --preload');
    assert.is(p.cwd, dir);
    assert.is(p.env, 'from the environment');
    assert.is(p.snapshot_fd_env, null, "nicorn-py's plumbing stays out of os.environ");
  }
});

probeSuite('a replacement for a killed worker starts from the snapshot too', async ({ srv }) => {
  const [victim] = srv.workerPids();
  process.kill(victim!, 'SIGKILL');
  assert.ok(await eventually(() => srv.workerPids().length === 3, 20_000), 'a replacement booted');
  const fresh = srv.workerPids()[2]!;
  assert.ok(await eventually(() => new RegExp(`\\[${fresh}\\] \\[DEBUG\\] Started from the preload snapshot`).test(srv.log()), 20_000));
  assert.ok(await serving(srv, fresh));
  const answers = await fromEach(srv.port, [fresh]);
  assert.is(answers.get(fresh)?.version, 1);
  // Pyodide's JavaScript: the first workers found no code cache and wrote one; the replacement used it.
  assert.match(srv.log(), /\[DEBUG\] pyodide\.asm\.mjs code cache missing; written anew/);
  assert.not.match(srv.log(), new RegExp(`\\[${fresh}\\] \\[DEBUG\\] pyodide\\.asm\\.mjs code cache`));
  assert.ok(fs.readdirSync(CACHE).some((f) => f.endsWith('.jscache')), 'the code cache is kept beside the snapshots');
});

probeSuite('HUP makes a new snapshot: the new workers run the code as it is now', async ({ srv, dir }) => {
  fs.writeFileSync(path.join(dir, 'probe.py'), probeApp(2));
  const before = srv.workerPids().length;
  process.kill(srv.pid, 'SIGHUP');
  assert.ok(await eventually(() => /Preload: snapshot made (?:from the base snapshot )?in \d+ ms \(reload\)/.test(srv.log()), 30_000), srv.log());
  assert.ok(await eventually(() => srv.workerPids().length === before + 2, 20_000), 'two new workers');
  const fresh = srv.workerPids().slice(-2);
  for (const pid of fresh) assert.ok(await serving(srv, pid));
  // The old workers leave once the new ones serve.
  assert.ok(await eventually(async () => (await probe(srv.port)).version === 2, 20_000), 'version 2 served');
  const answers = await fromEach(srv.port, fresh);
  assert.equal([...answers.values()].map((p) => p.version), [2, 2]);
  assert.is(imageFiles().length, 1, 'the replaced image left the cache');
});

probeSuite('a worker that cannot restore the snapshot boots normally, and says why', async ({ srv }) => {
  // Damage the image behind the arbiter's back: the descriptor it hands out reads the damage.
  for (const f of imageFiles()) fs.truncateSync(path.join(CACHE, f), 1000);
  const [victim] = srv.workerPids().slice(-1);
  const before = srv.workerPids().length;
  process.kill(victim!, 'SIGKILL');
  assert.ok(await eventually(() => srv.workerPids().length === before + 1, 20_000));
  const fresh = srv.workerPids().at(-1)!;
  assert.ok(
    await eventually(() => new RegExp(`\\[${fresh}\\] \\[WARNING\\] Cannot start from the preload snapshot \\(.+\\); booting normally`).test(srv.log()), 30_000),
    srv.log(),
  );
  assert.ok(await serving(srv, fresh));
  const answers = await fromEach(srv.port, [fresh]);
  assert.is(answers.get(fresh)?.version, 2);
  assert.is(answers.get(fresh)?.imported_in, fresh, 'it imported the app itself');
});

probeSuite('a restart finds the cached snapshot; a changed app file makes a new one', async (ctx) => {
  await ctx.srv.stop();
  const args = ['--preload', '-w', '1', '--log-level', 'debug', '--chdir', ctx.dir, 'probe'];
  // The damaged image is not used again.
  ctx.srv = await startServer(args, { env: ENV });
  assert.match(ctx.srv.log(), /Preload: snapshot made (?:from the base snapshot )?in \d+ ms \(the snapshot file is damaged\)/);
  await ctx.srv.stop();
  ctx.srv = await startServer(args, { env: ENV });
  assert.match(ctx.srv.log(), /\[DEBUG\] Preload: workers start from the cached snapshot /);
  assert.not.match(ctx.srv.log(), /snapshot made/);
  assert.is((await probe(ctx.srv.port)).version, 2);
  await ctx.srv.stop();
  fs.writeFileSync(path.join(ctx.dir, 'probe.py'), probeApp(3));
  ctx.srv = await startServer(args, { env: ENV });
  assert.match(ctx.srv.log(), new RegExp(`Preload: snapshot made (?:from the base snapshot )?in \\d+ ms \\(${path.join(ctx.dir, 'probe.py').replace(/[.]/g, '\\.')} changed\\)`));
  assert.is((await probe(ctx.srv.port)).version, 3);
});

probeSuite.run();

test('with a base snapshot in the cache, the arbiter imports the app into an interpreter restored from it', async () => {
  // test/run.mjs made the run's base snapshot in its XDG_CACHE_HOME (this suite's own cache has none).
  const runCache = process.env.XDG_CACHE_HOME;
  assert.ok(runCache, 'test/run.mjs sets XDG_CACHE_HOME');
  const dir = makeApp('probe', probeApp(7));
  // The environment the run's base snapshot was made in (it read PYTHONDONTWRITEBYTECODE), and the probe's variable.
  const srv = await startServer(['--preload', '--chdir', dir, 'probe'], { env: { XDG_CACHE_HOME: runCache, PRELOAD_TEST_VAR: ENV.PRELOAD_TEST_VAR } });
  try {
    assert.match(srv.log(), /\[INFO\] Preload: snapshot made from the base snapshot in \d+ ms \(no snapshot yet\)/, srv.log());
    const answers = await fromEach(srv.port, srv.workerPids());
    const [probe] = [...answers.values()];
    assert.is(probe?.version, 7);
    assert.is(probe?.imported_in, srv.pid, 'imported in the arbiter');
    assert.is(probe?.env, 'from the environment', "the arbiter's environment, not the base snapshot maker's");
    assert.is(probe?.cwd, dir);
  } finally {
    await srv.stop();
  }
});
test.run();

// ---------------------------------------------------------------- real apps

const flask = suite<{ srv: Server }>('Flask fixture, restored from the snapshot');

flask.after(async (ctx) => {
  await ctx.srv?.stop();
});

flask('renders JSON, templates, forms and sessions', async (ctx) => {
  ctx.srv = await startServer(['--preload', '--log-level', 'debug', '--chdir', path.join(FIXTURES, 'flaskapp'), '--pythonpath', PACKAGES, 'app:app'], {
    env: ENV,
  });
  const { url } = ctx.srv;
  assert.ok(await eventually(() => /Started from the preload snapshot/.test(ctx.srv.log()), 20_000));
  assert.equal(await (await fetch(`${url}/`)).json(), { hello: 'flask' });
  const page = await (await fetch(`${url}/hello/W%C3%B6rld%3Cb%3E`)).text();
  assert.match(page, /<p>Hello, Wörld&lt;b&gt;!<\/p>/);
  const form = await fetch(`${url}/form`, { method: 'POST', body: new URLSearchParams({ a: '1', b: 'ü & =' }) });
  assert.equal(await form.json(), { a: '1', b: 'ü & =' });
  const set = await fetch(`${url}/session/set?v=kept`);
  const cookie = set.headers.get('set-cookie')!.split(';')[0]!;
  assert.equal(await (await fetch(`${url}/session/get`, { headers: { cookie } })).json(), { v: 'kept' });
  const boom = await fetch(`${url}/boom`);
  assert.is(boom.status, 500);
  assert.ok(await eventually(() => /RuntimeError: boom/.test(ctx.srv.log())), 'the traceback reaches the error log');
  // Nothing of node's own on stderr (the worker's thread once warned as it closed the image's descriptor).
  assert.not.match(ctx.srv.log(), /\(node:\d+\) \w*Warning/);
});

flask.run();

const conformance = suite<{ srv: Server }>('WSGI conformance app and worker hooks, restored from the snapshot');

conformance.after(async (ctx) => {
  await ctx.srv?.stop();
});

conformance('PEP 3333 behaviours and the worker-side hooks of the config file', async (ctx) => {
  const markers = path.join(tmp, 'hooks.jsonl');
  ctx.srv = await startServer(
    ['--preload', '--log-level', 'debug', '-c', path.join(FIXTURES, 'config', 'hooks.conf.py'), '--chdir', path.join(FIXTURES, 'wsgi'), 'conformance'],
    { env: { ...ENV, HOOK_MARKERS: markers } },
  );
  const { url, port } = ctx.srv;
  // Two workers (workers = 2 in the file), each of their interpreters restored and running the worker hooks.
  const interpreters = 2 * INTERPRETERS_PER_WORKER;
  assert.ok(await eventually(() => (ctx.srv.log().match(/Started from the preload snapshot/g)?.length ?? 0) === interpreters, 20_000), ctx.srv.log());
  assert.is(await (await fetch(`${url}/hello`)).text(), 'Hello, World!\n');
  assert.is(await (await fetch(`${url}/write`)).text(), 'from write(); from the iterable');
  assert.is(await (await fetch(`${url}/empty-chunks`)).text(), 'x');
  const failed = parseResponse((await raw(port, get('/fail-before', 'Connection: close\r\n'))).bytes);
  assert.is(failed.status, 500);
  const environ = (await (await fetch(`${url}/environ/x?q=1`)).json()) as Record<string, unknown>;
  assert.is(environ.PATH_INFO, '/environ/x');
  assert.is(environ.QUERY_STRING, 'q=1');
  const replaced = await fetch(`${url}/exc-info-before`);
  assert.is(replaced.status, 503);
  assert.is(await replaced.text(), 'replaced by exc_info');
  const pid = Number(await (await fetch(`${url}/pid`)).text());
  assert.ok(ctx.srv.workerPids().includes(pid), "os.getpid() is the worker's");
  assert.ok(await eventually(() => fs.existsSync(markers) && (fs.readFileSync(markers, 'utf8').match(/"post_worker_init"/g)?.length ?? 0) === interpreters, 10_000));
  const marks = fs
    .readFileSync(markers, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const hook of ['post_fork', 'post_worker_init']) {
    const ran = marks.filter((m) => m.hook === hook);
    assert.is(ran.length, interpreters, `${hook} ran in both workers (in each interpreter)`);
    for (const m of ran) assert.ok(ctx.srv.workerPids().includes(m.pid as number), `${hook} ran in a worker (pid ${m.pid})`);
  }
  assert.ok(marks.filter((m) => m.hook === 'post_worker_init').every((m) => m.wsgi === true), 'worker.wsgi is the preloaded app');
});

conformance.run();

// ---------------------------------------------------------------- an app that sets TZ

const zone = suite<{ srv: Server }>('an app that sets TZ as it is imported (as Django does for TIME_ZONE)');

zone.after(async (ctx) => {
  await ctx.srv?.stop();
});

zone('workers restored from its snapshot keep its zone, and their log lines show it', async (ctx) => {
  // Gunicorn's workers fork from the master that imported the app: its TZ and tzset() are theirs.
  const dir = makeApp('tz', `${probeApp(1)}\nimport time\nos.environ["TZ"] = "Asia/Tokyo"\ntime.tzset()\n\n\ndef application(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [time.strftime("%z").encode()]\n`);
  ctx.srv = await startServer(['--preload', '--access-logfile', '-', '--log-level', 'debug', '--chdir', dir, 'probe'], { env: { ...ENV, TZ: 'UTC' } });
  assert.ok(await eventually(() => /Started from the preload snapshot/.test(ctx.srv.log()), 20_000), ctx.srv.log());
  assert.is(await (await fetch(ctx.srv.url + '/')).text(), '+0900');
  assert.ok(await eventually(() => /"GET \/ HTTP\/1\.1" 200/.test(ctx.srv.log()), 10_000), ctx.srv.log());
  const line = (what: RegExp) => ctx.srv.log().split('\n').find((l) => what.test(l)) ?? '';
  assert.match(line(/"GET \/ HTTP\/1\.1" 200/), / \+0900\] "GET/, ctx.srv.log());
  await ctx.srv.stop();
  assert.match(line(/Worker exiting/), / \+0900\] /, ctx.srv.log());
  // The arbiter's stay in its own: unlike Gunicorn's master, it did not import the app.
  assert.match(line(/Shutting down: Master/), / \+0000\] /, ctx.srv.log());
});

zone.run();

// ---------------------------------------------------------------- what a snapshot cannot carry

const fallback = suite<{ srv: Server }>('an app a snapshot cannot carry');

fallback.after(async (ctx) => {
  await ctx.srv?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

fallback('an open file at import: the reason is logged, and workers import the app themselves', async (ctx) => {
  const dir = makeApp('openfile', `${probeApp(1)}\nLOG = open(__file__)\n`);
  ctx.srv = await startServer(['--preload', '--chdir', dir, 'probe'], { env: ENV });
  assert.match(
    ctx.srv.log(),
    /\[WARNING\] Preload: cannot snapshot the app \(the app keeps file descriptor \d+ \(.*probe\.py\) open after it is imported; a snapshot cannot carry open files\); each worker imports it itself/,
  );
  const [worker] = ctx.srv.workerPids();
  const p = await probe(ctx.srv.port);
  assert.is(p.pid, worker);
  assert.is(p.imported_in, worker);
  assert.is(bootLines(ctx.srv.log()), 1);
});

fallback.run();
