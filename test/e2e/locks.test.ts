// Real locks: SQLite written by two workers and by host processes (the
// sqlite3 CLI, a CPython process), fcntl.lockf and fcntl.flock between the
// workers and against the host, Django's file-based cache across workers.
// One `-w 2` server of fixtures/sqlite for the whole suite; every request
// on a new connection, so the kernel spreads them over both workers.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, PACKAGES, baseSnapshotSettled, eventually, sleep, startServer, type Server } from '../helpers/server.js';

interface Answer {
  status: number;
  body: Record<string, unknown> & { pid: number };
  ms: number;
}

/** One request on its own connection (no keep-alive: the next may reach the other worker). */
function ask(srv: Server, method: string, target: string): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${srv.url}${target}`, { method, agent: false, headers: { connection: 'close' } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => {
        const ms = performance.now() - t0;
        let body: Answer['body'];
        try {
          body = JSON.parse(data) as Answer['body'];
        } catch {
          body = { pid: 0, text: data };
        }
        resolve({ status: res.statusCode!, body, ms });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Asks until a worker other than `notPid` (or `pid` if given) answers with a status other than 421; at most 40 tries. */
async function askWorker(srv: Server, method: string, target: string, want: { notPid?: number; pid?: number }): Promise<Answer> {
  for (let i = 0; i < 40; i++) {
    const a = await ask(srv, method, target);
    if (a.status === 421) continue;
    if (want.notPid !== undefined && a.body.pid === want.notPid) continue;
    if (want.pid !== undefined && a.body.pid !== want.pid) continue;
    return a;
  }
  throw new Error(`no worker as wanted (${JSON.stringify(want)}) answered ${target}`);
}

/**
 * True once two /init requests made side by side have been answered by both
 * workers (30 s at most). They init a database of their own in `dir`, so a
 * test's database held locked by the host does not turn them into 500s.
 */
async function bothWorkersAnswer(srv: Server, dir: string): Promise<boolean> {
  const db = path.join(dir, 'probe.db');
  const seen = new Set<number>();
  return eventually(async () => {
    for (const r of await Promise.all([1, 2].map(() => ask(srv, 'POST', `/init?${q({ db })}`)))) seen.add(r.body.pid as number);
    return seen.size === 2;
  }, 30_000);
}

const q = (params: Record<string, string | number>) => new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();

/** Host processes a test started: each is killed (by pid) after its test, passed or failed. */
const hostProcs = new Set<ChildProcessWithoutNullStreams>();

function hostProcess(cmd: string, args: string[]): ChildProcessWithoutNullStreams {
  const proc = spawn(cmd, args);
  hostProcs.add(proc);
  proc.once('exit', () => hostProcs.delete(proc));
  return proc;
}

/** The host's sqlite3 CLI on `db` (Debian package sqlite3), statements fed on stdin. */
function hostSqlite(db: string): ChildProcessWithoutNullStreams {
  return hostProcess('sqlite3', [db]);
}

function hostQuery(db: string, sql: string): string {
  const r = spawnSync('sqlite3', [db, sql], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/**
 * A CPython process on the host holding a lock (`kind` lockf or flock) on
 * `file` until its stdin closes; resolves once it holds it.
 */
async function hostLockHolder(file: string, kind: 'lockf' | 'flock'): Promise<ChildProcessWithoutNullStreams> {
  const script = `
import fcntl, sys
f = open(sys.argv[1], 'a+b')
(fcntl.flock if sys.argv[2] == 'flock' else fcntl.lockf)(f, fcntl.LOCK_EX)
print('locked', flush=True)
sys.stdin.read()
`;
  const proc = hostProcess('python3', ['-c', script, file, kind]);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  assert.ok(await eventually(() => out.includes('locked'), 10_000), 'the host process took its lock');
  return proc;
}

/** What a CPython process on the host gets when it tries (LOCK_NB) the lock. */
function hostTryLock(file: string, kind: 'lockf' | 'flock'): string {
  const script = `
