// The arbiter's config interpreter: a Pyodide that executes gunicorn.conf.py
// (only when there is one) and later runs the arbiter-side server hooks in the
// arbiter's own process, as Gunicorn runs them in its master.

import fs from 'node:fs';
import type { PyodideInterface } from 'pyodide';
import { findBaseImage } from '../runtime/base-image.js';
import { bootPyodide, hostLayout, installPrefix, interpreterEnv, useCodeCache, type HostLayout } from '../runtime/boot.js';
import { cacheDir } from '../runtime/snapshot-cache.js';
import { imageFromFd } from '../runtime/snapshot.js';
import { setLogTimeZone } from '../log/log-clock.js';

/** Where the config file comes from: a path, or `python:pkg.module`. */
export interface ConfigSource {
  path: string | null;
  module: string | null;
}

/** What an arbiter-side hook sees of the arbiter (its `server` argument). */
export interface ArbiterState {
  pid: number;
  num_workers: number;
  workers: { pid: number; age: number }[];
  listeners: string[];
  /** The `worker` argument, for pre_fork and child_exit. */
  worker?: { pid: number | null; age: number; alive: boolean };
  /** Further positional arguments (nworkers_changed's new and old value). */
  args?: unknown[];
}

export interface LoadedConfig {
  values: Record<string, unknown>;
  hooks: string[];
}

export class ConfigFileError extends Error {}

/**
 * The interpreter from the base snapshot (src/runtime/base-image.ts), as
 * workers start from it, when the cache has a current one: seconds sooner
 * than a boot, before the config file runs. Null: boot (the first worker of
 * a new install makes the snapshot, not the arbiter, which would wait for it).
 */
export async function restoreBase(layout: HostLayout, env: Record<string, string>): Promise<PyodideInterface | null> {
  const found = findBaseImage();
  if (found.kind !== 'hit') return null;
  try {
    useCodeCache(cacheDir());
    const py = await bootPyodide(layout, env, undefined, { kind: 'restore', image: imageFromFd(found.fd) });
    installPrefix(py, layout.prefix);
    const config = py.pyimport('nicorn.config');
    const pyEnv = py.toPy(interpreterEnv(env));
    config.restore_process(process.pid, layout.cwd, pyEnv);
    pyEnv.destroy();
    config.app_paths(layout.cwd, layout.pythonPath, layout.siteDirs);
    config.destroy();
    return py;
  } catch {
    // A damaged image: booting is what it would have saved.
    return null;
  } finally {
    fs.closeSync(found.fd);
  }
}

/** The interpreter's os.environ. */
function environOf(py: PyodideInterface): Record<string, string> {
  return JSON.parse(py.pyimport('nicorn.config').environ_json() as string) as Record<string, string>;
}

export class ConfigInterpreter {
  private constructor(
    private readonly py: PyodideInterface,
    readonly source: ConfigSource | null,
    readonly hooks: ReadonlySet<string>,
    /** os.environ as Python had it when last brought to process.env (syncEnviron). */
    private environ: Record<string, string>,
  ) {}

  /** Boots Pyodide with the app's directories; runs the config file when there is one. */
  static async boot(opts: {
    source: ConfigSource | null;
    chdir: string;
    pythonpath: string[];
    env: Record<string, string>;
    settingNames: string[];
    hookArities: Record<string, number>;
  }): Promise<{ interpreter: ConfigInterpreter; loaded: LoadedConfig }> {
    const extra = opts.source?.path ? [opts.source.path.replace(/\/[^/]*$/, '') || '/'] : [];
    const layout = hostLayout(opts.chdir, opts.pythonpath, extra);
    let py = await restoreBase(layout, opts.env);
    if (!py) {
      py = await bootPyodide(layout, opts.env);
      // JS arrays arrive as iterable JsProxy objects, which is all prepare_process needs.
      py.pyimport('nicorn.config').prepare_process(process.pid, layout.cwd, layout.pythonPath, layout.siteDirs);
    }
    const booted = environOf(py);
    let loaded: LoadedConfig = { values: {}, hooks: [] };
    if (opts.source) {
      const config = py.pyimport('nicorn.config');
      const names = py.toPy(opts.settingNames);
      const arities = py.toPy(opts.hookArities);
      const out = JSON.parse(config.load(opts.source.path, opts.source.module, names, arities) as string) as
        | LoadedConfig
        | { error: string };
      names.destroy();
      arities.destroy();
      if ('error' in out) throw new ConfigFileError(out.error);
      loaded = out;
    }
    const interpreter = new ConfigInterpreter(py, opts.source, new Set(loaded.hooks), booted);
    interpreter.syncEnviron();
    return { interpreter, loaded };
  }

