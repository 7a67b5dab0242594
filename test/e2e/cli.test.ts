// The command line as Gunicorn's: flags from the registry, GUNICORN_CMD_ARGS,
// --print-config, --help, --version, exit statuses (2 for a usage error, 1 for
// a bad configuration) and one-line errors. The first suite never boots
// Pyodide (the CLI exits before); the second reads config files, which does.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, runCli, runLimited, startServer, type Run, type Server } from '../helpers/server.js';
import { SECTIONS, registry, specOf, type SettingName } from '../../src/config/registry.js';
import { VERSION } from '../../src/version.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-cli-')));
/** A directory without a gunicorn.conf.py, and an environment without the variables that change defaults. */
const EMPTY = path.join(tmp, 'empty');
fs.mkdirSync(EMPTY);
const CLEAN_ENV = { GUNICORN_CMD_ARGS: undefined, WEB_CONCURRENCY: undefined, PORT: undefined, FORWARDED_ALLOW_IPS: undefined };

function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = EMPTY): Promise<Run> {
  return runCli(args, { cwd, env: { ...CLEAN_ENV, ...env }, timeoutMs: 30_000 });
}

/** `name = value` lines of --print-config output. */
function printed(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.trimEnd().split('\n')) {
    const m = /^(\S+)\s+= (.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The only line of stderr (there must be exactly one). */
function oneLine(r: Run): string {
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, `one line of stderr, got:\n${r.stderr}`);
  return lines[0]!;
}

// ---------------------------------------------------------------- no server, no Pyodide

const fast = suite('command line, without booting');

fast('--print-config: every setting, sorted, Gunicorn\'s "name = value", exit 0', async () => {
  const r = await cli(['--print-config', 'app:app']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  const rows = r.stdout.trimEnd().split('\n');
  const names = Object.keys(registry);
  assert.is(rows.length, names.length);
  assert.equal(rows.map((l) => l.split(' ')[0]), [...names].sort());
  const v = printed(r.stdout);
  assert.is(v.workers, '1');
  assert.is(v.bind, "['127.0.0.1:8000']");
  assert.is(v.worker_class, 'sync');
  assert.is(v.chdir, EMPTY);
  assert.is(v.wsgi_app, 'app:app');
  assert.is(v.print_config, 'True');
  assert.is(v.config, './gunicorn.conf.py');
  assert.is(v.on_starting, '<OnStarting.on_starting()>');
});

fast('-v and --version print the version and exit 0', async () => {
  for (const flag of ['-v', '--version']) {
    const r = await cli([flag]);
    assert.is(r.code, 0);
    assert.match(r.stdout.trim(), new RegExp(`^nicorn-py \\(version ${VERSION}\\), Pyodide 314\\.\\d+\\.\\d+, Python 3\\.14\\.\\d+$`));
  }
});

fast('--help: usage, then every flag grouped under its Gunicorn section, in the reference\'s order', async () => {
  const r = await cli(['--help'], { COLUMNS: '200' });
  assert.is(r.code, 0);
  assert.match(r.stdout, /^Usage: nicorn-py \[OPTIONS\] \[APP_MODULE\]/);
  const withFlags = SECTIONS.filter((s) => Object.keys(registry).some((n) => specOf(n as SettingName).section === s && specOf(n as SettingName).flags.length));
  const at = withFlags.map((s) => r.stdout.indexOf(`\n${s}:\n`));
  for (const [i, s] of withFlags.entries()) assert.ok(at[i]! > 0, `a "${s}:" group`);
  assert.equal([...at].sort((a, b) => a - b), at, 'groups in section order');
  assert.not.match(r.stdout, '\nServer Hooks:\n', 'hooks have no flags');
  for (const name of Object.keys(registry) as SettingName[]) {
    const s = specOf(name);
    if (!s.flags.length) continue;
    const group = r.stdout.slice(r.stdout.indexOf(`\n${s.section}:\n`));
    const line = group.split('\n').find((l) => l.trimStart().startsWith(`${s.flags.join(', ')}`));
    assert.ok(line, `${s.flags.join(', ')} under ${s.section}`);
  }
  assert.match(r.stdout, /-w, --workers <INT>\s+The number of worker processes for handling requests\. \[1\]/);
  assert.match(r.stdout, /--suppress-ragged-eofs\s+.*\(not supported yet\)/);
});

fast('an unknown flag is a usage error, as argparse reports it: exit 2', async () => {
  const r = await cli(['--no-such-flag', 'app:app']);
  assert.is(r.code, 2);
  assert.is(r.stderr, "usage: nicorn-py [OPTIONS] [APP_MODULE]\nnicorn-py: error: unknown option '--no-such-flag'\n");
  assert.is(r.stdout, '');
});

fast('a flag without its value, and a second APP_MODULE, are usage errors too: exit 2', async () => {
  const missing = await cli(['app:app', '-w']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /nicorn-py: error: option '-w, --workers <INT>' argument missing/);
  const extra = await cli(['a:app', 'b:app']);
  assert.is(extra.code, 2);
  assert.match(extra.stderr, /^usage: nicorn-py/);
});

fast('a bad value: exit 1, one line naming the setting and the value', async () => {
  const r = await cli(['-w', 'abc', 'app:app']);
  assert.is(r.code, 1);
  assert.is(oneLine(r), "Error: Invalid value for workers: 'abc' (not an integer)");
  const level = await cli(['--log-level', 'verbose', 'app:app']);
  assert.is(level.code, 1);
  assert.match(oneLine(level), /^Error: Invalid value for loglevel: 'verbose' \(not one of debug, info, warning, error, critical\)$/);
  const keep = await cli(['--keep-alive=-1', 'app:app']);
  assert.is(oneLine(keep), "Error: Invalid value for keepalive: '-1' (Value must be positive)");
});

fast("an unsupported setting at another value: 'Error: NAME is not supported by nicorn-py yet', exit 1", async () => {
  for (const args of [['--logger-class', 'myapp.Logger']]) {
    const r = await cli([...args, 'app:app']);
    const name = Object.keys(registry).find((n) => specOf(n as SettingName).flags.includes(args[0]!))!;
    assert.is(r.code, 1, args.join(' '));
    assert.is(oneLine(r), `Error: ${name} is not supported by nicorn-py yet`);
  }
});

fast("--proxy-protocol [MODE] as Gunicorn 26's nargs='?': alone it is auto; v1, v2, off; anything else named", async () => {
  const mode = async (args: string[]) => {
    const r = await cli([...args, '--print-config', 'app:app']);
    assert.is(r.code, 0, r.stderr);
    return printed(r.stdout).proxy_protocol;
  };
  assert.is(await mode([]), 'off');
  assert.is(await mode(['--proxy-protocol']), 'auto');
  assert.is(await mode(['--proxy-protocol', 'v2']), 'v2');
  assert.is(await mode(['--proxy-protocol=V1']), 'v1');
  assert.is(await mode(['--proxy-protocol', 'true']), 'auto');
  const bad = await cli(['--proxy-protocol', 'v3', 'app:app']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /proxy_protocol must be: off, v1, v2, or auto/);
});

fast('an unsupported setting at its default is accepted', async () => {
  const r = await cli(['--reload-engine', 'auto', '--threads', '1', '--timeout', '30', '--print-config', 'app:app']);
  assert.is(r.code, 0, r.stderr);
  assert.is(printed(r.stdout).threads, '1');
});

fast("-k takes Gunicorn's class names and paths; a class that cannot run stops the start with why and what to use, exit 1", async () => {
  for (const [k, instead] of [
    ['gevent', 'gthread'],
    ['eventlet', 'gthread'],
    ['gunicorn.workers.gtornado.TornadoWorker', 'sync'],
    ['myapp.workers.MyWorker', 'sync'],
  ] as const) {
    const r = await cli(['--worker-class', k, 'app:app']);
    assert.is(r.code, 1);
    assert.match(oneLine(r), new RegExp(`^Error: worker_class '${k.replace(/\./g, '\\.')}'[: ].*[Uu]se -k ${instead}\\.$`));
  }
  for (const k of [
    'sync', 'gunicorn.workers.sync.SyncWorker', 'egg:gunicorn#sync', 'gthread', 'gunicorn.workers.gthread.ThreadWorker',
    'asgi', 'gunicorn.workers.gasgi.ASGIWorker', 'uvicorn.workers.UvicornWorker', 'uvicorn_worker.UvicornWorker',
  ]) {
    const ok = await cli(['-k', k, '--threads', '4', '--print-config', 'app:app']);
    assert.is(ok.code, 0, ok.stderr);
    assert.is(printed(ok.stdout).worker_class, k);
    assert.is(printed(ok.stdout).threads, '4');
  }
});

fast('GUNICORN_CMD_ARGS is shell-split and parsed; the command line wins over it', async () => {
  const env = { GUNICORN_CMD_ARGS: `--workers 3 --bind '127.0.0.1:9001' --log-level=DEBUG -e "A=b c"` };
  const r = await cli(['--print-config', 'app:app'], env);
  assert.is(r.code, 0, r.stderr);
  const v = printed(r.stdout);
  assert.is(v.workers, '3');
  assert.is(v.bind, "['127.0.0.1:9001']");
  assert.is(v.loglevel, 'debug');
  assert.is(v.raw_env, "['A=b c']");
  const over = printed((await cli(['-w', '5', '-e', 'X=1', '--print-config', 'app:app'], env)).stdout);
  assert.is(over.workers, '5');
  assert.is(over.raw_env, "['X=1']", 'a repeatable flag on the command line replaces the list');
  assert.is(over.bind, "['127.0.0.1:9001']");
});

fast('GUNICORN_CMD_ARGS errors are reported as such', async () => {
  const unknown = await cli(['app:app'], { GUNICORN_CMD_ARGS: '--nope' });
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, "nicorn-py: error: GUNICORN_CMD_ARGS: unknown option '--nope'");
  const bad = await cli(['app:app'], { GUNICORN_CMD_ARGS: '--workers=x' });
  assert.is(bad.code, 1);
  assert.is(oneLine(bad), "Error: Invalid value for workers: 'x' (not an integer)");
});

fast('WEB_CONCURRENCY is the default number of workers; PORT the default bind', async () => {
  const v = printed((await cli(['--print-config', 'app:app'], { WEB_CONCURRENCY: '4', PORT: '5000' })).stdout);
  assert.is(v.workers, '4');
  assert.is(v.bind, "['0.0.0.0:5000']");
  const bad = await cli(['app:app'], { WEB_CONCURRENCY: 'lots' });
  assert.is(bad.code, 1);
  assert.is(oneLine(bad), "Error: Invalid value for workers: WEB_CONCURRENCY='lots' (not an integer)");
});

fast('repeatable flags (-b, -e) collect every occurrence in order', async () => {
  const v = printed((await cli(['-b', '127.0.0.1:1', '--bind=[::1]:2', '-e', 'A=1', '--env', 'B=2', '--print-config', 'x:y'])).stdout);
  assert.is(v.bind, "['127.0.0.1:1', '[::1]:2']");
  assert.is(v.raw_env, "['A=1', 'B=2']");
});

fast("-e without '=' is Gunicorn's \"environment setting ... invalid\", exit 1", async () => {
  const r = await cli(['-e', 'FOO', 'app:app']);
  assert.is(r.code, 1);
  assert.is(oneLine(r), "Error: environment setting 'FOO' invalid");
});

fast("no APP_MODULE: 'No application module specified.', exit 1", async () => {
  const r = await cli([]);
  assert.is(r.code, 1);
  assert.is(oneLine(r), 'Error: No application module specified.');
});

fast("a -c file that does not exist: Gunicorn's \"'PATH' doesn't exist\", exit 1", async () => {
  for (const spec of ['missing.conf.py', 'file:missing.conf.py']) {
    const r = await cli(['-c', spec, 'app:app']);
    assert.is(r.code, 1);
    assert.is(oneLine(r), "Error: 'missing.conf.py' doesn't exist");
  }
});

fast("--chdir to a directory that does not exist: \"can't chdir to\", exit 1", async () => {
  const r = await cli(['--chdir', 'nowhere', 'app:app']);
  assert.is(r.code, 1);
  assert.is(oneLine(r), "Error: can't chdir to 'nowhere'");
});

fast.run();

// ---------------------------------------------------------------- config files (these boot Pyodide)

const CONF = path.join(FIXTURES, 'config');
const WSGI = path.join(FIXTURES, 'wsgi');
const HELLO = path.join(FIXTURES, 'hello');

const files = suite<{ runs: Record<string, Run> }>('command line with a config file');

files.before(async (ctx) => {
  const withConf = path.join(tmp, 'withconf');
  fs.mkdirSync(withConf);
  fs.writeFileSync(path.join(withConf, 'gunicorn.conf.py'), 'workers = 3\nwsgi_app = "x:y"\n');
  const unsupported = path.join(tmp, 'unsupported.conf.py');
  fs.writeFileSync(unsupported, 'suppress_ragged_eofs = False\n');
  const sslContext = path.join(tmp, 'ssl_context.conf.py');
  fs.writeFileSync(sslContext, 'def ssl_context(config, factory):\n    return factory()\n');
  const appAndEnv = ['-c', path.join(CONF, 'app_and_env.conf.py'), '--chdir', WSGI, '--print-config'];
  const cases: Record<string, () => Promise<Run>> = {
    file: () => cli(appAndEnv),
    layered: () => cli([...appAndEnv, '-e', 'CONF_KEEPALIVE=9', '-w', '2'], { GUNICORN_CMD_ARGS: '--keep-alive 5 -w 4' }),
    envOnly: () => cli([...appAndEnv, '-e', 'CONF_KEEPALIVE=9']),
    module: () => cli(['-c', 'python:confpkg.settings', '--chdir', CONF, '--print-config', 'app:app'], {}, CONF),
    cwdDefault: () => cli(['--print-config'], {}, withConf),
    badValue: () => cli(['-c', path.join(CONF, 'bad_value.conf.py'), 'app:app']),
    unsupported: () => cli(['-c', unsupported, 'app:app']),
    sslContext: () => cli(['-c', sslContext, 'app:app']),
    raises: () => cli(['-c', path.join(CONF, 'raises.conf.py'), 'app:app']),
    checkOk: () => cli(['--check-config', '--chdir', HELLO, 'app:app']),
    checkBad: () => cli(['--check-config', '--chdir', HELLO, 'no_such_module:app']),
  };
  ctx.runs = await runLimited(cases);
});

files.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

files('the file sets settings and names the app; names that are not settings are ignored', ({ runs }) => {
  const r = runs.file!;
  assert.is(r.code, 0, r.stderr);
  const v = printed(r.stdout);
  assert.is(v.wsgi_app, 'environ_echo:application');
  assert.is(v.keepalive, '3');
  assert.is(v.workers, '1');
  assert.is(v.config, path.join(CONF, 'app_and_env.conf.py'));
});

files('precedence: config file < GUNICORN_CMD_ARGS < command line; the file sees -e', ({ runs }) => {
  const v = printed(runs.layered!.stdout);
  assert.is(runs.layered!.code, 0, runs.layered!.stderr);
  assert.is(v.keepalive, '5', 'GUNICORN_CMD_ARGS beats the file');
  assert.is(v.workers, '2', 'the command line beats GUNICORN_CMD_ARGS and the file');
  assert.is(printed(runs.envOnly!.stdout).keepalive, '9', 'the file read CONF_KEEPALIVE from -e');
});

files('-c python:MODULE imports the config from a module', ({ runs }) => {
  assert.is(runs.module!.code, 0, runs.module!.stderr);
  assert.is(printed(runs.module!.stdout).keepalive, '7');
});

files('./gunicorn.conf.py in the starting directory is read when there is no -c', ({ runs }) => {
  const r = runs.cwdDefault!;
  assert.is(r.code, 0, r.stderr);
  const v = printed(r.stdout);
  assert.is(v.workers, '3');
  assert.is(v.wsgi_app, 'x:y');
  assert.is(v.config, './gunicorn.conf.py');
});

files('a bad value in the file: one line naming the setting and the value, exit 1', ({ runs }) => {
  assert.is(runs.badValue!.code, 1);
  assert.is(oneLine(runs.badValue!), "Error: Invalid value for workers: 'many' (not an integer)");
});

files('an unsupported setting or hook in the file is rejected by name, exit 1', ({ runs }) => {
  assert.is(runs.unsupported!.code, 1);
  assert.is(oneLine(runs.unsupported!), 'Error: suppress_ragged_eofs is not supported by nicorn-py yet');
  assert.is(runs.sslContext!.code, 1);
  assert.is(oneLine(runs.sslContext!), 'Error: ssl_context is not supported by nicorn-py yet');
});

files('a file that raises: its traceback, exit 1', ({ runs }) => {
  assert.is(runs.raises!.code, 1);
  assert.match(runs.raises!.stderr, /ValueError: config file failed while loading/);
});

files('--check-config: exit 0 when the app imports, 1 (with the traceback) when it does not; no server', ({ runs }) => {
  assert.is(runs.checkOk!.code, 0, runs.checkOk!.stderr);
  assert.not.match(runs.checkOk!.stderr, /Listening at/);
  assert.is(runs.checkBad!.code, 1);
  assert.match(runs.checkBad!.stderr, /ModuleNotFoundError: No module named 'no_such_module'/);
  assert.not.match(runs.checkBad!.stderr, /Listening at/);
});

files.run();

// ---------------------------------------------------------------- -e reaches the app

const envSuite = suite<{ srv: Server }>('-e/--env in the served app');

envSuite.before(async (ctx) => {
  ctx.srv = await startServer(['-e', 'NICORN_TEST_A=1', '--env=NICORN_TEST_B=x=y', '--chdir', WSGI, 'environ_echo'], {
    env: { ...CLEAN_ENV, GUNICORN_CMD_ARGS: '-e NICORN_TEST_C=ignored' },
  });
});

envSuite.after(async (ctx) => {
  await ctx.srv?.stop();
});

envSuite('the app sees the command line\'s -e variables in os.environ (they replace GUNICORN_CMD_ARGS\'s list)', async ({ srv }) => {
  const environ = (await (await fetch(`${srv.url}/`)).json()) as { 'os.environ': Record<string, string> };
  assert.equal(environ['os.environ'], { NICORN_TEST_A: '1', NICORN_TEST_B: 'x=y' });
});

envSuite('workers start without GLIBC_TUNABLES (their malloc policy is set once they serve: src/runtime/memory.ts); the app sees none', async ({ srv }) => {
  const [pid] = srv.workerPids();
  const env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
  assert.not.ok(env.includes('GLIBC_TUNABLES='), 'the worker process has no GLIBC_TUNABLES');
  const environ = (await (await fetch(`${srv.url}/`)).json()) as { 'os.environ': Record<string, string> };
  assert.is(environ['os.environ'].GLIBC_TUNABLES, undefined);
});

envSuite('the worker\'s I/O thread runs as SCHED_BATCH once its interpreter runs; every other thread keeps SCHED_OTHER (src/worker/scheduling.ts)', async ({ srv }) => {
  // A response: the worker is past its switch (made before it listens).
  await (await fetch(`${srv.url}/`)).text();
  const [pid] = srv.workerPids();
  // /proc/PID/task/TID/stat's 41st field; the 2nd (comm, in parentheses) may hold spaces.
  const policy = (tid: string) => Number(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1').replace(/^.*\) /s, '').split(' ')[38]);
  const tids = fs.readdirSync(`/proc/${pid}/task`);
  assert.is(policy(String(pid)), 3, 'the I/O thread (the process\'s main thread): SCHED_BATCH');
  const others = tids.filter((t) => t !== String(pid));
  assert.ok(others.length > 0);
  assert.equal(others.map(policy), others.map(() => 0), 'the Python thread and node\'s own threads: SCHED_OTHER');
});

envSuite.run();

const ownTunables = suite<{ srv: Server }>('GLIBC_TUNABLES set by the user');

ownTunables.before(async (ctx) => {
  ctx.srv = await startServer(['--chdir', WSGI, 'environ_echo'], {
    env: { ...CLEAN_ENV, GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' },
  });
});

ownTunables.after(async (ctx) => {
  await ctx.srv?.stop();
});

ownTunables('are the ones the workers run with, and the app sees them', async ({ srv }) => {
  const [pid] = srv.workerPids();
  const env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
  assert.ok(env.includes('GLIBC_TUNABLES=glibc.malloc.arena_max=2'));
  assert.not.ok(env.includes('mmap_threshold'));
  const environ = (await (await fetch(`${srv.url}/`)).json()) as { 'os.environ': Record<string, string> };
  assert.is(environ['os.environ'].GLIBC_TUNABLES, 'glibc.malloc.arena_max=2');
});

ownTunables.run();
