// The host layer: Emscripten's JS implementations of system calls that
// Pyodide's CPython links against are replaced, before the module is
// instantiated, by ones that act on the host (real locks, sockets, DNS,
// time zones, stat times) instead of Emscripten's in-memory emulation.
// CPython's C code (socket, select, fcntl, sqlite3, time) then runs
// unchanged and reaches the host, as it does under Gunicorn.
//
// Each module below owns one concern and replaces only its own imports.

import { patchDns } from './dns.js';
import type { EmModule, WasmImports } from './module.js';
import { patchStat } from './stat.js';
import { patchPermissions } from './permissions.js';
import { patchFileSync } from './file-sync.js';
import { patchRename } from './rename.js';
import { patchSockets } from './sockets.js';
import { patchTimeZone } from './timezone.js';
import { keepModuleForTls } from './tls-api.js';
import { patchLocks } from './locks.js';
import { patchInterruptCheck } from './wait.js';

/** Replaces some of `imports` with host-backed versions; `mod` is the module being built (filled in as it boots). */
export type ImportPatch = (imports: WasmImports, mod: EmModule) => void;

const PATCHES: ImportPatch[] = [
  patchStat,
  patchPermissions,
  patchFileSync,
  patchRename,
  patchLocks,
  patchSockets,
  patchDns,
  keepModuleForTls,
  patchTimeZone,
  patchInterruptCheck,
];

/**
 * Installs every patch into the import object Emscripten hands to
 * `instantiateWasm`. `settings` is the object passed to the module factory:
 * Emscripten makes it the Module, so its FS, heap views and allocator
 * appear on it as the module boots.
 */
export function patchImports(imports: { env?: WasmImports }, settings: object): void {
  const env = imports.env;
  if (!env) return;
  const mod = settings as EmModule;
  for (const patch of PATCHES) patch(env, mod);
}
