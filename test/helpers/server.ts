// Starts the real nicorn-py CLI on an ephemeral port and cleans up every
// process it started, by pid.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve('.');
export const CLI = path.join(ROOT, 'bin/nicorn-py');
export const FIXTURES = path.join(ROOT, 'fixtures');
export const PACKAGES = path.join(FIXTURES, '.packages/site-packages');

/**
 * Python interpreters per worker: the suites also run under
 * GUNICORN_CMD_ARGS="--threads N" (gthread), where each interpreter imports
 * the app, runs the worker hooks and logs its own start lines (README,
 * "Worker classes").
 */
export const INTERPRETERS_PER_WORKER = Number(/--threads[= ](\d+)/.exec(process.env.GUNICORN_CMD_ARGS ?? '')?.[1] ?? 1);

/**
 * Arguments that give fixtures/wsgi/counting.py a count file of its own, so
 * the count covers every interpreter of the worker (a module global would
 * count one interpreter's calls under --threads). The file goes when the
 * test process exits.
 */
export function countingArgs(): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-count-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return ['-e', `COUNTING_FILE=${path.join(dir, 'count')}`];
}

export interface Server {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** Everything the arbiter and its workers wrote to stderr (and stdout, and the `logFile`) so far. */
  log(): string;
  /** What they wrote to stderr and stdout only. */
  stdio(): string;
  /** Pids from "Booting worker with pid: N" lines. */
  workerPids(): number[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Every test file bundles its own copy of this module, but uvu runs them all
// in one process: one shared set of live pids, one exit listener.
const shared = globalThis as { __nicornLivePids?: Set<number> };
const firstCopy = shared.__nicornLivePids === undefined;
const live = (shared.__nicornLivePids ??= new Set<number>());

function killAll(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
if (firstCopy) process.on('exit', killAll);

function track(proc: ChildProcess, stderr: () => string): void {
  live.add(proc.pid!);
  proc.once('exit', () => {
    live.delete(proc.pid!);
    // Workers (and the dirty arbiter and its workers) die with the arbiter; make sure of it by pid.
    for (const pid of [...workerPidsIn(stderr()), ...dirtyPidsIn(stderr())]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** Pids of the dirty arbiter and its workers, from Gunicorn's "Spawned dirty ..." lines. */
export function dirtyPidsIn(log: string): number[] {
  return [...log.matchAll(/Spawned dirty (?:arbiter|worker) \(pid: (\d+)\)/g)].map((m) => Number(m[1]));
}

function workerPidsIn(log: string): number[] {
  return [...log.matchAll(/Booting worker with pid: (\d+)/g)].map((m) => Number(m[1]));
}

/** Runs a command to completion; `input` goes to its stdin; it is killed after `timeoutMs`. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d) => (stdout += d));
    proc.stderr!.on('data', (d) => (stderr += d));
    track(proc, () => stderr);
    const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) proc.stdin!.end(opts.input);
  });
}

/**
 * Runs the CLI to its end (for error paths); kills it after `timeoutMs`.
 * Where neither ARGS nor a config binds, the default is Gunicorn's
 * 127.0.0.1:8000, where the README's example server may be serving (a case
 * then met "Connection in use" instead of what it tests): PORT=0 makes that
 * default an ephemeral port (Gunicorn's 0.0.0.0:$PORT).
 */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return run(process.execPath, [CLI, ...args], { ...opts, env: { PORT: '0', ...opts.env } });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Whether a worker accepts a connection within `ms`. The arbiter listens
 * before any worker has booted (as Gunicorn's does), so a connection is made
 * at once and waits in the queue: accepted is told by the server's end of it
 * in /proc/net/tcp, whose inode stays 0 until accept() gave it a file.
 */
function workerAccepts(port: number, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      clearInterval(poll);
      s.destroy();
      resolve(ok);
    };
    let poll: NodeJS.Timeout | undefined;
    s.once('error', () => done(false));
    s.once('connect', () => {
      const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
      const remote = `0100007F:${s.localPort!.toString(16).toUpperCase().padStart(4, '0')}`;
      const deadline = Date.now() + ms;
      const check = () => {
        const inode = fs
          .readFileSync('/proc/net/tcp', 'utf8')
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .find((cols) => cols[1] === local && cols[2] === remote)?.[9];
        if (inode !== undefined && inode !== '0') done(true);
        else if (Date.now() > deadline) done(false);
      };
      poll = setInterval(check, 20);
      check();
    });
  });
}

/**
 * Starts `nicorn-py ARGS -b 127.0.0.1:0` and resolves once a worker accepts
 * (`until: 'listening'`: once the port takes connections, which the arbiter's
 * does before any worker has booted).
 * `logFile`: the --error-logfile the ARGS give, read along with stderr.
 */
export async function startServer(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile?: string; until?: 'accepted' | 'listening' } = {},
): Promise<Server> {
  const proc = spawn(process.execPath, [CLI, '-b', '127.0.0.1:0', ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  proc.stdout!.on('data', (d) => (stderr += d));
  const logFile = opts.logFile;
  const all = () => (logFile && fs.existsSync(logFile) ? stderr + fs.readFileSync(logFile, 'utf8') : stderr);
  track(proc, all);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  let port = 0;
  let scheme = 'http';
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nicorn-py exited early (${proc.exitCode}):\n${all()}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`nicorn-py did not start within 60 s:\n${all()}`);
    }
    const listening = /Listening at: (https?):\/\/127\.0\.0\.1:(\d+)/.exec(all());
    if (listening && !port) [scheme, port] = [listening[1]!, Number(listening[2])];
    if (port && (await (opts.until === 'listening' ? canConnect(port) : workerAccepts(port)))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    pid: proc.pid!,
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    log: all,
    stdio: () => stderr,
    workerPids: () => workerPidsIn(all()),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

/**
 * Runs named tasks at most `n` at a time (each boots a Pyodide: a few seconds
 * of CPU) and resolves with their results by name.
 */
export async function runLimited<T>(tasks: Record<string, () => Promise<T>>, n = 3): Promise<Record<string, T>> {
  const entries = Object.entries(tasks);
  const out: Record<string, T> = {};
  let next = 0;
  const lane = async () => {
    while (next < entries.length) {
      const [name, task] = entries[next++]!;
      out[name] = await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, entries.length) }, lane));
  return out;
}

/**
 * Resolves once no worker of `srv` is making the base snapshot (it does so in
 * the background, once it serves, when the cache has none for its install and
 * environment): a case that measures a worker's CPU or memory waits for it.
 */
export async function baseSnapshotSettled(srv: Server, ms = 120_000): Promise<boolean> {
  const count = (re: RegExp) => (srv.log().match(re) ?? []).length;
  return eventually(() => count(/Base snapshot made in|Cannot (?:make|cache) the base snapshot/g) >= count(/Making the base snapshot/g), ms);
}
