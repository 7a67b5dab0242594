// Gunicorn 26's dirty arbiters (--dirty-workers, --dirty-app, the dirty_*
// settings and hooks): a real WSGI app (fixtures/dirty/app.py) whose routes
// call dirty apps (fixtures/dirty/dirtyapps.py) through gunicorn.dirty's
// client, over the dirty arbiter's real Unix socket; nicorn-py's own
// gunicorn.dirty, then Debian forky's Gunicorn 26.2.2 on the app's path (its
// client in the workers), and Gunicorn's client on the host's python3.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, ROOT, alive, dirtyPidsIn, eventually, run, runCli, startServer, type Run, type Server } from '../helpers/server.js';

const DIRTY = path.join(FIXTURES, 'dirty');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-dirty-'));
const GUNICORN_DIR = path.join(ROOT, 'bench/.gunicorn');
const GUNICORN_SITE = path.join(GUNICORN_DIR, 'site-packages');
const PYTHON = '/usr/bin/python3';

/** Gunicorn 26.2.2 from Debian forky into bench/.gunicorn (a no-op when there), as bench/run.mjs fetches it. */
function ensureGunicorn(): void {
  assert.ok(fs.existsSync(PYTHON), `${PYTHON} is needed to run Gunicorn's client`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'fixtures/fetch-packages.mjs'), '--into', GUNICORN_DIR, 'forky:python3-gunicorn'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.is(r.status, 0, `fetching forky's python3-gunicorn failed:\n${r.stdout}${r.stderr}`);
  assert.ok(fs.existsSync(path.join(GUNICORN_SITE, 'gunicorn/dirty/client.py')), 'Gunicorn 26.2.2 has gunicorn.dirty');
}

type Answer = Record<string, any>;

async function get(srv: Server, route: string): Promise<Answer> {
  const r = await fetch(srv.url + route);
  assert.is(r.status, 200, route);
  return (await r.json()) as Answer;
}

/** How many "Initialized dirty app" lines the dirty workers have logged. */
const initialized = (srv: Server) => (srv.log().match(/Initialized dirty app: /g) ?? []).length;

/** Every dirty worker has initialized its apps: `n` "Initialized dirty app" lines. */
async function dirtyReady(srv: Server, n: number): Promise<void> {
  assert.ok(await eventually(() => initialized(srv) >= n, 180_000), `${n} dirty apps initialized:\n${srv.log()}`);
}

