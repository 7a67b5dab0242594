// Snapshot images on disk, so that a restarted arbiter does not import the
// app again: one manifest per identity (Pyodide, nicorn-py, app, layout,
// config file), naming its image and what the image was made from — the
// host files read and directories listed, with their hashes, and the
// environment variables read, with their values. An image is used only
// while every one of them is unchanged.
//
// Images hold the app's memory (its environment and secrets included): the
// directory is the user's own (0700) and the files are 0600.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { version as PYODIDE_VERSION } from 'pyodide';
import { VERSION } from '../version.js';
import { PYODIDE_DIR, PYTHON_DIR } from './layout.js';
import type { HostReads } from './snapshot-maker.js';

const MANIFEST_VERSION = 1;
/** Manifests not used for this long are removed (with their images) when a new image is stored. */
const UNUSED_MS = 7 * 24 * 3600 * 1000;

export interface Manifest {
  version: number;
  /** The image file's name, in the cache directory, and its size. */
  image: string;
  imageBytes: number;
  createdAt: string;
  /** Host file -> sha256 of its content, for every file read while the app was imported. */
  files: Record<string, string>;
  /** Host directory -> hash of its listing, for every directory listed (sys.path entries, packages). */
  dirs: Record<string, string>;
  /** Variable -> value (null: unset), for every variable read; with `environAll`, every variable but the volatile ones. */
  environ: Record<string, string | null>;
  environAll: boolean;
}

/** $XDG_CACHE_HOME/nicorn-py, else ~/.cache/nicorn-py. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'nicorn-py');
}

const sha256 = (data: crypto.BinaryLike) => crypto.createHash('sha256').update(data).digest('hex');

/** The cache key of everything that decides what an image holds, besides files. */
export function identityKey(identity: unknown): string {
  return sha256(JSON.stringify(identity)).slice(0, 32);
}

/** Pyodide's files an image depends on: the interpreter's code and its standard library. */
const PYODIDE_FILES = ['pyodide.asm.wasm', 'pyodide.asm.mjs', 'python_stdlib.zip'];
/** Where this code runs from (dist/): its bundles are nicorn-py's JavaScript. */
const CODE_DIR = path.dirname(fileURLToPath(import.meta.url));

/**
 * What every image depends on besides the files Python read: the install
 * and the engine that runs it. The versions, where nicorn-py's Python lives
 * (an image names it on sys.path), the size and time of nicorn-py's bundles
 * and of Pyodide's files (a rebuild or an upgrade in place makes images
 * anew), and node's and V8's versions. Stats only: hashing
 * pyodide.asm.wasm's 9.6 MB would cost every worker's start ~20 ms.
 */
export function installIdentity(codeDir = CODE_DIR, pyodideDir = PYODIDE_DIR, engine: Engine = runningEngine()): Record<string, unknown> {
  let code: string[] = [];
  try {
    code = fs.readdirSync(codeDir).filter((f) => f.endsWith('.js')).sort().map((f) => path.join(codeDir, f));
  } catch {
    // no such folder: nothing to tell apart
  }
  const files = [...code, ...PYODIDE_FILES.map((f) => path.join(pyodideDir, f))].map((f) => {
    const st = fs.statSync(f, { throwIfNoEntry: false });
    return st ? `${f}:${st.size}:${st.mtimeMs}` : `${f}:-`;
  });
  return { pyodide: PYODIDE_VERSION, nicorn: VERSION, python: PYTHON_DIR, files: sha256(files.join('\n')), engine };
}

/** The node and V8 that make and restore an image. */
export interface Engine {
  node: string;
  v8: string;
}

/**
 * An image holds Pyodide's JavaScript state as well as the wasm memory, and
 * Pyodide builds that state by what the engine offers: an image made under
 * Node 26 and restored under Node 20 failed every worker's restore with
 * "RuntimeError: table index is out of bounds" (each then booted without
 * it, 3.4 s instead of 0.7), and both lines share one cache.
 */
function runningEngine(): Engine {
  return { node: process.version, v8: process.versions.v8 };
}

/** Variables that differ from one start to the next without meaning anything to the app. */
const VOLATILE_ENV = /^(NICORN_.*|INVOCATION_ID|JOURNAL_STREAM|SYSTEMD_EXEC_PID|LISTEN_(PID|FDS|FDNAMES)|WATCHDOG_(PID|USEC)|_|OLDPWD|SHLVL)$/;
/** Read below Python's os.environ (C library, interpreter start-up): always part of what an image depends on. */
const C_LEVEL_ENV = /^(TZ|LANG|LANGUAGE|LC_[A-Z]+|PYTHON[A-Z_]*)$/;

/** The variables an image depends on, with their values in `env`. */
function environOf(env: Record<string, string>, names: string[] | null): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const wanted = names ?? Object.keys(env).filter((k) => !VOLATILE_ENV.test(k));
  for (const k of [...wanted, ...Object.keys(env).filter((k) => C_LEVEL_ENV.test(k))].sort()) out[k] = env[k] ?? null;
  return out;
}

function fileHash(file: string): string | null {
  try {
    return sha256(fs.readFileSync(file));
  } catch {
    return null;
  }
}

