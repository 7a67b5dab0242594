// What a worker process is given to keep its memory small. Each worker holds
// two V8 isolates (the I/O thread and the Python thread) and a compiled
// CPython; the defaults of glibc and V8 are tuned for one big long-lived
// process and leave tens of MB per worker resident after boot.
// Measured on the Flask fixture, VmRSS of one worker after 3 s of load:
// 205 MB with the defaults; 163 MB with MALLOC_TUNABLES; 151 MB with the
// Python thread's young generation capped too; 145 MB with the I/O thread's
// semi-space capped as well (docs/benchmarks.md has the current figures).

import type { ResourceLimits } from 'node:worker_threads';

/**
 * Compiling CPython's WebAssembly leaves glibc's per-thread arenas full of
 * freed compiler memory that is never given back. A fixed mmap threshold
 * sends blocks of 32 KiB and more straight to the kernel (and back on free),
 * and a small trim threshold returns the top of the arenas.
 * Costs a mmap/munmap pair per socket read batch (node reads into 64 KiB
 * buffers): about one per three requests under load.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=32768:glibc.malloc.trim_threshold=32768';

/**
 * The I/O thread's young generation: node lets it grow to 2 x 16 MiB under
 * allocation pressure; node:http's per-request garbage dies young either way.
 */
const IO_THREAD_V8_FLAGS = ['--max-semi-space-size=2'];

/** The Python thread allocates little JavaScript per request (two calls into the bridge). */
export const PYTHON_THREAD_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 6 };

/** The node flags a worker process starts with: the arbiter's own, then ours unless the user set them. */
export function workerExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const own = IO_THREAD_V8_FLAGS.filter((flag) => !parent.some((p) => p.startsWith(flag.split('=')[0]!)));
  return [...parent, ...own];
}

/** A worker's environment: `base` plus the malloc tunables, unless the user chose their own. */
export function workerEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return base.GLIBC_TUNABLES === undefined ? { ...base, GLIBC_TUNABLES: MALLOC_TUNABLES } : base;
}

/** Whether `env`'s GLIBC_TUNABLES is the one workerEnv added (plumbing the app should not see). */
export function addedTunables(env: NodeJS.ProcessEnv): boolean {
  return env.GLIBC_TUNABLES === MALLOC_TUNABLES;
}