/** How many apps a "with apps: [...]" list names. */
const appCount = (apps: string) => (apps.match(/'/g) ?? []).length / 2;

/** pid -> apps of the dirty workers spawned so far, from "Spawned dirty worker (pid: N) with apps: [...]". */
function spawnedWorkers(log: string): Map<number, string> {
  return new Map([...log.matchAll(/Spawned dirty worker \(pid: (\d+)\) with apps: (\[.*\])/g)].map((m) => [Number(m[1]), m[2]!]));
}

function socketOf(log: string): string {
  const m = /Spawned dirty arbiter \(pid: \d+\) at (\S+)/.exec(log);
  assert.ok(m, 'the dirty arbiter is spawned');
  return m[1]!;
}

/** Runs python3 with Gunicorn 26.2.2 on its path; resolves with its output. */
function python(code: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return run(PYTHON, ['-c', code], { env: { PYTHONPATH: GUNICORN_SITE, ...env } });
}

/** Stops the server with `sig`; every process it started (by pid) is gone, and the dirty socket's directory. */
async function stopsClean(srv: Server, sig: NodeJS.Signals): Promise<string> {
  const log = srv.log();
  const pids = [srv.pid, ...srv.workerPids(), ...dirtyPidsIn(log)];
  const sockDir = path.dirname(socketOf(log));
  assert.ok(fs.existsSync(sockDir), 'the socket directory is there while it runs');
  const code = await srv.stop(sig);
  assert.is(code, 0, srv.log());
  const left = pids.filter(alive);
  assert.equal(left, [], `no process left after ${sig}`);
  assert.not.ok(fs.existsSync(sockDir), 'the socket directory is removed');
  return srv.log();
}

// ---------------------------------------------------------------- from the command line

const cmdline = suite<{ srv?: Server; closeFile: string }>('dirty apps from the command line');
cmdline.before((ctx) => {
  ctx.closeFile = path.join(tmp, 'close.txt');
});
cmdline.after(async ({ srv }) => {
  await srv?.stop('SIGKILL');
});

cmdline('-w 2 --dirty-workers 2 --dirty-app X --dirty-app Y:1 --dirty-app Z (class workers = 1): the dirty arbiter and its workers start', async (ctx) => {
  ctx.srv = await startServer(
    ['--chdir', DIRTY, '-w', '2', '--dirty-workers', '2', '--dirty-app', 'dirtyapps:Counter', '--dirty-app', 'dirtyapps:Other:1',
      '--dirty-app', 'dirtyapps:Limited', '--dirty-timeout', '3', '--control-socket', path.join(tmp, 'ctl.sock'), 'app:app'],
    { env: { DIRTY_CLOSE_FILE: ctx.closeFile } },
  );
  await dirtyReady(ctx.srv, 4);
  const log = ctx.srv.log();
  assert.match(log, /\[INFO\] Spawned dirty arbiter \(pid: \d+\) at \/\S+\/gunicorn-dirty-\w+\/arbiter\.sock/);
  assert.match(log, /\[INFO\] Dirty arbiter starting \(pid: \d+\)/);
  assert.match(log, /\[INFO\] Dirty arbiter listening on \S+arbiter\.sock/);
  const workers = [...spawnedWorkers(log).values()];
  assert.equal(workers, ["['dirtyapps:Counter', 'dirtyapps:Other', 'dirtyapps:Limited']", "['dirtyapps:Counter']"], 'Other:1 and Limited (workers = 1) are loaded by one worker only');
  // Limited's limit is its class's: the first worker, which loads every app, reads it before the second is spawned.
  assert.ok(log.indexOf('Initialized dirty app: dirtyapps:Limited') < log.lastIndexOf('Spawned dirty worker'), 'the second worker waits for the first');
  const sock = fs.statSync(socketOf(log));
  assert.ok(sock.isSocket());
  assert.is(sock.mode & 0o777, 0o600);
});

cmdline('execute(): state kept in each dirty worker\'s memory across requests, round-robin over the workers', async ({ srv }) => {
  const dirtyPids = [...spawnedWorkers(srv!.log()).keys()];
  const seen = new Map<number, number[]>();
  for (let i = 0; i < 6; i++) {
    const r = await get(srv!, '/incr');
    assert.is(r.pid, r.inited_pid, 'the app instance init() made serves it');
    seen.set(r.pid, [...(seen.get(r.pid) ?? []), r.count]);
  }
  assert.equal([...seen.keys()].sort(), [...dirtyPids].sort(), 'both dirty workers serve, neither HTTP worker does');
  for (const counts of seen.values()) assert.equal(counts, [1, 2, 3], 'each worker counts on from its own state');
  for (const pid of seen.keys()) assert.not.ok(srv!.workerPids().includes(pid));
  const by = await get(srv!, '/incr?by=10');
  assert.is(by.count, 13, 'arguments reach the action');
});

cmdline('values cross as Gunicorn\'s TLV types: int, float, str, bytes, None, bool, list, dict', async ({ srv }) => {
  assert.equal(await get(srv!, '/echo'), { args: [1, 2.5, 'three', 'four', null, true, [1, [2]]], kwargs: { key: { nested: 'v' } } });
});

cmdline('an app limited to one worker (module:Class:1) is always served by that worker', async ({ srv }) => {
  const pids = new Set<number>();
  for (let i = 0; i < 3; i++) pids.add((await get(srv!, '/other')) as unknown as number);
  assert.is(pids.size, 1);
  const [pid] = [...pids];
  assert.is(spawnedWorkers(srv!.log()).get(pid!), "['dirtyapps:Counter', 'dirtyapps:Other', 'dirtyapps:Limited']");
});

cmdline('stream(): a generator action\'s chunks, in order', async ({ srv }) => {
  assert.equal(await get(srv!, '/stream?n=4'), ['token-0', 'token-1', 'token-2', 'token-3']);
});

cmdline('an action that raises: the client gets DirtyAppError with its message; the error log the traceback', async ({ srv }) => {
  const r = await get(srv!, '/fail?msg=kaput');
  assert.equal(r, {
    error: 'DirtyAppError',
    message: 'kaput',
    details: { app_path: 'dirtyapps:Counter', action: 'fail' },
    has_traceback: true,
  });
  assert.match(srv!.log(), /\[ERROR\] Error executing dirtyapps:Counter\.fail: kaput\nTraceback[\s\S]*ValueError: kaput/);
});

cmdline('an app no dirty worker loaded: DirtyNoWorkersAvailableError', async ({ srv }) => {
  assert.equal(await get(srv!, '/missing'), {
    error: 'DirtyNoWorkersAvailableError',
    message: 'No workers available for app: dirtyapps:Nope',
    details: { app_path: 'dirtyapps:Nope' },
  });
});

cmdline('the stash: tables in the dirty arbiter shared by HTTP and dirty workers, Gunicorn\'s API', async ({ srv }) => {
  assert.equal(await get(srv!, '/stash'), {
    get: { name: 'Alice', score: 1 },
    float: 'float',
    default: 'dflt',
    keys: ['user:1', 'user:2'],
    len: 3,
    in: true,
    intkey: 'three',
    from_dirty: [1, 2],
    tables: ['other', 'sessions'],
    delete: [true, false],
    after: false,
    info_missing: ['StashTableNotFoundError', 'Stash table not found: no-such-table'],
    tables_after: ['sessions'],
  });
});

cmdline('pwd and grp (which Gunicorn\'s util.py imports) are the host\'s databases', async ({ srv }) => {
  const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const root = passwd.find((l) => l.split(':')[2] === '0')!.split(':');
  const group0 = fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[2] === '0')!.split(':')[0];
  const r = await get(srv!, '/users');
  assert.equal(r.root, [root[0], 0, root[5]]);
  assert.is(r.group0, group0);
  assert.is(r.missing, `"getpwnam(): name not found: 'no-such-user-nicorn'"`, "CPython's KeyError");
  assert.ok(r.n >= passwd.length);
});

cmdline('without Gunicorn installed, gunicorn.dirty is nicorn-py\'s', async ({ srv }) => {
  assert.is(await get(srv!, '/module'), path.join(ROOT, 'python/nicorn/compat/gunicorn/dirty/__init__.py'));
});

cmdline('an action past --dirty-timeout: DirtyTimeoutError "Worker timeout"; the worker is aborted and replaced with its apps', async ({ srv }) => {
  const before = spawnedWorkers(srv!.log());
  const ready = initialized(srv!);
  const started = Date.now();
  const r = await get(srv!, '/slow?s=30');
  const took = Date.now() - started;
  assert.equal(r, { error: 'DirtyTimeoutError', message: 'Worker timeout', details: { timeout: 3 } });
  assert.ok(took >= 2900 && took < 15_000, `answered after the 3 s timeout (${took} ms)`);
  const victim = /DIRTY WORKER TIMEOUT \(pid:(\d+)\)/.exec(srv!.log());
  assert.ok(victim, 'Gunicorn\'s critical line');
  const pid = Number(victim[1]);
  assert.match(srv!.log(), new RegExp(`\\[CRITICAL\\] DIRTY WORKER TIMEOUT \\(pid:${pid}\\)`));
  assert.ok(await eventually(() => new RegExp(`Dirty worker \\(pid:${pid}\\) killed by signal 6`).test(srv!.log()), 5000));
  assert.match(srv!.log(), new RegExp(`\\[INFO\\] Dirty worker exited \\(pid:${pid}\\)`));
  assert.not.ok(alive(pid), 'the stuck worker is gone');
  assert.ok(await eventually(() => spawnedWorkers(srv!.log()).size === before.size + 1, 5000), 'a replacement is spawned');
  const replacement = [...spawnedWorkers(srv!.log()).entries()].at(-1)!;
  assert.is(replacement[1], before.get(pid), 'with the apps of the worker it replaces');
  await dirtyReady(srv!, ready + appCount(replacement[1]));
  const counts = new Map<number, number>();
  for (let i = 0; i < 4; i++) {
    const x = await get(srv!, '/incr');
    counts.set(x.pid, x.count);
  }
  assert.ok(counts.has(replacement[0]), 'the replacement serves');
});

cmdline('a dirty worker that dies (SIGKILL) is reported and replaced', async ({ srv }) => {
  const before = spawnedWorkers(srv!.log());
  const victim = [...before.keys()].filter(alive).at(0)!;
  process.kill(victim, 'SIGKILL');
  assert.ok(await eventually(() => new RegExp(`\\[WARNING\\] Dirty worker \\(pid:${victim}\\) killed by signal 9`).test(srv!.log()), 5000));
  assert.ok(await eventually(() => spawnedWorkers(srv!.log()).size === before.size + 1, 5000), 'a replacement is spawned');
  const n = initialized(srv!);
  await dirtyReady(srv!, n + 1);
  assert.ok((await get(srv!, '/incr')).count >= 1);
});

cmdline('Gunicorn 26.2.2\'s own client (host python3) against nicorn-py\'s dirty arbiter: execute, stream, and the async ones', async ({ srv }) => {
  ensureGunicorn();
  const code = [
    'import asyncio, json',
    'from gunicorn.dirty import get_dirty_client, get_dirty_client_async, DirtyAppError',
    'c = get_dirty_client()',
    'out = {"echo": c.execute("dirtyapps:Counter", "echo", 1, b"x", key=[None, 1.5])}',
    'out["stream"] = list(c.stream("dirtyapps:Counter", "tokens", 2))',
    'try:\n    c.execute("dirtyapps:Counter", "fail", "py")\nexcept DirtyAppError as e:\n    out["error"] = [type(e).__name__, e.message, e.app_path, e.action]',
    'async def main():\n    a = await get_dirty_client_async()\n    out["async"] = (await a.execute_async("dirtyapps:Counter", "echo", "z"))["args"]\n    out["astream"] = [x async for x in a.stream_async("dirtyapps:Counter", "tokens", 3)]',
    'asyncio.run(main())',
    'from gunicorn.dirty import stash',
    'out["stash"] = [stash.get("sessions", "user:1"), stash.get("sessions", "nope", "default"), sorted(stash.tables())]',
    'out["echo"]["args"][1] = out["echo"]["args"][1].decode()',
    'print(json.dumps(out))',
  ].join('\n');
  const r = await python(code, { GUNICORN_DIRTY_SOCKET: socketOf(srv!.log()) });
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), {
    echo: { args: [1, 'x'], kwargs: { key: [null, 1.5] } },
    stream: ['token-0', 'token-1'],
    error: ['DirtyAppError', 'py', 'dirtyapps:Counter', 'fail'],
    async: ['z'],
    astream: ['token-0', 'token-1', 'token-2'],
    stash: [{ name: 'Alice', score: 1 }, 'default', ['sessions']],
  });
});

