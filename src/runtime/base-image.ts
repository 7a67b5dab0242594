// The base snapshot: a worker's interpreter as it is before the app is
// imported — Pyodide started, python/nicorn's modules imported, the host
// parts installed (python/nicorn/host), the standard-library modules that
// Gunicorn's master has imported when it forks. Without --preload every
// worker starts from it and then imports the app itself, as a Gunicorn
// worker does after fork; booting Pyodide and getting that far would cost
// each worker seconds. Cached on disk beside the --preload images
// (snapshot-cache.ts: a manifest of what it was made from, the install's
// identity in its key) and made again when any of it changes; the first
// worker of an install that finds none boots as before and, once it serves,
// has it made in the background, by a process of its own (base-maker-main.ts).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LogLevel } from '../log/levels.js';
import { interpreterEnv } from './boot.js';
import { findUp, hostLayout } from './layout.js';
import { SnapshotCache, identityKey, installIdentity } from './snapshot-cache.js';
import type { BaseMakerData, BaseStore, SnapshotMakerResult } from './snapshot-maker.js';

/** Set to 0 to boot every worker's interpreter instead (measurements, or to rule the snapshot out). */
export const BASE_SWITCH_ENV = 'NICORN_BASE_SNAPSHOT';

/**
 * What the image holds besides nicorn, by version (part of its key).
 * 1: host parts installed, BASE_IMPORTS imported.
 */
const BASE_FORMAT = 1;

/**
 * Standard-library modules imported into the base image. First those that
 * Gunicorn 26's master has imported when it forks a worker (sys.modules in
 * its pre_fork hook, Debian's gunicorn 26.2.2 on CPython 3.11, hello app):
 * a forked Gunicorn worker finds them imported, so a nicorn-py worker finds
 * them too. Then the ones WSGI frameworks import from the standard library
 * (Flask's and Werkzeug's: http.*, mimetypes, decimal, uuid, hashlib, ...):
 * importing a module of the standard library does nothing an app can tell
 * apart but take time, and Pyodide compiles them from source in every
 * worker. Measured on the Flask fixture (CPU time, one booted interpreter):
 * its import takes 0.97-1.18 s bare, 0.50-0.66 s after the first list,
 * 0.25-0.26 s after both; the imports take 0.55-0.91 s once, in the image.
 * Each is imported when present: a module Pyodide lacks is left out.
 */
export const BASE_IMPORTS = [
  // Gunicorn's master.
  'argparse', 'ast', 'base64', 'calendar', 'copy', 'csv', 'datetime', 'dis', 'email.feedparser', 'email.header',
  'email.message', 'email.parser', 'email.utils', 'fnmatch', 'gettext', 'glob', 'html', 'importlib.metadata',
  'importlib.resources', 'importlib.util', 'inspect', 'ipaddress', 'json', 'locale', 'logging.config',
  'logging.handlers', 'pathlib', 'pickle', 'platform', 'queue', 'random', 'selectors', 'shlex', 'shutil', 'socket',
  'socketserver', 'string', 'tempfile', 'textwrap', 'threading', 'tokenize', 'typing', 'urllib.parse', 'zipfile',
  // WSGI frameworks'.
  'contextvars', 'dataclasses', 'decimal', 'difflib', 'encodings.idna', 'hashlib', 'hmac', 'http.client',
  'http.cookies', 'http.server', 'mimetypes', 'numbers', 'pkgutil', 'pprint', 'secrets', 'unicodedata',
  'urllib.request', 'uuid', 'weakref', 'wsgiref.util',
];

/** A maker whose process is gone leaves its lock behind, taken over at once; one stuck this long is taken over too (a make takes 3-4 s, 45 s on a loaded machine). */
const STALE_LOCK_MS = 120_000;

/** The cache key: the install, and what the image holds. */
export function baseKey(): string {
  return identityKey({ install: installIdentity(), image: 'base', format: BASE_FORMAT, imports: BASE_IMPORTS });
}

export type BaseLookup =
  | { kind: 'hit'; file: string; fd: number }
  | { kind: 'miss'; why: string }
  /** Turned off (BASE_SWITCH_ENV=0). */
  | { kind: 'off' };

/** The cached base image, still current, opened; or why there is none. */
export function findBaseImage(cache = new SnapshotCache()): BaseLookup {
  if (process.env[BASE_SWITCH_ENV] === '0') return { kind: 'off' };
  const found = cache.lookup(baseKey(), interpreterEnv());
  if (found.kind === 'miss') return found;
  try {
    return { kind: 'hit', file: found.file, fd: fs.openSync(found.file, 'r') };
  } catch {
    return { kind: 'miss', why: 'the snapshot file is gone' };
  }
}

