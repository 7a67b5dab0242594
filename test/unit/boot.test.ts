// The host directories a worker's interpreter sees: outermost() and hostLayout().

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PYTHON_DIR, bootPyodide, hostLayout, outermost } from '../../src/runtime/boot.js';

test('outermost: a nested directory collapses into the directory that holds it', () => {
  assert.equal(outermost(['/a/b/c', '/a', '/a/b']), ['/a']);
});

test('outermost: siblings sharing a name prefix (/a/b and /a/bc) are both kept', () => {
  assert.equal(outermost(['/a/b', '/a/bc']).sort(), ['/a/b', '/a/bc']);
  assert.equal(outermost(['/a/bc', '/a/b']).sort(), ['/a/b', '/a/bc']);
});

test('outermost: duplicates (also spelled with trailing slash or ..) are removed', () => {
  assert.equal(outermost(['/x/y', '/x/y', '/x/y/', '/x/z/../y']), ['/x/y']);
});

test('outermost: unrelated trees are all kept', () => {
  assert.equal(outermost(['/srv/app', '/tmp', '/srv/lib', '/tmp/x']).sort(), ['/srv/app', '/srv/lib', '/tmp']);
});

test('outermost: / covers everything', () => {
  assert.equal(outermost(['/usr/lib', '/', '/home/u']), ['/']);
});

test('outermost: relative directories are made absolute', () => {
  assert.equal(outermost(['rel/dir']), [path.resolve('rel/dir')]);
});