cmdline('nicorn-py ctl: show dirty lists the dirty workers and apps; dirty add and remove resize the pool', async ({ srv }) => {
  const sock = path.join(tmp, 'ctl.sock');
  const ctl = async (command: string) => {
    const r = await runCli(['ctl', '-s', sock, '-j', '-c', command]);
    assert.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Answer;
  };
  const shown = await ctl('show dirty');
  assert.is(shown.enabled, true);
  assert.is(shown.pid, dirtyPidsIn(srv!.log())[0]);
  assert.is(shown.workers.length, 2);
  assert.equal(shown.apps.map((a: Answer) => [a.import_path, a.worker_count, a.current_workers]), [
    ['dirtyapps:Counter', null, 2],
    ['dirtyapps:Other', 1, 1],
    ['dirtyapps:Limited', 1, 1],
  ]);
  const all = await ctl('show all');
  assert.equal(all.dirty_arbiter, { pid: shown.pid, type: 'dirty_arbiter', role: 'dirty master' });
  assert.is(all.dirty_worker_count, 2);
  const added = await ctl('dirty add 1');
  assert.equal([added.success, added.operation, added.spawned, added.target_workers], [true, 'add', 1, 3]);
  await dirtyReady(srv!, initialized(srv!) + 1);
  assert.is([...spawnedWorkers(srv!.log()).values()].at(-1), "['dirtyapps:Counter']", 'the apps short of their limit');
  const removed = await ctl('dirty remove 1');
  assert.equal([removed.success, removed.operation, removed.removed, removed.target_workers], [true, 'remove', 1, 2]);
  assert.ok(await eventually(async () => (await ctl('show dirty')).workers.length === 2, 10_000));
  assert.is((await ctl('show stats')).dirty_arbiter_pid, shown.pid);
});

