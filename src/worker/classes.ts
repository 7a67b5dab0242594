// The worker classes' I/O-thread halves, by the names of the class map
// (config/worker-classes.ts); their Python halves are python/nicorn/workers/.
// What every class shares (logs, privileges, signals, heartbeat,
// max-requests) is the worker base, io-thread.ts; a class only decides how
// its interpreters are started and how requests reach them (its dispatcher).

import type { ServedWorkerClass } from '../config/worker-classes.js';
import type { WorkerDispatcher } from '../bridge/dispatcher.js';
import { Interpreter, type LaunchedThread } from '../bridge/interpreter.js';
import type { PythonThreadConfig } from '../bridge/python-thread.js';
import { InterpreterPool, SYNC_INFLIGHT } from '../bridge/interpreter-pool.js';
import { AsgiDispatcher } from '../bridge/asgi-dispatcher.js';
import type { Settings } from '../config/registry.js';

export interface WorkerClass {
  /**
   * Configures the launched interpreter (main.ts started it early), and any
   * more the class runs (`launchMore`), and returns the dispatcher once the app
   * is loaded in each.
   */
  start(
    launched: LaunchedThread,
    config: PythonThreadConfig,
    launchMore: () => LaunchedThread,
    settings: Pick<Settings, 'worker_connections'>,
  ): Promise<WorkerDispatcher>;
}

export const WORKER_CLASS_IMPLEMENTATIONS: Record<ServedWorkerClass, WorkerClass> = {
  /** One interpreter, one request at a time. */
  sync: {
    async start(launched, config) {
      return new InterpreterPool([await Interpreter.start(launched, config)], SYNC_INFLIGHT);
    },
  },
  /**
   * --threads interpreters, as Pyodide cannot start threads: each serves one
   * request at a time, and a request goes to whichever is idle first (one
   * head per interpreter, so none waits behind a slow request while another
   * is idle). They share the WebAssembly module compiled once in this thread
   * (runtime/wasm.ts) and start from the same snapshot image. Each boots the
   * app and runs the worker hooks itself: module globals are per interpreter.
   */
  gthread: {
    async start(launched, config, launchMore) {
      const all = [launched, ...Array.from({ length: Math.max(0, config.boot.threads - 1) }, launchMore)];
      const started = await Promise.allSettled(all.map((l) => Interpreter.start(l, config)));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        // One failed to boot: the worker fails as a sync worker would, the others with it.
        await Promise.all(all.map((l) => l.thread.terminate()));
        throw failed.reason;
      }
      return new InterpreterPool(started.map((r) => (r as PromiseFulfilledResult<Interpreter>).value), 1);
    },
  },
  /**
   * One interpreter running an asyncio event loop (python/nicorn/asgi/): every
   * request goes to it at once, up to worker_connections in flight, as
   * Gunicorn's asgi worker serves that many connections on its loop.
   */
  asgi: {
    async start(launched, config, _launchMore, settings) {
      return new AsgiDispatcher(await Interpreter.start(launched, config), Math.max(1, settings.worker_connections));
    },
  },
};