/** A project dir with a local .venv, created under the OS temp dir. */
function makeProject(): { root: string; site: string; cleanup: () => void } {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-boot-')));
  const venv = path.join(root, '.venv');
  const site = path.join(venv, 'lib', 'python3.12', 'site-packages');
  fs.mkdirSync(site, { recursive: true });
  fs.writeFileSync(path.join(venv, 'pyvenv.cfg'), 'home = /usr/bin\nversion = 3.12.0\n');
  // Not site-packages candidates: a file and a directory without site-packages.
  fs.writeFileSync(path.join(venv, 'lib', 'python3.12.txt'), '');
  fs.mkdirSync(path.join(venv, 'lib', 'python3.11'));
  fs.mkdirSync(path.join(root, 'src'));
  fs.mkdirSync(path.join(root, 'lib'));
  return { root, site, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

function withoutVirtualEnv<T>(fn: () => T): T {
  const saved = process.env.VIRTUAL_ENV;
  delete process.env.VIRTUAL_ENV;
  try {
    return fn();
  } finally {
    if (saved !== undefined) process.env.VIRTUAL_ENV = saved;
  }
}

test('hostLayout: cwd is absolute; pythonpath entries are resolved against chdir, in order', () => {
  const p = makeProject();
  try {
    const l = withoutVirtualEnv(() => hostLayout(p.root, ['src', '/opt/elsewhere', 'lib']));
    assert.is(l.cwd, p.root);
    assert.equal(l.pythonPath, [path.join(p.root, 'src'), '/opt/elsewhere', path.join(p.root, 'lib')]);
  } finally {
    p.cleanup();
  }
});

test('hostLayout: a local .venv with pyvenv.cfg contributes lib/python3.X/site-packages', () => {
  const p = makeProject();
  try {
    const l = withoutVirtualEnv(() => hostLayout(p.root, []));
    assert.equal(l.siteDirs, [p.site]);
  } finally {
    p.cleanup();
  }
});

test('hostLayout: a .venv without pyvenv.cfg is not a virtualenv', () => {
  const p = makeProject();
  try {
    fs.rmSync(path.join(p.root, '.venv', 'pyvenv.cfg'));
    assert.equal(withoutVirtualEnv(() => hostLayout(p.root, [])).siteDirs, []);
  } finally {
    p.cleanup();
  }
});

test('hostLayout: $VIRTUAL_ENV is preferred to the local .venv', () => {
  const p = makeProject();
  const other = makeProject();
  const saved = process.env.VIRTUAL_ENV;
  try {
    process.env.VIRTUAL_ENV = path.join(other.root, '.venv');
    assert.equal(hostLayout(p.root, []).siteDirs, [other.site]);
  } finally {
    if (saved === undefined) delete process.env.VIRTUAL_ENV;
    else process.env.VIRTUAL_ENV = saved;
    p.cleanup();
    other.cleanup();
  }
});

test('hostLayout: mounts include the OS temp dir (holding the project) and cover every existing directory', () => {
  const p = makeProject();
  try {
    const l = withoutVirtualEnv(() => hostLayout(p.root, ['src', '/no/such/dir']));
    const tmp = fs.realpathSync(os.tmpdir());
    assert.ok(l.mounts.includes(tmp), `${tmp} in ${JSON.stringify(l.mounts)}`);
    assert.not.ok(l.mounts.includes(p.root), 'the project is inside the temp dir: not mounted twice');
    assert.not.ok(l.mounts.some((m) => m.startsWith('/no/such')), 'missing directories are not mounted');
    const covered = (d: string) => l.mounts.some((m) => m === '/' || d === m || d.startsWith(m + path.sep));
    for (const d of [l.cwd, ...l.siteDirs, path.join(p.root, 'src')]) assert.ok(covered(d), `${d} is mounted`);
    assert.equal(outermost(l.mounts).sort(), [...l.mounts].sort(), 'mounts are already outermost-only');
  } finally {
    p.cleanup();
  }
});

test('hostLayout: mounts cover the directory of the nicorn python package (PYTHON_DIR)', () => {
  const p = makeProject();
  try {
    assert.ok(fs.existsSync(path.join(PYTHON_DIR, 'nicorn', '__init__.py')), `${PYTHON_DIR} holds the nicorn package`);
    const l = withoutVirtualEnv(() => hostLayout(p.root, []));
    const py = fs.realpathSync(PYTHON_DIR);
    assert.ok(l.mounts.some((m) => py === m || py.startsWith(m + path.sep)), `${py} under ${JSON.stringify(l.mounts)}`);
  } finally {
    p.cleanup();
  }
});

test('bootPyodide boots with the host dirs mounted at their real paths and nicorn importable, even under --enable-source-maps', async () => {
  // test/run.mjs runs node with --enable-source-maps, as NODE_OPTIONS may in
  // production; Pyodide must still find its own files.
  const p = makeProject();
  try {
    fs.writeFileSync(path.join(p.root, 'data.txt'), 'from the host');
    // A broken boot rejects a promise Pyodide does not hand back: catch it
    // here so it fails this test instead of crashing the whole run.
    let onStray: (e: unknown) => void = () => {};
    const stray = new Promise<never>((_, reject) => (onStray = reject));
    process.on('unhandledRejection', onStray);
    let py: Awaited<ReturnType<typeof bootPyodide>>;
    try {
      py = await Promise.race([bootPyodide(withoutVirtualEnv(() => hostLayout(p.root, []))), stray]);
    } finally {
      setTimeout(() => process.off('unhandledRejection', onStray), 1000).unref();
    }
    const out = py.runPython(`
import json, nicorn
json.dumps([open(${JSON.stringify(path.join(p.root, 'data.txt'))}).read(), nicorn.SERVER_SOFTWARE])`) as string;
    const [data, software] = JSON.parse(out) as [string, string];
    assert.is(data, 'from the host');
    assert.match(software, /^nicorn-py\//);
    // /dev is read-only in memory, but Pyodide formats a Python error that
    // becomes a JavaScript one through a device it makes there: the error
    // arrives as PythonError with the traceback, not as EROFS.
    let thrown: unknown;
    try {
      py.runPython('def f():\n    raise ValueError("from Python")\nf()');
    } catch (e) {
      thrown = e;
    }
    assert.is((thrown as Error).name, 'PythonError');
    assert.match((thrown as Error).message, /Traceback[\s\S]*line 2, in f[\s\S]*ValueError: from Python/);
    assert.throws(() => py.runPython("open('/dev/made-by-the-app', 'w')"), /Read-only file system/);
  } finally {
    p.cleanup();
  }
});

test.run();
