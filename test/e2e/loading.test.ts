// Loading the app the way Gunicorn does: APP_MODULE forms, --chdir,
// --pythonpath, a local .venv, and every way loading can fail (exit codes
// and messages are Gunicorn's; none of them may hang).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, runCli, runLimited, startServer, type Run, type Server } from '../helpers/server.js';

const WSGI = path.join(FIXTURES, 'wsgi');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-load-')));

/** A project with a .venv whose site-packages holds a package the app imports. */
function venvProject(): string {
  const dir = path.join(tmp, 'venvproj');
  const sp = path.join(dir, '.venv/lib/python3.11/site-packages/venvpkg');
  fs.mkdirSync(sp, { recursive: true });
  fs.writeFileSync(path.join(dir, '.venv/pyvenv.cfg'), 'home = /usr/bin\n');
  fs.writeFileSync(path.join(sp, '__init__.py'), 'GREETING = b"from the venv"\n');
  fs.writeFileSync(
    path.join(dir, 'app.py'),
    'import venvpkg\n\ndef app(environ, start_response):\n    start_response("200 OK", [])\n    return [venvpkg.GREETING]\n',
  );
  return dir;
}

/** A project of one module, `app`. */
function plainProject(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'app.py'), 'def app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"plain"]\n');
  return dir;
}

/** The bytecode files CPython wrote next to `dir`'s modules. */
const pycache = (dir: string): string[] =>
  fs.existsSync(path.join(dir, '__pycache__')) ? fs.readdirSync(path.join(dir, '__pycache__')) : [];

