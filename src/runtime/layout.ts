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
  /** The project's .python_packages, then the site-packages of an active ($VIRTUAL_ENV) or local (.venv) virtualenv. */
  siteDirs: string[];
  /** Every host directory the interpreter sees, outermost only (mounted at its own path). */
  mounts: string[];
  /** Symbolic links of the host's root (/bin -> usr/bin), made again in the interpreter's root. */
  rootLinks: { path: string; target: string }[];
  /** What sys.prefix and sys.base_prefix say (prefix.py). */
  prefix: PythonPrefix;
}

/**
 * sys.prefix / sys.base_prefix as CPython on the host would have them: the
 * virtualenv's folder and its base interpreter's prefix (pyvenv.cfg `home`
 * minus bin/), else Debian's /usr. Libraries compute paths from them: Flask
 * takes an app below sys.prefix for an installed one (instance folder in
 * <prefix>/var), so the prefix of Pyodide's own root (/) would put every app there.
 */
export interface PythonPrefix {
  prefix: string;
  basePrefix: string;
}

/** The prefix of a CPython that is not in a virtualenv: Debian's python3. */
export const SYSTEM_PREFIX = '/usr';

/**
 * Entries of the host's root that stay the interpreter's own, not the host's:
 * /lib holds Pyodide's standard library (/lib/python3.14, python314.zip; on
 * merged-/usr hosts the host's /lib is only a link to usr/lib, which is
 * mounted); /dev and /proc are Emscripten's devices (/dev/null, the tty,
 * /proc/self/fd), which CPython's os module relies on.
 */
export const INTERPRETER_ROOT = new Set(['lib', 'dev', 'proc']);

/** Host directories below INTERPRETER_ROOT that are the host's all the same (POSIX shared memory, as multiprocessing and Gunicorn's --worker-tmp-dir use it). */
const HOST_SUBDIRS = ['/dev/shm'];

/** The active ($VIRTUAL_ENV) or local (./.venv, ./venv) virtualenv, as CPython's site finds one by its pyvenv.cfg. */
function findVenv(cwd: string): string | null {
  const venvs = [process.env.VIRTUAL_ENV, path.join(cwd, '.venv'), path.join(cwd, 'venv')];
  for (const venv of venvs) if (venv && fs.existsSync(path.join(venv, 'pyvenv.cfg'))) return path.resolve(venv);
  return null;
}

function venvSiteDirs(venv: string | null): string[] {
  if (!venv) return [];
  const out: string[] = [];
  const lib = path.join(venv, 'lib');
  for (const entry of fs.readdirSync(lib, { withFileTypes: true })) {
    const sp = path.join(lib, entry.name, 'site-packages');
    if (entry.isDirectory() && entry.name.startsWith('python') && fs.existsSync(sp)) out.push(sp);
  }
  return out;
}

/**
 * The project's own site-packages, which `nicorn-py install` fills (src/install/):
 * in the --chdir folder, put on sys.path (site.addsitedir, so .pth files work)
 * ahead of a virtualenv's, as it holds builds made for this interpreter.
 */
export const PROJECT_SITE = '.python_packages';

function projectSiteDirs(cwd: string): string[] {
  const dir = path.join(cwd, PROJECT_SITE);
  return fs.existsSync(dir) ? [dir] : [];
}

/** pyvenv.cfg's `home` (the base interpreter's bin/), as CPython's getpath reads it. */
export function venvBasePrefix(cfg: string): string {
  const home = /^\s*home\s*=\s*(.*?)\s*$/m.exec(cfg)?.[1];
  return home ? path.dirname(path.resolve(home)) : SYSTEM_PREFIX;
}

export function pythonPrefix(venv: string | null): PythonPrefix {
  if (!venv) return { prefix: SYSTEM_PREFIX, basePrefix: SYSTEM_PREFIX };
  let cfg = '';
  try {
    cfg = fs.readFileSync(path.join(venv, 'pyvenv.cfg'), 'utf8');
  } catch {
    // unreadable: CPython would not take it for a venv either, but layout found it
  }
  return { prefix: venv, basePrefix: venvBasePrefix(cfg) };
}

/**
 * The host's root as the interpreter shows it: every directory at its own
 * path (a NODEFS mount each; the root itself must stay Emscripten's), every
 * symbolic link as a link, except INTERPRETER_ROOT. Regular files in / (such
 * as /.dockerenv) cannot be mounted and are not shown.
 */
export function hostRoot(root = '/'): { dirs: string[]; links: { path: string; target: string }[] } {
  const dirs: string[] = [];
  const links: { path: string; target: string }[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (INTERPRETER_ROOT.has(entry.name)) continue;
    const p = path.join(root, entry.name);
    if (entry.isDirectory()) dirs.push(p);
    else if (entry.isSymbolicLink()) links.push({ path: p, target: fs.readlinkSync(p) });
  }
  return { dirs, links };
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


/** `extra`: further host directories to show (a config file's folder). */
export function hostLayout(chdir: string, pythonPath: string[], extra: string[] = []): HostLayout {
  const cwd = path.resolve(chdir);
  const pp = pythonPath.map((p) => path.resolve(cwd, p));
  const venv = findVenv(cwd);
  const siteDirs = [...projectSiteDirs(cwd), ...venvSiteDirs(venv)];
  const root = hostRoot();
  // The folders the app is run from are shown also when they lie below INTERPRETER_ROOT (a non-merged /lib).
  const needed = [cwd, ...pp, ...siteDirs, ...extra, os.tmpdir(), PYTHON_DIR, ...HOST_SUBDIRS]
    .filter((d) => fs.existsSync(d))
    .map((d) => fs.realpathSync(d))
    // The root and INTERPRETER_ROOT themselves cannot be the host's (run from /: its directories are mounted one by one).
    .filter((d) => d !== '/' && !INTERPRETER_ROOT.has(d.slice(1)));
  return {
    cwd,
    pythonPath: pp,
    siteDirs,
    mounts: outermost([...root.dirs, ...needed]),
    rootLinks: root.links,
    prefix: pythonPrefix(venv),
  };
}