cmdline('signals to the dirty arbiter: TTIN and TTOU resize the pool, HUP replaces every dirty worker', async ({ srv }) => {
  const arbiter = dirtyPidsIn(srv!.log())[0]!;
  const spawned = () => spawnedWorkers(srv!.log()).size;
  const live = () => [...spawnedWorkers(srv!.log()).keys()].filter(alive);
  let before = spawned();
  process.kill(arbiter, 'SIGTTIN');
  assert.ok(await eventually(() => /\[INFO\] SIGTTIN: Increasing dirty workers to 3/.test(srv!.log()) && spawned() === before + 1, 5000));
  await dirtyReady(srv!, initialized(srv!) + 1);
  process.kill(arbiter, 'SIGTTOU');
  assert.ok(await eventually(() => /\[INFO\] SIGTTOU: Decreasing dirty workers to 2/.test(srv!.log()) && live().length === 2, 10_000));
  const old = live();
  before = spawned();
  const ready = initialized(srv!);
  process.kill(arbiter, 'SIGHUP');
  assert.ok(await eventually(() => /\[INFO\] Reloading dirty workers/.test(srv!.log()) && spawned() === before + 2, 10_000), 'two new workers');
  assert.ok(await eventually(() => old.every((p) => !alive(p)), 10_000), 'the old ones left');
  await dirtyReady(srv!, ready + 1);
  assert.ok((await get(srv!, '/incr')).count >= 1);
});