  /**
   * Brings what Python changed in os.environ since the last look (the config
   * file, a hook) to this process's environment, which every worker started
   * later inherits, as Gunicorn's forked workers inherit the master's
   * os.environ (on_starting setting DJANGO_SETTINGS_MODULE, a Django
   * TIME_ZONE's TZ). The arbiter's log lines follow TZ from then on, as
   * Gunicorn's do after time.tzset().
   */
  private syncEnviron(): void {
    const now = environOf(this.py);
    for (const [key, value] of Object.entries(now)) if (this.environ[key] !== value) process.env[key] = value;
    for (const key of Object.keys(this.environ)) if (!(key in now)) delete process.env[key];
    this.environ = now;
    setLogTimeZone(process.env.TZ ?? null, process.env.TZDIR ?? null);
  }

  /** Hands the final settings to the hook objects (server.cfg). */
  init(settings: object, loglevel: string): void {
    this.py.pyimport('nicorn.hooks').arbiter_init(JSON.stringify(settings), loglevel);
  }

  /** Runs an arbiter-side hook; returns the traceback when it raised. */
  callHook(name: string, state: ArbiterState): string | null {
    if (!this.hooks.has(name)) return null;
    const tb = this.py.pyimport('nicorn.hooks').arbiter_call(name, JSON.stringify(state)) as string;
    this.syncEnviron();
    return tb || null;
  }

  /** Runs a dirty arbiter hook (src/dirty/messages.ts's hook message, as JSON); returns the traceback when it raised. */
  callDirtyHook(name: string, message: string): string | null {
    if (!this.hooks.has(name)) return null;
    const tb = this.py.pyimport('nicorn.hooks').dirty_call(name, message) as string;
    return tb || null;
  }

  /**
   * logconfig, logconfig_dict, logconfig_json (python/nicorn/logconfig.py):
   * applies them to this interpreter's logging, over gunicorn.error's own
   * handler, as Gunicorn's Logger.setup does. Null when applied; else
   * Gunicorn's message and the traceback.
   */
  setupLogging(settings: object): { message: string; traceback: string } | null {
    const out = this.logconfig().setup_json(JSON.stringify(settings)) as string;
    return out ? (JSON.parse(out) as { message: string; traceback: string }) : null;
  }

  /** A line of the Node side (`pid`: the arbiter's or a worker's) as a record of gunicorn.error. */
  emitLog(level: string, message: string, pid: number): void {
    this.logconfig().emit(level, message, pid);
  }

  /** An access line's atoms (a worker's, `pid`), as Gunicorn's Logger.access logs them to gunicorn.access. */
  emitAccess(format: string, atoms: Record<string, string>, pid: number): void {
    this.logconfig().access(format, JSON.stringify(atoms), pid);
  }

  /** USR1: the configuration's log files are opened again. */
  reopenLogFiles(): void {
    this.logconfig().reopen_files();
  }

  private logModule: ReturnType<PyodideInterface['pyimport']> | null = null;

  /** The module, imported once: access lines come once per request. */
  private logconfig(): ReturnType<PyodideInterface['pyimport']> {
    return (this.logModule ??= this.py.pyimport('nicorn.logconfig'));
  }

  /** --check-config: imports the app here; returns the traceback when that fails. */
  checkApp(app: string): string | null {
    const out = this.py.runPython(
      `import traceback\nfrom nicorn.loader import import_app\ntry:\n    import_app(${JSON.stringify(app)})\n    _r = ""\nexcept BaseException:\n    _r = traceback.format_exc()\n_r`,
    ) as string;
    return out || null;
  }
}
