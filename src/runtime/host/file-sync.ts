// fsync/fdatasync on the host's descriptor. Emscripten answers both with
// success and does nothing (NODEFS has no fsync), so a database or an app
// that syncs before it acknowledges a write (SQLite's journal, os.replace of
// a synced temp file) was told its data was on disk when it was only in the
// host's page cache.

import fs from 'node:fs';
import type { EmModule, Syscall, WasmImports } from './module.js';
import { errnoOf, hostStream } from './nodefs.js';

export function patchFileSync(imports: WasmImports, mod: EmModule): void {
  const fdSync = imports.fd_sync as Syscall;
  const fdatasync = imports.__syscall_fdatasync as Syscall;

  // WASI's fd_sync returns the errno itself, not its negation.
  imports.fd_sync = (fd: number) => {
    const stream = hostStream(mod, fd);
    if (!stream) return fdSync(fd as never);
    try {
      fs.fsyncSync(stream.nfd);
      return 0;
    } catch (e) {
      return errnoOf(mod, e);
    }
  };
  imports.__syscall_fdatasync = (fd: number) => {
    const stream = hostStream(mod, fd);
    if (!stream) return fdatasync(fd as never);
    try {
      fs.fdatasyncSync(stream.nfd);
      return 0;
    } catch (e) {
      return -errnoOf(mod, e);
    }
  };
}