import fcntl, sys
f = open(sys.argv[1], 'a+b')
try:
    (fcntl.flock if sys.argv[2] == 'flock' else fcntl.lockf)(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print('locked')
except OSError as e:
    print(type(e).__name__)
`;
  const r = spawnSync('python3', ['-c', script, file, kind], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** User + system CPU seconds of these processes so far (/proc/<pid>/stat, clock ticks of 1/100 s). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

const exited = (p: ChildProcessWithoutNullStreams) =>
  p.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r()));

const locks = suite<{ srv: Server; dir: string }>('real locks, -w 2');

locks.before(async (ctx) => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-locks-'));
  ctx.srv = await startServer(['-w', '2', '--chdir', path.join(FIXTURES, 'sqlite'), '--pythonpath', PACKAGES, 'app:app']);
});

locks.after.each(() => {
  for (const proc of hostProcs) if (proc.exitCode === null) process.kill(proc.pid!, 'SIGKILL');
});

locks.after(async (ctx) => {
  await ctx.srv?.stop();
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

locks('300 concurrent inserts from two workers: 300 answers 200, 300 distinct rows on disk', async ({ srv, dir }) => {
  const db = path.join(dir, 'concurrent.db');
  assert.is((await ask(srv, 'POST', `/init?${q({ db })}`)).status, 200);
  // The master listens before the second worker has booted (CI once saw all
  // 300 inserts served by the first): wait until both answer.
  assert.ok(await bothWorkersAnswer(srv, dir), 'both workers answer');
  const tokens = Array.from({ length: 300 }, (_, i) => `t${i}`);
  const answers: Answer[] = [];
  let next = 0;
  const lane = async () => {
    while (next < tokens.length) {
      const token = tokens[next++]!;
      answers.push(await ask(srv, 'POST', `/insert?${q({ db, token, timeout: 30 })}`));
    }
  };
  await Promise.all(Array.from({ length: 30 }, lane));
  const failed = answers.filter((a) => a.status !== 200);
  assert.is(failed.length, 0, `every insert answered 200 (${JSON.stringify(failed[0]?.body)})`);
  assert.is(new Set(answers.map((a) => a.body.pid)).size, 2, 'both workers wrote');
  const ids = new Set(answers.map((a) => a.body.id));
  assert.is(ids.size, 300, 'every insert got its own row id');
  // Read by the host's sqlite3: what is on disk, not what a worker cached.
  const rows = hostQuery(db, 'SELECT id, token FROM items ORDER BY id').split('\n');
  assert.is(rows.length, 300);
  assert.equal(new Set(rows.map((r) => r.split('|')[1])), new Set(tokens));
  assert.equal(new Set(rows.map((r) => Number(r.split('|')[0]))), ids, 'the ids answered are the ids on disk');
  assert.is(hostQuery(db, 'PRAGMA integrity_check'), 'ok');
});

locks('a host sqlite3 holding BEGIN EXCLUSIVE: an app write waits its timeout, then 500 "database is locked"; within it, it succeeds', async ({ srv, dir }) => {
  const db = path.join(dir, 'exclusive.db');
  assert.is((await ask(srv, 'POST', `/init?${q({ db })}`)).status, 200);
  const flag = path.join(dir, 'exclusive.locked');
  const cli = hostSqlite(db);
  cli.stdin.write(`BEGIN EXCLUSIVE;\nINSERT INTO items (token, pid) VALUES ('host', 0);\n.shell touch ${flag}\n`);
  assert.ok(await eventually(() => fs.existsSync(flag), 10_000), 'the sqlite3 CLI holds its EXCLUSIVE lock');

  // Both workers up and none making the base snapshot: only the wait is counted.
  assert.ok(await baseSnapshotSettled(srv), 'no base snapshot being made');
  assert.ok(await bothWorkersAnswer(srv, dir), 'both workers answer');
  // The CPU of both workers is read over the middle 2 s of a 3 s wait: the
  // request's own work at either end (and V8's background tier-up of the
  // wasm it runs, seen at 0.17 s in one CI run) stays out of the window.
  const asking = ask(srv, 'POST', `/insert?${q({ db, token: 'too-late', timeout: 3 })}`);
  await sleep(500);
  const cpu0 = cpuSeconds(srv.workerPids());
  await sleep(2000);
  const cpu = cpuSeconds(srv.workerPids()) - cpu0;
  const refused = await asking;
  assert.is(refused.status, 500);
  assert.ok(refused.ms >= 2950, `the write waited for its 3 s timeout (${refused.ms.toFixed(0)} ms)`);
  assert.ok(refused.ms < 6000, `and not much longer (${refused.ms.toFixed(0)} ms)`);
  // Emscripten's sleep spins on the clock: with host/sqlite-sleep.ts left out, 2.02 s of CPU over these 2 s; with it, 0.01.
  assert.ok(cpu < 0.25, `the workers slept while waiting (${cpu.toFixed(2)} s of CPU in 2 s)`);
  assert.ok(
    await eventually(() => /Error handling request POST \/insert[^\n]*too-late[\s\S]*?Traceback[\s\S]*?sqlite3\.OperationalError: database is locked/.test(srv.log())),
    `the traceback is in the error log:\n${srv.log().slice(-2000)}`,
  );

  // Released 1 s into a 10 s timeout: the write waits for it, then succeeds.
  const waiting = ask(srv, 'POST', `/insert?${q({ db, token: 'in-time', timeout: 10 })}`);
  await sleep(1000);
  cli.stdin.end('COMMIT;\n');
  const done = await waiting;
  assert.is(done.status, 200, JSON.stringify(done.body));
  assert.ok(done.ms >= 900, `it waited for the host's COMMIT (${done.ms.toFixed(0)} ms)`);
  await exited(cli);
  assert.is(cli.exitCode, 0, 'the host COMMIT succeeded');
  assert.is(hostQuery(db, 'SELECT token FROM items ORDER BY id'), 'host\nin-time', "the host's row and the app's are on disk, the refused one is not");
  assert.is(hostQuery(db, 'PRAGMA integrity_check'), 'ok');
});

