// What a worker process is given to keep its memory small. Each worker holds
// two V8 isolates (the I/O thread and the Python thread) and a compiled
// CPython; the defaults of glibc and V8 are tuned for one big long-lived
// process and leave tens of MB per worker resident after boot.
// Measured on the Flask fixture, VmRSS of one worker after 3 s of load:
// 205 MB with the defaults; 163 MB with MALLOC_TUNABLES; 151 MB with the
// Python thread's young generation capped too; 145 MB with the I/O thread's
// semi-space capped as well (docs/benchmarks.md has the current figures).
// Then, after 5 s of wrk on / (medians; RssFile, 46 MB of it, is node's own
// binary and the same in every row):
//   --max-semi-space-size=2     Flask 142.2 MB   hello 148.8 MB
//   --max-semi-space-size=1     Flask 139.1 MB   hello 145.8 MB
// A worker's anonymous memory (~96 MB with 2 MiB semi-spaces) is: the wasm
// heap CPython touched (~23 MB), the Python thread's JS heap (~26 MB:
// Pyodide's exports, its ~10k WebAssembly.Global GOT entries, the module
// source), the I/O thread's (~12 MB), V8's copy of the wasm bytes (9.4 MB),
// wasm and JS machine code (~6 MB), malloc (~13 MB in arenas and brk) and the
// 2 MB channel. --optimize-for-size takes 7-8 MB more (it also halves the
// semi-spaces and compacts the old generation harder), but costs the I/O
// thread's JavaScript speed (hello 5-10% fewer requests per second); wasm
// lazy compilation is V8's default already; --liftoff-only saves ~4 MB of
// TurboFan code at CPython's speed; arena_max and a smaller pool of V8
// threads changed nothing measurable.

import type { ResourceLimits } from 'node:worker_threads';
import { PYTHON_THREAD_STACK_MB } from './stack.js';

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
 * Both threads' young generation (V8 flags are per process, and the flag wins
 * over a thread's resourceLimits): node lets a semi-space grow to 16 MiB
 * under allocation pressure; node:http's per-request garbage dies young
 * either way, and 1 MiB (V8's smallest) costs no measurable throughput.
 * Both semi-spaces of both isolates are resident after the first scavenges:
 * 1 MiB instead of 2 takes ~3 MB off a worker.
 */
const IO_THREAD_V8_FLAGS = ['--max-semi-space-size=1'];

/**
 * The Python thread allocates little JavaScript per request (two calls into
 * the bridge). Its young generation is in effect the flag's above; this cap
 * applies only when the user gives node --max-semi-space-size=0 (V8's unset).
 * Its stack is larger than node's default: see stack.ts.
 */
export const PYTHON_THREAD_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 6, stackSizeMb: PYTHON_THREAD_STACK_MB };

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
