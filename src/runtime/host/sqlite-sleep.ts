// SQLite's busy wait sleeps instead of spinning.
//
// A connection that finds the database locked retries for `timeout`
// (sqlite3.connect's, 5 s by default), sleeping between tries through its
// VFS's xSleep: unixSleep -> usleep -> nanosleep -> emscripten_thread_sleep,
// which in a build without threads is a loop around performance.now(). A
// worker waiting 2 s on a lock held by another process burned 0.67 s of CPU
// (/proc/<pid>/stat, 2-core host). xSleep is a function pointer in the VFS
// structure in wasm memory, so it is pointed at a JavaScript function that
// blocks the Python thread on Atomics.wait, in slices that give way to a
// pending signal (--timeout's ABRT, INT) as every other host-layer wait does.

import type { EmModule } from './module.js';
import { interruptPending } from './wait.js';

/** Offsets in struct sqlite3_vfs on wasm32 (ints and pointers are 4 bytes): pNext, xSleep. */
export const VFS_NEXT = 12;
export const VFS_SLEEP = 60;

/** What the wait gives way to a signal after at most. */
const SLICE_MS = 50;

interface SqliteModule extends EmModule {
  _sqlite3_vfs_find(name: number): number;
  addFunction(fn: (...args: number[]) => number, sig: string): number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** xSleep(vfs, microseconds): sleeps that long, less if a signal comes; answers the microseconds asked, as unixSleep does. */
export function hostSleep(_vfs: number, microseconds: number): number {
  const end = performance.now() + microseconds / 1000;
  for (;;) {
    const left = end - performance.now();
    if (left <= 0 || interruptPending()) return microseconds;
    Atomics.wait(sleeper, 0, 0, Math.min(SLICE_MS, left));
  }
}

/**
 * Points xSleep of every registered VFS that uses the default one's sleep
 * (unix, unix-none, unix-dotfile, unix-excl) at hostSleep. After the
 * interpreter is booted or restored: the function-table slot belongs to this
 * instance, so an interpreter that is to be snapshotted keeps the original.
 */
export function installSqliteSleep(module: unknown): void {
  const mod = module as SqliteModule;
  if (typeof mod._sqlite3_vfs_find !== 'function' || typeof mod.addFunction !== 'function') return;
  const first = mod._sqlite3_vfs_find(0);
  if (!first) return;
  const heap = () => mod.HEAPU32;
  const original = heap()[(first + VFS_SLEEP) >>> 2]!;
  const slot = mod.addFunction(hostSleep, 'iii');
  for (let vfs = first; vfs; vfs = heap()[(vfs + VFS_NEXT) >>> 2]!) {
    if (heap()[(vfs + VFS_SLEEP) >>> 2] === original) heap()[(vfs + VFS_SLEEP) >>> 2] = slot;
  }
}
