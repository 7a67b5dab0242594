// What the app finds of the host's files, tested against the host's own view
// (node's fs) and, for what Flask computes, against the host's CPython running
// the same app: one Flask project in a temporary folder, with a virtualenv
// beside it whose site-packages hold a real x86-64 extension module next to
// its pure-Python fallback. One server (--preload: the checks run in a worker
// restored from the snapshot, whose mounts and guards are made again).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, PACKAGES, ROOT, runCli, startServer, type Server } from '../helpers/server.js';

/** Where fetch-packages keeps the compiled extensions it takes out of PACKAGES. */
const NATIVE = path.join(FIXTURES, '.packages/native');
const SPEEDUPS = path.join(NATIVE, 'markupsafe/_speedups.cpython-313-x86_64-linux-gnu.so');
/** What the error names the build as (from its ELF header): the host's architecture, since Debian's package for it was fetched. */
const MACHINE = ({ x64: 'x86-64', arm64: 'AArch64' } as Record<string, string>)[process.arch] ?? process.arch;

interface Ctx {
  srv: Server;
  proj: string;
  site: string;
}

/**
 * proj/app.py (fixtures/hostfiles), proj/instance/config.py, proj/static/,
 * proj/.venv made as `python3 -m venv` makes one (pyvenv.cfg, lib/python3.13/
 * site-packages) holding the fixtures' packages (linked), MarkupSafe with its
 * real CPython build of _speedups beside the pure-Python fallback, and two
 * made-up packages around the same real build: `shadowpkg` (core.abi3.so next
 * to core.py) and `nativeonly` (no fallback).
 */
function makeProject(): { proj: string; site: string } {
  assert.ok(fs.existsSync(SPEEDUPS), `${SPEEDUPS} is missing: run \`npm run fixtures -- --force\``);
  const proj = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-hostfiles-')));
  fs.copyFileSync(path.join(FIXTURES, 'hostfiles/app.py'), path.join(proj, 'app.py'));
  fs.writeFileSync(path.join(proj, 'nativeapp.py'), 'import nativeonly\napp = None\n');
  fs.mkdirSync(path.join(proj, 'instance'));
  fs.writeFileSync(path.join(proj, 'instance/config.py'), 'SECRET_KEY = "from-the-instance-folder"\n');
  fs.mkdirSync(path.join(proj, 'static'));
  fs.writeFileSync(path.join(proj, 'static/hello.txt'), 'hello\n');
  const venv = path.join(proj, '.venv');
  const site = path.join(venv, 'lib/python3.13/site-packages');
  fs.mkdirSync(site, { recursive: true });
  fs.writeFileSync(path.join(venv, 'pyvenv.cfg'), 'home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.13.5\n');
  for (const name of fs.readdirSync(PACKAGES)) {
    if (name !== 'markupsafe') fs.symlinkSync(path.join(PACKAGES, name), path.join(site, name));
  }
  fs.cpSync(path.join(PACKAGES, 'markupsafe'), path.join(site, 'markupsafe'), { recursive: true });
  fs.copyFileSync(SPEEDUPS, path.join(site, 'markupsafe', path.basename(SPEEDUPS)));
  // The stable-ABI name matches Pyodide's suffixes (".abi3.so"): only the finder's check keeps it out.
  fs.copyFileSync(SPEEDUPS, path.join(site, 'markupsafe/_speedups.abi3.so'));
  fs.mkdirSync(path.join(site, 'shadowpkg'));
  fs.writeFileSync(path.join(site, 'shadowpkg/__init__.py'), '');
  fs.writeFileSync(path.join(site, 'shadowpkg/core.py'), 'VALUE = "pure python"\n');
  fs.copyFileSync(SPEEDUPS, path.join(site, 'shadowpkg/core.abi3.so'));
  fs.mkdirSync(path.join(site, 'nativeonly'));
  fs.writeFileSync(path.join(site, 'nativeonly/__init__.py'), 'from ._core import VALUE\n');
  fs.copyFileSync(SPEEDUPS, path.join(site, 'nativeonly/_core.cpython-313-x86_64-linux-gnu.so'));
  return { proj, site };
}

const files = suite<Ctx>('host files');

files.before(async (ctx) => {
  Object.assign(ctx, makeProject());
  // The project's own venv is found as ./.venv, as CPython's users expect of nicorn-py's layout.
  ctx.srv = await startServer(['--preload', '--log-level', 'debug', 'app:app'], { cwd: ctx.proj });
});

files.after(async (ctx) => {
  await ctx.srv?.stop();
  if (ctx.proj) fs.rmSync(ctx.proj, { recursive: true, force: true });
});