/** Names that come and go while the app runs and mean nothing to an import. */
const RUNTIME_NAMES = /(^__pycache__$|\.(log|pid|sock|tmp|swp)$|~$)/;

function dirHash(dir: string): string | null {
  try {
    const names = fs.readdirSync(dir).filter((n) => !RUNTIME_NAMES.test(n)).sort();
    return sha256(names.join('\0'));
  } catch {
    return null;
  }
}

/** The manifest of an image made from these reads, in the environment `env`. */
export function describe(image: string, imageBytes: number, reads: HostReads, env: Record<string, string>): Manifest {
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    image,
    imageBytes,
    createdAt: new Date().toISOString(),
    files: {},
    dirs: {},
    environ: environOf(env, reads.environ),
    environAll: reads.environ === null,
  };
  for (const f of [...reads.files].sort()) {
    const h = fileHash(f);
    if (h) manifest.files[f] = h;
  }
  for (const d of [...reads.dirs].sort()) {
    const h = dirHash(d);
    if (h) manifest.dirs[d] = h;
  }
  return manifest;
}

/** What changed since the manifest was written, in the environment `env`: the first difference found, or null. */
export function staleness(manifest: Manifest, env: Record<string, string>): string | null {
  const now = environOf(env, manifest.environAll ? null : Object.keys(manifest.environ));
  for (const k of new Set([...Object.keys(now), ...Object.keys(manifest.environ)])) {
    if ((now[k] ?? null) !== (manifest.environ[k] ?? null)) return `environment variable ${k} changed`;
  }
  for (const [f, h] of Object.entries(manifest.files)) if (fileHash(f) !== h) return `${f} changed`;
  for (const [d, h] of Object.entries(manifest.dirs)) if (dirHash(d) !== h) return `the contents of ${d} changed`;
  return null;
}

export type Lookup = { kind: 'hit'; file: string } | { kind: 'miss'; why: string };

export class SnapshotCache {
  constructor(readonly dir: string = cacheDir()) {}

  private manifestPath(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  /** The image for `key` if it is still what importing the app in the environment `env` would give. */
  lookup(key: string, env: Record<string, string>): Lookup {
    let manifest: Manifest;
    try {
      manifest = JSON.parse(fs.readFileSync(this.manifestPath(key), 'utf8')) as Manifest;
    } catch {
      return { kind: 'miss', why: 'no snapshot yet' };
    }
    if (manifest.version !== MANIFEST_VERSION) return { kind: 'miss', why: 'the snapshot was made by another nicorn-py' };
    const file = path.join(this.dir, path.basename(manifest.image));
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
    if (size === undefined) return { kind: 'miss', why: 'the snapshot file is gone' };
    if (size !== manifest.imageBytes) return { kind: 'miss', why: 'the snapshot file is damaged' };
    const stale = staleness(manifest, env);
    if (stale) return { kind: 'miss', why: stale };
    try {
      // Marks it used, for prune().
      const now = new Date();
      fs.utimesSync(this.manifestPath(key), now, now);
    } catch {
      // a read-only cache still serves
    }
    return { kind: 'hit', file };
  }

  /**
   * Writes the image and its manifest (each to a temporary name, then
   * renamed: a reader never sees half a file); returns the image's path.
   * The image it replaces is removed: arbiters hand workers an open
   * descriptor, never the name, so one in use stays readable.
   */
  store(key: string, image: Uint8Array, reads: HostReads, env: Record<string, string>): string {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const name = `${key}-${crypto.randomBytes(6).toString('hex')}.snap`;
    const file = path.join(this.dir, name);
    writeAtomically(file, image);
    writeAtomically(this.manifestPath(key), JSON.stringify(describe(name, image.byteLength, reads, env), null, 1));
    this.prune();
    return file;
  }

  /** Removes manifests unused for UNUSED_MS, then every image no manifest names, and old code caches. */
  private prune(): void {
    const now = Date.now();
    const olderThan = (f: string, ms: number) => {
      try {
        return now - fs.statSync(f).mtimeMs > ms;
      } catch {
        return false;
      }
    };
    const entries = fs.readdirSync(this.dir);
    const named = new Set<string>();
    for (const e of entries.filter((n) => n.endsWith('.json'))) {
      const p = path.join(this.dir, e);
      if (olderThan(p, UNUSED_MS)) {
        fs.rmSync(p, { force: true });
        continue;
      }
      try {
        named.add(path.basename((JSON.parse(fs.readFileSync(p, 'utf8')) as Manifest).image));
      } catch {
        // an unreadable manifest names nothing
      }
    }
    for (const e of entries) {
      const p = path.join(this.dir, e);
      if (e.endsWith('.snap') && !named.has(e)) fs.rmSync(p, { force: true });
      // Left by a writer that died; one still writing is younger than this.
      else if (e.endsWith('.tmp') && olderThan(p, 3600 * 1000)) fs.rmSync(p, { force: true });
      // Code caches (code-cache.ts) are written once; the next worker writes one removed while in use again.
      else if (e.endsWith('.jscache') && olderThan(p, UNUSED_MS)) fs.rmSync(p, { force: true });
    }
  }
}

function writeAtomically(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
