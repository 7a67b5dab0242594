// Who may do what with a host file, and with what mode it is made, as the
// host decides. Emscripten emulates these: its umask reads process.umask(),
// which throws in a worker thread (so os.umask() answered 0 and changed
// nothing); a file made by open(O_CREAT) was chmod-ed to the mode asked for,
// umask ignored (0666 where CPython makes 0644), and made in two steps (create,
// then open), so O_EXCL was not atomic between workers; chown did nothing at
// all; access() read the mode bits, not the host's answer for this user.
//
// For host files (NODEFS): umask is the process's (libc), open(O_CREAT) is one
// host open(2) with the flags and mode given, chown/fchown and access are the
// host's. Everything else is Emscripten's.

import fs from 'node:fs';
import path from 'node:path';
import { libc } from './libc.js';
import type { EmModule, EmNode, Syscall, WasmImports } from './module.js';
import { AT_SYMLINK_NOFOLLOW, hostPathOf, hostStream, isHostNode, pathAt, syscallError } from './nodefs.js';

/** open(2) flags: the interpreter's (Emscripten's libc, Linux generic numbering) and the host's by name. */
const EM_O = {
  O_WRONLY: 0o1,
  O_RDWR: 0o2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DSYNC: 0o10000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  O_SYNC: 0o4010000,
} as const;
/**
 * Implied on the host: O_LARGEFILE on a 64-bit host, O_CLOEXEC because node
 * (libuv) opens every file with it (the interpreter's exec is not the host's:
 * no descriptor is ever inherited through it).
 */
const EM_IMPLIED = 0o100000 | 0o2000000;
/** O_PATH and anything not listed: left to Emscripten. */
const EM_KNOWN = Object.values(EM_O).reduce((a, b) => a | b, EM_IMPLIED);

/** The host's open(2) flags for the interpreter's, or null when one has no host counterpart here. */
export function hostOpenFlags(flags: number, host: Record<string, number> = fs.constants as unknown as Record<string, number>): number | null {
  if (flags & ~EM_KNOWN) return null;
  let out = 0;
  let left = flags & ~EM_IMPLIED;
  // O_SYNC contains O_DSYNC's bit: match it first.
  for (const name of ['O_SYNC', ...Object.keys(EM_O).filter((n) => n !== 'O_SYNC')] as (keyof typeof EM_O)[]) {
    const bit = EM_O[name];
    if ((left & bit) !== bit) continue;
    const value = host[name];
    if (value === undefined) return null;
    out |= value;
    left &= ~bit;
  }
  return out;
}

interface FileSystem {
  lookupPath(path: string, opts: { follow?: boolean; parent?: boolean; noent_okay?: boolean }): { path: string; node: EmNode | null };
  lookupNode(dir: EmNode, name: string): EmNode;
  getPath(node: EmNode): string;
  createStream(stream: object, fd?: number): { fd: number; nfd?: number; shared: { refcount?: number } };
}

let hostUmask: ((mask: number) => number) | null = null;

export function patchPermissions(imports: WasmImports, mod: EmModule): void {
  const openat = imports.__syscall_openat as Syscall;
  const faccessat = imports.__syscall_faccessat as Syscall;
  const fchown32 = imports.__syscall_fchown32 as Syscall;
  const fchownat = imports.__syscall_fchownat as Syscall;

  imports.__syscall_umask_js = (mask: number) => {
    hostUmask ??= libc().func('uint32_t umask(uint32_t)') as unknown as (mask: number) => number;
    return hostUmask(mask & 0o777);
  };

  imports.__syscall_openat = (dirfd: number, pathp: number, flags: number, varargs: number) => {
    if (!(flags & EM_O.O_CREAT)) return openat(dirfd as never, pathp as never, flags as never, varargs as never);
    const FS = mod.FS as unknown as FileSystem;
    const hostFlags = hostOpenFlags(flags);
    try {
      const p = pathAt(mod.FS, dirfd, mod.UTF8ToString(pathp >>> 0), false);
      const name = path.posix.basename(p);
      const parent = FS.lookupPath(p, { parent: true }).node;
      if (hostFlags === null || !parent || !isHostNode(mod, parent) || p.endsWith('/') || name === '.' || name === '..') {
        return openat(dirfd as never, pathp as never, flags as never, varargs as never);
      }
      const mode = varargs ? mod.HEAP32[(varargs >>> 0) >> 2]! & 0o7777 : 0;
      const nfd = fs.openSync(path.posix.join(hostPathOf(mod, parent), name), hostFlags, mode);
      let node: EmNode | null = null;
      try {
        node = FS.lookupPath(p, { follow: !(flags & EM_O.O_NOFOLLOW) }).node;
      } catch {
        // made and gone again (another process): the descriptor is still good, as on the host
      }
      if (!node || !isHostNode(mod, node)) {
        // A link from the host into the interpreter's own files (or a race): Emscripten opens what it finds.
        fs.closeSync(nfd);
        return openat(dirfd as never, pathp as never, (flags & ~(EM_O.O_CREAT | EM_O.O_EXCL)) as never, varargs as never);
      }
      const stream = FS.createStream({
        node,
        path: FS.getPath(node),
        flags: flags & ~(EM_O.O_EXCL | EM_O.O_TRUNC | EM_O.O_NOFOLLOW),
        seekable: true,
        position: 0,
        stream_ops: node.stream_ops,
        ungotten: [],
        error: false,
      });
      stream.nfd = nfd;
      stream.shared.refcount = 1;
      return stream.fd;
    } catch (e) {
      return syscallError(mod, e);
    }
  };

  imports.__syscall_faccessat = (dirfd: number, pathp: number, amode: number, flags: number) => {
    try {
      const p = pathAt(mod.FS, dirfd, mod.UTF8ToString(pathp >>> 0), false);
      const { node } = mod.FS.lookupPath(p, { follow: !(flags & AT_SYMLINK_NOFOLLOW) });
      if (!isHostNode(mod, node) || amode & ~7) return faccessat(dirfd as never, pathp as never, amode as never, flags as never);
      fs.accessSync(hostPathOf(mod, node), amode);
      return 0;
    } catch (e) {
      return syscallError(mod, e);
    }
  };

  imports.__syscall_fchown32 = (fd: number, uid: number, gid: number) => {
    const stream = hostStream(mod, fd);
    if (!stream) return fchown32(fd as never, uid as never, gid as never);
    try {
      fs.fchownSync(stream.nfd, uid, gid);
      return 0;
    } catch (e) {
      return syscallError(mod, e);
    }
  };

  imports.__syscall_fchownat = (dirfd: number, pathp: number, uid: number, gid: number, flags: number) => {
    try {
      const p = pathAt(mod.FS, dirfd, mod.UTF8ToString(pathp >>> 0), false);
      const nofollow = (flags & AT_SYMLINK_NOFOLLOW) !== 0;
      const { node } = mod.FS.lookupPath(p, { follow: !nofollow });
      if (!isHostNode(mod, node)) return fchownat(dirfd as never, pathp as never, uid as never, gid as never, flags as never);
      (nofollow ? fs.lchownSync : fs.chownSync)(hostPathOf(mod, node), uid, gid);
      return 0;
    } catch (e) {
      return syscallError(mod, e);
    }
  };
}
