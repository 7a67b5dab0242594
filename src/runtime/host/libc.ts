// The host's C library, through koffi (an FFI that ships prebuilt binaries
// in its npm package): Node has no API for fcntl locks, non-blocking
// sockets with poll(), or getaddrinfo as the C library answers it, and the
// host layer needs all three synchronously, from the Python thread.
//
// Loaded once per thread, on first use.

import os from 'node:os';
import koffi, { type LibraryHandle } from 'koffi';
import type { EmModule } from './module.js';

let lib: LibraryHandle | null = null;

/** The host's libc (glibc or musl), loaded on first use. */
export function libc(): LibraryHandle {
  if (lib) return lib;
  if (process.platform !== 'linux') {
    throw new Error(`nicorn-py's host layer (locks, sockets) needs Linux; this host is ${process.platform}`);
  }
  for (const name of ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1', 'libc.so']) {
    try {
      lib = koffi.load(name);
      return lib;
    } catch {
      // the next name
    }
  }
  throw new Error('nicorn-py cannot load the host C library (libc.so.6)');
}

/** The host's errno after the last call through koffi. */
export function hostErrno(): number {
  return koffi.errno();
}

let strerrorFn: ((errno: number) => string) | null = null;

/**
 * The host C library's words for an errno ("Address already in use"): the
 * text CPython puts in an OSError ("[Errno 98] Address already in use").
 */
export function strerror(errno: number): string {
  strerrorFn ??= libc().func('const char *strerror(int)') as (errno: number) => string;
  return strerrorFn(errno);
}

const HOST_ERRNO_NAMES: Map<number, string> = new Map(
  Object.entries(os.constants.errno).map(([name, value]) => [value, name] as [number, string]),
);

/**
 * The interpreter's errno value for the host's `errno`, matched by name
 * (Emscripten numbers errors differently from Linux): what a syscall
 * returns negated, so Python raises the same exception class CPython would.
 */
export function wasmErrno(mod: EmModule, errno: number): number {
  const name = HOST_ERRNO_NAMES.get(errno);
  const value = name === undefined ? undefined : mod.ERRNO_CODES[name];
  return value ?? mod.ERRNO_CODES.EIO!;
}
