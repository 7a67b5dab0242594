// The I/O thread's scheduling policy: SCHED_BATCH, so that its wake-ups do
// not preempt a running Python thread.
//
// With -w = cores every core runs a Python thread, and each worker's I/O
// thread woke for every socket event and preempted whichever Python thread
// was on the core (Linux's wake-up preemption favours a thread that slept).
// Measured on the Flask fixture, -w 2 on 2 cores, wrk -t1 -c20, Node 20,
// per-thread /proc counts over 5 s, per request a worker served:
//                                 I/O thread SCHED_OTHER   SCHED_BATCH
//   req/s, keep-alive             4,148-4,563              6,054-6,132
//   req/s, Connection: close      4,520                    4,972
//   Python thread preempted       1.1-1.9 times            0.14-0.22
//   Python thread CPU, µs         260-290                  about 220
//   I/O thread CPU, µs            110-130                  about 73 (more events per wake)
// With -w 1 on 2 cores (each thread has a core) the two are within noise
// (5,461 and 5,134 req/s; another pair 5,187 and 5,267). SCHED_BATCH on the
// Python thread instead changed nothing (4,512).
//
// Set once the worker's interpreters are running: a thread inherits the
// policy of the thread that starts it, and the Python threads stay
// SCHED_OTHER. A worker started under another policy (`chrt -b`, `chrt -i`)
// keeps it.

import { hostErrno, libc } from '../runtime/host/libc.js';

const SCHED_OTHER = 0;
const SCHED_BATCH = 3;

/** What became of the I/O thread's policy: switched, left as the user started it, or why not. */
export type SchedulingOutcome = { kind: 'batch' } | { kind: 'kept' } | { kind: 'failed'; why: string };

/** Puts the calling thread (the I/O thread) under SCHED_BATCH if it runs under SCHED_OTHER. */
export function yieldCoresToPython(): SchedulingOutcome {
  if (process.platform !== 'linux') return { kind: 'failed', why: `not on ${process.platform}` };
  try {
    const lib = libc();
    const getScheduler = lib.func('int sched_getscheduler(int pid)') as unknown as (pid: number) => number;
    const setScheduler = lib.func('int sched_setscheduler(int pid, int policy, const int *param)') as unknown as (
      pid: number,
      policy: number,
      param: Int32Array,
    ) => number;
    // pid 0: the calling thread, not the whole process (Linux's per-thread policies).
    if (getScheduler(0) !== SCHED_OTHER) return { kind: 'kept' };
    if (setScheduler(0, SCHED_BATCH, Int32Array.of(0)) === 0) return { kind: 'batch' };
    return { kind: 'failed', why: `sched_setscheduler: errno ${hostErrno()}` };
  } catch (e) {
    return { kind: 'failed', why: e instanceof Error ? e.message : String(e) };
  }
}
