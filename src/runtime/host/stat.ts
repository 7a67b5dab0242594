// File times and identities as the host has them. Emscripten's stat writes
// times from a JavaScript Date (milliseconds) and the inode number of its own
// node table; CPython on the host gives nanoseconds and the host's inode. The
// times matter beyond precision: Werkzeug's ETag for a static file is built
// from os.path.getmtime(), so a cache that saw Gunicorn's ETags missed on
// every file after a move to nicorn-py. Setting times (os.utime) likewise
// went through Date, and lost the nanoseconds the app gave.
//
// For host files (NODEFS) stat/lstat/fstat/fstatat read the host's stat with
// bigint times, and utimensat/futimens set them through the host's libc;
// anything else (devices, Pyodide's in-memory files, pipes) is Emscripten's.

import fs from 'node:fs';
import { hostErrno, libc, wasmErrno } from './libc.js';
import type { EmModule, Syscall, WasmImports } from './module.js';
import { AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, hostPathOf, hostStream, isHostNode, pathAt, syscallError } from './nodefs.js';

const NS = 1_000_000_000n;

/**
 * Writes `st` as Emscripten's struct stat (the layout of its SYSCALLS.writeStat:
 * dev, mode, nlink, uid, gid, rdev u32; size i64 at 24; blksize, blocks i32 at
 * 32, 36; {i64 sec, u32 nsec} at 40, 56, 72 for atime, mtime, ctime; ino i64 at 88).
 */
export function writeHostStat(mod: EmModule, buf: number, st: fs.BigIntStats): void {
  const u32 = mod.HEAPU32;
  const i32 = mod.HEAP32;
  const i64 = mod.HEAP64;
  u32[buf >> 2] = Number(st.dev & 0xffffffffn);
  u32[(buf + 4) >> 2] = Number(st.mode);
  u32[(buf + 8) >> 2] = Number(st.nlink);
  u32[(buf + 12) >> 2] = Number(st.uid);
  u32[(buf + 16) >> 2] = Number(st.gid);
  u32[(buf + 20) >> 2] = Number(st.rdev & 0xffffffffn);
  i64[(buf + 24) >> 3] = st.size;
  i32[(buf + 32) >> 2] = Number(st.blksize);
  i32[(buf + 36) >> 2] = Number(st.blocks > 0x7fffffffn ? 0x7fffffffn : st.blocks);
  writeTime(mod, buf + 40, st.atimeNs);
  writeTime(mod, buf + 56, st.mtimeNs);
  writeTime(mod, buf + 72, st.ctimeNs);
  i64[(buf + 88) >> 3] = st.ino;
}

/** A time in nanoseconds as {seconds, nanoseconds 0..999999999} (before 1970: seconds round down). */
export function splitNs(ns: bigint): [bigint, number] {
  let sec = ns / NS;
  let rem = ns % NS;
  if (rem < 0n) {
    sec -= 1n;
    rem += NS;
  }
  return [sec, Number(rem)];
}

function writeTime(mod: EmModule, at: number, ns: bigint): void {
  const [sec, nsec] = splitNs(ns);
  mod.HEAP64[at >> 3] = sec;
  mod.HEAPU32[(at + 8) >> 2] = nsec;
}

/** struct timespec[2] as the host's libc takes it (LP64: two i64 each), from the interpreter's (i64 sec, i32 nsec, padded to 16). */
function hostTimespecs(mod: EmModule, times: number): Buffer | null {
  if (!times) return null;
  const out = Buffer.alloc(32);
  for (let i = 0; i < 2; i++) {
    const at = times + 16 * i;
    out.writeBigInt64LE(mod.HEAP64[at >> 3]!, 16 * i);
    out.writeBigInt64LE(BigInt(mod.HEAP32[(at + 8) >> 2]!), 16 * i + 8);
  }
  return out;
}

let hostUtimes: { utimensat: (dirfd: number, path: string, ts: Buffer | null, flags: number) => number; futimens: (fd: number, ts: Buffer | null) => number } | null = null;