async function op(srv: Server, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${srv.url}/fs/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(args) });
  assert.is(res.status, 200, `${name} ${JSON.stringify(args)}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The host's CPython running the same app (as under Gunicorn): `expr` evaluated with `app` and the Flask test client `c`. */
function hostPython(proj: string, expr: string): string {
  const code = `import os, sys\nsys.path[:0] = [${JSON.stringify(proj)}, ${JSON.stringify(PACKAGES)}]\nos.chdir(${JSON.stringify(proj)})\nfrom app import app\nc = app.test_client()\nprint(${expr})`;
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
  assert.is(r.status, 0, `python3 failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

files('workers start from the preload snapshot (mounts and guards made again on restore)', ({ srv }) => {
  assert.match(srv.log(), /Started from the preload snapshot/);
});

files('the root lists the host\'s directories and links, and the interpreter\'s /lib, /dev, /proc', async ({ srv }) => {
  const host = fs.readdirSync('/', { withFileTypes: true }).filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name);
  const expected = [...new Set([...host, 'lib', 'dev', 'proc'])].sort();
  assert.equal((await op(srv, 'listdir', { path: '/' })).names, expected);
  for (const e of fs.readdirSync('/', { withFileTypes: true })) {
    if (!e.isSymbolicLink() || e.name === 'lib') continue;
    assert.is((await op(srv, 'symlink', { target: 'x', path: `/${e.name}` })).error, 'EEXIST', `/${e.name} is there`);
  }
});

files('writes into the interpreter\'s own files fail with EROFS; devices are written', async ({ srv }) => {
  for (const p of ['/nicorn-probe', '/lib/nicorn-probe', '/lib/python3.14/site-packages/probe.py']) {
    const out = await op(srv, 'write', { path: p, data: 'x' });
    assert.is(out.error, 'EROFS', `${p}: ${JSON.stringify(out)}`);
    assert.match(String(out.message), /Read-only file system/);
  }
  assert.not.ok(fs.existsSync('/nicorn-probe'), 'nothing reached the host root');
  assert.is((await op(srv, 'mkdir', { path: '/nicorn-probe-dir' })).error, 'EROFS');
  assert.is((await op(srv, 'remove', { path: '/lib/python314.zip' })).error, 'EROFS');
  assert.is((await op(srv, 'chmod', { path: '/lib/python314.zip', mode: 0o777 })).error, 'EROFS');
  assert.equal(await op(srv, 'write', { path: '/dev/null', data: 'x' }), { ok: true });
});

files('os.stat, lstat and fstat give the host\'s inode, mode, owner and nanosecond times', async ({ srv, proj }) => {
  const file = path.join(proj, 'static/hello.txt');
  // A time with nanoseconds, set by the host, so that milliseconds would show.
  fs.utimesSync(file, 1_700_000_000.123456, 1_700_000_000.987654);
  const host = fs.statSync(file, { bigint: true });
  for (const kind of ['stat', 'lstat', 'fstat']) {
    const st = await op(srv, kind, { path: file });
    assert.is(st.ino, String(host.ino), kind);
    assert.is(st.dev, String(host.dev), kind);
    assert.is(st.mode, Number(host.mode), kind);
    assert.is(st.nlink, Number(host.nlink), kind);
    assert.is(st.uid, Number(host.uid), kind);
    assert.is(st.gid, Number(host.gid), kind);
    assert.is(st.size, Number(host.size), kind);
    assert.is(st.mtime_ns, String(host.mtimeNs), kind);
    assert.is(st.ctime_ns, String(host.ctimeNs), kind);
  }
  assert.is.not(host.mtimeNs % 1_000_000n, 0n, 'the host time has sub-millisecond digits');
});

files('a static file\'s ETag and Last-Modified are those of the host\'s CPython (Werkzeug)', async ({ srv, proj }) => {
  const res = await fetch(`${srv.url}/static/hello.txt`);
  assert.is(res.status, 200);
  const expected = hostPython(proj, `(lambda r: r.headers["ETag"] + "|" + r.headers["Last-Modified"])(c.get("/static/hello.txt"))`);
  assert.is(`${res.headers.get('etag')}|${res.headers.get('last-modified')}`, expected);
});

files('files are created with the host\'s umask, O_EXCL is the host\'s', async ({ srv, proj }) => {
  const file = path.join(proj, 'made-here');
  const out = await op(srv, 'create', { path: file, umask: 0o027, mode: 0o666 });
  const host = fs.statSync(file);
  assert.is(host.mode & 0o7777, 0o640);
  assert.is(out.mode, host.mode);
  assert.is(fs.readFileSync(file, 'utf8'), 'created');
  assert.is((await op(srv, 'create', { path: file, umask: 0o022, mode: 0o600 })).error, 'EEXIST');
});

files('chmod, access, symlinks and os.replace act on the host', async ({ srv, proj }) => {
  const a = path.join(proj, 'a.txt');
  const b = path.join(proj, 'b.txt');
  assert.equal(await op(srv, 'write', { path: a, data: 'new' }), { ok: true });
  fs.writeFileSync(b, 'old');
  assert.equal(await op(srv, 'chmod', { path: a, mode: 0o600 }), { ok: true });
  assert.is(fs.statSync(a).mode & 0o7777, 0o600);
  fs.chmodSync(b, 0);
  for (const mode of [fs.constants.R_OK, fs.constants.W_OK, fs.constants.X_OK]) {
    let expected = true;
    try {
      fs.accessSync(b, mode);
    } catch {
      expected = false;
    }
    assert.is((await op(srv, 'access', { path: b, mode })).access, expected, `access(${mode}) of a 000 file`);
  }
  fs.chmodSync(b, 0o644);
  const link = path.join(proj, 'link');
  assert.equal(await op(srv, 'symlink', { target: 'b.txt', path: link }), { readlink: 'b.txt', islink: true });
  assert.is(fs.readlinkSync(link), 'b.txt');
  assert.is((await op(srv, 'lstat', { path: link })).ino, String(fs.lstatSync(link, { bigint: true }).ino));
  assert.equal(await op(srv, 'replace', { src: a, dst: b }), { ok: true });
  assert.is(fs.readFileSync(b, 'utf8'), 'new');
  assert.not.ok(fs.existsSync(a));
  assert.equal(await op(srv, 'read', { path: link }), { data: 'new' });
});

