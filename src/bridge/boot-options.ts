// The one object a worker's Python boot() takes (python/nicorn/workers/base.py,
// BootOptions: a dataclass with exactly these names, so a key missing or
// added on one side stops the worker's boot with a TypeError naming it).
// The worker base fills in its part (WorkerBootOptions); the Python thread
// adds what only it knows (where the interpreter came from, its inbox) and
// hands the whole to Python as is.

import type { ConfigSource } from '../config/interpreter.js';

export interface BootOptions {
  /** The worker class, as the class map names it (config/worker-classes.ts). */
  worker_class: string;
  /** APP_MODULE. */
  app: string;
  workers: number;
  /** --threads: wsgi.multithread is threads > 1, as in Gunicorn. */
  threads: number;
  loglevel: string;
  pid: number;
  /** The arbiter's pid and this worker's age (its spawn number), for hooks. */
  ppid: number;
  age: number;
  /** Every setting, JSON, for server.cfg / worker.cfg in hooks. */
  settings: string;
  /** The config file, run again in the worker because worker-side hooks live in it. */
  config: ConfigSource | null;
  /** The server hooks the config file defines. */
  hook_names: string[];
  /** Lower-cased environ names the access log asks for ({name}e atoms). */
  access_env: string[];
  /** --check-wsgi: where this worker's Python records violations, else null. */
  check_wsgi_dir: string | null;
  /** From the host layout (runtime/layout.ts). */
  cwd: string;
  pythonpath: string[];
  site_dirs: string[];
  host_roots: string[];
  /** From the Python thread. */
  inbox_size: number;
  max_recursion_limit: number;
  /** 'preload': from the arbiter's snapshot, app imported; 'base': from the base snapshot; '': booted. */
  restored: '' | 'base' | 'preload';
  /** The environment the interpreter's os.environ gets. */
  env: Record<string, string>;
  /** --reload: where the worker reports the source files it imported (arbiter/code-reload.ts), else null. */
  reload_dir: string | null;
  /** A worker of a --reload round: an app that does not import fails the boot (no traceback page). */
  reload_trial: boolean;
}

/** The part the worker base knows; the Python thread adds the rest. */
export type WorkerBootOptions = Omit<
  BootOptions,
  'cwd' | 'pythonpath' | 'site_dirs' | 'host_roots' | 'inbox_size' | 'max_recursion_limit' | 'restored' | 'env' | 'reload_dir' | 'reload_trial'
>;
