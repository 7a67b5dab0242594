// Boots one Pyodide interpreter with the host's directories mounted at their
// real paths, so the app's __file__, tracebacks and relative reads look the
// same as under Gunicorn.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadPyodide, type PyodideInterface } from 'pyodide';
import { installPythonThreadLog, pythonLogHost, pythonStdio, type PythonLogOptions } from '../log/error-log.js';
import { IMAGE_FD_ENV, hostObject, moduleOf, restoreHeap, restoreOptions, type ImageSource } from './snapshot.js';
import { addedTunables } from './memory.js';
import { compileWasm, instantiateCompiled, type WasmModule } from './wasm.js';

/** Where python/nicorn lives: the package's python/ folder, found upward from this bundle. */
export const PYTHON_DIR = findUp(path.dirname(fileURLToPath(import.meta.url)), 'python/nicorn/__init__.py');

/** The directory holding `rel` (its first segment), searched upward from `from`. */
export function findUp(from: string, rel: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, rel))) return path.join(dir, rel.split('/')[0]!);
    if (dir === path.dirname(dir)) throw new Error(`cannot find ${rel} above ${from}`);
  }
}

/** Where the pyodide package lives, with a trailing separator. */
export const PYODIDE_DIR = path.dirname(fileURLToPath(import.meta.resolve('pyodide'))) + path.sep;

/**
 * pyodide.asm.wasm, compiled in this thread (once): a worker's I/O thread
 * starts this when its process starts and hands the module to its Python
 * thread (PythonBridge.start), for bootPyodide's `wasm`.
 */
export function compilePyodideWasm(): Promise<WasmModule | null> {
  return compileWasm(`${PYODIDE_DIR}pyodide.asm.wasm`);
}

type PyodideConfig = NonNullable<Parameters<typeof loadPyodide>[0]>;
type CreateModule = NonNullable<PyodideConfig['createPyodideModule']>;

let createModule: Promise<CreateModule> | null = null;

/**
 * Pyodide's module factory (what loadPyodide imports from pyodide.asm.mjs),
 * with what this boot adds between the module's instantiation and Python's
 * start: the module compiled ahead, the snapshot's heap.
 */
function moduleFactory(mode: BootMode, wasm: Promise<WasmModule | null> | undefined): CreateModule | undefined {
  if (!wasm && mode.kind !== 'restore') return undefined;
  createModule ??= import(pathToFileURL(`${PYODIDE_DIR}pyodide.asm.mjs`).href).then((m: { default: CreateModule }) => m.default);
  return async (settings) => {
    if (wasm) instantiateCompiled(settings, wasm);
    const mod = await (await createModule!)(settings);
    if (mode.kind === 'restore') restoreHeap(mod, mode.image);
    return mod;
  };
}

export interface HostLayout {
  /** The working directory (--chdir), absolute. */
  cwd: string;
  /** --pythonpath entries, absolute, in the order given. */
  pythonPath: string[];
  /** site-packages of an active ($VIRTUAL_ENV) or local (.venv) virtualenv. */
  siteDirs: string[];
  /** Every host directory the interpreter sees, outermost only. */
  mounts: string[];
}

function venvSiteDirs(cwd: string): string[] {
  const venvs = [process.env.VIRTUAL_ENV, path.join(cwd, '.venv'), path.join(cwd, 'venv')];
  const out: string[] = [];
  for (const venv of venvs) {
    if (!venv || !fs.existsSync(path.join(venv, 'pyvenv.cfg'))) continue;
    const lib = path.join(venv, 'lib');
    for (const entry of fs.readdirSync(lib, { withFileTypes: true })) {
      const sp = path.join(lib, entry.name, 'site-packages');
      if (entry.isDirectory() && entry.name.startsWith('python') && fs.existsSync(sp)) out.push(sp);
    }
    break;
  }
  return out;
}

/** Keeps only the outermost directories: a mount already shows its subtree. */
export function outermost(dirs: string[]): string[] {
  const sorted = [...new Set(dirs.map((d) => path.resolve(d)))].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const d of sorted) {
    if (!kept.some((k) => k === '/' || d === k || d.startsWith(k + path.sep))) kept.push(d);
  }
  return kept;
}

/** `extra`: further host directories to show (a config file's folder). */
export function hostLayout(chdir: string, pythonPath: string[], extra: string[] = []): HostLayout {
  const cwd = path.resolve(chdir);
  const pp = pythonPath.map((p) => path.resolve(cwd, p));
  const siteDirs = venvSiteDirs(cwd);
  const existing = [cwd, ...pp, ...siteDirs, ...extra, os.tmpdir(), PYTHON_DIR].filter((d) => fs.existsSync(d));
  return { cwd, pythonPath: pp, siteDirs, mounts: outermost(existing.map((d) => fs.realpathSync(d))) };
}

