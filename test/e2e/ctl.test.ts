// The control socket (--control-socket, --control-socket-mode,
// --no-control-socket) and `nicorn-py ctl`, with real clients on real
// servers: `nicorn-py ctl` against nicorn-py's arbiter; Gunicorn 26.2.2's own
// gunicornc (Debian forky's python3-gunicorn, as bench/ fetches it, on the
// host's python3) against nicorn-py's socket; and `nicorn-py ctl` against a
// real Gunicorn 26.2.2 arbiter, its output compared with gunicornc's there.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, FIXTURES, INTERPRETERS_PER_WORKER, ROOT, alive, eventually, run, runCli, sleep, startServer, type Run, type Server } from '../helpers/server.js';

const WSGI = path.join(FIXTURES, 'wsgi');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-ctl-'));
/** The server's XDG_RUNTIME_DIR: its default control socket is RUNTIME/gunicorn.ctl. */
const RUNTIME = path.join(tmp, 'runtime');
fs.mkdirSync(RUNTIME, { mode: 0o700 });
const SOCK = path.join(RUNTIME, 'gunicorn.ctl');
const GUNICORN_DIR = path.join(ROOT, 'bench/.gunicorn');
const GUNICORN_SITE = path.join(GUNICORN_DIR, 'site-packages');
const PYTHON = '/usr/bin/python3';

/** `nicorn-py ctl ARGS` with the server's XDG_RUNTIME_DIR (so the default -s is its socket). */
const ctl = (...args: string[]): Promise<Run> => runCli(['ctl', ...args], { env: { XDG_RUNTIME_DIR: RUNTIME } });

/** Gunicorn's gunicornc console script (entry point gunicorn.ctl.cli:main) on the host's python3. */
const gunicornc = (...args: string[]) =>
  run(PYTHON, ['-c', 'import sys; from gunicorn.ctl.cli import main; sys.argv[0] = "gunicornc"; sys.exit(main())', ...args], {
    env: { PYTHONPATH: GUNICORN_SITE, XDG_RUNTIME_DIR: RUNTIME },
  });

/** Gunicorn 26.2.2 from Debian forky into bench/.gunicorn (a no-op when there), as bench/run.mjs fetches it. */
function ensureGunicorn(): void {
  assert.ok(fs.existsSync(PYTHON), `${PYTHON} is needed to run Gunicorn's gunicornc`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'fixtures/fetch-packages.mjs'), '--into', GUNICORN_DIR, 'forky:python3-gunicorn'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.is(r.status, 0, `fetching forky's python3-gunicorn failed:\n${r.stdout}${r.stderr}`);
  const entry = fs.readFileSync(path.join(GUNICORN_SITE, 'gunicorn-26.2.2.dist-info/entry_points.txt'), 'utf8');
  assert.match(entry, /gunicornc = gunicorn\.ctl\.cli:main/, 'python3-gunicorn 26.2.2 ships gunicornc');
}

