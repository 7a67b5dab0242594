// What the arbiter and a worker process say to each other over IPC.

import type { Settings } from '../config/registry.js';

export type ArbiterMessage =
  | { kind: 'init'; settings: Settings; listeners: number }
  /** Carries one bound listener handle, in --bind order. */
  | { kind: 'listener'; index: number };

export type WorkerMessage = { kind: 'ready' };