locks('fcntl.lockf between the two workers: the other worker is refused (BlockingIOError), F_GETLK names the holder, then it gets it', async ({ srv, dir }) => {
  const file = path.join(dir, 'workers.lock');
  const held = await ask(srv, 'POST', `/hold?${q({ path: file })}`);
  assert.is(held.status, 200);
  const holder = held.body.pid;
  const refused = await askWorker(srv, 'POST', `/try?${q({ path: file })}`, { notPid: holder });
  assert.is(refused.status, 409);
  assert.is(refused.body.error, 'BlockingIOError');
  const getlk = await askWorker(srv, 'GET', `/getlk?${q({ path: file })}`, { notPid: holder });
  assert.is(getlk.body.unlocked, false);
  assert.is(getlk.body.holder, holder, 'F_GETLK answers the holding worker’s pid');
  assert.is(hostTryLock(file, 'lockf'), 'BlockingIOError', 'a host process is refused too');
  assert.is((await askWorker(srv, 'POST', `/release?${q({ path: file })}`, { pid: holder })).status, 200);
  const got = await askWorker(srv, 'POST', `/try?${q({ path: file })}`, { notPid: holder });
  assert.is(got.status, 200);
});

locks('fcntl.lockf against a host CPython process: refused while it holds, a blocking lockf waits for its release', async ({ srv, dir }) => {
  const file = path.join(dir, 'host.lock');
  const host = await hostLockHolder(file, 'lockf');
  const refused = await ask(srv, 'POST', `/try?${q({ path: file })}`);
  assert.is(refused.status, 409);
  assert.is(refused.body.error, 'BlockingIOError');
  const getlk = await ask(srv, 'GET', `/getlk?${q({ path: file })}`);
  assert.is(getlk.body.holder, host.pid, 'F_GETLK answers the host process’s pid');
  const waiting = ask(srv, 'POST', `/try?${q({ path: file, wait: 1 })}`);
  await sleep(800);
  host.stdin.end();
  const got = await waiting;
  assert.is(got.status, 200);
  assert.ok((got.body.waited as number) >= 0.7, `lockf(LOCK_EX) waited for the host's release (${got.body.waited} s)`);
  await exited(host);
});