cmdline('TERM: the dirty workers close() their apps and leave, then the dirty arbiter; no process is left', async (ctx) => {
  const log = await stopsClean(ctx.srv!, 'SIGTERM');
  ctx.srv = undefined;
  assert.match(log, /\[INFO\] Dirty worker \d+ exiting/);
  assert.match(log, /\[INFO\] Dirty arbiter exiting \(pid: \d+\)/);
  assert.match(log, /\[INFO\] Dirty arbiter \(pid:\d+\) exited\n[\s\S]*Shutting down: Master/);
  const closed = fs.readFileSync(ctx.closeFile, 'utf8');
  assert.ok(closed.split('\n').filter(Boolean).length >= 2, `every live worker's Counter.close() ran:\n${closed}`);
  assert.match(closed, /close \d+ count=\d+/);
});

cmdline.run();

// ---------------------------------------------------------------- config file, hooks, Gunicorn on the path

const conf = suite<{ srv?: Server; hooks: string }>('dirty apps from gunicorn.conf.py, with the dirty hooks and Gunicorn 26.2.2 installed');
conf.before((ctx) => {
  ctx.hooks = path.join(tmp, 'hooks.txt');
});
conf.after(async ({ srv }) => {
  await srv?.stop('SIGKILL');
});

conf('the config file\'s dirty settings take effect; the app\'s own Gunicorn client works against nicorn-py\'s dirty arbiter', async (ctx) => {
  ensureGunicorn();
  ctx.srv = await startServer(
    ['--chdir', DIRTY, '-c', path.join(DIRTY, 'gunicorn.conf.py'), '--pythonpath', GUNICORN_SITE, '--no-control-socket', 'app:app'],
    { env: { DIRTY_HOOKS_FILE: ctx.hooks } },
  );
  await dirtyReady(ctx.srv, 3);
  assert.is(await get(ctx.srv, '/module'), path.join(GUNICORN_SITE, 'gunicorn/dirty/__init__.py'), "Gunicorn's gunicorn.dirty is the one imported");
  assert.is((await get(ctx.srv, '/incr')).count, 1);
  assert.equal(await get(ctx.srv, '/stream?n=2'), ['token-0', 'token-1']);
  assert.equal((await get(ctx.srv, '/fail?msg=x')).error, 'DirtyAppError');
  assert.equal(await get(ctx.srv, '/slow?s=20'), { error: 'DirtyTimeoutError', message: 'Worker timeout', details: { timeout: 2 } }, 'dirty_timeout = 2');
});

