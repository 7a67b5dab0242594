// Boots one Pyodide interpreter with the host's directories mounted at their
// real paths, so the app's __file__, tracebacks and relative reads look the
// same as under Gunicorn.

import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadPyodide, type PyodideInterface } from 'pyodide';
import { installPythonThreadLog, pythonLogHost, pythonStdio, type PythonLogOptions } from '../log/error-log.js';
import { IMAGE_FD_ENV, hostObject, moduleOf, restoreHeap, restoreOptions, type ImageSource } from './snapshot.js';
import { instantiateCompiled, tuneWasmTiers, type InstantiateWasm, type WasmModule } from './wasm.js';
import { patchImports } from './host/imports.js';
import { HOST_API } from './host/python-api.js';
import { guardFileSystem, mountHost } from './host/filesystem.js';
import { installSqliteSleep } from './host/sqlite-sleep.js';
import { PYODIDE_DIR, PYTHON_DIR, type HostLayout, type PythonPrefix } from './layout.js';
import { codeCacheFile, loadCachedModule, type CacheState, type CachedModule, type CreateModule } from './code-cache.js';

export { PYODIDE_DIR, PYTHON_DIR, findUp, hostLayout, outermost, type HostLayout } from './layout.js';
export { compilePyodideWasm } from './wasm.js';

let createModule: Promise<CreateModule> | null = null;
let codeCache: { file: string; source: string; loaded: CachedModule | null } | null = null;

/**
 * Loads pyodide.asm.mjs in this thread with the V8 code cache in `dir`
 * (code-cache.ts), from the next boot on; saveCodeCache() writes it.
 */
export function useCodeCache(dir: string): void {
  const source = fs.readFileSync(ASM_FILE, 'utf8');
  codeCache = { file: codeCacheFile(dir, source), source, loaded: null };
}

/**
 * After a boot with useCodeCache(): writes the cache when there was none that
 * V8 took. Returns what became of the cache found, and whether one was written.
 */
export function saveCodeCache(): { found: CacheState; written: boolean } | null {
  const loaded = codeCache?.loaded;
  if (!loaded) return null;
  return { found: loaded.cache, written: loaded.cache !== 'used' && loaded.save() };
}

const ASM_FILE = `${PYODIDE_DIR}pyodide.asm.mjs`;

function loadModuleFactory(): Promise<CreateModule> {
  if (codeCache) {
    const loaded = loadCachedModule(ASM_FILE, codeCache.source, codeCache.file);
    codeCache.loaded = loaded;
    if (loaded) return Promise.resolve(loaded.factory);
  }
  return import(pathToFileURL(ASM_FILE).href).then((m: { default: CreateModule }) => m.default);
}

/**
 * Pyodide's module factory (what loadPyodide imports from pyodide.asm.mjs),
 * with what this boot adds between the module's instantiation and Python's
 * start: the host's system calls (host/imports.ts), the module compiled
 * ahead, the snapshot's heap.
 */
function moduleFactory(mode: BootMode, wasm: Promise<WasmModule | null> | undefined): CreateModule {
  createModule ??= loadModuleFactory();
  return async (settings) => {
    if (wasm) instantiateCompiled(settings, wasm);
    withHostImports(settings);
    const mod = await (await createModule!)(settings);
    if (mode.kind === 'restore') restoreHeap(mod, mode.image);
    return mod;
  };
}

/**
 * Makes Emscripten's `instantiateWasm` hook (Pyodide's, maybe wrapped by
 * instantiateCompiled) install the host layer's system calls into the
 * imports first, so that the main module and every side module link to them.
 */
function withHostImports(settings: object): void {
  const s = settings as { instantiateWasm?: InstantiateWasm };
  const inner = s.instantiateWasm;
  if (!inner) throw new Error('Pyodide did not set instantiateWasm: the host layer cannot be installed');
  s.instantiateWasm = (imports, success) => {
    patchImports(imports as { env?: Record<string, unknown> }, settings);
    return inner(imports, success);
  };
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

/**
 * --reload: the directory where a worker's Python lists the source files it
 * has loaded (python/nicorn/reload.py), for the arbiter (src/arbiter/code-reload.ts).
 */
export const RELOAD_DIR_ENV = 'NICORN_RELOAD_DIR';
/**
 * Set (to 1) for a worker of a --reload round: if the changed code does not
 * import, the worker fails its boot (the arbiter keeps the old workers)
 * instead of serving Gunicorn's traceback page, which it would do from its
 * first accepted request on, before the arbiter could tell.
 */
export const RELOAD_TRIAL_ENV = 'NICORN_RELOAD_TRIAL';

/** Variables of the host's environment that are nicorn-py's own plumbing, not the app's. */
const PRIVATE_ENV = [IMAGE_FD_ENV, RELOAD_DIR_ENV, RELOAD_TRIAL_ENV];

/** The interpreter's environment: this process's, plus `extraEnv` (raw_env). */
export function interpreterEnv(extraEnv: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !PRIVATE_ENV.includes(k)) env[k] = v;
  return Object.assign(env, extraEnv);
}

