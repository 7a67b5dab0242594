// The Python the workers run, as an installer must see it: PEP 508 marker
// values and the wheel tags it can load. Derived from the installed Pyodide's
// own pyodide-lock.json (its `info`: Python 3.14.2, emscripten_5_0_3, wasm32,
// ABI 2026_0), not written down here, so a Pyodide upgrade carries them along.
// test/unit/install-environment.test.ts boots the runtime and checks every
// marker value against what sys, platform and os answer there.

import fs from 'node:fs';
import path from 'node:path';
import { version as PYODIDE_VERSION } from 'pyodide';
import { PYODIDE_DIR } from '../runtime/layout.js';

/** pyodide-lock.json as far as nicorn-py reads it. */
export interface PyodideLock {
  info: { abi_version: string; arch: string; platform: string; python: string };
  packages: Record<string, PyodideLockPackage>;
}

export interface PyodideLockPackage {
  name: string;
  version: string;
  file_name: string;
  sha256: string;
  depends: string[];
  package_type: string;
}

/** PEP 508's environment markers, by name. */
export type MarkerEnv = Record<string, string>;

export interface TargetPython {
  pyodideVersion: string;
  /** 3.14.2 */
  pythonFullVersion: string;
  /** 3.14 */
  pythonVersion: string;
  markers: MarkerEnv;
  /** Wheel tags the runtime loads, most specific first (index = preference). */
  tags: string[];
  /** Pyodide's platform tag for WebAssembly wheels (pyemscripten_2026_0_wasm32). */
  platformTag: string;
}

export const PYODIDE_LOCK_FILE = path.join(PYODIDE_DIR, 'pyodide-lock.json');

let lockCache: PyodideLock | null = null;
export function pyodideLock(): PyodideLock {
  lockCache ??= JSON.parse(fs.readFileSync(PYODIDE_LOCK_FILE, 'utf8')) as PyodideLock;
  return lockCache;
}

/** The tags of `minor` (14) in packaging.tags' order for a pure-Python + Pyodide interpreter. */
function wheelTags(minor: number, platforms: string[]): string[] {
  const cp = `cp3${minor}`;
  const tags: string[] = [];
  // Built for this interpreter on this platform, then the stable ABI of earlier minors.
  for (const plat of platforms) tags.push(`${cp}-${cp}-${plat}`);
  for (const plat of platforms) for (let m = minor; m >= 2; m--) tags.push(`cp3${m}-abi3-${plat}`);
  for (const plat of platforms) tags.push(`${cp}-none-${plat}`);
  // Pure Python: this version, then older ones, then `any`.
  tags.push(`${cp}-none-any`);
  for (let m = minor; m >= 0; m--) tags.push(`py3${m}-none-any`);
  tags.push('py3-none-any');
  return tags;
}

export function targetPython(): TargetPython {
  const info = pyodideLock().info;
  const [major, minor] = info.python.split('.').map(Number) as [number, number];
  // emscripten_5_0_3 -> platform.release() 5.0.3
  const release = info.platform.replace(/^emscripten_/, '').replaceAll('_', '.');
  const platformTag = `pyemscripten_${info.abi_version}_${info.arch}`;
  return {
    pyodideVersion: PYODIDE_VERSION,
    pythonFullVersion: info.python,
    pythonVersion: `${major}.${minor}`,
    markers: {
      os_name: 'posix',
      sys_platform: 'emscripten',
      platform_machine: info.arch,
      platform_python_implementation: 'CPython',
      platform_release: release,
      platform_system: 'Emscripten',
      platform_version: '#1',
      python_version: `${major}.${minor}`,
      python_full_version: info.python,
      implementation_name: 'cpython',
      implementation_version: info.python,
    },
    // PEP 783's name for Pyodide's platform, its earlier pyodide_ spelling, and Emscripten's own.
    tags: wheelTags(minor, [platformTag, `pyodide_${info.abi_version}_${info.arch}`, `${info.platform}_${info.arch}`]),
    platformTag,
  };
}
