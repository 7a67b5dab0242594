// rename(2) of host files as one host rename. Emscripten's NODEFS unlinks
// the destination and then renames, so os.replace() — the atomic-write
// idiom (write a temporary file, fsync, replace) — left a moment with no
// file at all, in which another worker or process reading it got
// FileNotFoundError; and it refuses a rename between two of its mounts
// (EXDEV) although the host's directories (/tmp, /home, /srv, one mount each
// in the interpreter) may well be one file system, where CPython succeeds.
//
// For a rename between host directories: the host's rename(2), its answer
// (EXDEV only when the host says so), then Emscripten's node table is brought
// in line, as FS.rename does (open files keep their node, now at its new name).

import fs from 'node:fs';
import path from 'node:path';
import type { EmModule, EmNode, Syscall, WasmImports } from './module.js';
import { hostPathOf, isHostNode, pathAt, syscallError } from './nodefs.js';

interface FileSystem {
  lookupPath(path: string, opts: { parent?: boolean }): { node: EmNode | null };
  lookupNode(dir: EmNode, name: string): EmNode;
  isMountpoint(node: EmNode): boolean;
  hashRemoveNode(node: EmNode): void;
  hashAddNode(node: EmNode): void;
  ErrnoError: new (errno: number) => Error;
}

/** Emscripten's EBUSY. */
const EM_EBUSY = 10;

export function patchRename(imports: WasmImports, mod: EmModule): void {
  const renameat = imports.__syscall_renameat as Syscall;
  imports.__syscall_renameat = (olddirfd: number, oldp: number, newdirfd: number, newp: number) => {
    const FS = mod.FS as unknown as FileSystem;
    const emscripten = () => renameat(olddirfd as never, oldp as never, newdirfd as never, newp as never);
    try {
      const oldPath = pathAt(mod.FS, olddirfd, mod.UTF8ToString(oldp >>> 0), false);
      const newPath = pathAt(mod.FS, newdirfd, mod.UTF8ToString(newp >>> 0), false);
      const oldName = path.posix.basename(oldPath);
      const newName = path.posix.basename(newPath);
      const oldDir = FS.lookupPath(oldPath, { parent: true }).node;
      const newDir = FS.lookupPath(newPath, { parent: true }).node;
      const special = (n: string) => n === '' || n === '.' || n === '..';
      if (!oldDir || !newDir || !isHostNode(mod, oldDir) || !isHostNode(mod, newDir) || special(oldName) || special(newName)) {
        return emscripten();
      }
      const oldNode = FS.lookupNode(oldDir, oldName);
      let newNode: EmNode | null = null;
      try {
        newNode = FS.lookupNode(newDir, newName);
      } catch {
        // no destination yet
      }
      if (FS.isMountpoint(oldNode) || (newNode && FS.isMountpoint(newNode))) throw new FS.ErrnoError(EM_EBUSY);
      fs.renameSync(path.posix.join(hostPathOf(mod, oldDir), oldName), path.posix.join(hostPathOf(mod, newDir), newName));
      if (newNode && newNode !== oldNode) FS.hashRemoveNode(newNode);
      FS.hashRemoveNode(oldNode);
      oldNode.parent = newDir;
      oldNode.name = newName;
      (oldNode as { mount: EmNode['mount'] }).mount = newDir.mount;
      FS.hashAddNode(oldNode);
      return 0;
    } catch (e) {
      return syscallError(mod, e);
    }
  };
}
