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

export interface WorkerClass {
  /** Configures the launched interpreter (main.ts started it early) and returns the dispatcher once the app is loaded. */
  start(launched: LaunchedThread, config: PythonThreadConfig): Promise<WorkerDispatcher>;
}

export const WORKER_CLASS_IMPLEMENTATIONS: Record<ServedWorkerClass, WorkerClass> = {
  /** One interpreter, one request at a time. */
  sync: {
    async start(launched, config) {
      return new InterpreterPool([await Interpreter.start(launched, config)], SYNC_INFLIGHT);
    },
  },
};
