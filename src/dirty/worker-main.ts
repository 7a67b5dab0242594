// A dirty worker's process (Gunicorn 26's gunicorn/dirty/worker.py): one
// Pyodide on this thread with the dirty apps its dirty arbiter assigned,
// imported and init()ed once and kept for the life of the process
// (python/nicorn/dirty/worker.py). Requests arrive one at a time over IPC as
// dirty-protocol frames and are run by Python between turns of the event
// loop; a streamed action's chunks leave one turn at a time, so each reaches
// the client as it is produced. Python blocks this thread while an action
// runs: a stop signal is acted on once it returns (Gunicorn's graceful
// stop), and one past dirty_timeout is aborted by the dirty arbiter.

import type { PyodideInterface } from 'pyodide';
import type { PyProxy } from 'pyodide/ffi';
import { restoreBase } from '../config/interpreter.js';
import { procName } from '../config/settings.js';
import { ErrorLog } from '../log/error-log.js';
import { bootPyodide, hostLayout } from '../runtime/boot.js';
import { settleMalloc } from '../runtime/memory.js';
import { WORKER_BOOT_ERROR, type FromDirtyWorker, type ToDirtyWorker } from './messages.js';

type Init = Extract<ToDirtyWorker, { kind: 'init' }>;

/** What python/nicorn/dirty/worker.py's begin() and step() return. */
interface Step {
  frame: Uint8Array;
  /** A stream with more chunks to come: step() gives the next. */
  more: boolean;
}

const init = await new Promise<Init>((resolve) => {
  const onMessage = (m: ToDirtyWorker) => {
    if (m.kind !== 'init') return;
    process.off('message', onMessage);
    resolve(m);
  };
  process.on('message', onMessage);
  process.once('disconnect', () => process.exit(0));
});

const { settings } = init;
const log = ErrorLog.fromSettings(settings);
process.title = `nicorn-py: dirty-worker [${procName(settings)}]`;

let stopping = false;
let busy = false;
let runtime: PyProxy | null = null;
const queue: Uint8Array[] = [];

/** Closes the apps (their close(), Gunicorn's _cleanup) and leaves; after the running request, if any. */
function stop(): void {
  stopping = true;
  if (busy) return;
  try {
    runtime?.shutdown();
  } finally {
    process.exit(0);
  }
}
for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(sig, stop);
process.on('SIGUSR1', () => log.reopen());
// The dirty arbiter gone: nothing will send requests any more.
process.on('disconnect', stop);

function post(m: FromDirtyWorker): void {
  // The dirty arbiter gone meanwhile: 'disconnect' stops this process; the failed send is not an error of its own.
  if (process.connected) process.send!(m, undefined, undefined, () => {});
}

function call(fn: 'begin' | 'step', arg?: Uint8Array): Step {
  const out = (arg === undefined ? runtime![fn]() : runtime![fn](arg)) as PyProxy;
  const step = out.toJs({ dict_converter: Object.fromEntries }) as Step;
  out.destroy();
  return step;
}

async function serve(frame: Uint8Array): Promise<void> {
  busy = true;
  try {
    let step = call('begin', frame);
    post({ kind: 'frame', frame: step.frame });
    while (step.more) {
      // A turn of the event loop: the chunk is written to the IPC channel now.
      await new Promise((resolve) => setImmediate(resolve));
      step = call('step');
      post({ kind: 'frame', frame: step.frame });
    }
  } finally {
    busy = false;
  }
  if (stopping) stop();
}

async function drain(): Promise<void> {
  if (busy) return;
  let next: Uint8Array | undefined;
  while ((next = queue.shift()) && !stopping) await serve(next);
}

process.on('message', (m: ToDirtyWorker) => {
  if (m.kind !== 'request') return;
  // IPC hands a Buffer, a type Pyodide does not convert: its bytes as a plain Uint8Array.
  queue.push(new Uint8Array(m.frame));
  void drain();
});

async function boot(): Promise<PyodideInterface> {
  const extra = init.config?.path ? [init.config.path.replace(/\/[^/]*$/, '') || '/'] : [];
  const layout = hostLayout(settings.chdir, settings.pythonpath, extra);
  const restored = await restoreBase(layout, {});
  if (restored) return restored;
  const py = await bootPyodide(layout, {});
  py.pyimport('nicorn.config').prepare_process(process.pid, layout.cwd, layout.pythonPath, layout.siteDirs);
  return py;
}

const py = await boot();
const mod = py.pyimport('nicorn.dirty.worker');
const opts = {
  pid: process.pid,
  ppid: process.ppid,
  age: init.age,
  app_paths: init.appPaths,
  settings: JSON.stringify(settings),
  loglevel: settings.loglevel,
  config: init.config,
  hook_names: init.hooks,
};
runtime = mod.Runtime(JSON.stringify(opts)) as PyProxy;
mod.destroy();
const failure = runtime.boot() as string;
if (failure) {
  // Gunicorn's "Exception in dirty worker process", then WORKER_BOOT_ERROR.
  log.error(`Exception in dirty worker process\n${failure.trimEnd()}`);
  process.exit(WORKER_BOOT_ERROR);
}
if (stopping) stop();
post({ kind: 'ready', classWorkers: JSON.parse(runtime.class_workers() as string) as Record<string, unknown> });
// As a worker's (runtime/memory.ts): booted under malloc's defaults, served under the policy that gives memory back.
const malloc = settleMalloc();
if (malloc.kind === 'failed') log.debug(`malloc keeps its defaults: ${malloc.why}`);