locks('fcntl.flock: against a host process and between the workers', async ({ srv, dir }) => {
  const file = path.join(dir, 'flock.lock');
  const host = await hostLockHolder(file, 'flock');
  const refused = await ask(srv, 'POST', `/try?${q({ path: file, kind: 'flock' })}`);
  assert.is(refused.status, 409);
  assert.is(refused.body.error, 'BlockingIOError');
  host.stdin.end();
  await exited(host);

  const held = await ask(srv, 'POST', `/hold?${q({ path: file, kind: 'flock' })}`);
  assert.is(held.status, 200);
  assert.is(hostTryLock(file, 'flock'), 'BlockingIOError', 'the worker’s flock excludes a host process');
  const other = await askWorker(srv, 'POST', `/try?${q({ path: file, kind: 'flock' })}`, { notPid: held.body.pid });
  assert.is(other.status, 409, 'and the other worker');
  assert.is((await askWorker(srv, 'POST', `/release?${q({ path: file })}`, { pid: held.body.pid })).status, 200);
  assert.is(hostTryLock(file, 'flock'), 'locked');
});

locks("Django's file-based cache across workers: one sets, the other reads; its flock lock is seen by both", async ({ srv, dir }) => {
  const location = path.join(dir, 'django-cache');
  const set = await ask(srv, 'POST', `/cache?${q({ dir: location, key: 'k', value: 'from-one' })}`);
  assert.is(set.status, 200, JSON.stringify(set.body));
  assert.is(set.body.touched, true);
  const got = await askWorker(srv, 'GET', `/cache?${q({ dir: location, key: 'k' })}`, { notPid: set.body.pid });
  assert.is(got.body.value, 'from-one');
  assert.is(got.body.lock_free, true);
  const cacheFile = fs.readdirSync(location).find((f) => f.endsWith('.djcache'))!;
  const host = await hostLockHolder(path.join(location, cacheFile), 'flock');
  const locked = await ask(srv, 'GET', `/cache?${q({ dir: location, key: 'k' })}`);
  assert.is(locked.body.lock_free, false, "django.core.files.locks.lock() sees the host process's lock");
  host.stdin.end();
  await exited(host);
});

locks('WAL mode fails loudly (the wal-index cannot be shared memory) and the database stays intact', async ({ srv, dir }) => {
  const db = path.join(dir, 'wal.db');
  assert.is((await ask(srv, 'POST', `/init?${q({ db })}`)).status, 200);
  assert.is((await ask(srv, 'POST', `/insert?${q({ db, token: 'before' })}`)).status, 200);
  const wal = await ask(srv, 'POST', `/wal?${q({ db, token: 'in-wal' })}`);
  assert.is(wal.status, 500);
  assert.ok(
    await eventually(() => srv.log().includes(`SQLite WAL mode on ${db} needs its wal-index`) && /sqlite3\.OperationalError: disk I\/O error/.test(srv.log())),
    `the error log names the limit:\n${srv.log().slice(-2000)}`,
  );
  assert.is(hostQuery(db, 'PRAGMA integrity_check'), 'ok');
  assert.is(hostQuery(db, 'SELECT token FROM items'), 'before', 'no write was acknowledged, none landed');
});

locks.run();

// ---------------------------------------------------------------- gthread: interpreters of one process

