// The interpreter's file system as the host's: every host directory at its
// own path (a NODEFS mount each, since Emscripten's root must stay its own),
// the host deciding who may do what with its files, and nothing that CPython
// would write to disk landing in memory. What is left in memory — the root
// itself, /lib (Pyodide's standard library), /dev and /proc (Emscripten's
// devices) — is read-only: a write there fails with EROFS, as it would on a
// read-only mount, instead of vanishing with the worker.

import type { EmFS, EmNode } from './module.js';
import type { HostLayout } from '../layout.js';

/** What of Emscripten's FS this module uses beyond module.ts's subset. */
interface FileSystem extends EmFS {
  mkdirTree(path: string): void;
  mount(type: unknown, opts: { root: string }, mountpoint: string): void;
  symlink(target: string, path: string): void;
  readdir(path: string): string[];
  rmdir(path: string): void;
  lookupNode(dir: EmNode, name: string): EmNode;
  isChrdev(mode: number): boolean;
  nodePermissions(node: EmNode, perms: string): number;
  mayCreate(dir: EmNode, name: string): number;
  mayDelete(dir: EmNode, name: string, isdir: boolean): number;
  mayOpen(node: EmNode | null, flags: number): number;
  doSetAttr(stream: unknown, node: EmNode, attr: object): void;
}

// Emscripten's errno values (its ERRNO_CODES), and open(2) flags as its libc numbers them.
const ENOENT = 44;
const EEXIST = 20;
const EROFS = 69;
const O_ACCMODE = 3;
const O_TRUNC = 512;

/**
 * Mounts `layout`'s directories and makes the host root's links (the
 * interpreter's /bin is a link to usr/bin as the host's is). Before Python
 * starts, at every boot and restore: the mounts are JavaScript, not in an image.
 */
export function mountHost(fsys: EmFS, layout: HostLayout): void {
  const FS = fsys as FileSystem;
  for (const dir of layout.mounts) {
    FS.mkdirTree(dir);
    FS.mount(FS.filesystems.NODEFS, { root: dir }, dir);
  }
  for (const link of layout.rootLinks) {
    try {
      FS.symlink(link.target, link.path);
    } catch {
      // Emscripten made a directory of that name (/tmp, /home): the host's link replaces it when it is empty.
      try {
        if (FS.readdir(link.path).length > 2) continue;
        FS.rmdir(link.path);
        FS.symlink(link.target, link.path);
      } catch {
        // it stays Emscripten's (in memory, and read-only: guardFileSystem)
      }
    }
  }
}

/**
 * From the interpreter's start on: the host decides what may be done with its
 * files (Emscripten's own check reads the mode bits alone and knows no owner,
 * so it let any user write a 0644 file it does not own and refused root a
 * 0444 one), and in-memory files are read-only. After Pyodide's boot, which
 * writes its standard library into /lib.
 */
export function guardFileSystem(fsys: EmFS): void {
  const FS = fsys as FileSystem;
  const NODEFS = FS.filesystems.NODEFS;
  const MEMFS = FS.filesystems.MEMFS;
  const isHost = (node: EmNode) => node.mount.type === NODEFS;
  // Devices (/dev/null, the tty) are written to as on the host; directories and files are not.
  const inMemory = (node: EmNode) => node.mount.type === MEMFS && !FS.isChrdev(node.mode);

  const nodePermissions = FS.nodePermissions;
  FS.nodePermissions = (node, perms) => (isHost(node) ? 0 : nodePermissions(node, perms));

  // Pyodide's own device: a Python error that becomes a JavaScript one is
  // formatted by printing it to /dev/capture_stderr, made and removed for
  // the purpose. Refused, the error arrived as Emscripten's ErrnoError
  // (EROFS) and a worker whose boot failed logged "[object Object]".
  const readOnly = (dir: EmNode, name: string) => inMemory(dir) && !(name === 'capture_stderr' && FS.getPath(dir) === '/dev');
  const mayCreate = FS.mayCreate;
  FS.mayCreate = (dir, name) => {
    const err = mayCreate(dir, name);
    return err !== EEXIST && readOnly(dir, name) ? EROFS : err;
  };
  const mayDelete = FS.mayDelete;
  FS.mayDelete = (dir, name, isdir) => {
    const err = mayDelete(dir, name, isdir);
    return err !== ENOENT && readOnly(dir, name) ? EROFS : err;
  };
  const mayOpen = FS.mayOpen;
  FS.mayOpen = (node, flags) => {
    if (node && inMemory(node) && ((flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0)) return EROFS;
    return mayOpen(node, flags);
  };
  // chmod, chown, utime, truncate.
  const doSetAttr = FS.doSetAttr;
  FS.doSetAttr = (stream, node, attr) => {
    if (inMemory(node)) throw new FS.ErrnoError(EROFS);
    doSetAttr(stream, node, attr);
  };
}