const json = (r: Run) => {
  assert.is(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
};

interface Ctx {
  srv?: Server;
}

const ctlSuite = suite<Ctx>('control socket and nicorn-py ctl');

ctlSuite.after(async (ctx) => {
  if (ctx.srv && alive(ctx.srv.pid)) await ctx.srv.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const need = (ctx: Ctx): Server => {
  if (!ctx.srv) throw new Error('nicorn-py did not start (see the first test)');
  return ctx.srv;
};

ctlSuite('the arbiter serves the control socket at the default path, with --control-socket-mode', async (ctx) => {
  ctx.srv = await startServer(['--control-socket-mode', '0660', '--chdir', WSGI, 'hello'], { env: { XDG_RUNTIME_DIR: RUNTIME } });
  const srv = ctx.srv;
  assert.ok(await eventually(() => srv.log().includes(`Control socket listening at ${SOCK}`)), srv.log());
  const st = fs.statSync(SOCK);
  assert.ok(st.isSocket());
  assert.is(st.mode & 0o777, 0o660);
});

ctlSuite('show workers, show stats, show listeners, show all: the tables gunicornc prints', async (ctx) => {
  const srv = need(ctx);
  const [pid] = srv.workerPids();
  // The worker serves (startServer waited for it): booted.
  const workers = await ctl('-c', 'show workers');
  assert.is(workers.code, 0, workers.stderr);
  assert.match(workers.stdout, /^PID {8}AGE {4}BOOTED {3}LAST_BEAT\n-{40}\n/);
  assert.match(workers.stdout, new RegExp(`\\n${pid} +1 {6}yes {6}\\d+\\.\\d+s ago\\n\\nTotal: 1 workers\\n$`));
  const stats = await ctl('-c', 'show stats');
  assert.match(stats.stdout, new RegExp(`^Uptime: +\\d+s\\nPID: +${srv.pid}\\nWorkers current:  1\\nWorkers target:   1\\nWorkers spawned:  1\\n`));
  const listeners = await ctl('-c', 'show listeners');
  assert.match(listeners.stdout, new RegExp(`\\nhttp://127\\.0\\.0\\.1:${srv.port} +tcp +\\d+\\n\\nTotal: 1 listeners\\n$`));
  const all = await ctl('-c', 'show all');
  assert.match(all.stdout, new RegExp(`^ARBITER \\(master\\)\\n  PID: ${srv.pid}\\n\\nWEB WORKERS \\(1\\)\\n`));
  assert.match(all.stdout, /DIRTY ARBITER\n {2}\(not running\)\n$/);
  const config = json(await ctl('-j', '-c', 'show config'));
  assert.equal(config.bind, ['127.0.0.1:0']);
  // Gunicorn's Config.worker_class: sync with threads > 1 is the gthread class.
  const cls = INTERPRETERS_PER_WORKER > 1 ? 'gunicorn.workers.gthread.ThreadWorker' : 'gunicorn.workers.sync.SyncWorker';
  assert.is(config.worker_class, `<class '${cls}'>`);
  assert.is(config.control_socket, SOCK);
});

ctlSuite('worker add / remove / kill change the workers; stats count them', async (ctx) => {
  const srv = need(ctx);
  const added = json(await ctl('-j', '-c', 'worker add 2'));
  assert.equal(added, { added: 2, previous: 1, total: 3 });
  assert.ok(
    await eventually(async () => json(await ctl('-j', '-c', 'show workers')).count === 3, 60_000),
    'three workers after worker add 2',
  );
  const removed = json(await ctl('-j', '-c', 'worker remove 5'));
  assert.equal(removed, { removed: 2, previous: 3, total: 1 }, 'never below one worker');
  assert.ok(await eventually(async () => json(await ctl('-j', '-c', 'show workers')).count === 1, 30_000));
  const [survivor] = json(await ctl('-j', '-c', 'show workers')).workers;
  assert.is(survivor.age, 3, 'the oldest went first');
  const killed = json(await ctl('-j', '-c', `worker kill ${survivor.pid}`));
  assert.equal(killed, { success: true, killed: survivor.pid });
  assert.ok(
    await eventually(async () => {
      const w = json(await ctl('-j', '-c', 'show workers')).workers;
      return w.length === 1 && w[0].pid !== survivor.pid;
    }, 60_000),
    `a new worker replaced the killed one:\n${srv.log().slice(-4000)}`,
  );
  const stats = json(await ctl('-j', '-c', 'show stats'));
  assert.is(stats.workers_spawned, 4);
  assert.is(stats.workers_killed, 2, 'the two removed (worker kill is a plain TERM, as in Gunicorn)');
  assert.is(stats.workers_target, 1);
  assert.equal(json(await ctl('-j', '-c', 'worker kill 1')), { success: false, error: 'Worker 1 not found' });
});

ctlSuite('reload and reopen signal the arbiter as HUP and USR1 do', async (ctx) => {
  const srv = need(ctx);
  const reload = await ctl('-c', 'reload');
  assert.is(reload.stdout, '{\n  "status": "reloading"\n}\n');
  assert.ok(await eventually(() => /Handling signal: hup\n[\s\S]*Hang up: Master/.test(srv.log())), srv.log());
  assert.ok(await eventually(async () => json(await ctl('-j', '-c', 'show stats')).reloads === 1));
  // The reload's fresh worker serves and the old one has left.
  assert.ok(
    await eventually(async () => {
      const w = json(await ctl('-j', '-c', 'show workers')).workers;
      return w.length === 1 && w[0].booted === true && w[0].age === 5;
    }, 60_000),
    'the reload replaced the worker',
  );
  const reopen = await ctl('-c', 'reopen');
  assert.is(reopen.stdout, '{\n  "status": "reopening"\n}\n');
  assert.ok(await eventually(() => /Handling signal: usr1/.test(srv.log())), srv.log());
});

ctlSuite("errors: Gunicorn's texts on stderr, exit 1", async () => {
  const unknown = await ctl('-c', 'bogus');
  assert.is(unknown.code, 1);
  assert.is(unknown.stderr, 'Error: Invalid argument: Unknown command: bogus\n');
  const notInt = await ctl('-c', 'worker add x');
  assert.is(notInt.stderr, "Error: Invalid argument: invalid literal for int() with base 10: 'x'\n");
  const target = await ctl('-c', 'show');
  assert.is(target.stderr, 'Error: Invalid argument: Missing show target (all|workers|dirty|config|stats|listeners)\n');
  const nowhere = await runCli(['ctl', '-s', path.join(tmp, 'none.ctl'), '-c', 'show stats']);
  assert.is(nowhere.code, 1);
  assert.is(nowhere.stderr, `Error: Failed to connect to ${path.join(tmp, 'none.ctl')}: [Errno 2] No such file or directory\n`);
  const usage = await ctl('--bogus');
  assert.is(usage.code, 2);
});

ctlSuite('interactive mode: commands from stdin, one connection, quit', async (ctx) => {
  const srv = need(ctx);
  const r = await run(process.execPath, [CLI, 'ctl'], { env: { XDG_RUNTIME_DIR: RUNTIME }, input: 'show stats\nbogus\nhelp\nquit\nshow stats\n' });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `Connected to ${SOCK}\nType 'help' for available commands, 'quit' to exit.\n\n`);
  assert.match(r.stdout, new RegExp(`PID: +${srv.pid}`));
  assert.match(r.stdout, 'Error: Invalid argument: Unknown command: bogus\n');
  assert.match(r.stdout, 'Available commands:');
  assert.is(r.stdout.match(/Uptime:/g)?.length, 1, 'nothing after quit');
});

ctlSuite("Gunicorn 26.2.2's gunicornc speaks to nicorn-py's socket", async (ctx) => {
  const srv = need(ctx);
  ensureGunicorn();
  const workers = await gunicornc('-c', 'show workers');
  assert.is(workers.code, 0, workers.stderr);
  const [w] = json(await ctl('-j', '-c', 'show workers')).workers;
  assert.match(workers.stdout, new RegExp(`\\n${w.pid} +${w.age} +yes +\\d+\\.\\d+s ago\\n\\nTotal: 1 workers\\n$`));
  const stats = JSON.parse((await gunicornc('-j', '-c', 'show stats')).stdout) as Record<string, unknown>;
  assert.is(stats.pid, srv.pid);
  assert.is(stats.workers_current, 1);
  // Everything that does not move with time is printed the same by both clients.
  for (const command of ['show config', 'show listeners', 'help', 'show dirty', 'dirty add 2', 'worker kill 1']) {
    const theirs = await gunicornc('-c', command);
    const ours = await ctl('-c', command);
    assert.is(ours.stdout, theirs.stdout, command);
    assert.is(ours.code, theirs.code, command);
  }
  const bad = await gunicornc('-c', 'worker remove x');
  assert.is(bad.code, 1);
  assert.is(bad.stderr, "Error: Invalid argument: invalid literal for int() with base 10: 'x'\n");
});

ctlSuite("nicorn-py ctl speaks to Gunicorn 26.2.2's own arbiter, printing what gunicornc prints", async () => {
  ensureGunicorn();
  const gsock = path.join(tmp, 'g', 'gunicorn.ctl');
  const proc = spawn(PYTHON, ['-m', 'gunicorn', '-w', '1', '-b', '127.0.0.1:0', '--control-socket', gsock, '--chdir', WSGI, 'hello:application'], {
    env: { ...process.env, PYTHONPATH: GUNICORN_SITE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  try {
    assert.ok(await eventually(() => log.includes('Control socket listening at'), 20_000), log);
    const gc = (...args: string[]) => run(PYTHON, ['-c', 'import sys; from gunicorn.ctl.cli import main; sys.exit(main())', ...args], { env: { PYTHONPATH: GUNICORN_SITE } });
    for (const command of ['show config', 'show listeners', 'help', 'show dirty', 'worker kill 1', 'show', 'worker add x']) {
      const theirs = await gc('-s', gsock, '-c', command);
      const ours = await runCli(['ctl', '-s', gsock, '-c', command]);
      assert.is(ours.stdout, theirs.stdout, command);
      assert.is(ours.stderr, theirs.stderr, command);
      assert.is(ours.code, theirs.code, command);
    }
    // Tables with times in them: the same shape, the same pids.
    const ours = await runCli(['ctl', '-s', gsock, '-c', 'show workers']);
    const theirs = await gc('-s', gsock, '-c', 'show workers');
    const shape = (s: string) => s.replace(/\d+\.\d+s ago/g, 'Ns ago');
    assert.is(shape(ours.stdout), shape(theirs.stdout));
    const added = await runCli(['ctl', '-s', gsock, '-c', 'worker add']);
    assert.is(added.stdout, '{\n  "added": 1,\n  "previous": 1,\n  "total": 2\n}\n');
  } finally {
    proc.kill('SIGTERM');
    await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(10_000)]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
});

ctlSuite('--no-control-socket and --control-socket are two flags (not a negation pair)', async () => {
  const r = await runCli(['--print-config', '--no-control-socket', '--control-socket', '/tmp/x.ctl', 'x:app']);
  assert.match(r.stdout, /control_socket += \/tmp\/x\.ctl\n/);
  assert.match(r.stdout, /control_socket_disable += True\n/);
});

ctlSuite('shutdown: the answer, then a graceful stop; the socket file is removed', async (ctx) => {
  const srv = need(ctx);
  const r = await ctl('-c', 'shutdown');
  assert.is(r.stdout, '{\n  "status": "shutting_down",\n  "mode": "graceful"\n}\n');
  assert.ok(await eventually(() => !alive(srv.pid), 30_000), 'the arbiter left');
  assert.match(srv.log(), /Handling signal: term/);
  assert.not.ok(fs.existsSync(SOCK), 'the socket file is gone');
});

ctlSuite.run();