export type { Output } from '../log/error-log.js';

/**
 * What python/nicorn/log.py imports as `_nicorn_log`: this thread's error log
 * (src/log/error-log.ts), looked up on every call so that the log set up
 * later (the arbiter's, after its config file ran) or reopened is the one used.
 * One object per thread: a snapshot refers to it by name (snapshot.ts).
 */
const LOG_MODULE = hostObject('_nicorn_log', {
  write: (text: string) => pythonLogHost().write(text),
  record: (level: string, message: string) => pythonLogHost().record(level, message),
  count: (kind: string) => pythonLogHost().count(kind),
  metric: (mtype: string, name: string, value: string) => pythonLogHost().metric(mtype, name, value),
  forward_records: () => pythonLogHost().forwardRecords,
  forward_counts: () => pythonLogHost().forwardCounts,
  to_stderr: () => pythonLogHost().toStderr,
});

/** Variables of the host's environment that are nicorn-py's own plumbing, not the app's. */
const PRIVATE_ENV = [IMAGE_FD_ENV];

/** The interpreter's environment: this process's, plus `extraEnv` (raw_env). */
export function interpreterEnv(extraEnv: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !PRIVATE_ENV.includes(k)) env[k] = v;
  if (addedTunables(process.env)) delete env.GLIBC_TUNABLES;
  return Object.assign(env, extraEnv);
}

/** How an interpreter comes to life: booted, booted to be snapshotted, or restored from an image. */
export type BootMode = { kind: 'fresh' } | { kind: 'for-snapshot' } | { kind: 'restore'; image: ImageSource };

/**
 * `extraEnv`: variables on top of this process's environment (raw_env).
 * `log`: in a worker's Python thread, the I/O thread's error log
 * (ErrorLog.forPythonThread()): the "gunicorn.error" logger, wsgi.errors and,
 * with capture_output, sys.stdout and sys.stderr write to it. Without it the
 * interpreter writes to this thread's error log (pythonStdio, the log host).
 * `mode`: a restored interpreter already has nicorn on sys.path and
 * `_nicorn_log` registered (they are in the image); its mounts are made again.
 * `wasm`: pyodide.asm.wasm compiled ahead (compilePyodideWasm(), maybe in
 * another thread); without it (or when it is null) Pyodide compiles it.
 */
export async function bootPyodide(
  layout: HostLayout,
  extraEnv: Record<string, string> = {},
  log?: PythonLogOptions,
  mode: BootMode = { kind: 'fresh' },
  wasm?: Promise<WasmModule | null>,
): Promise<PyodideInterface> {
  const createPyodideModule = moduleFactory(mode, wasm);
  if (log) installPythonThreadLog(log);
  const py = await loadPyodide({
    // Pyodide would otherwise find itself from a stack trace, which source maps rewrite.
    indexURL: PYODIDE_DIR,
    env: interpreterEnv(extraEnv),
    stdout: (s) => pythonStdio.stdout.write(Buffer.from(s + '\n')),
    stderr: (s) => pythonStdio.stderr.write(Buffer.from(s + '\n')),
    // Before Python starts, so that a restored interpreter finds every path it knew.
    fsInit: async (FS) => {
      for (const dir of layout.mounts) {
        FS.mkdirTree(dir);
        FS.mount(FS.filesystems.NODEFS, { root: dir }, dir);
      }
    },
    ...(mode.kind === 'for-snapshot' ? { _makeSnapshot: true } : {}),
    ...(mode.kind === 'restore' ? restoreOptions(mode.image) : {}),
    ...(createPyodideModule ? { createPyodideModule } : {}),
  });
  // Emscripten keeps the hook, and with it the 9.6 MB of wasm bytes Pyodide
  // read, for the life of the module; it is never called again.
  delete (moduleOf(py) as { instantiateWasm?: unknown }).instantiateWasm;
  // Looked up per write: capture_output and reopen() change where they go.
  py.setStdout({ write: (data: Uint8Array) => pythonStdio.stdout.write(data) });
  py.setStderr({ write: (data: Uint8Array) => pythonStdio.stderr.write(data) });
  if (mode.kind === 'restore') return py;
  py.registerJsModule('_nicorn_log', LOG_MODULE);
  py.runPython(`import sys\nsys.path.append(${JSON.stringify(PYTHON_DIR)})`);
  return py;
}