files('os.replace between two top-level directories answers as the host\'s rename(2) does', async ({ srv, proj }) => {
  // The repository and the temporary folder: two mounts in the interpreter, maybe one file system on the host.
  const other = fs.mkdtempSync(path.join(ROOT, '.test-build', 'replace-'));
  try {
    const probe = path.join(proj, 'probe');
    fs.writeFileSync(probe, 'p');
    let hostAnswer = 'ok';
    try {
      fs.renameSync(probe, path.join(other, 'probe'));
    } catch (e) {
      hostAnswer = (e as NodeJS.ErrnoException).code!;
    }
    const src = path.join(proj, 'moving');
    const dst = path.join(other, 'moved');
    fs.writeFileSync(src, 'payload');
    fs.writeFileSync(dst, 'old');
    const out = await op(srv, 'replace', { src, dst });
    if (hostAnswer === 'ok') {
      assert.equal(out, { ok: true });
      assert.is(fs.readFileSync(dst, 'utf8'), 'payload');
      assert.not.ok(fs.existsSync(src));
    } else {
      assert.is(out.error, hostAnswer);
    }
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
});

files('os.utime and fsync reach the host', async ({ srv, proj }) => {
  const file = path.join(proj, 'synced');
  assert.equal(await op(srv, 'fsync', { path: file, data: 'durable' }), { ok: true });
  assert.is(fs.readFileSync(file, 'utf8'), 'durable');
  const want = 1_700_000_000_123_456_789n;
  const out = await op(srv, 'utime', { path: file, ns: String(want) });
  const host = fs.statSync(file, { bigint: true }).mtimeNs;
  assert.is(out.mtime_ns, String(host));
  // Pyodide's CPython hands utimensat() microseconds.
  assert.ok(want - host >= 0n && want - host < 1000n, `${host} is ${want} to the microsecond`);
});

files('sys.prefix is the venv, base_prefix its home\'s; Flask\'s instance folder is the project\'s', async ({ srv, proj }) => {
  const res = await fetch(`${srv.url}/paths`);
  const p = (await res.json()) as Record<string, unknown> & { sysconfig: Record<string, string> };
  const venv = path.join(proj, '.venv');
  assert.is(p.prefix, venv);
  assert.is(p.exec_prefix, venv);
  assert.is(p.base_prefix, '/usr');
  assert.is(p.base_exec_prefix, '/usr');
  assert.is(p.cwd, proj);
  assert.is(p.home, os.homedir());
  assert.is(p.instance_path, path.join(proj, 'instance'));
  assert.is(p.instance_path, hostPython(proj, 'app.instance_path'));
  assert.is(p.secret_key, 'from-the-instance-folder');
  assert.is(p.sysconfig.purelib, path.join(venv, 'lib/python3.14/site-packages'));
  assert.is(p.sysconfig.data, venv);
  assert.is(p.sysconfig.stdlib, '/lib/python3.14');
});

files('a venv\'s x86-64 extension modules give way to the pure-Python code beside them', async ({ srv, site }) => {
  const ms = (await (await fetch(`${srv.url}/markupsafe`)).json()) as Record<string, unknown>;
  assert.equal(ms, { escaped: '&lt;b&gt;&amp;', file: path.join(site, 'markupsafe/__init__.py'), speedups: false });
  const shadow = (await (await fetch(`${srv.url}/import/shadowpkg.core`)).json()) as Record<string, unknown>;
  assert.equal(shadow, { file: path.join(site, 'shadowpkg/core.py'), value: 'pure python' });
  const none = (await (await fetch(`${srv.url}/import/nativeonly`)).json()) as Record<string, unknown>;
  assert.is(none.error, 'ModuleNotFoundError');
});

files('a package with no fallback fails the boot with a message naming it and what to do', async ({ proj, site }) => {
  const run = await runCli(['--chdir', proj, 'nativeapp:app'], { timeoutMs: 90_000 });
  assert.is.not(run.code, 0);
  const so = path.join(site, 'nativeonly/_core.cpython-313-x86_64-linux-gnu.so');
  assert.ok(
    run.stderr.includes(`package 'nativeonly' cannot be imported: its extension module ${so} is built for the host's CPython (Linux, ${MACHINE})`),
    run.stderr,
  );
  assert.match(run.stderr, /Install a pure-Python version of 'nativeonly' \(or a build for Pyodide\)/);
  assert.not.match(run.stderr, /loadPackage|micropip/);
});

files.run();