function utimes() {
  if (hostUtimes) return hostUtimes;
  const lib = libc();
  const utimensat = lib.func('int utimensat(int, const char *, const uint8_t *, int)');
  const futimens = lib.func('int futimens(int, const uint8_t *)');
  hostUtimes = { utimensat: (d, p, t, f) => utimensat(d, p, t, f) as number, futimens: (fd, t) => futimens(fd, t) as number };
  return hostUtimes;
}

/** The host's AT_FDCWD and AT_SYMLINK_NOFOLLOW (Linux's, as the interpreter's). */
const HOST_AT_FDCWD = -100;

export function patchStat(imports: WasmImports, mod: EmModule): void {
  const stat64 = imports.__syscall_stat64 as Syscall;
  const lstat64 = imports.__syscall_lstat64 as Syscall;
  const fstat64 = imports.__syscall_fstat64 as Syscall;
  const newfstatat = imports.__syscall_newfstatat as Syscall;
  const utimensat = imports.__syscall_utimensat as Syscall;

  /** stat of `path`, or undefined when it is not a host file (Emscripten answers then). */
  const statPath = (path: string, buf: number, follow: boolean): number | undefined => {
    try {
      const { node } = mod.FS.lookupPath(path, { follow });
      if (!isHostNode(mod, node)) return undefined;
      writeHostStat(mod, buf, fs.lstatSync(hostPathOf(mod, node), { bigint: true }));
      return 0;
    } catch (e) {
      return syscallError(mod, e);
    }
  };
  const statFd = (fd: number, buf: number): number | undefined => {
    const stream = hostStream(mod, fd);
    if (!stream) return undefined;
    try {
      writeHostStat(mod, buf, fs.fstatSync(stream.nfd, { bigint: true }));
      return 0;
    } catch (e) {
      return syscallError(mod, e);
    }
  };

  // Pointers arrive as i32: above 2 GiB of heap they are negative (Emscripten's own code does `>>>= 0`).
  imports.__syscall_stat64 = (path: number, buf: number) =>
    statPath(mod.UTF8ToString(path >>> 0), buf >>> 0, true) ?? stat64(path as never, buf as never);
  imports.__syscall_lstat64 = (path: number, buf: number) =>
    statPath(mod.UTF8ToString(path >>> 0), buf >>> 0, false) ?? lstat64(path as never, buf as never);
  imports.__syscall_fstat64 = (fd: number, buf: number) => statFd(fd, buf >>> 0) ?? fstat64(fd as never, buf as never);
  imports.__syscall_newfstatat = (dirfd: number, path: number, bufp: number, flags: number) => {
    const buf = bufp >>> 0;
    const name = mod.UTF8ToString(path);
    let done: number | undefined;
    if (name === '' && flags & AT_EMPTY_PATH) done = statFd(dirfd, buf);
    else {
      try {
        done = statPath(pathAt(mod.FS, dirfd, name, false), buf, !(flags & AT_SYMLINK_NOFOLLOW));
      } catch (e) {
        done = syscallError(mod, e);
      }
    }
    return done ?? newfstatat(dirfd as never, path as never, bufp as never, flags as never);
  };

  imports.__syscall_utimensat = (dirfd: number, path: number, times: number, flags: number) => {
    const name = path ? mod.UTF8ToString(path >>> 0) : '';
    try {
      let rc: number;
      if (name === '') {
        // futimens(fd, times): musl calls utimensat(fd, NULL, times, 0).
        const stream = hostStream(mod, dirfd);
        if (!stream) return utimensat(dirfd as never, path as never, times as never, flags as never);
        rc = utimes().futimens(stream.nfd, hostTimespecs(mod, times >>> 0));
      } else {
        const { node } = mod.FS.lookupPath(pathAt(mod.FS, dirfd, name, false), { follow: !(flags & AT_SYMLINK_NOFOLLOW) });
        if (!isHostNode(mod, node)) return utimensat(dirfd as never, path as never, times as never, flags as never);
        rc = utimes().utimensat(HOST_AT_FDCWD, hostPathOf(mod, node), hostTimespecs(mod, times >>> 0), flags & AT_SYMLINK_NOFOLLOW);
      }
      return rc === 0 ? 0 : -hostErrnoValue(mod);
    } catch (e) {
      return syscallError(mod, e);
    }
  };
}

function hostErrnoValue(mod: EmModule): number {
  return wasmErrno(mod, hostErrno());
}
