// Where things are: the host directories a Pyodide interpreter sees (its
// layout, mounted at their real paths so that the app's __file__, tracebacks
// and relative reads look the same as under Gunicorn), our python/ folder,
// the pyodide package. Apart from boot.ts on purpose: a worker's I/O thread
// needs the layout, not Pyodide's loader, and starts sooner without loading it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where python/nicorn lives: the package's python/ folder, found upward from this bundle. */
export const PYTHON_DIR = findUp(path.dirname(fileURLToPath(import.meta.url)), 'python/nicorn/__init__.py');

/** The directory holding `rel` (its first segment), searched upward from `from`. */
export function findUp(from: string, rel: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, rel))) return path.join(dir, rel.split('/')[0]!);
    if (dir === path.dirname(dir)) throw new Error(`cannot find ${rel} above ${from}`);
  }
}

/** Where the pyodide package lives, with a trailing separator. */
export const PYODIDE_DIR = path.dirname(fileURLToPath(import.meta.resolve('pyodide'))) + path.sep;

export interface HostLayout {
  /** The working directory (--chdir), absolute. */
  cwd: string;
  /** --pythonpath entries, absolute, in the order given. */
  pythonPath: string[];
  /** site-packages of an active ($VIRTUAL_ENV) or local (.venv) virtualenv. */
  siteDirs: string[];
  /** Every host directory the interpreter sees, outermost only. */
  mounts: string[];
}

function venvSiteDirs(cwd: string): string[] {
  const venvs = [process.env.VIRTUAL_ENV, path.join(cwd, '.venv'), path.join(cwd, 'venv')];
  const out: string[] = [];
  for (const venv of venvs) {
    if (!venv || !fs.existsSync(path.join(venv, 'pyvenv.cfg'))) continue;
    const lib = path.join(venv, 'lib');
    for (const entry of fs.readdirSync(lib, { withFileTypes: true })) {
      const sp = path.join(lib, entry.name, 'site-packages');
      if (entry.isDirectory() && entry.name.startsWith('python') && fs.existsSync(sp)) out.push(sp);
    }
    break;
  }
  return out;
}

/** Keeps only the outermost directories: a mount already shows its subtree. */
export function outermost(dirs: string[]): string[] {
  const sorted = [...new Set(dirs.map((d) => path.resolve(d)))].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const d of sorted) {
    if (!kept.some((k) => k === '/' || d === k || d.startsWith(k + path.sep))) kept.push(d);
  }
  return kept;
}

/**
 * The host's zoneinfo database, at the paths of CPython's zoneinfo.TZPATH on
 * Debian (sysconfig's TZPATH, which Pyodide's CPython shares), so that
 * zoneinfo.ZoneInfo("Europe/Paris") reads the host's files.
 * TODO(files): drop once the whole host filesystem is visible; until then
 * this is the time-zone part's own mount (src/runtime/host/timezone.ts).
 */
const ZONEINFO_DIRS = ['/usr/share/zoneinfo', '/usr/lib/zoneinfo', '/usr/share/lib/zoneinfo', '/etc/zoneinfo'];

/** `extra`: further host directories to show (a config file's folder). */
export function hostLayout(chdir: string, pythonPath: string[], extra: string[] = []): HostLayout {
  const cwd = path.resolve(chdir);
  const pp = pythonPath.map((p) => path.resolve(cwd, p));
  const siteDirs = venvSiteDirs(cwd);
  const existing = [cwd, ...pp, ...siteDirs, ...extra, os.tmpdir(), PYTHON_DIR, ...ZONEINFO_DIRS].filter((d) => fs.existsSync(d));
  return { cwd, pythonPath: pp, siteDirs, mounts: outermost(existing.map((d) => fs.realpathSync(d))) };
}
