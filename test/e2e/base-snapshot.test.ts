// Without --preload every worker starts from the base snapshot: the
// interpreter before the app (src/runtime/base-image.ts), made once the first
// worker of an install serves, by a process of its own, cached, and made again when
// nicorn-py's Python changes. The app is then imported in each worker, after the fork, as
// Gunicorn does: its module-level code runs once per worker, in that worker.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { get, parseResponse, raw } from '../helpers/http.js';
import { INTERPRETERS_PER_WORKER, eventually, startServer, type Server } from '../helpers/server.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-base-')));
/** A snapshot cache of this suite's own: the first launch finds none. */
const CACHE_HOME = path.join(tmp, 'cache');
const CACHE = path.join(CACHE_HOME, 'nicorn-py');
const IMPORTS = path.join(tmp, 'imports.log');
// A home of the suite's own: the base image must not depend on what is in it.
const HOME = path.join(tmp, 'home');
fs.mkdirSync(HOME);
const ENV = { XDG_CACHE_HOME: CACHE_HOME, BASE_TEST_IMPORTS: IMPORTS, HOME };

/** Records, at import, the pid of the process importing it; answers with its own pid and that one. */
const APP = `import os
import random

IMPORTED_IN = os.getpid()
with open(os.environ["BASE_TEST_IMPORTS"], "a") as f:
    f.write("%d\\n" % IMPORTED_IN)


def application(environ, start_response):
    body = ("%d %d %r %s" % (os.getpid(), IMPORTED_IN, random.random(), sys_prefix())).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def sys_prefix():
    import sys
    return sys.prefix
`;

const appDir = path.join(tmp, 'app');
fs.mkdirSync(appDir);
fs.writeFileSync(path.join(appDir, 'probe.py'), APP);
const ARGS = ['-w', '2', '--log-level', 'debug', '--chdir', appDir, 'probe'];

interface Answer {
  pid: number;
  importedIn: number;
  random: string;
  prefix: string;
}

async function probe(port: number): Promise<Answer> {
  const res = parseResponse((await raw(port, get('/', 'Connection: close\r\n'))).bytes);
  assert.is(res.status, 200);
  const [pid, importedIn, random, prefix] = res.body.toString().split(' ');
  return { pid: Number(pid), importedIn: Number(importedIn), random: random!, prefix: prefix! };
}

/** Probes until every worker in `pids` has answered. */
async function fromEach(port: number, pids: number[]): Promise<Map<number, Answer>> {
  const seen = new Map<number, Answer>();
  for (let i = 0; i < 200 && pids.some((p) => !seen.has(p)); i++) {
    const a = await probe(port);
    seen.set(a.pid, a);
  }
  return seen;
}

const count = (log: string, re: RegExp) => log.match(new RegExp(re.source, 'g'))?.length ?? 0;
const MADE = /\[INFO\] Base snapshot made in \d+ ms \(([^)]*)\): (\S+)/;
const RESTORED = /\[DEBUG\] Started from the base snapshot in \d+ ms/;

/**
 * "Worker start" lines of two workers: one per interpreter, as each of a
 * gthread worker's interpreters boots (or restores) and imports the app
 * itself (README, "Worker classes").
 */
const STARTS = 2 * INTERPRETERS_PER_WORKER;

/** Resolves once both workers of `srv` have logged how they started (they may still be booting when the first accepts). */
const bothStarted = (srv: Server) => eventually(() => count(srv.log(), /\[DEBUG\] Worker start: /) === STARTS, 60_000);

const base = suite<{ srv: Server | null }>('workers start from the base snapshot');

base.after(async (ctx) => {
  await ctx.srv?.stop();
});

base('the first worker of an install boots, then makes the base snapshot, once, and caches it', async (ctx) => {
  await ctx.srv?.stop(); // a case that failed left its server: stop it, not leak it
  const srv = (ctx.srv = await startServer(ARGS, { env: ENV }));
  assert.ok(await bothStarted(srv), srv.log());
  // Made in the background once a worker serves: nobody's first response waits for it.
  assert.ok(await eventually(() => MADE.test(srv.log()), 90_000), srv.log());
  const log = srv.log();
  assert.is(count(log, /\[DEBUG\] Worker start: Python thread started at \d+ ms, booted at/), STARTS, log);
  assert.is(count(log, /Making the base snapshot \(no snapshot yet\)/), 1, `one worker makes it:\n${log}`);
  assert.is(count(log, MADE), 1, log);
  assert.is(MADE.exec(log)![1], 'no snapshot yet');
  const image = MADE.exec(log)![2]!;
  assert.ok(image.startsWith(CACHE + path.sep), image);
  assert.is(fs.statSync(image).mode & 0o777, 0o600, 'the image is private: it holds the environment');
  assert.not.ok(fs.readdirSync(CACHE).some((f) => f.endsWith('.lock')), 'the lock is gone once it is made');
  await srv.stop();
  ctx.srv = null;
});

