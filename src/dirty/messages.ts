// What the three kinds of process of the dirty pool say to each other over IPC:
// the arbiter and its dirty arbiter, the dirty arbiter and its dirty workers.
// Requests and answers cross as whole dirty-protocol frames (protocol.ts).

import type { ConfigSource } from '../config/interpreter.js';
import type { Settings } from '../config/registry.js';

/** Gunicorn's exit code of a dirty worker that could not boot (an app that did not load or init). */
export const WORKER_BOOT_ERROR = 3;

/** The dirty arbiter as the dirty hooks see it (python/nicorn/hooks.py, DirtyArbiter). */
export interface DirtyArbiterView {
  pid: number;
  ppid: number;
  socket_path: string;
  num_workers: number;
  workers: DirtyWorkerView[];
}

/** A dirty worker as the dirty hooks see it (python/nicorn/hooks.py, DirtyWorker). */
export interface DirtyWorkerView {
  pid: number;
  age: number;
  app_paths: string[];
  booted: boolean;
  aborted: boolean;
}

/** Arbiter -> dirty arbiter. */
export type ToDirtyArbiter =
  | {
      kind: 'init';
      settings: Settings;
      /** The Unix socket HTTP workers connect to (GUNICORN_DIRTY_SOCKET), in `tmpdir`. */
      socketPath: string;
      tmpdir: string;
      config: ConfigSource | null;
      hooks: string[];
    }
  /** A hook ran (or there was none); `failed`: it raised (on_dirty_starting's failure ends the dirty arbiter, exit 255). */
  | { kind: 'hook-done'; seq: number; failed: boolean };

/** Dirty arbiter -> arbiter: a dirty hook to run in the config interpreter (`seq`: answered with hook-done). */
export type FromDirtyArbiter = {
  kind: 'hook';
  seq: number;
  name: 'on_dirty_starting' | 'dirty_post_fork' | 'dirty_worker_exit';
  arbiter: DirtyArbiterView;
  worker: DirtyWorkerView | null;
};

/** Dirty arbiter -> dirty worker. */
export type ToDirtyWorker =
  | {
      kind: 'init';
      settings: Settings;
      age: number;
      /** The apps this worker loads ("module:Class"), as the dirty arbiter assigned them. */
      appPaths: string[];
      config: ConfigSource | null;
      hooks: string[];
    }
  /** One request frame from a client, to run. */
  | { kind: 'request'; frame: Uint8Array };

/** Dirty worker -> dirty arbiter. */
export type FromDirtyWorker =
  /**
   * Every app is loaded and initialized; `classWorkers`: each app class's
   * `workers` attribute (Gunicorn reads it for apps given without `:N`).
   */
  | { kind: 'ready'; classWorkers: Record<string, unknown> }
  /** A frame answering the request in progress: response, error, chunk or end. */
  | { kind: 'frame'; frame: Uint8Array };
