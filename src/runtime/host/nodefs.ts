// What the file patches (stat.ts, file-sync.ts, permissions.ts) share: which
// of the interpreter's paths and descriptors are host files (NODEFS), where
// they are on the host, and the interpreter's errno for a failed host call.

import type { EmFS, EmModule, EmNode, EmStream } from './module.js';

interface NodeFs {
  realPath(node: EmNode): string;
}

/** Emscripten's values (its ERRNO_CODES). */
export const EM_ENOENT = 44;
export const EM_EBADF = 8;
export const EM_EIO = 29;

/** *at() calls: the current directory. Emscripten's value is Linux's. */
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;

export function isHostNode(mod: EmModule, node: EmNode): boolean {
  return node.mount.type === mod.FS.filesystems.NODEFS;
}

/** The host path of a NODEFS node. */
export function hostPathOf(mod: EmModule, node: EmNode): string {
  return (mod.FS.filesystems.NODEFS as NodeFs).realPath(node);
}

/** A descriptor's stream when it is a host file Emscripten opened (a host descriptor behind it), else null. */
export function hostStream(mod: EmModule, fd: number): (EmStream & { nfd: number }) | null {
  const stream = mod.FS.getStream(fd);
  if (!stream || !isHostNode(mod, stream.node) || typeof stream.nfd !== 'number') return null;
  return stream as EmStream & { nfd: number };
}

/** Emscripten's SYSCALLS.calculateAt: `path` relative to `dirfd` (AT_FDCWD: the current directory). */
export function pathAt(FS: EmFS, dirfd: number, path: string, allowEmpty: boolean): string {
  if (path.startsWith('/')) return path;
  let dir: string;
  if (dirfd === AT_FDCWD) dir = (FS as unknown as { cwd(): string }).cwd();
  else {
    const stream = FS.getStream(dirfd);
    if (!stream?.path) throw new FS.ErrnoError(EM_EBADF);
    dir = stream.path;
  }
  if (path.length === 0) {
    if (!allowEmpty) throw new FS.ErrnoError(EM_ENOENT);
    return dir;
  }
  return `${dir}/${path}`;
}

/**
 * The negated errno a syscall returns for `e`: an Emscripten ErrnoError (a
 * failed lookup) or a node fs error (by its code's name), as NODEFS converts them.
 */
export function syscallError(mod: EmModule, e: unknown): number {
  return -errnoOf(mod, e);
}

export function errnoOf(mod: EmModule, e: unknown): number {
  const err = e as { name?: string; errno?: number; code?: string };
  if (err?.name === 'ErrnoError' && typeof err.errno === 'number') return err.errno;
  if (typeof err?.code === 'string') return mod.ERRNO_CODES[err.code] ?? EM_EIO;
  throw e;
}