base('the next launch: both workers start from it, and each imports the app itself, after the fork', async (ctx) => {
  fs.rmSync(IMPORTS, { force: true });
  // Pyodide starts in $HOME with "" on sys.path: the image was once keyed on
  // $HOME's listing, and a new name there (a shell's history) made it again.
  fs.writeFileSync(path.join(HOME, '.bash_history'), 'ls\n');
  const manifest = fs.readdirSync(CACHE).find((f) => f.endsWith('.json'))!;
  assert.not.ok(HOME in JSON.parse(fs.readFileSync(path.join(CACHE, manifest), 'utf8')).dirs, 'the image does not depend on $HOME');
  await ctx.srv?.stop(); // a case that failed left its server: stop it, not leak it
  const srv = (ctx.srv = await startServer(ARGS, { env: ENV }));
  assert.ok(await bothStarted(srv), srv.log());
  const log = srv.log();
  assert.is(count(log, MADE), 0, log);
  assert.is(count(log, RESTORED), STARTS, log);
  assert.match(log, /\[DEBUG\] Worker start: Python thread started at \d+ ms, restored \(base\) at \d+ ms \(CPU \d+ ms\), app loaded at \d+ ms/);
  const pids = srv.workerPids();
  assert.is(pids.length, 2);
  const answers = await fromEach(srv.port, pids);
  assert.equal([...answers.keys()].sort(), [...pids].sort());
  for (const pid of pids) assert.is(answers.get(pid)!.importedIn, pid, 'imported in the worker that serves it');
  assert.is.not(answers.get(pids[0]!)!.random, answers.get(pids[1]!)!.random, 'each worker has its own random sequence');
  // The app's module-level code ran once in each worker (in each of its interpreters), and never in the arbiter or in the image.
  const imports = fs.readFileSync(IMPORTS, 'utf8').trim().split('\n').map(Number);
  assert.equal(imports.sort(), pids.flatMap((p) => Array<number>(INTERPRETERS_PER_WORKER).fill(p)).sort());
  // sys.prefix is the layout's (Debian's /usr here), installed after the restore.
  assert.is(answers.get(pids[0]!)!.prefix, '/usr');
  await srv.stop();
  ctx.srv = null;
});

base("a change to nicorn-py's Python makes it again", async (ctx) => {
  // What a changed python/nicorn/worker.py looks like to the cache: its hash in the manifest differs.
  const manifests = fs.readdirSync(CACHE).filter((f) => f.endsWith('.json'));
  assert.is(manifests.length, 1);
  const file = path.join(CACHE, manifests[0]!);
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { files: Record<string, string> };
  const worker = Object.keys(manifest.files).find((f) => f.endsWith('/python/nicorn/worker.py'));
  assert.ok(worker, `the manifest names python/nicorn/worker.py: ${Object.keys(manifest.files).join(', ')}`);
  assert.ok(Object.keys(manifest.files).some((f) => f.endsWith('/python/nicorn/host/net.py')), 'and the host parts');
  manifest.files[worker!] = '0'.repeat(64);
  fs.writeFileSync(file, JSON.stringify(manifest));
  await ctx.srv?.stop(); // a case that failed left its server: stop it, not leak it
  const srv = (ctx.srv = await startServer(['-w', '1', '--log-level', 'debug', '--chdir', appDir, 'probe'], { env: ENV }));
  assert.ok(await eventually(() => MADE.test(srv.log()), 90_000), srv.log());
  assert.is(MADE.exec(srv.log())![1], `${worker} changed`);
  assert.match(srv.log(), /Worker start: .* booted at/, 'the stale image is not used');
  const [pid] = srv.workerPids();
  assert.is((await probe(srv.port)).importedIn, pid);
  assert.is(fs.readdirSync(CACHE).filter((f) => f.endsWith('.snap')).length, 1, 'the replaced image left the cache');
});

base('the maker is a process of its own, the worker\'s child; killed, it is reported and its lock freed', async (ctx) => {
  await ctx.srv?.stop();
  // A cache of the case's own: its worker finds no image and has one made.
  const cacheHome = path.join(tmp, 'killed');
  const lockDir = path.join(cacheHome, 'nicorn-py');
  const srv = (ctx.srv = await startServer(['-w', '1', '--chdir', appDir, 'probe'], { env: { ...ENV, XDG_CACHE_HOME: cacheHome } }));
  assert.ok(await eventually(() => /Making the base snapshot \(no snapshot yet\)/.test(srv.log()), 60_000), srv.log());
  const lock = fs.readdirSync(lockDir).find((f) => f.endsWith('.lock'));
  assert.ok(lock, `a lock while it is made: ${fs.readdirSync(lockDir)}`);
  const maker = Number(fs.readFileSync(path.join(lockDir, lock!), 'utf8'));
  const [worker] = srv.workerPids();
  assert.is.not(maker, worker, 'the lock names the maker, not the worker');
  assert.match(fs.readFileSync(`/proc/${maker}/cmdline`, 'utf8'), /base-maker\.js/);
  assert.match(fs.readFileSync(`/proc/${maker}/status`, 'utf8'), new RegExp(`\\nPPid:\\s+${worker}\\n`));
  process.kill(maker, 'SIGKILL');
  assert.ok(await eventually(() => /\[WARNING\] Cannot make the base snapshot \(its process ended: SIGKILL\); workers boot without it/.test(srv.log()), 10_000), srv.log());
  assert.not.ok(fs.readdirSync(lockDir).some((f) => f.endsWith('.lock')), 'its lock is gone');
  assert.is((await probe(srv.port)).importedIn, worker, 'the worker serves on');
});

base('NICORN_BASE_SNAPSHOT=0 boots the interpreter instead', async (ctx) => {
  await ctx.srv?.stop();
  const srv = (ctx.srv = await startServer(['-w', '1', '--log-level', 'debug', '--chdir', appDir, 'probe'], { env: { ...ENV, NICORN_BASE_SNAPSHOT: '0' } }));
  assert.ok(await eventually(() => /Worker start: .* booted at/.test(srv.log()), 60_000), srv.log());
  assert.not.match(srv.log(), /base snapshot/i);
  const [pid] = srv.workerPids();
  assert.is((await probe(srv.port)).importedIn, pid);
});

base.run();