/** The base maker's process entry (base-maker-main.ts). */
const BASE_MAKER = path.join(findUp(path.dirname(fileURLToPath(import.meta.url)), 'dist/base-maker.js'), 'base-maker.js');

/** A line for the error log of the worker that had the image made. */
export interface BaseReport {
  level: LogLevel;
  message: string;
}

/**
 * Has the base image made by a process of its own, which caches it; `report`
 * gets the line to log once it is done (not if this process has gone since).
 * The first worker of an install calls this once it serves, so that making
 * the image delays nobody's first response. One maker at a time (a lock file
 * naming its pid): false when another is at it, or the cache cannot be written.
 *
 * A process, not a thread of the worker. The thread it was shared the
 * serving interpreter's process (V8's engine and the compiled wasm, the CPU)
 * and was started from the Python thread, whose event loop never turns
 * again once it serves. A worker with that thread, and only such a worker,
 * now and then never stopped on --timeout's ABRT (three CI runs: "Python did
 * not stop within 5 s of ABRT"; never in 16 tries here): which of the shared
 * things did it was not found, so the maker now shares none of them.
 */
export function startMakingBaseImage(why: string, report: (r: BaseReport) => void, cache = new SnapshotCache()): boolean {
  const lock = takeLock(path.join(cache.dir, `${baseKey()}.lock`));
  if (lock === null) return false;
  // Another worker may have made it while this one booted without it (seen: a worker
  // added by TTIN made it a second time, seconds of CPU while a suite timed a request).
  if (cache.lookup(baseKey(), interpreterEnv()).kind === 'hit') {
    fs.rmSync(lock, { force: true });
    return false;
  }
  const data: BaseMakerData = { layout: hostLayout(os.tmpdir(), []), imports: BASE_IMPORTS, store: { cacheDir: cache.dir, lock, why } };
  // Its own stdio is nobody's: what it has to say comes back as a report. It
  // outlives a worker that leaves meanwhile, and caches the image all the same.
  // Not the worker's V8 flags (a small young generation, for its memory): the maker lives seconds.
  const maker = fork(BASE_MAKER, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: [] });
  // The lock names the maker from now on, so that it stays taken while the maker lives.
  if (maker.pid !== undefined) fs.writeFileSync(lock, String(maker.pid));
  let reported = false;
  const failed = (why: string) => {
    if (reported) return;
    reported = true;
    report({ level: 'warning', message: `Cannot make the base snapshot (${why}); workers boot without it` });
    // One that died leaves its lock behind; a live maker's is its own to remove.
    fs.rmSync(lock, { force: true });
  };
  maker.once('message', (r: BaseReport) => {
    reported = true;
    report(r);
  });
  // 'close', not 'exit': its message may still be in the channel when it has exited.
  maker.once('close', (code, signal) => failed(`its process ended: ${signal ?? `exit code ${code}`}`));
  maker.once('error', (e) => failed(`its process: ${e.message}`));
  maker.send(data);
  maker.unref();
  (maker.channel as { unref?: () => void } | undefined)?.unref?.();
  return true;
}

/** In the maker's process, once the image is made: caches it, releases the lock; the line to log. */
export function storeBaseImage(made: SnapshotMakerResult, ms: number, store: BaseStore): BaseReport {
  try {
    if (made.kind !== 'image') {
      return { level: 'warning', message: `Cannot make the base snapshot (${made.kind === 'app-error' ? made.traceback : made.reason}); workers boot without it` };
    }
    const file = new SnapshotCache(store.cacheDir).store(baseKey(), made.image, made.reads, interpreterEnv());
    return { level: 'info', message: `Base snapshot made in ${ms} ms (${store.why}): ${file}` };
  } catch (e) {
    return { level: 'warning', message: `Cannot cache the base snapshot: ${(e as Error).message}` };
  } finally {
    fs.rmSync(store.lock, { force: true });
  }
}

/** Creates `file` holding this pid if nobody holds it (or its holder is gone or long stuck); returns it, or null. */
function takeLock(file: string): string | null {
  const create = () => {
    const fd = fs.openSync(file, 'wx', 0o600);
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
  };
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    create();
    return file;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return null;
  }
  try {
    const holder = Number(fs.readFileSync(file, 'utf8'));
    if (alive(holder) && Date.now() - fs.statSync(file).mtimeMs < STALE_LOCK_MS) return null;
    fs.rmSync(file, { force: true });
    create();
    return file;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
