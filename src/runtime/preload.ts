// --preload, the arbiter's side: the app is imported once, in a thread of
// the arbiter (snapshot-maker.ts), the interpreter is snapshotted, and every
// worker starts from that image instead of booting Python and importing the
// app itself. Images are cached on disk (snapshot-cache.ts) and used again
// while nothing they were made from has changed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigSource } from '../config/interpreter.js';
import type { Settings } from '../config/registry.js';
import { envPairs } from '../config/validators.js';
import { appSpec } from '../config/settings.js';
import type { PythonLogOptions } from '../log/error-log.js';
import { hostLayout, interpreterEnv } from './boot.js';
import { runMaker } from './maker-thread.js';
import { SnapshotCache, identityKey, installIdentity } from './snapshot-cache.js';
import { IMAGE_FORMAT } from './snapshot-maker.js';

/** Set to 0 to import the app in the arbiter without making a snapshot (workers then import it too). */
export const SWITCH_ENV = 'NICORN_PRELOAD_SNAPSHOT';

/** An image the arbiter hands every worker it forks, as an open descriptor. */
export interface PreloadImage {
  /** Where it is cached ('' when the cache could not take it). */
  file: string;
  fd: number;
  /** Made now (with the reason), or found in the cache. */
  built: string | null;
  /** Made now from the base image, or by booting. */
  from?: 'base' | 'boot';
  ms: number;
}

export type PreloadOutcome =
  | { kind: 'image'; image: PreloadImage }
  /** The app imported, but workers must import it themselves (logged as a warning). */
  | { kind: 'fallback'; reason: string }
  /** Importing the app failed: Gunicorn's master exits. */
  | { kind: 'app-error'; traceback: string };

export interface PreloadSpec {
  settings: Settings;
  config: ConfigSource | null;
  /** The arbiter's error log, for what Python logs while the app is imported. */
  log: PythonLogOptions | null;
  /** HUP: make a new image even when the cached one is current. */
  rebuild?: boolean;
  cache?: SnapshotCache;
}

export async function preload(spec: PreloadSpec): Promise<PreloadOutcome> {
  const { settings, config } = spec;
  const cache = spec.cache ?? new SnapshotCache();
  const layout = hostLayout(settings.chdir, settings.pythonpath, config?.path ? [path.dirname(config.path)] : []);
  const extraEnv = envPairs(settings.raw_env);
  const enabled = process.env[SWITCH_ENV] !== '0';
  const env = interpreterEnv(extraEnv);
  // The environment is not part of the key: the manifest holds the variables the app read.
  const key = identityKey({ install: installIdentity(), image: IMAGE_FORMAT, app: appSpec(settings), layout, config });
  let why = spec.rebuild ? 'reload' : '';
  if (enabled && !spec.rebuild) {
    const found = cache.lookup(key, env);
    if (found.kind === 'hit') {
      const fd = openImage(found.file);
      if (fd !== null) return { kind: 'image', image: { file: found.file, fd, built: null, ms: 0 } };
      why = 'the snapshot file is gone';
    } else {
      why = found.why;
    }
  }
  const t0 = performance.now();
  const made = await runMaker({
    role: 'snapshot-maker',
    layout,
    extraEnv,
    app: appSpec(settings),
    config,
    loglevel: settings.loglevel,
    pid: process.pid,
    log: spec.log,
    makeImage: enabled,
  });
  if (made.kind === 'app-error') return made;
  if (made.kind === 'uncarriable') return { kind: 'fallback', reason: made.reason };
  const ms = Math.round(performance.now() - t0);
  let file = '';
  try {
    file = cache.store(key, made.image, made.reads, env);
  } catch (e) {
    // Not cached: this arbiter's workers still start from it.
    const fd = privateImage(made.image);
    return { kind: 'image', image: { file: '', fd, built: `${why}; not cached: ${(e as Error).message}`, ms, from: made.from } };
  }
  const fd = openImage(file) ?? privateImage(made.image);
  return { kind: 'image', image: { file, fd, built: why, ms, from: made.from } };
}

function openImage(file: string): number | null {
  try {
    return fs.openSync(file, 'r');
  } catch {
    return null;
  }
}

/** An unnamed file holding the image: it lives as long as a descriptor to it. */
function privateImage(image: Uint8Array): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-snapshot-'));
  const file = path.join(dir, 'image');
  try {
    fs.writeFileSync(file, image, { mode: 0o600 });
    return fs.openSync(file, 'r');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

