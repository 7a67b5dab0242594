// Locks: POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW, hence
// fcntl.lockf and SQLite's unix VFS) and flock() locks on host files are the
// host's, so that they exclude other workers and other host processes (the
// sqlite3 CLI, a CPython cron job) as they do under Gunicorn.
//
// Emscripten answers F_GETLK "unlocked" and F_SETLK/F_SETLKW 0 without
// locking anything, and its flock() is a stub in the wasm libc: two workers
// writing one SQLite database both "held" its locks and lost acknowledged
// writes. A file under a host mount is a NODEFS stream whose `nfd` is the
// host descriptor; the lock is taken on it with the host's fcntl()/flock().
// Locks stay per process (one worker = one host process, as one Gunicorn
// worker), which is what SQLite's unix VFS is written for. A gthread worker
// runs several interpreters in one process, where process-owned locks never
// conflict: there each interpreter takes open-file-description locks
// (F_OFD_*) on one descriptor of its own per file, so they exclude each other
// as well as other processes. Measured before: flaskr with --threads 2, 24
// registrations at once, "sqlite3.OperationalError: disk I/O error" on
// commit. Within an interpreter they behave as a process's POSIX locks: one
// owner whatever descriptor asks, released when any descriptor of the file
// is closed. The one difference: F_GETLK answers pid -1 for a lock a gthread
// worker holds, as Linux answers for every OFD lock.
//
// Files in the interpreter's own memory keep Emscripten's answers: no other
// process can open them, and within one process POSIX locks never conflict.
//
// SQLite's WAL mode shares its wal-index (the -shm file) between processes
// through mmap(MAP_SHARED); Emscripten's mmap copies the file into the wasm
// heap, so each process would work on a private copy and corrupt the
// database. Such a mapping is refused with an error that names the limit
// (see refuseSharedMapping) rather than let WAL run on copies.

import fs from 'node:fs';
import os from 'node:os';
import { hostErrno, libc, wasmErrno } from './libc.js';
import type { EmModule, WasmImports } from './module.js';
import { hostStream } from './nodefs.js';
import { interruptPending } from './wait.js';
import { pythonLogHost } from '../../log/error-log.js';

// The interpreter's fcntl commands (musl for wasm32 with a 64-bit off_t:
// the *64 numbers) and the host's (x86-64 and aarch64 Linux share them).
export const WASM_F_GETLK = 12;
export const WASM_F_SETLK = 13;
export const WASM_F_SETLKW = 14;
const HOST_F_GETLK = 5;
const HOST_F_SETLK = 6;
// Linux's open file description locks; they conflict with POSIX locks of
// other processes (the sqlite3 CLI, a host CPython) as POSIX locks do.
const HOST_F_OFD_GETLK = 36;
const HOST_F_OFD_SETLK = 37;
const HOST_F_GETFL = 3;
const O_ACCMODE = 3;

// l_type and l_whence have the same values in musl and Linux; named here so
// that the translation below says what it moves.
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
export const SEEK_SET = 0;
export const SEEK_CUR = 1;

/**
 * struct flock, in the interpreter (wasm32 musl) and on the host (glibc/musl
 * x86-64 and aarch64): the same 32 bytes. short l_type @0, short l_whence @2,
 * off_t l_start @8, off_t l_len @16, pid_t l_pid @24 (off_t is 64-bit on both).
 */
export interface Flock {
  type: number;
  whence: number;
  start: bigint;
  len: bigint;
  pid: number;
}
export const FLOCK_SIZE = 32;

export function readFlock(view: DataView, at: number): Flock {
  return {
    type: view.getInt16(at, true),
    whence: view.getInt16(at + 2, true),
    start: view.getBigInt64(at + 8, true),
    len: view.getBigInt64(at + 16, true),
    pid: view.getInt32(at + 24, true),
  };
}

export function writeFlock(view: DataView, at: number, f: Flock): void {
  view.setInt16(at, f.type, true);
  view.setInt16(at + 2, f.whence, true);
  view.setBigInt64(at + 8, f.start, true);
  view.setBigInt64(at + 16, f.len, true);
  view.setInt32(at + 24, f.pid, true);
}

/**
 * The request as the host must see it. SEEK_CUR is relative to the file
 * position, which for a NODEFS stream lives in the interpreter (reads and
 * writes go through pread/pwrite, the host descriptor's offset never moves):
 * it becomes SEEK_SET. SEEK_END is the host file's size, the host knows it.
 */
export function toHostRequest(f: Flock, position: number): Flock {
  if (f.whence !== SEEK_CUR) return { ...f, pid: 0 };
  return { ...f, whence: SEEK_SET, start: f.start + BigInt(position), pid: 0 };
}

/**
 * How long a blocking lock request sleeps before it tries again: short
 * first (SQLite and lockf users mostly wait for a transaction of a few ms),
 * then 10 ms, so that a released lock is taken within 10 ms and a waiter
 * costs 100 failed fcntl() calls a second (about 1 µs each through koffi).
 */
export function retryDelayMs(attempt: number): number {
  return Math.min(10, 1 << Math.min(attempt, 4));
}

