// Waiting on host descriptors from the Python thread, interruptibly.
//
// A blocking call made for Python (recv on a socket without data, a TLS
// handshake, a lock wait) must still give way when the I/O thread
// interrupts Python (--timeout's ABRT, INT/QUIT): it polls in slices and
// looks at the interrupt buffer between them. It then returns 'interrupted'
// and the caller answers EINTR, so CPython runs PyErr_CheckSignals (which
// reads the same buffer) and raises where Gunicorn's signal would.

import { hostErrno, libc } from './libc.js';
import type { WasmImports } from './module.js';

/** How long one poll() waits before the interrupt buffer is looked at again. */
const SLICE_MS = 50;

let interruptBuffer: Int32Array | null = null;

/** The buffer Pyodide watches for signals (pyodide.setInterruptBuffer); set by the Python thread. */
export function watchInterrupts(buffer: Int32Array): void {
  interruptBuffer = buffer;
}

/**
 * CPython's own look at the buffer (the `_Py_CheckEmscriptenSignals_Helper`
 * import, which its eval loop calls every 50 eval-breaker checks once
 * pyodide.setInterruptBuffer has turned signal handling on), made atomic.
 * Pyodide's version reads the slot and then writes 0 to it, in two steps,
 * while the I/O thread raises the flag from another thread: a flag stored
 * between the two was overwritten unread and Python never stopped (--timeout's
 * ABRT in a `while True: pass` route: "Python did not stop within 5 s",
 * worker_abort never ran; 1 try in 20 on Node 20 here, once in CI's arbiter
 * suite; a slower check widened the window to 7 in 24; 0 in 40 with this).
 * One Atomics.exchange takes the flag, and only when it is raised: an empty
 * Python loop turns as fast as with Pyodide's (0.0212-0.0218 µs a turn
 * against 0.0212-0.0216, -w 1, Node 20, best of 5 after a warm-up).
 */
export function patchInterruptCheck(imports: WasmImports): void {
  imports._Py_CheckEmscriptenSignals_Helper = (): number =>
    interruptBuffer === null || interruptBuffer[0] === 0 ? 0 : Atomics.exchange(interruptBuffer, 0, 0);
}

/** True when a signal waits for Python (the wait should end with EINTR). */
export function interruptPending(): boolean {
  return interruptBuffer !== null && Atomics.load(interruptBuffer, 0) !== 0;
}

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

let hostPoll: ((fds: Buffer, n: number, timeout: number) => number) | null = null;

/** One descriptor to wait on: `events` asked, `revents` filled in. */
export interface PollEntry {
  fd: number;
  events: number;
  revents: number;
}

/**
 * poll(2) on host descriptors for up to `timeoutMs` (negative: no limit),
 * in slices. Returns the number of ready entries (revents filled in),
 * 0 on timeout, 'interrupted' when a signal is pending, or -errno (host's).
 */
export function pollHost(entries: PollEntry[], timeoutMs: number): number | 'interrupted' {
  hostPoll ??= libc().func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)') as unknown as typeof hostPoll;
  const buf = Buffer.alloc(8 * entries.length);
  entries.forEach((e, i) => {
    buf.writeInt32LE(e.fd, 8 * i);
    buf.writeInt16LE(e.events, 8 * i + 4);
  });
  const deadline = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    if (interruptPending()) return 'interrupted';
    const left = deadline - performance.now();
    const slice = Math.max(0, Math.min(SLICE_MS, Math.ceil(left)));
    const n = hostPoll!(buf, entries.length, slice);
    if (n < 0) {
      const errno = hostErrno();
      if (errno === 4 /* EINTR */) continue;
      return -errno;
    }
    if (n > 0) {
      entries.forEach((e, i) => (e.revents = buf.readInt16LE(8 * i + 6)));
      return n;
    }
    if (performance.now() >= deadline) return 0;
  }
}