// A gthread worker's interpreters share one host process, in which POSIX
// locks never conflict: before each took locks of its own (F_OFD_*), two of
// them both "held" SQLite's locks (flaskr under --threads 2: "disk I/O error").
const threaded = suite<{ srv: Server; dir: string }>('real locks between the interpreters of a gthread worker (-w 1 --threads 3)');

threaded.after(async (ctx) => {
  for (const proc of hostProcs) if (proc.exitCode === null) process.kill(proc.pid!, 'SIGKILL');
  await ctx.srv?.stop();
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

threaded('300 concurrent inserts from three interpreters of one process: 300 answers 200, 300 distinct rows on disk', async (ctx) => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-locks-threads-'));
  ctx.srv = await startServer(['-w', '1', '--threads', '3', '--chdir', path.join(FIXTURES, 'sqlite'), '--pythonpath', PACKAGES, 'app:app']);
  const { srv, dir } = ctx;
  const db = path.join(dir, 'concurrent.db');
  assert.is((await ask(srv, 'POST', `/init?${q({ db })}`)).status, 200);
  const tokens = Array.from({ length: 300 }, (_, i) => `t${i}`);
  const answers: Answer[] = [];
  let next = 0;
  const lane = async () => {
    while (next < tokens.length) answers.push(await ask(srv, 'POST', `/insert?${q({ db, token: tokens[next++]!, timeout: 30 })}`));
  };
  await Promise.all(Array.from({ length: 30 }, lane));
  const failed = answers.filter((a) => a.status !== 200);
  assert.is(failed.length, 0, `every insert answered 200 (${JSON.stringify(failed[0]?.body)})\n${srv.log().slice(-2000)}`);
  assert.is(new Set(answers.map((a) => a.body.id)).size, 300, 'every insert got its own row id');
  assert.is(hostQuery(db, 'SELECT count(*), count(DISTINCT token) FROM items'), '300|300');
  assert.is(hostQuery(db, 'PRAGMA integrity_check'), 'ok');
});

threaded('fcntl.lockf between two interpreters of the worker: refused (BlockingIOError); a close in the other keeps it; released, the other gets it', async ({ srv, dir }) => {
  const file = path.join(dir, 'interpreters.lock');
  assert.is((await ask(srv, 'POST', `/hold?${q({ path: file })}`)).status, 200);
  // Three at once, each taken by an idle interpreter; /try answers 421 in the one that holds
  // the lock. That one may answer all three, each before the next arrives (CI saw [421,421,421]
  // on Node 26): rounds of three until another interpreter of the same process has answered.
  const statuses: number[] = [];
  let others: Answer[] = [];
  for (let round = 0; round < 20 && others.length === 0; round++) {
    const tries = await Promise.all([1, 2, 3].map(() => ask(srv, 'POST', `/try?${q({ path: file })}`)));
    statuses.push(...tries.map((a) => a.status));
    others = tries.filter((a) => a.status !== 421);
  }
  assert.ok(others.length >= 1, `no other interpreter answered in 20 rounds: ${JSON.stringify(statuses)}`);
  for (const refused of others) {
    assert.is(refused.status, 409, JSON.stringify(refused.body));
    assert.is(refused.body.error, 'BlockingIOError');
    assert.is(refused.body.pid, srv.workerPids()[0], 'the same process');
  }
  // That /try opened and closed the file in its interpreter: the holder's lock stays.
  assert.is(hostTryLock(file, 'lockf'), 'BlockingIOError', 'a host process is refused too');
  let released: Answer | null = null;
  for (let i = 0; i < 40 && released?.status !== 200; i++) released = await ask(srv, 'POST', `/release?${q({ path: file })}`);
  assert.is(released!.status, 200);
  const got = await askWorker(srv, 'POST', `/try?${q({ path: file })}`, {});
  assert.is(got.status, 200);
});

threaded.run();
