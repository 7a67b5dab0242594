// The snapshot maker: a thread of the arbiter (the python-thread.js entry,
// role 'snapshot-maker') that does what Gunicorn's arbiter does before it
// forks with --preload — run the config file, import the app — and hands
// back a memory image of that interpreter for every worker to start from,
// with the host files and directories it read (what the image depends on).
// The thread ends afterwards, and the interpreter's memory with it.

import fs from 'node:fs';
import type { ConfigSource } from '../config/interpreter.js';
import type { PythonLogOptions } from '../log/error-log.js';
import { findBaseImage } from './base-image.js';
import { bootPyodide, installPrefix, interpreterEnv, useCodeCache, type HostLayout } from './boot.js';
import { SnapshotError, imageFromFd, makeImage, trackHostReads } from './snapshot.js';
import { cacheDir } from './snapshot-cache.js';
import type { PyodideInterface } from 'pyodide';

/**
 * What an image holds besides the app, by version: part of the cache key,
 * so that images made by an older nicorn-py are made again.
 * 2: the stdlib modules of WARM_IMPORTS.
 */
export const IMAGE_FORMAT = 2;

/**
 * Standard-library modules that WSGI frameworks import on their first
 * request, imported into the image so that no worker does it then. Pyodide's
 * stdlib ships as sources, so a restored worker would compile them, and the
 * first compile() in a process is the slowest (the parser's code is compiled
 * by V8 on first use): 0.1-0.3 s on the first request. encodings.idna (with
 * stringprep) is the codec Werkzeug and urllib encode a Host with.
 */
const WARM_IMPORTS = ['encodings.idna'];

export interface SnapshotMakerData {
  role: 'snapshot-maker';
  layout: HostLayout;
  /** raw_env, on top of the process's environment. */
  extraEnv: Record<string, string>;
  app: string;
  config: ConfigSource | null;
  loglevel: string;
  /** The arbiter's pid: os.getpid() while the app is imported, as in Gunicorn's master. */
  pid: number;
  /** The arbiter's error log, when it has one yet. */
  log: PythonLogOptions | null;
  /** False: import the app (so a broken one fails fast) but make no image. */
  makeImage: boolean;
}

/** What the app read of the host while it was imported: what its image depends on. */
export interface HostReads {
  files: string[];
  dirs: string[];
  /** The environment variables it asked os.environ for; null: it went through all of them. */
  environ: string[] | null;
}

export type SnapshotMakerResult =
  /** `from`: what the maker's interpreter started from ('base': the base image; the --preload maker only). */
  | { kind: 'image'; image: Uint8Array; reads: HostReads; from?: 'base' | 'boot' }
  /** Importing the app (or running the config file) raised. */
  | { kind: 'app-error'; traceback: string }
  /** The app imported, but its state cannot be carried by an image. */
  | { kind: 'uncarriable'; reason: string };

/** What the base snapshot's maker (base-image.ts) starts with. */
export interface BaseMakerData {
  /** Host directories to mount while it is made (python/nicorn's among them); not part of the image. */
  layout: HostLayout;
  /** Standard-library modules to import into the image. */
  imports: string[];
  /** Where the maker caches the image itself (base-image.ts storeBaseImage). */
  store: BaseStore;
}

export interface BaseStore {
  cacheDir: string;
  /** The lock file to remove once done. */
  lock: string;
  /** Why it is made (the cache's miss), for the log. */
  why: string;
}

/**
 * The base snapshot: an interpreter booted, with python/nicorn's host parts
 * installed and `imports` imported, before any app or config file; no
 * sys.prefix (the worker restoring it installs its layout's).
 */
export async function makeBaseSnapshot(data: BaseMakerData): Promise<SnapshotMakerResult> {
  const py = await bootPyodide(data.layout, {}, undefined, { kind: 'for-base' });
  const reads = trackHostReads(py);
  const worker = py.pyimport('nicorn.worker');
  const opts = py.toPy({ host_env: interpreterEnv(), imports: data.imports });
  let out: { environ: string[]; environ_all: boolean };
  try {
    out = JSON.parse(worker.base_image(opts) as string) as typeof out;
  } catch (e) {
    return { kind: 'uncarriable', reason: `making the base snapshot failed: ${(e as Error).message}` };
  } finally {
    opts.destroy();
    worker.destroy();
  }
  return imageOf(py, reads, out);
}

/** The interpreter's image, with what it read from the host and which environment variables it read (all: null). */
function imageOf(py: PyodideInterface, reads: ReturnType<typeof trackHostReads>, out: { environ: string[]; environ_all: boolean }): SnapshotMakerResult {
  try {
    const image = makeImage(py);
    return { kind: 'image', image, reads: { files: [...reads.files], dirs: [...reads.dirs], environ: out.environ_all ? null : out.environ } };
  } catch (e) {
    if (e instanceof SnapshotError) return { kind: 'uncarriable', reason: e.message };
    throw e;
  }
}

/**
 * The --preload maker's interpreter: from the base image when the cache has
 * a current one, as workers start (a boot costs seconds more: Flask fixture,
 * first launch with --preload, 4.1 s booting vs 2.1 s restored), else booted.
 */
async function makerInterpreter(data: SnapshotMakerData): Promise<{ py: PyodideInterface; restored: '' | 'base' }> {
  const found = findBaseImage();
  if (found.kind === 'hit') {
    try {
      useCodeCache(cacheDir());
      const mode = { kind: 'restore', image: imageFromFd(found.fd), forSnapshot: true } as const;
      const py = await bootPyodide(data.layout, data.extraEnv, data.log ?? undefined, mode);
      installPrefix(py, data.layout.prefix);
      return { py, restored: 'base' };
    } catch {
      // A damaged image: booting is what it would have saved.
    } finally {
      fs.closeSync(found.fd);
    }
  }
  return { py: await bootPyodide(data.layout, data.extraEnv, data.log ?? undefined, { kind: 'for-snapshot' }), restored: '' };
}

export async function makeSnapshot(data: SnapshotMakerData): Promise<SnapshotMakerResult> {
  const { py, restored } = await makerInterpreter(data);
  const reads = trackHostReads(py);
  const worker = py.pyimport('nicorn.worker');
  const opts = py.toPy({
    app: data.app,
    loglevel: data.loglevel,
    pid: data.pid,
    cwd: data.layout.cwd,
    pythonpath: data.layout.pythonPath,
    site_dirs: data.layout.siteDirs,
    config: data.config,
    env: interpreterEnv(data.extraEnv),
    restored,
  });
  const out = JSON.parse(worker.preload(opts) as string) as { traceback: string } | { environ: string[]; environ_all: boolean };
  // A proxy kept alive would keep its Python object alive in every worker.
  opts.destroy();
  worker.destroy();
  if ('traceback' in out) return { kind: 'app-error', traceback: out.traceback };
  if (!data.makeImage) return { kind: 'uncarriable', reason: 'snapshots are turned off (NICORN_PRELOAD_SNAPSHOT=0)' };
  // After the app's import, so that the manifest of host reads is the app's alone (these come from the stdlib zip).
  py.runPython(WARM_IMPORTS.map((m) => `import ${m}`).join('\n'));
  const made = imageOf(py, reads, out);
  return made.kind === 'image' ? { ...made, from: restored === 'base' ? 'base' : 'boot' } : made;
}