type HostFcntl = (fd: number, cmd: number, arg: Buffer) => number;
type HostFlock = (fd: number, op: number) => number;
let hostFcntl: HostFcntl | null = null;
let hostFlock: HostFlock | null = null;

function fcntlFn(): HostFcntl {
  hostFcntl ??= libc().func('int fcntl(int, int, _Inout_ uint8_t *)') as unknown as HostFcntl;
  return hostFcntl;
}

function flockFn(): HostFlock {
  hostFlock ??= libc().func('int flock(int, int)') as unknown as HostFlock;
  return hostFlock;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps the thread (not the process): Atomics.wait on a word nobody notifies. */
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

// The host's errno values (a conflicting lock answers EAGAIN or EACCES).
const { EAGAIN, EACCES, EINTR } = os.constants.errno;

/** The module of this thread's interpreter (the one whose imports were patched). */
let current: EmModule | null = null;

/** Locks per interpreter (F_OFD_*), not per process: set when the worker runs several interpreters. */
let perInterpreter = false;

/** gthread: this thread's interpreter is one of several in its process (its locks must exclude theirs). */
export function lockPerInterpreter(): void {
  perInterpreter = true;
}

/**
 * This interpreter's lock owner per host file ("dev:ino"): a descriptor of
 * its own on the file (reopened through /proc/self/fd, the access mode of
 * the descriptor that first asked), which holds every lock it takes on it.
 */
const owners = new Map<string, number>();

function fileKey(nfd: number): string {
  const st = fs.fstatSync(nfd, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

/** The descriptor holding this interpreter's locks on `nfd`'s file; opened on first use. */
function ownerFd(nfd: number): number {
  const key = fileKey(nfd);
  let fd = owners.get(key);
  if (fd === undefined) {
    const mode = fcntlFn()(nfd, HOST_F_GETFL, Buffer.alloc(0)) & O_ACCMODE;
    fd = fs.openSync(`/proc/self/fd/${nfd}`, mode === O_ACCMODE ? fs.constants.O_RDWR : mode);
    owners.set(key, fd);
  }
  return fd;
}

/**
 * A descriptor of a host file is about to close: as for a process's POSIX
 * locks, this interpreter's locks on the file go (its owner descriptor is
 * closed, which releases them).
 */
function releaseOnClose(nfd: number): void {
  if (owners.size === 0) return;
  let key: string;
  try {
    key = fileKey(nfd);
  } catch {
    return;
  }
  const fd = owners.get(key);
  if (fd === undefined) return;
  owners.delete(key);
  fs.closeSync(fd);
}

/**
 * Tries `request` with F_SETLK until it is granted, refused for another
 * reason than a conflict, or a signal is pending (then EINTR: CPython runs
 * the handler and, as for an interrupted fcntl(), retries or raises).
 * Returns 0 or a host errno.
 */
function setLockWaiting(nfd: number, setlk: number, buf: Buffer): number {
  for (let attempt = 0; ; attempt++) {
    if (fcntlFn()(nfd, setlk, buf) === 0) return 0;
    const errno = hostErrno();
    if (errno !== EAGAIN && errno !== EACCES && errno !== EINTR) return errno;
    if (interruptPending()) return EINTR;
    sleepMs(retryDelayMs(attempt));
  }
}

/** fcntl()'s lock commands on a host file; `original` for everything else. */
function hostLockFcntl(mod: EmModule, original: (fd: number, cmd: number, varargs: number) => number) {
  return (fd: number, cmd: number, varargs: number): number => {
    if (cmd !== WASM_F_GETLK && cmd !== WASM_F_SETLK && cmd !== WASM_F_SETLKW) return original(fd, cmd, varargs);
    const stream = hostStream(mod, fd);
    if (stream === null) return original(fd, cmd, varargs);
    let nfd = stream.nfd;
    if (perInterpreter) {
      try {
        nfd = ownerFd(stream.nfd);
      } catch (e) {
        return -wasmErrno(mod, -((e as NodeJS.ErrnoException).errno ?? -os.constants.errno.EBADF));
      }
    }
    const [getlk, setlk] = perInterpreter ? [HOST_F_OFD_GETLK, HOST_F_OFD_SETLK] : [HOST_F_GETLK, HOST_F_SETLK];
    // The third argument is the address of a pointer to the struct flock.
    const at = mod.HEAPU32[(varargs >>> 0) >>> 2]!;
    const heap = new DataView(mod.HEAPU8.buffer);
    const request = readFlock(heap, at);
    if (request.type !== F_RDLCK && request.type !== F_WRLCK && request.type !== F_UNLCK) return -mod.ERRNO_CODES.EINVAL!;
    const buf = Buffer.alloc(FLOCK_SIZE);
    const hostView = new DataView(buf.buffer, buf.byteOffset, FLOCK_SIZE);
    writeFlock(hostView, 0, toHostRequest(request, Number(stream.position ?? 0)));
    let errno = 0;
    if (cmd === WASM_F_SETLKW) errno = setLockWaiting(nfd, setlk, buf);
    else if (fcntlFn()(nfd, cmd === WASM_F_GETLK ? getlk : setlk, buf) !== 0) errno = hostErrno();
    if (errno !== 0) return -wasmErrno(mod, errno);
    if (cmd === WASM_F_GETLK) {
      const answer = readFlock(hostView, 0);
      // F_UNLCK: only the type changes, as the kernel does.
      writeFlock(new DataView(mod.HEAPU8.buffer), at, answer.type === F_UNLCK ? { ...request, type: F_UNLCK } : answer);
    }
    return 0;
  };
}

// flock() operations (the same bits in musl and Linux).
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/**
 * flock(fd, op) for Python (python/nicorn/host/locks.py replaces
 * fcntl.flock with it: the wasm libc's flock() is no system call this layer
 * could replace). Returns 0, -errno (the interpreter's numbering), or null
 * when `fd` is not a host file (Python then keeps the original, which
 * changes nothing: no other process can see an in-memory file).
 */
export function flockFd(fd: number, op: number): number | null {
  const mod = current;
  if (!mod) throw new Error('nicorn-py host locks: no interpreter in this thread');
  if (!mod.FS.streams[fd]) return -mod.ERRNO_CODES.EBADF!;
  const nfd = hostStream(mod, fd)?.nfd;
  if (nfd === undefined) return null;
  const blocking = (op & LOCK_NB) === 0 && (op & LOCK_UN) === 0;
  for (let attempt = 0; ; attempt++) {
    if (flockFn()(nfd, op | LOCK_NB) === 0) return 0;
    const errno = hostErrno();
    if (!blocking || (errno !== EAGAIN && errno !== EINTR)) return -wasmErrno(mod, errno);
    if (interruptPending()) return -mod.ERRNO_CODES.EINTR!;
    sleepMs(retryDelayMs(attempt));
  }
}

export const LOCKS_API = { flock: flockFd };

// mmap() flags and protections (the same in musl and Linux).
const MAP_SHARED = 0x01;
const PROT_WRITE = 0x2;

/**
 * A writable shared mapping of SQLite's wal-index (<db>-shm) on a host file:
 * refused. WAL needs the wal-index in memory that every process maps;
 * Emscripten's mmap gives a private copy, written back only at msync/munmap,
 * and WebAssembly cannot map a host file into its memory. SQLite then fails
 * the statement (SQLITE_IOERR_SHMMAP, "disk I/O error") and the error log
 * says why and what to do.
 */
const refused = new Set<string>();

function refuseSharedMapping(mod: EmModule, original: (...args: never[]) => number) {
  return (len: number, prot: number, flags: number, fd: number, ...rest: unknown[]): number => {
    const stream = hostStream(mod, fd);
    if ((flags & MAP_SHARED) !== 0 && (prot & PROT_WRITE) !== 0 && stream !== null) {
      const path = stream.path ?? '';
      if (path.endsWith('-shm')) {
        // Once per database and process: SQLite tries again at every statement.
        if (!refused.has(path)) {
          refused.add(path);
          pythonLogHost().line('error', walRefusal(path.slice(0, -4)));
        }
        return -mod.ERRNO_CODES.ENODEV!;
      }
    }
    return (original as (...args: unknown[]) => number)(len, prot, flags, fd, ...rest);
  };
}

export function walRefusal(db: string): string {
  return (
    `SQLite WAL mode on ${db} needs its wal-index (${db}-shm) mapped into memory shared with other ` +
    `processes, which a WebAssembly worker cannot do: nicorn-py refuses it rather than let workers ` +
    `corrupt the database. Use journal_mode=DELETE (the default) or TRUNCATE, which lock through the ` +
    `host and are safe with several workers and other processes (switch the file back with the host's ` +
    `sqlite3: PRAGMA journal_mode=DELETE); for a database no other process opens, PRAGMA ` +
    `locking_mode=EXCLUSIVE before journal_mode=WAL keeps the wal-index in the worker's own memory.`
  );
}

/** The ImportPatch (imports.ts PATCHES). */
export function patchLocks(imports: WasmImports, mod: EmModule): void {
  current = mod;
  const close = imports.fd_close as (fd: number) => number;
  if (typeof close !== 'function') throw new Error('nicorn-py host locks: Pyodide has no fd_close import');
  imports.fd_close = (fd: number): number => {
    const stream = hostStream(mod, fd);
    if (stream !== null) releaseOnClose(stream.nfd);
    return close(fd);
  };
  const fcntl = imports.__syscall_fcntl64 as (fd: number, cmd: number, varargs: number) => number;
  if (typeof fcntl !== 'function') throw new Error('nicorn-py host locks: Pyodide has no __syscall_fcntl64 import');
  imports.__syscall_fcntl64 = hostLockFcntl(mod, fcntl);
  const mmap = imports._mmap_js as (...args: never[]) => number;
  if (typeof mmap !== 'function') throw new Error('nicorn-py host locks: Pyodide has no _mmap_js import');
  imports._mmap_js = refuseSharedMapping(mod, mmap);
}