/** A project whose package ships a real CPython (x86-64/arm) extension module. */
function nativeExtensionProject(): string | null {
  let ext: string;
  try {
    ext = execFileSync('python3', ['-c', 'import _json; print(_json.__file__)'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
  if (!ext.endsWith('.so')) return null;
  const dir = path.join(tmp, 'nativeproj');
  fs.mkdirSync(path.join(dir, 'fastjson'), { recursive: true });
  fs.copyFileSync(ext, path.join(dir, 'fastjson', `_speedups${path.basename(ext).slice('_json'.length)}`));
  fs.writeFileSync(path.join(dir, 'fastjson/__init__.py'), 'from ._speedups import encode  # noqa\n');
  fs.writeFileSync(path.join(dir, 'app.py'), 'import fastjson\n\napp = None\n');
  return dir;
}

// ---------------------------------------------------------------- apps that load

const ok = suite<{ servers: Record<string, Server> }>('loading an app');

ok.before(async (ctx) => {
  const starts: Record<string, () => Promise<Server>> = {
    moduleOnly: () => startServer(['--chdir', WSGI, 'hello']),
    dotted: () => startServer(['--chdir', WSGI, 'pkg.sub.wsgi:app']),
    factory: () => startServer(['--chdir', WSGI, 'factory:create_app()']),
    factoryArgs: () => startServer(['--chdir', WSGI, "factory:create_app('x', debug=True)"]),
    pythonpath: () => startServer(['--pythonpath', `${path.join(WSGI, 'pkg')},${WSGI}`, 'sub.wsgi:app'], { cwd: os.tmpdir() }),
    // This one also writes bytecode, as CPython does unless PYTHONDONTWRITEBYTECODE is set.
    venv: () => startServer(['app:app'], { cwd: venvProject(), env: { PYTHONDONTWRITEBYTECODE: undefined } }),
    noBytecode: () => startServer(['app:app'], { cwd: plainProject('nobytecode'), env: { PYTHONDONTWRITEBYTECODE: '1' } }),
    twoWorkers: () => startServer(['--chdir', WSGI, '-w', '2', 'environ_echo']),
  };
  ctx.servers = (await runLimited(starts)) as Record<string, Server>;
});

ok.after(async (ctx) => {
  await Promise.all(Object.values(ctx.servers ?? {}).map((s) => s.stop()));
});

const body = async (srv: Server, p = '/') => (await fetch(srv.url + p)).text();

ok('`module` alone means module:application', async ({ servers }) => {
  assert.is(await body(servers.moduleOnly!), 'Hello, World!\n');
});

ok('a dotted package path loads, and __file__ is the real host path', async ({ servers }) => {
  assert.is(await body(servers.dotted!), `dotted package: ${path.join(WSGI, 'pkg/sub/wsgi.py')}`);
});

ok('module:factory() is called to make the app', async ({ servers }) => {
  assert.is(await body(servers.factory!), 'factory name=default debug=False');
});

ok('module:factory(args) passes literal arguments', async ({ servers }) => {
  assert.is(await body(servers.factoryArgs!), 'factory name=x debug=True');
});

ok('--pythonpath takes a comma-separated list', async ({ servers }) => {
  assert.match(await body(servers.pythonpath!), /^dotted package: .*pkg\/sub\/wsgi\.py$/);
});

ok("a local .venv's site-packages is importable", async ({ servers }) => {
  assert.is(await body(servers.venv!), 'from the venv');
});

ok('imported modules leave __pycache__ bytecode, unless PYTHONDONTWRITEBYTECODE is set', async ({ servers }) => {
  const venvproj = path.join(tmp, 'venvproj');
  assert.ok(pycache(venvproj).some((f) => /^app\.cpython-\d+\.pyc$/.test(f)), pycache(venvproj).join());
  assert.ok(pycache(path.join(venvproj, '.venv/lib/python3.11/site-packages/venvpkg')).some((f) => f.startsWith('__init__.cpython-')));
  assert.is(await body(servers.noBytecode!), 'plain');
  assert.equal(pycache(path.join(tmp, 'nobytecode')), []);
});

ok('with -w 2 two workers boot and wsgi.multiprocess is True', async ({ servers }) => {
  const env = (await (await fetch(servers.twoWorkers!.url)).json()) as Record<string, unknown>;
  assert.is(env['wsgi.multiprocess'], true);
  assert.is(servers.twoWorkers!.workerPids().length, 2);
});

ok.run();

// ---------------------------------------------------------------- apps that fail

const bad = suite<{ runs: Record<string, Run>; native: string | null }>('failing to load an app');

bad.before(async (ctx) => {
  ctx.native = nativeExtensionProject();
  const cases: Record<string, () => Promise<Run>> = {
    noModule: () => runCli(['--chdir', WSGI, '-b', '127.0.0.1:0', 'no_such_module:app']),
    noAttr: () => runCli(['--chdir', WSGI, '-b', '127.0.0.1:0', 'hello:nothing']),
    notCallable: () => runCli(['--chdir', WSGI, '-b', '127.0.0.1:0', 'broken.notcallable:app']),
    factoryRaises: () => runCli(['--chdir', WSGI, '-b', '127.0.0.1:0', 'broken.factory_raises:create_app()']),
    importError: () => runCli(['--chdir', WSGI, '-b', '127.0.0.1:0', 'broken.import_error:app']),
    badExpr: () => runCli(['--chdir', WSGI, '-b', '127.0.0.1:0', 'hello:app[0]']),
  };
  const native = ctx.native;
  if (native) cases.native = () => runCli(['-b', '127.0.0.1:0', 'app:app'], { cwd: native });
  ctx.runs = await runLimited(cases);
});

bad.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

bad('a missing module: traceback, "Worker failed to boot.", exit 3', ({ runs }) => {
  const r = runs.noModule!;
  assert.is(r.code, 3);
  assert.match(r.stderr, /\[ERROR\] Exception in worker process\nTraceback/);
  assert.match(r.stderr, /ModuleNotFoundError: No module named 'no_such_module'/);
  assert.match(r.stderr, /Reason: Worker failed to boot\./);
});

bad('a missing attribute: Gunicorn\'s message, "App failed to load.", exit 4', ({ runs }) => {
  const r = runs.noAttr!;
  assert.is(r.code, 4);
  assert.match(r.stderr, /^Failed to find attribute 'nothing' in 'hello'\.$/m);
  assert.match(r.stderr, /Reason: App failed to load\./);
});

bad('an object that is not callable: exit 4', ({ runs }) => {
  assert.is(runs.notCallable!.code, 4);
  assert.match(runs.notCallable!.stderr, /^Application object must be callable\.$/m);
});

bad('a factory that raises: its traceback, exit 3', ({ runs }) => {
  assert.is(runs.factoryRaises!.code, 3);
  assert.match(runs.factoryRaises!.stderr, /broken\/factory_raises\.py", line 2, in create_app\n[\s\S]*RuntimeError: factory exploded/);
});

bad('an ImportError inside the app module: exit 3 with the real path in the traceback', ({ runs }) => {
  assert.is(runs.importError!.code, 3);
  assert.match(runs.importError!.stderr, new RegExp(`File "${path.join(WSGI, 'broken/import_error.py')}", line 1`));
});

bad('an expression that is neither a name nor a call: exit 4', ({ runs }) => {
  assert.is(runs.badExpr!.code, 4);
  assert.match(runs.badExpr!.stderr, /Failed to parse 'app\[0\]' as an attribute name or function call\./);
});

bad('a CPython-only extension module is named, with the reason', ({ runs, native }) => {
  if (!native) {
    console.warn('  (skipped: no python3 with a native _json module on this machine)');
    return;
  }
  const r = runs.native!;
  assert.is(r.code, 3);
  assert.match(r.stderr, /package 'fastjson' cannot be imported: its extension module \S*fastjson\/_speedups\.\S*\.so is built for the host's CPython \(Linux, [^)]+\), and nicorn-py's workers run CPython 3\.\d+ as WebAssembly/);
  assert.not.match(r.stderr, /loadPackage|micropip/);
});

bad('no failure leaves a process behind or the arbiter running', ({ runs }) => {
  for (const [name, r] of Object.entries(runs)) {
    assert.ok(r.code !== null, `${name} exited by itself`);
    assert.match(r.stderr, /Shutting down: Master/, `${name} shut the arbiter down`);
  }
});

bad.run();