conf('the four dirty hooks run, with the DirtyArbiter and DirtyWorker objects Gunicorn gives them', async ({ srv, hooks }) => {
  const log = srv!.log();
  const arbiter = dirtyPidsIn(log)[0]!;
  const workers = spawnedWorkers(log);
  assert.ok(await eventually(() => fs.readFileSync(hooks, 'utf8').includes('dirty_worker_exit'), 10_000), 'the timed-out worker\'s exit');
  const lines = fs.readFileSync(hooks, 'utf8').trim().split('\n');
  assert.is(lines[0], `on_dirty_starting pid=${arbiter} socket=${socketOf(log)} workers=2`);
  const [w1, w2] = [...workers.keys()];
  assert.ok(lines.includes(`dirty_post_fork arbiter=${arbiter} worker=${w1} age=1 apps=dirtyapps:Counter,dirtyapps:Other`), lines.join('\n'));
  assert.ok(lines.includes(`dirty_post_fork arbiter=${arbiter} worker=${w2} age=2 apps=dirtyapps:Counter`), lines.join('\n'));
  assert.ok(lines.includes(`dirty_worker_init pid=${w1} os_pid=${w1} apps=dirtyapps:Counter,dirtyapps:Other`), 'in the dirty worker, after its apps');
  assert.ok(lines.includes(`dirty_worker_init pid=${w2} os_pid=${w2} apps=dirtyapps:Counter`));
  // The arbiter's line may come after the client's answer: read the log again once it is there.
  assert.ok(await eventually(() => /DIRTY WORKER TIMEOUT \(pid:\d+\)/.test(srv!.log()), 10_000), srv!.log().slice(-2000));
  const victim = Number(/DIRTY WORKER TIMEOUT \(pid:(\d+)\)/.exec(srv!.log())![1]);
  assert.ok(lines.includes(`dirty_worker_exit arbiter=${arbiter} worker=${victim}`), lines.join('\n'));
});

conf('a dirty arbiter that dies is started again on the same socket; its workers leave with it', async ({ srv }) => {
  const log = srv!.log();
  const [old] = dirtyPidsIn(log);
  const oldWorkers = [...spawnedWorkers(log).keys()];
  const sock = socketOf(log);
  const ready = initialized(srv!);
  process.kill(old!, 'SIGKILL');
  assert.ok(await eventually(() => new RegExp(`\\[WARNING\\] Dirty arbiter \\(pid:${old}\\) killed by signal 9`).test(srv!.log()), 5000));
  assert.ok(await eventually(() => /Spawning dirty arbiter\.\.\.\n.*Spawned dirty arbiter \(pid: \d+\) at (\S+)/.test(srv!.log()), 5000), 'a new one');
  const again = /Spawning dirty arbiter\.\.\.\n.*Spawned dirty arbiter \(pid: \d+\) at (\S+)/.exec(srv!.log())!;
  assert.is(again[1], sock, 'at the path the HTTP workers have');
  assert.ok(await eventually(() => oldWorkers.every((p) => !alive(p)), 10_000), 'the old dirty workers are gone');
  await dirtyReady(srv!, ready + 3);
  assert.is((await get(srv!, '/incr')).count, 1, 'the HTTP worker reaches the new dirty arbiter (fresh state)');
});

conf('INT (quick shutdown): every process is gone', async (ctx) => {
  await stopsClean(ctx.srv!, 'SIGINT');
  ctx.srv = undefined;
});

conf.run();

// ---------------------------------------------------------------- the async client in -k asgi

const asgi = suite<{ srv?: Server }>('-k asgi: execute_async() and stream_async()');
asgi.after(async ({ srv }) => {
  await srv?.stop('SIGKILL');
});

asgi('awaiting a dirty action leaves the worker\'s loop free: a second request is answered meanwhile', async (ctx) => {
  ctx.srv = await startServer(['--chdir', DIRTY, '-k', 'asgi', '--dirty-workers', '2', '--dirty-app', 'dirtyapps:Counter', '--no-control-socket', 'asgiapp:app']);
  const srv = ctx.srv;
  await dirtyReady(srv, 2);
  assert.is((await get(srv, '/incr')).count, 1);
  assert.equal(await get(srv, '/stream'), ['token-0', 'token-1', 'token-2']);
  assert.equal(await get(srv, '/fail'), { error: 'DirtyAppError', message: 'async boom' });
  const order: string[] = [];
  const slow = get(srv, '/slow').then((r) => order.push(`slow ${r}`));
  await new Promise((r) => setTimeout(r, 500));
  const quick = get(srv, '/incr').then((r) => order.push(`incr ${r.count}`));
  await Promise.all([slow, quick]);
  assert.equal(order, ['incr 2', 'slow slept'], 'the one -k asgi worker answered /incr while /slow awaited its dirty worker');
  await stopsClean(srv, 'SIGTERM');
  ctx.srv = undefined;
});

