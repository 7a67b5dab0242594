// Memory snapshots: the on-disk cache (what makes an image stale), and
// making and restoring an image in this process — the heap grown before the
// restore, the host objects re-attached, what an image cannot carry refused
// with a clear reason, and the per-process state a restored worker resets.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { PyodideInterface } from 'pyodide';
import { bootPyodide, compilePyodideWasm, hostLayout } from '../../src/runtime/boot.js';
import { SnapshotCache, cacheDir, identityKey, installIdentity } from '../../src/runtime/snapshot-cache.js';
import type { HostReads } from '../../src/runtime/snapshot-maker.js';
import { SnapshotError, imageFromBytes, imageFromFd, imageHeapSize, makeImage, moduleOf, sourceOf, trackHostReads } from '../../src/runtime/snapshot.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-snapshot-')));

// ---------------------------------------------------------------- the cache

const cache = suite<{ dir: string; app: string; pkg: string; reads: HostReads }>('snapshot cache');

cache.before.each((ctx) => {
  const root = fs.mkdtempSync(path.join(tmp, 'cache-'));
  ctx.dir = path.join(root, 'cache');
  ctx.pkg = path.join(root, 'app');
  fs.mkdirSync(ctx.pkg);
  ctx.app = path.join(ctx.pkg, 'app.py');
  fs.writeFileSync(ctx.app, 'VERSION = 1\n');
  ctx.reads = { files: [ctx.app], dirs: [ctx.pkg], environ: ['APP_MODE'] };
});

const IMAGE = new Uint8Array(4096).fill(7);
const ENV = { APP_MODE: 'prod', HOME: '/home/u', LANG: 'C.UTF-8' };

