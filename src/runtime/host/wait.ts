// Waiting on host descriptors from the Python thread, interruptibly.
//
// A blocking call made for Python (recv on a socket without data, a TLS
// handshake, a lock wait) must still give way when the I/O thread
// interrupts Python (--timeout's ABRT, INT/QUIT): it polls in slices and
// looks at the interrupt buffer between them. It then returns 'interrupted'
// and the caller answers EINTR, so CPython runs PyErr_CheckSignals (which
// reads the same buffer) and raises where Gunicorn's signal would.

import { hostErrno, libc } from './libc.js';

/** How long one poll() waits before the interrupt buffer is looked at again. */
const SLICE_MS = 50;

let interruptBuffer: Int32Array | null = null;

/** The buffer Pyodide watches for signals (pyodide.setInterruptBuffer); set by the Python thread. */
export function watchInterrupts(buffer: Int32Array): void {
  interruptBuffer = buffer;
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
