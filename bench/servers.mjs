// What the bench scripts share about the two servers they run side by side:
// where Gunicorn 26 lives, the environment both run in, and starting one on
// an ephemeral port.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const NICORN_BIN = path.join(ROOT, 'bin', 'nicorn-py');
/** Debian forky's python3-gunicorn (pure Python), fetched by run.mjs's ensureTools(). */
export const GUNICORN_DIR = path.join(ROOT, 'bench', '.gunicorn');
export const GUNICORN_SITE = path.join(GUNICORN_DIR, 'site-packages');
export const GUNICORN_CMD = ['/usr/bin/python3', '-m', 'gunicorn'];

/** Exits (2) with how to fetch Gunicorn 26 when bench/.gunicorn does not hold it yet. */
export function requireGunicorn() {
  if (fs.existsSync(path.join(GUNICORN_SITE, 'gunicorn'))) return;
  console.error('bench/.gunicorn is missing: run `npm run bench -- --rows a --quick --no-doc` once to fetch Gunicorn 26');
  process.exit(2);
}

/**
 * Both servers' bytecode goes here instead of __pycache__/ beside the sources
 * (Gunicorn's python3 and nicorn-py's CPython 3.14 name their files apart).
 */
export const PYCACHE = path.join(os.tmpdir(), 'nicorn-bench-pycache');

/**
 * `base` with bytecode written and read as in a deployment. A
 * PYTHONDONTWRITEBYTECODE in the caller's environment would make each
 * nicorn-py worker compile the app's modules in wasm at every boot (Flask's
 * import: 2.85 s instead of 1.2 s on a slow machine), and not Gunicorn's
 * (Debian's python3 reads its own precompiled stdlib).
 */
export function deploymentEnv(base = process.env) {
  const env = { ...base, PYTHONPYCACHEPREFIX: PYCACHE };
  delete env.PYTHONDONTWRITEBYTECODE;
  return env;
}

/**
 * Starts `cmd args -b 127.0.0.1:0` and resolves once its arbiter logged the
 * port it listens on (both servers log "Listening at"): its process, port,
 * log so far, and stop() (TERM, then its exit).
 */
export async function launch(cmd, args, env) {
  const proc = spawn(cmd, [...args, '-b', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  let port = 0;
  while (!port) {
    if (proc.exitCode !== null) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
    port = Number(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1] ?? 0);
  }
  return {
    proc,
    port,
    log: () => log,
    stop: () => {
      proc.kill('SIGTERM');
      return new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
    },
  };
}

/** USER_HZ: the unit of /proc's CPU times (100 on Linux). */
export const CLK_TCK = 100;

/**
 * /proc/<path>/stat of a process or a task (`pid` or `pid/task/tid`):
 * its process group and its utime + stime in clock ticks; null once gone.
 */
export function procStat(path) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${path}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The fields after "(comm)", which may hold spaces: state ppid pgrp ...; utime and stime are the 14th and 15th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) };
}

/** `node --version` of the node binary at `node`. */
export function nodeVersion(node) {
  return spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/** The middle value of `xs` (the upper middle of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The two servers of a script that runs one app file under both with the
 * same arguments: nicorn-py on `node`, and Gunicorn 26 on the machine's
 * python3 (CPython) from bench/.gunicorn.
 */
export function appServers(node) {
  return {
    'nicorn-py': { cmd: [node, NICORN_BIN], env: {} },
    'CPython (Gunicorn 26)': { cmd: GUNICORN_CMD, env: { PYTHONPATH: GUNICORN_SITE } },
  };
}