/**
 * How an interpreter comes to life: booted, booted to be snapshotted (with
 * the app: --preload; before the app: the base snapshot, which leaves the
 * layout's sys.prefix to the worker restoring it), or restored from an image.
 */
export type BootMode =
  | { kind: 'fresh' }
  | { kind: 'for-snapshot' }
  | { kind: 'for-base' }
  /** `forSnapshot`: to be snapshotted again (the --preload maker, from the base image). */
  | { kind: 'restore'; image: ImageSource; forSnapshot?: boolean };

/** Whether an interpreter booted in `mode` is to be snapshotted (Pyodide must know before it starts). */
const forSnapshot = (mode: BootMode): boolean => mode.kind === 'for-snapshot' || mode.kind === 'for-base' || (mode.kind === 'restore' && mode.forSnapshot === true);

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
 * `layout` may be a promise: Python starts, and the host directories are
 * mounted, only once it resolves; what comes before (loading, instantiating
 * and linking the module) needs nothing of the caller's and runs meanwhile.
 */
export async function bootPyodide(
  layout: HostLayout | Promise<HostLayout>,
  extraEnv: Record<string, string> = {},
  log?: PythonLogOptions,
  mode: BootMode = { kind: 'fresh' },
  wasm?: Promise<WasmModule | null>,
): Promise<PyodideInterface> {
  // A module compiled ahead was compiled with them (its thread set them); setting them again here would race V8's compiler threads.
  if (!wasm) tuneWasmTiers();
  const createPyodideModule = moduleFactory(mode, wasm);
  if (log) installPythonThreadLog(log);
  const py = await loadPyodide({
    // Pyodide would otherwise find itself from a stack trace, which source maps rewrite.
    indexURL: PYODIDE_DIR,
    env: interpreterEnv(extraEnv),
    stdout: (s) => pythonStdio.stdout.write(Buffer.from(s + '\n')),
    stderr: (s) => pythonStdio.stderr.write(Buffer.from(s + '\n')),
    // Before Python starts, so that a restored interpreter finds every path it knew.
    fsInit: async (FS) => mountHost(FS as never, await layout),
    ...(forSnapshot(mode) ? { _makeSnapshot: true } : {}),
    ...(mode.kind === 'restore' ? restoreOptions(mode.image) : {}),
    createPyodideModule,
  });
  // Emscripten keeps the hook, and with it the 9.6 MB of wasm bytes Pyodide
  // read, for the life of the module; it is never called again.
  delete (moduleOf(py) as { instantiateWasm?: unknown }).instantiateWasm;
  guardFileSystem(moduleOf(py).FS as never);
  // SQLite's busy wait sleeps instead of spinning (host/sqlite-sleep.ts).
  if (!forSnapshot(mode)) installSqliteSleep(moduleOf(py));
  // Looked up per write: capture_output and reopen() change where they go.
  py.setStdout({ write: (data: Uint8Array) => pythonStdio.stdout.write(data) });
  py.setStderr({ write: (data: Uint8Array) => pythonStdio.stderr.write(data) });
  if (mode.kind === 'restore') return py;
  py.registerJsModule('_nicorn_log', LOG_MODULE);
  py.registerJsModule('_nicorn_host', HOST_API);
  py.runPython(`import sys\nsys.path.append(${JSON.stringify(PYTHON_DIR)})`);
  // Pyodide starts in $HOME with "" first on sys.path, so every import lists
  // $HOME: the base image would depend on it, and was made again whenever a
  // name in the user's home came or went. It is made in python/ instead
  // (part of its key already); a worker restoring it moves to its --chdir.
  if (mode.kind === 'for-base') py.runPython(`import os\nos.chdir(${JSON.stringify(PYTHON_DIR)})`);
  // Before the config file and the app; a restored --preload interpreter has it in its image (the layout is part of the image's key).
  if (mode.kind !== 'for-base') installPrefix(py, (await layout).prefix);
  return py;
}

/** sys.prefix and friends as CPython on the host has them (python/nicorn/host/prefix.py). */
export function installPrefix(py: PyodideInterface, { prefix, basePrefix }: PythonPrefix): void {
  py.runPython(`from nicorn.host import prefix\nprefix.install(${JSON.stringify(prefix)}, ${JSON.stringify(basePrefix)})`);
}