cache('cacheDir: $XDG_CACHE_HOME/nicorn-py, else ~/.cache/nicorn-py', () => {
  assert.is(cacheDir({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/nicorn-py');
  assert.is(cacheDir({}), path.join(os.homedir(), '.cache', 'nicorn-py'));
  assert.is(cacheDir({ XDG_CACHE_HOME: 'relative' }), path.join(os.homedir(), '.cache', 'nicorn-py'), 'a relative XDG_CACHE_HOME is ignored, as the spec says');
});

cache('identityKey: the same identity gives the same key; any difference another', () => {
  const id = { pyodide: '1', app: 'app:app', layout: { cwd: '/a' } };
  assert.is(identityKey(id), identityKey({ ...id }));
  assert.is.not(identityKey(id), identityKey({ ...id, app: 'app:other' }));
});

cache("installIdentity: a rebuilt bundle of nicorn-py's or a changed Pyodide file is another install", () => {
  const code = fs.mkdtempSync(path.join(tmp, 'code-'));
  const pyodide = fs.mkdtempSync(path.join(tmp, 'pyodide-'));
  fs.writeFileSync(path.join(code, 'cli.js'), 'one');
  fs.writeFileSync(path.join(code, 'cli.js.map'), 'map');
  for (const f of ['pyodide.asm.wasm', 'pyodide.asm.mjs', 'python_stdlib.zip']) fs.writeFileSync(path.join(pyodide, f), f);
  const id = () => identityKey(installIdentity(code, pyodide));
  const first = id();
  assert.is(id(), first, 'the same files: the same install');
  fs.writeFileSync(path.join(code, 'cli.js.map'), 'another map');
  assert.is(id(), first, 'source maps are not code');
  fs.writeFileSync(path.join(code, 'cli.js'), 'two');
  const rebuilt = id();
  assert.is.not(rebuilt, first, 'a rebuilt bundle');
  fs.writeFileSync(path.join(code, 'chunk-X.js'), '');
  assert.is.not(id(), rebuilt, 'a new chunk');
  const before = id();
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(pyodide, 'python_stdlib.zip'), later, later);
  assert.is.not(id(), before, "Pyodide's standard library replaced");
  const again = id();
  fs.rmSync(path.join(pyodide, 'pyodide.asm.wasm'));
  assert.is.not(id(), again, "Pyodide's interpreter gone");
  // Another node line: its own images (one made under Node 26 fails to restore under Node 20).
  const engine = { node: process.version, v8: process.versions.v8 };
  const gone = id();
  assert.is(identityKey(installIdentity(code, pyodide, engine)), gone, 'the running engine by default');
  assert.is.not(identityKey(installIdentity(code, pyodide, { ...engine, node: 'v26.10.0', v8: '14.6.202.31-node.17' })), gone, 'another node');
});

cache('a stored image is found while nothing it was made from changed; it is private to the user', ({ dir, reads }) => {
  const c = new SnapshotCache(dir);
  assert.equal(c.lookup('k', ENV), { kind: 'miss', why: 'no snapshot yet' });
  const file = c.store('k', IMAGE, reads, ENV);
  assert.equal(c.lookup('k', ENV), { kind: 'hit', file });
  assert.equal(new Uint8Array(fs.readFileSync(file)), IMAGE);
  assert.is(fs.statSync(file).mode & 0o777, 0o600);
  assert.is(fs.statSync(dir).mode & 0o777, 0o700);
});

cache('a changed file the app read makes the image stale, and says which', ({ dir, app, reads }) => {
  const c = new SnapshotCache(dir);
  c.store('k', IMAGE, reads, ENV);
  fs.writeFileSync(app, 'VERSION = 2\n');
  assert.equal(c.lookup('k', ENV), { kind: 'miss', why: `${app} changed` });
});

cache('a module added beside the app makes it stale; a log file or __pycache__ does not', ({ dir, pkg, reads }) => {
  const c = new SnapshotCache(dir);
  c.store('k', IMAGE, reads, ENV);
  fs.writeFileSync(path.join(pkg, 'access.log'), '');
  fs.mkdirSync(path.join(pkg, '__pycache__'));
  assert.is(c.lookup('k', ENV).kind, 'hit');
  fs.writeFileSync(path.join(pkg, 'helpers.py'), '');
  assert.equal(c.lookup('k', ENV), { kind: 'miss', why: `the contents of ${pkg} changed` });
});

cache('a variable the app read (or the locale) changing makes it stale; another variable does not', ({ dir, reads }) => {
  const c = new SnapshotCache(dir);
  c.store('k', IMAGE, reads, ENV);
  assert.is(c.lookup('k', { ...ENV, HOME: '/elsewhere', SHLVL: '3' }).kind, 'hit');
  assert.equal(c.lookup('k', { ...ENV, APP_MODE: 'dev' }), { kind: 'miss', why: 'environment variable APP_MODE changed' });
  assert.equal(c.lookup('k', { HOME: '/home/u', LANG: 'C.UTF-8' }), { kind: 'miss', why: 'environment variable APP_MODE changed' });
  assert.equal(c.lookup('k', { ...ENV, LANG: 'de_DE.UTF-8' }), { kind: 'miss', why: 'environment variable LANG changed' });
  assert.equal(c.lookup('k', { ...ENV, PYTHONHASHSEED: '1' }), { kind: 'miss', why: 'environment variable PYTHONHASHSEED changed' });
});

cache('an app that went through all of os.environ depends on every variable but the volatile ones', ({ dir, reads }) => {
  const c = new SnapshotCache(dir);
  c.store('k', IMAGE, { ...reads, environ: null }, ENV);
  assert.is(c.lookup('k', { ...ENV, SHLVL: '2', INVOCATION_ID: 'x', NICORN_PID: '1' }).kind, 'hit');
  assert.equal(c.lookup('k', { ...ENV, NEW: '1' }), { kind: 'miss', why: 'environment variable NEW changed' });
});

cache('a damaged or missing image is not used', ({ dir, reads }) => {
  const c = new SnapshotCache(dir);
  const file = c.store('k', IMAGE, reads, ENV);
  fs.truncateSync(file, 100);
  assert.equal(c.lookup('k', ENV), { kind: 'miss', why: 'the snapshot file is damaged' });
  fs.rmSync(file);
  assert.equal(c.lookup('k', ENV), { kind: 'miss', why: 'the snapshot file is gone' });
});

cache('storing a new image for a key removes the one it replaces; other keys keep theirs', ({ dir, reads }) => {
  const c = new SnapshotCache(dir);
  const first = c.store('k', IMAGE, reads, ENV);
  const other = c.store('other', IMAGE, reads, ENV);
  const second = c.store('k', IMAGE, reads, ENV);
  assert.is.not(first, second);
  assert.not.ok(fs.existsSync(first));
  assert.ok(fs.existsSync(second));
  assert.ok(fs.existsSync(other));
  assert.equal(fs.readdirSync(dir).sort(), [path.basename(other), path.basename(second), 'k.json', 'other.json'].sort());
});

cache.run();

// ---------------------------------------------------------------- image files

const files = suite('image files');

files('bytecode read from __pycache__ counts as a read of its source', () => {
  assert.is(sourceOf('/app/__pycache__/views.cpython-314.pyc'), '/app/views.py');
  assert.is(sourceOf('/app/pkg/__pycache__/__init__.cpython-314.opt-1.pyc'), '/app/pkg/__init__.py');
  assert.is(sourceOf('/app/views.py'), '/app/views.py');
  assert.is(sourceOf('/app/legacy.pyc'), '/app/legacy.pyc');
  assert.is(sourceOf('/app/__pycache__/notes.txt'), '/app/__pycache__/notes.txt');
});

files('a truncated image is refused before Pyodide sees it', () => {
  const file = path.join(tmp, 'short.snap');
  for (const bytes of [new Uint8Array(8), new Uint8Array(new Uint32Array([0, 64, 0, 0]).buffer)]) {
    fs.writeFileSync(file, bytes);
    const fd = fs.openSync(file, 'r');
    try {
      assert.throws(() => imageFromFd(fd), (e: Error) => e instanceof SnapshotError && /truncated/.test(e.message));
    } finally {
      fs.closeSync(fd);
    }
    assert.throws(() => imageFromBytes(bytes), /truncated/);
  }
});

files('imageFromFd: the header now, the heap later, straight from the file, zero pages zero', () => {
  // Heap pages: data, zeros, data, zeros, and a short last page of data.
  const heapSize = 4 * 4096 + 100;
  const image = new Uint8Array(64 + heapSize);
  new Uint32Array(image.buffer, 0, 4).set([1, 64, 2, 0]);
  image.fill(9, 16, 64);
  const heapOf = (img: Uint8Array) => img.subarray(64);
  heapOf(image).fill(5, 0, 4096);
  heapOf(image).fill(6, 8192, 12288);
  heapOf(image).fill(7, 16384);
  const file = path.join(tmp, 'whole.snap');
  fs.writeFileSync(file, image);
  const fd = fs.openSync(file, 'r');
  try {
    for (const src of [imageFromFd(fd), imageFromBytes(image)]) {
      assert.equal(src.header, image.subarray(0, 64));
      assert.is(src.heapSize, heapSize);
      // A memory the fresh interpreter already wrote to: every page of the image must win.
      const heap = new Uint8Array(8 * 4096).fill(1, 4096, 8192);
      src.fill(heap);
      assert.equal(heap.subarray(0, heapSize), heapOf(image));
      assert.ok(heap.subarray(heapSize).every((b) => b === 0), 'beyond the image, untouched');
    }
    assert.is(imageHeapSize(image), heapSize);
  } finally {
    fs.closeSync(fd);
  }
});

files.run();

// ---------------------------------------------------------------- making and restoring

const live = suite<{ py: PyodideInterface; app: string; freshHeap: number; image: Uint8Array; reads: { files: Set<string>; dirs: Set<string> } }>(
  'making and restoring an image',
);

live('an interpreter booted for a snapshot imports the app; its host reads are recorded', async (ctx) => {
  ctx.app = fs.mkdtempSync(path.join(tmp, 'app-'));
  fs.writeFileSync(path.join(ctx.app, 'state.py'), 'import random\nCOUNTER = [41]\nSAMPLE = random.random()\n');
  ctx.py = await bootPyodide(hostLayout(ctx.app, []), {}, undefined, { kind: 'for-snapshot' });
  ctx.freshHeap = moduleOf(ctx.py).HEAP8.length;
  ctx.reads = trackHostReads(ctx.py);
  ctx.py.runPython(`
import sys
sys.path.insert(0, ${JSON.stringify(ctx.app)})
import state
state.COUNTER[0] += 1
# Grow the heap past a fresh interpreter's, as a real app does.
_big = bytearray(48 * 1024 * 1024)
del _big
`);
  assert.ok(ctx.reads.files.has(path.join(ctx.app, 'state.py')), 'the module file read');
  assert.ok(ctx.reads.dirs.has(ctx.app), 'the sys.path entry listed');
});

live('an open file cannot be carried: refused, naming the descriptor and the path', ({ py, app }) => {
  py.runPython(`held = open(${JSON.stringify(path.join(app, 'state.py'))})`);
  assert.throws(
    () => makeImage(py),
    (e: Error) => e instanceof SnapshotError && /file descriptor \d+ \(.*state\.py\) open after it is imported; a snapshot cannot carry open files/.test(e.message),
  );
  py.runPython('held.close(); del held');
});

live('a JavaScript object held by Python cannot be carried: refused, naming what it is', ({ py }) => {
  py.globals.set('held', new Map());
  assert.throws(() => makeImage(py), (e: Error) => e instanceof SnapshotError && /holds a JavaScript object \(\[object Map\]\)/.test(e.message));
  py.globals.delete('held');
  py.runPython('import gc; gc.collect()');
});

live('the image is larger than a fresh heap, and restores anyway (the memory is grown first)', async (ctx) => {
  ctx.image = makeImage(ctx.py);
  assert.ok(imageHeapSize(ctx.image) > ctx.freshHeap, `image heap ${imageHeapSize(ctx.image)} > fresh ${ctx.freshHeap}`);
  const restored = await bootPyodide(hostLayout(ctx.app, []), {}, undefined, { kind: 'restore', image: imageFromBytes(ctx.image) });
  const out = JSON.parse(
    restored.runPython(`
import json, os, sys, state, _nicorn_log
json.dumps({
  "counter": state.COUNTER[0],
  "log_module": _nicorn_log.to_stderr(),
  "listdir": sorted(os.listdir(${JSON.stringify(ctx.app)})),
  "empty_path_entries": sys.path.count(""),
})`) as string,
  ) as Record<string, unknown>;
  assert.is(out.counter, 42, 'Python state as it was when the image was made');
  assert.is(out.log_module, true, "_nicorn_log is this thread's log module again");
  assert.equal(out.listdir, ['state.py'], 'the host mounts are attached again');
  assert.is(out.empty_path_entries, 2, 'Pyodide adds its "" to sys.path again; restore_process removes it');
  // The per-process state a worker resets after a restore.
  const sample = restored.runPython('state.SAMPLE') as number;
  const reset = JSON.parse(
    restored.runPython(`
import json, os, random, sys
from nicorn import config
config.remember_host_env({"FROM_MAKER": "1", "KEPT": "old", "SAME": "host", "TZ": "UTC"})
os.environ["FROM_MAKER"] = "1"
os.environ["KEPT"] = "old"
os.environ["SAME"] = "host"
os.environ["PYODIDE_OWN"] = "stays"
# What the app did as it was imported (Django's TIME_ZONE).
os.environ["TZ"] = "Asia/Tokyo"
os.environ["APP_ONLY"] = "set by the app"
config.restore_process(4242, ${JSON.stringify(ctx.app)}, {"KEPT": "new", "SAME": "host", "TZ": "UTC", "NEW": "host"})
json.dumps({
  "pid": os.getpid(),
  "cwd": os.getcwd(),
  "env": [os.environ.get(k) for k in ("FROM_MAKER", "KEPT", "SAME", "PYODIDE_OWN", "TZ", "APP_ONLY", "NEW")],
  "empty_path_entries": sys.path.count(""),
  "random": random.random(),
})`) as string,
  ) as { pid: number; cwd: string; env: (string | null)[]; empty_path_entries: number; random: number };
  assert.is(reset.pid, 4242);
  assert.is(reset.cwd, ctx.app);
  assert.equal(
    reset.env,
    [null, 'new', 'host', 'stays', 'Asia/Tokyo', 'set by the app', 'host'],
    "what the host changed since the image is this process's; what the app set stays, as in a forked worker; Pyodide's own variables stay",
  );
  assert.is(reset.empty_path_entries, 1);
  assert.is.not(reset.random, sample);
});

live('restored from pyodide.asm.wasm compiled ahead: instantiated from that module, and the bytes are let go', async (ctx) => {
  type Instantiate = (source: unknown, imports: object) => Promise<unknown>;
  const wasmApi = (globalThis as unknown as { WebAssembly: { instantiate: Instantiate; Module: new (...a: never[]) => object } }).WebAssembly;
  const instantiate = wasmApi.instantiate;
  const sources: string[] = [];
  const spy: Instantiate = (source, imports) => {
    sources.push(source instanceof wasmApi.Module ? 'module' : 'bytes');
    return instantiate.call(wasmApi, source, imports);
  };
  wasmApi.instantiate = spy;
  try {
    const wasm = compilePyodideWasm();
    assert.ok(await wasm, 'compiled');
    const restored = await bootPyodide(hostLayout(ctx.app, []), {}, undefined, { kind: 'restore', image: imageFromBytes(ctx.image) }, wasm);
    assert.is(restored.runPython('import state; state.COUNTER[0]'), 42);
    assert.equal(sources, ['module'], 'the compiled module was instantiated, the bytes never compiled');
    assert.is(wasmApi.instantiate, spy, 'WebAssembly.instantiate is put back after Pyodide\'s one call');
    assert.is((moduleOf(restored) as { instantiateWasm?: unknown }).instantiateWasm, undefined, 'emscripten no longer holds the hook (nor the wasm bytes)');
    // A fresh boot takes the same module: one compile per thread, whatever the number of interpreters.
    const fresh = await bootPyodide(hostLayout(ctx.app, []), {}, undefined, { kind: 'fresh' }, wasm);
    assert.is(fresh.runPython('1 + 1'), 2);
    assert.equal(sources, ['module', 'module']);
  } finally {
    wasmApi.instantiate = instantiate;
  }
});

live('EnvironReads records the variables read, and whether all were', ({ py }) => {
  const out = JSON.parse(
    py.runPython(`
import json, os
from nicorn.config import EnvironReads
with EnvironReads() as a:
    os.environ.get("ONE"); os.getenv("TWO"); "THREE" in os.environ
with EnvironReads() as b:
    dict(os.environ)
json.dumps([sorted(a.names), a.everything, b.everything, type(os.environ).__getitem__.__name__])`) as string,
  ) as [string[], boolean, boolean, string];
  assert.equal(out, [['ONE', 'THREE', 'TWO'], false, true, '__getitem__']);
});

live.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

live.run();
