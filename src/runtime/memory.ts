// What a worker process is given to keep its memory small. Each worker holds
// two V8 isolates (the I/O thread and the Python thread) and a compiled
// CPython; the defaults of glibc and V8 are tuned for one big long-lived
// process and leave tens of MB per worker resident after boot.
// Measured on the Flask fixture, VmRSS of one worker after 3 s of load:
// 205 MB with the defaults; 163 MB with the malloc policy (settleMalloc); 151 MB with the
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
import { libc } from './host/libc.js';
import { PYTHON_THREAD_STACK_MB } from './stack.js';

/**
 * Compiling CPython's WebAssembly leaves glibc's per-thread arenas full of
 * freed compiler memory that is never given back. Once a worker serves
 * (settleMalloc), a fixed mmap threshold sends blocks of 32 KiB and more
 * straight to the kernel (and back on free), a small trim threshold returns
 * the top of the arenas, and malloc_trim gives back what the boot freed.
 * Costs a mmap/munmap pair per socket read batch (node reads into 64 KiB
 * buffers): about one per three requests under load.
 *
 * Not from the start (GLIBC_TUNABLES, as before): every block the boot frees
 * then goes back to the kernel and the next one faults in fresh pages, and a
 * page fault is dear in a VM. Measured on the hello app, a worker booting from
 * the base snapshot, Node 20, 3 launches each (launch to first response;
 * the worker's CPU and minor faults by then; VmRSS after 8 s of wrk and 6 s idle):
 *   tunables from the start    1,589-2,068 ms  user 1.28-1.59 s  sys 0.79-1.03 s  63-65k faults  153-154 MB
 *   glibc's defaults           1,237-1,356 ms  user 1.07-1.14 s  sys 0.37-0.44 s  44k faults     194-212 MB
 *   defaults, then settled     1,263-1,632 ms  user 0.96-1.45 s  sys 0.40-0.50 s  43-47k faults  153-154 MB
 * settled once only, at ready: 155-167 MB; V8 goes on compiling hot functions
 * after the first requests, hence the second trim (SETTLE_AGAIN_MS).
 */
const SERVING_MMAP_THRESHOLD = 32768;
const SERVING_TRIM_THRESHOLD = 32768;
/** The second malloc_trim, after the first requests' tier-up compiles. */
const SETTLE_AGAIN_MS = 5000;
/** mallopt's parameters (glibc's malloc.h). */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;

/** What settleMalloc did: settled, left to the user's GLIBC_TUNABLES, or why not. */
export type MallocOutcome = { kind: 'settled' } | { kind: 'kept' } | { kind: 'failed'; why: string };

/**
 * Puts this process's malloc under the serving policy above and gives back
 * what the boot freed, now and SETTLE_AGAIN_MS later. Called once a worker
 * (or a dirty worker) serves. A user's GLIBC_TUNABLES (even empty) is theirs:
 * then nothing is changed.
 */
export function settleMalloc(env: NodeJS.ProcessEnv = process.env): MallocOutcome {
  if (env.GLIBC_TUNABLES !== undefined) return { kind: 'kept' };
  if (process.platform !== 'linux') return { kind: 'failed', why: `not on ${process.platform}` };
  try {
    const lib = libc();
    const mallopt = lib.func('int mallopt(int param, int value)') as unknown as (param: number, value: number) => number;
    const trim = lib.func('int malloc_trim(size_t pad)') as unknown as (pad: number) => number;
    // mallopt answers 1 on success (glibc; musl has no mallopt and fails above).
    if (mallopt(M_MMAP_THRESHOLD, SERVING_MMAP_THRESHOLD) !== 1 || mallopt(M_TRIM_THRESHOLD, SERVING_TRIM_THRESHOLD) !== 1) {
      return { kind: 'failed', why: 'mallopt refused the thresholds' };
    }
    trim(0);
    setTimeout(() => trim(0), SETTLE_AGAIN_MS).unref();
    return { kind: 'settled' };
  } catch (e) {
    return { kind: 'failed', why: e instanceof Error ? e.message : String(e) };
  }
}

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
