// The worker class map, as Gunicorn's gunicorn/workers/__init__.py
// (SUPPORTED_WORKERS) and util.load_class: every name and path Gunicorn
// accepts for -k / worker_class, and what nicorn-py does with it. Settings
// validation (registry.ts, settings.ts) and the worker entry (worker/io-thread.ts,
// python/nicorn/workers/) both read it: a class is served only if it is here
// with `serves: true`.

import { ConfigError, pyRepr } from './validators.js';

interface ClassEntry {
  /** Gunicorn's dotted path for the name. */
  path: string;
  /** nicorn-py has this class. */
  serves: boolean;
  /** Why not, for the message a start with it stops with. */
  why?: string;
  /** The class that works in its place. */
  instead?: ServedWorkerClass;
  /** Another server's class that this one serves in its place (an info line says so at start). */
  servedBy?: ServedWorkerClass;
}

/** The classes a worker can run; the keys of `serves: true` entries. */
export type ServedWorkerClass = 'sync' | 'gthread' | 'asgi';

const GREEN =
  'it runs the app on green threads (monkey-patched sockets and a C event loop), and Pyodide cannot load those ' +
  'C extensions nor switch stacks; nicorn-py\'s Node I/O thread already holds idle and slow connections';

export const WORKER_CLASSES: Record<string, ClassEntry> = {
  sync: { path: 'gunicorn.workers.sync.SyncWorker', serves: true },
  /** One interpreter per thread (Pyodide cannot start threads): module globals are per interpreter. */
  gthread: { path: 'gunicorn.workers.gthread.ThreadWorker', serves: true },
  // Concurrency within a worker is what they are chosen for: gthread gives it.
  gevent: { path: 'gunicorn.workers.ggevent.GeventWorker', serves: false, why: GREEN, instead: 'gthread' },
  gevent_wsgi: { path: 'gunicorn.workers.ggevent.GeventPyWSGIWorker', serves: false, why: GREEN, instead: 'gthread' },
  gevent_pywsgi: { path: 'gunicorn.workers.ggevent.GeventPyWSGIWorker', serves: false, why: GREEN, instead: 'gthread' },
  eventlet: { path: 'gunicorn.workers.geventlet.EventletWorker', serves: false, why: GREEN, instead: 'gthread' },
  tornado: {
    path: 'gunicorn.workers.gtornado.TornadoWorker',
    serves: false,
    why: "it runs Tornado's IOLoop as the server, and nicorn-py's server is Node's: only WSGI apps are served",
  },
  /** One interpreter running an asyncio event loop with many requests in flight (python/nicorn/asgi/). */
  asgi: { path: 'gunicorn.workers.gasgi.ASGIWorker', serves: true },
  // Uvicorn's worker classes, as apps are commonly deployed with them: the asgi class serves the same apps.
  'uvicorn.workers.UvicornWorker': { path: 'uvicorn.workers.UvicornWorker', serves: true, servedBy: 'asgi' },
  'uvicorn_worker.UvicornWorker': { path: 'uvicorn_worker.UvicornWorker', serves: true, servedBy: 'asgi' },
  ginterpreter: {
    path: 'gunicorn.workers.ginterpreter.InterpreterWorker',
    serves: false,
    why: 'Pyodide has no subinterpreters',
  },
};

/** The class that works in place of any other. */
const NEAREST: ServedWorkerClass = 'sync';

/**
 * The class name a worker_class value means, as Gunicorn's load_class reads
 * it: a name (optionally '#name' or 'egg:gunicorn#name') or Gunicorn's dotted
 * path; null when it is neither (a custom class: a Python path Gunicorn would import).
 */
export function workerClassName(value: string): string | null {
  let s = value.trim();
  if (s.startsWith('egg:gunicorn#')) s = s.slice('egg:gunicorn#'.length);
  while (s.startsWith('#')) s = s.slice(1);
  if (Object.hasOwn(WORKER_CLASSES, s)) return s;
  for (const [name, entry] of Object.entries(WORKER_CLASSES)) if (entry.path === s) return name;
  return null;
}

/**
 * The class a worker runs for worker_class and threads, as Gunicorn's
 * Config.worker_class: `sync` with more than one thread is gthread. Throws
 * the error a start stops with when nicorn-py cannot run it, naming why and
 * the class that works.
 */
export function servedWorkerClass(value: string, threads: number): ServedWorkerClass {
  const named = workerClassName(value);
  if (named === null) {
    throw new ConfigError(
      `worker_class ${pyRepr(value)}: nicorn-py cannot load a custom worker class (its workers are TypeScript, not ` +
        `Python classes); the classes it knows are Gunicorn's names and paths (${Object.keys(WORKER_CLASSES).join(', ')}). ` +
        `Use -k ${NEAREST}.`,
    );
  }
  const name = named === 'sync' && threads > 1 ? 'gthread' : named;
  const entry = WORKER_CLASSES[name]!;
  if (!entry.serves) {
    const asked = name === named ? `worker_class ${pyRepr(value)}` : `threads = ${threads} (with worker_class ${pyRepr(value)}, Gunicorn runs gthread)`;
    throw new ConfigError(`${asked} cannot run on nicorn-py: ${entry.why}. Instead, use -k ${entry.instead ?? NEAREST}.`);
  }
  return entry.servedBy ?? (name as ServedWorkerClass);
}

/** The info line a start logs when worker_class names another server's class that nicorn-py serves with its own. */
export function workerClassNote(value: string): string | null {
  const named = workerClassName(value);
  const servedBy = named === null ? undefined : WORKER_CLASSES[named]!.servedBy;
  return servedBy ? `Worker class ${value} is served by nicorn-py's ${servedBy} worker class (-k ${servedBy})` : null;
}

/**
 * What "Using worker:" names, as Gunicorn's Config.worker_class_str: the
 * setting as given, but `gthread` for sync (by name or its class path) with
 * more than one thread.
 */
export function workerClassLabel(value: string, threads: number): string {
  const isSync = value.endsWith('SyncWorker') || value === 'sync';
  return isSync && threads > 1 ? 'gthread' : value;
}