asgi.run();

// ---------------------------------------------------------------- settings

const settings = suite('dirty settings');

settings("a dirty_apps entry that is not MODULE:CLASS[:N]: Gunicorn's message, exit 1", async () => {
  const r = await runCli(['--chdir', DIRTY, '--dirty-workers', '1', '--dirty-app', 'dirtyapps:Counter:0', 'app:app']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /Error: Invalid value for dirty_apps: .*Invalid worker count in spec: dirtyapps:Counter:0\. Worker count must be >= 1, got 0/);
});

settings('--dirty-workers without --dirty-app: no dirty arbiter, as in Gunicorn', async () => {
  const srv = await startServer(['--chdir', DIRTY, '--dirty-workers', '2', '--no-control-socket', 'app:app']);
  try {
    const r = await fetch(`${srv.url}/incr`).then((x) => x.json() as Promise<Answer>);
    assert.equal(r.error, 'DirtyError');
    assert.match(r.message, /Dirty socket path not configured/);
    assert.not.match(srv.log(), /dirty arbiter/i);
  } finally {
    await srv.stop();
  }
});

settings('TERM: a dirty worker in an action finishes it (dirty_graceful_timeout), then close()s its apps', async () => {
  const closeFile = path.join(tmp, 'graceful-close.txt');
  const srv = await startServer(['--chdir', DIRTY, '--dirty-workers', '1', '--dirty-app', 'dirtyapps:Counter', '--dirty-graceful-timeout', '20', '--no-control-socket', 'app:app'], {
    env: { DIRTY_CLOSE_FILE: closeFile },
  });
  await dirtyReady(srv, 1);
  // The HTTP worker serves (it may still be importing the app when the dirty worker is ready).
  assert.is((await get(srv, '/incr')).count, 1);
  const slow = fetch(`${srv.url}/slow?s=2`).then((r) => r.json());
  await new Promise((r) => setTimeout(r, 500));
  const log = await stopsClean(srv, 'SIGTERM');
  assert.is(await slow, 'slept', 'the action in progress completed and its answer reached the client');
  assert.match(fs.readFileSync(closeFile, 'utf8'), /^close \d+ count=1\n$/);
  assert.not.match(log, /killed by signal/);
});

settings('TERM: a dirty worker still in an action after --dirty-graceful-timeout is killed; no process is left', async () => {
  const srv = await startServer(
    ['--chdir', DIRTY, '--dirty-workers', '1', '--dirty-app', 'dirtyapps:Counter', '--dirty-graceful-timeout', '1', '--graceful-timeout', '2', '--no-control-socket', 'app:app'],
  );
  await dirtyReady(srv, 1);
  assert.is((await get(srv, '/incr')).count, 1);
  void fetch(`${srv.url}/slow?s=60`).catch(() => null);
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  const log = await stopsClean(srv, 'SIGTERM');
  const took = Date.now() - started;
  assert.ok(took >= 1000 && took < 6000, `stopped after the dirty graceful timeout (${took} ms)`);
  assert.match(log, /\[WARNING\] Dirty worker \(pid:\d+\) killed by signal 9/);
  assert.match(log, /Dirty arbiter exiting/);
});

settings("on_dirty_starting raises: Gunicorn's 'Exception in dirty arbiter process', exit 255, started again a second later", async () => {
  const srv = await startServer(['--chdir', DIRTY, '-c', path.join(DIRTY, 'failing_start.conf.py'), '--no-control-socket', 'app:app']);
  try {
    const twice = () => (srv.log().match(/Spawned dirty arbiter/g) ?? []).length >= 2;
    assert.ok(await eventually(twice, 20_000), srv.log());
    const log = srv.log();
    assert.match(log, /\[ERROR\] Exception in dirty arbiter process:\nTraceback[\s\S]*RuntimeError: no dirty work today/);
    assert.match(log, /\[ERROR\] Dirty arbiter \(pid:\d+\) exited with code 255\n[\s\S]*\[INFO\] Spawning dirty arbiter\.\.\./);
    assert.not.match(log, /Spawned dirty worker/, 'no dirty worker is started');
    const r = (await (await fetch(`${srv.url}/incr`)).json()) as Answer;
    assert.is(r.error, 'DirtyConnectionError');
  } finally {
    assert.is(await srv.stop(), 0);
  }
});

settings.run();
