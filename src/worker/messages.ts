// What the arbiter and a worker process say to each other over IPC.

import type { ConfigSource } from '../config/interpreter.js';
import type { Settings } from '../config/registry.js';
import type { LogLevel } from '../log/levels.js';

/**
 * How long a worker's Python has, after INT/QUIT/ABRT, to run worker_int or
 * worker_abort (and log the stuck frames) before the worker leaves without them.
 * Unwinding takes 20-130 ms here (idle, and beside 6 busy loops on 2 cores);
 * on a loaded CI machine it took past 2 s, so worker_abort never ran.
 */
export const INTERRUPT_GRACE_MS = 5000;

export type ArbiterMessage =
  | {
      kind: 'init';
      settings: Settings;
      /** How many listener messages follow. */
      listeners: number;
      /** Gunicorn's worker.age: this worker's spawn number. */
      age: number;
      /** The config file, for the worker-side hooks it defines. */
      config: ConfigSource | null;
      hooks: string[];
      /** --check-wsgi: the directory the worker records violations in (src/arbiter/wsgi-check.ts), else null. */
      checkWsgiDir: string | null;
    }
  /** Carries one bound listener handle, in --bind order. */
  | { kind: 'listener'; index: number };

export type InitMessage = Extract<ArbiterMessage, { kind: 'init' }>;

/** What a worker process receives before it serves: the init message and the listeners' handles, in --bind order. */
export interface Init {
  init: InitMessage;
  handles: unknown[];
}

export type WorkerMessage =
  | { kind: 'ready' }
  /** Every second: the I/O thread is alive; Python has been in one request this long. */
  | { kind: 'heartbeat'; busyMs: number }
  /**
   * The worker should be replaced (--max-requests, --max-worker-memory). It
   * keeps serving until the arbiter, once a replacement serves, sends TERM.
   */
  | { kind: 'retire' }
  /** With a log configuration (src/log/log-config.ts): a line of this worker's I/O thread, for the arbiter to emit. */
  | { kind: 'log'; level: LogLevel; message: string }
  /** With a log configuration: one request's access-log atoms (Gunicorn's names), for the arbiter to emit. */
  | { kind: 'access'; atoms: Record<string, string> };
