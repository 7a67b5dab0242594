// The control socket's commands and their answers, as Gunicorn 26.2.2's
// gunicorn/ctl/handlers.py (CommandHandlers) gives them: the same keys, the
// same values where nicorn-py has the same thing. Two answers say what is true
// where Gunicorn's master cannot know it: `booted` is whether the worker
// serves (Gunicorn's master always says false: its Worker object is set booted
// in the forked child only), and `aborted` whether a timeout sent it SIGABRT.
// The dirty commands ask the dirty arbiter over its socket, as Gunicorn's do
// for `show all` and `dirty add|remove`; `show dirty` too, where Gunicorn's
// master reads its own copy of the DirtyArbiter object, whose workers live in
// the forked child (it lists none): here it lists the dirty arbiter's.

import { round2, type Json } from './control-protocol.js';
import { reprString } from '../config/validators.js';
import { parseDirtyAppSpec } from '../dirty/app-specs.js';
import { askDirtyArbiter } from '../dirty/client.js';
import { Float, isDict, type TlvValue } from '../dirty/tlv.js';

/** One worker as the commands see it. */
export interface WorkerView {
  pid: number;
  age: number;
  booted: boolean;
  aborted: boolean;
  /** Seconds since the worker's last heartbeat (the WorkerTmp file), or null if it cannot be read. */
  lastHeartbeat: number | null;
}

export interface ListenerView {
  /** As Gunicorn's str(listener): http://127.0.0.1:8000, http://[::1]:8000, unix:/path. */
  address: string;
  fd: number;
  type: 'tcp' | 'tcp6' | 'unix' | 'unknown';
}

/** What the commands read of the arbiter and ask of it (src/arbiter/arbiter.ts). */
export interface ControlledArbiter {
  readonly pid: number;
  /** Workers by pid, in the arbiter's own order. */
  workers(): WorkerView[];
  numWorkers(): number;
  /** Sets num_workers (the nworkers_changed hook runs) and spawns or retires workers to match. */
  setNumWorkers(n: number): void;
  /** Arbiter._stats: when it started (ms since the epoch) and its counters. */
  stats(): { startTime: number | null; workersSpawned: number; workersKilled: number; reloads: number };
  listeners(): ListenerView[];
  /** show config's keys, with values as Gunicorn's cfg gives them. */
  config(): { [key: string]: Json };
  /** Sends `sig` to the arbiter itself (HUP, USR1, TERM, INT), as the handlers do with os.kill. */
  signalSelf(sig: NodeJS.Signals): void;
  /** SIGTERM to one worker; the error text when that fails. */
  terminateWorker(pid: number): string | null;
  /** The dirty arbiter running, or null. */
  dirty(): { pid: number; socketPath: string; apps: readonly string[] } | null;
}

/** Gunicorn's timeouts for the dirty arbiter's answer: 2 s for its status, 10 s for add/remove. */
const STATUS_MS = 2000;
const MANAGE_MS = 10_000;

/** Gunicorn's MANAGE_OP_ADD / MANAGE_OP_REMOVE. */
const MANAGE_OP = { add: 1, remove: 2 } as const;

/** A TLV value as JSON (the dirty arbiter's answers hold no bytes and no big integers). */
function json(v: TlvValue): Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Float) return v.value;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  if (Array.isArray(v)) return v.map(json);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, json(x)]));
}

interface DirtyStatus {
  workers: { [key: string]: Json }[];
  /** Each app's worker limit (null: all), the dirty arbiter's own key. */
  limits: { [path: string]: Json };
}

/** The dirty arbiter's status; no workers when it cannot be asked, as Gunicorn's _query_dirty_workers. */
async function dirtyStatus(socketPath: string): Promise<DirtyStatus> {
  try {
    const answer = await askDirtyArbiter(socketPath, 'status', null, STATUS_MS);
    const result = answer.type === 'response' ? json(answer.payload.result ?? null) : null;
    if (!result || typeof result !== 'object' || Array.isArray(result)) return { workers: [], limits: {} };
    const r = result as { [key: string]: Json };
    const limits = r.app_worker_limits;
    return {
      workers: Array.isArray(r.workers) ? (r.workers as { [key: string]: Json }[]) : [],
      limits: limits && typeof limits === 'object' && !Array.isArray(limits) ? (limits as { [path: string]: Json }) : {},
    };
  } catch {
    return { workers: [], limits: {} };
  }
}

/** Python's int() of a command argument; ValueError's text otherwise. */
export function pyInt(s: string): number {
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(s);
  if (!m) throw new CommandValueError(`invalid literal for int() with base 10: ${reprString(s)}`);
  const n = Number(m[2]!.replace(/_/g, ''));
  return m[1] === '-' ? -n : n;
}

/** A Python ValueError: the server answers "Invalid argument: <text>". */
export class CommandValueError extends Error {}

const heartbeat = (s: number | null): Json => (s === null ? null : round2(s));

export function showWorkers(a: ControlledArbiter): Json {
  const workers = a
    .workers()
    .map((w) => ({ pid: w.pid, age: w.age, booted: w.booted, aborted: w.aborted, last_heartbeat: heartbeat(w.lastHeartbeat) }))
    .sort((x, y) => x.age - y.age);
  return { workers, count: workers.length };
}

export async function showDirty(a: ControlledArbiter): Promise<Json> {
  const dirty = a.dirty();
  if (!dirty) return { enabled: false, pid: null, workers: [], apps: [] };
  const { workers, limits } = await dirtyStatus(dirty.socketPath);
  const apps = dirty.apps.map((raw) => {
    const spec = parseDirtyAppSpec(raw);
    const pids = workers.filter((w) => Array.isArray(w.apps) && w.apps.includes(spec.importPath)).map((w) => w.pid!);
    return { import_path: spec.importPath, worker_count: limits[spec.importPath] ?? spec.workers, current_workers: pids.length, worker_pids: pids };
  });
  return { enabled: true, pid: dirty.pid, workers, apps };
}

export function showStats(a: ControlledArbiter): Json {
  const s = a.stats();
  return {
    uptime: s.startTime === null ? null : round2((Date.now() - s.startTime) / 1000),
    pid: a.pid,
    workers_current: a.workers().length,
    workers_target: a.numWorkers(),
    workers_spawned: s.workersSpawned,
    workers_killed: s.workersKilled,
    reloads: s.reloads,
    dirty_arbiter_pid: a.dirty()?.pid ?? null,
  };
}

export function showListeners(a: ControlledArbiter): Json {
  const listeners = a.listeners().map((l) => ({ address: l.address, fd: l.fd, type: l.type }));
  return { listeners, count: listeners.length };
}

export function workerAdd(a: ControlledArbiter, count = 1): Json {
  const n = Math.max(1, count);
  const previous = a.numWorkers();
  a.setNumWorkers(previous + n);
  return { added: n, previous, total: a.numWorkers() };
}

export function workerRemove(a: ControlledArbiter, count = 1): Json {
  const n = Math.max(1, count);
  const previous = a.numWorkers();
  const total = Math.max(1, previous - n);
  a.setNumWorkers(total);
  return { removed: previous - total, previous, total };
}

export function workerKill(a: ControlledArbiter, pid: number): Json {
  if (!a.workers().some((w) => w.pid === pid)) return { success: false, error: `Worker ${pid} not found` };
  const error = a.terminateWorker(pid);
  return error === null ? { success: true, killed: pid } : { success: false, error };
}

/** dirty add|remove N: Gunicorn's MANAGE message to the dirty arbiter, its answer as the command's. */
export async function dirtyChange(a: ControlledArbiter, operation: 'add' | 'remove', count: number): Promise<Json> {
  const dirty = a.dirty();
  if (!dirty) return { success: false, error: 'Dirty arbiter not running' };
  try {
    const answer = await askDirtyArbiter(dirty.socketPath, 'manage', { op: MANAGE_OP[operation], count: Math.max(1, count) }, MANAGE_MS);
    if (answer.type === 'response') return json(answer.payload.result ?? { success: true });
    if (answer.type === 'error') {
      const error = answer.payload.error;
      const message = isDict(error) ? error.message : error;
      return { success: false, error: typeof message === 'string' ? message : String(message) };
    }
    return { success: false, error: `Unexpected response type: ${answer.type}` };
  } catch (e) {
    return { success: false, error: (e as Error).message };
  }
}

export function reload(a: ControlledArbiter): Json {
  a.signalSelf('SIGHUP');
  return { status: 'reloading' };
}

export function reopen(a: ControlledArbiter): Json {
  a.signalSelf('SIGUSR1');
  return { status: 'reopening' };
}

export function shutdown(a: ControlledArbiter, mode = 'graceful'): Json {
  a.signalSelf(mode === 'quick' ? 'SIGINT' : 'SIGTERM');
  return { status: 'shutting_down', mode };
}

export async function showAll(a: ControlledArbiter): Promise<Json> {
  const web = a
    .workers()
    .map((w) => ({ pid: w.pid, type: 'web', age: w.age, booted: w.booted, last_heartbeat: heartbeat(w.lastHeartbeat) }))
    .sort((x, y) => x.age - y.age);
  const dirty = a.dirty();
  const dirtyList = dirty ? (await dirtyStatus(dirty.socketPath)).workers : [];
  return {
    arbiter: { pid: a.pid, type: 'arbiter', role: 'master' },
    web_workers: web,
    web_worker_count: web.length,
    dirty_arbiter: dirty ? { pid: dirty.pid, type: 'dirty_arbiter', role: 'dirty master' } : null,
    dirty_workers: dirtyList,
    dirty_worker_count: dirtyList.length,
  };
}

export const HELP: { [command: string]: string } = {
  'show all': 'Show all processes (arbiter, web workers, dirty workers)',
  'show workers': 'List HTTP workers with their status',
  'show dirty': 'List dirty workers and apps',
  'show config': 'Show current effective configuration',
  'show stats': 'Show server statistics',
  'show listeners': 'Show bound sockets',
  'worker add [N]': 'Spawn N workers (default 1)',
  'worker remove [N]': 'Remove N workers (default 1)',
  'worker kill <PID>': 'Gracefully terminate specific worker',
  'dirty add [N]': 'Spawn N dirty workers (default 1)',
  'dirty remove [N]': 'Remove N dirty workers (default 1)',
  reload: 'Graceful reload (HUP)',
  reopen: 'Reopen log files (USR1)',
  'shutdown [graceful|quick]': 'Shutdown server (TERM/INT)',
  help: 'Show this help message',
};

/**
 * ControlSocketServer._execute_command: the command's words (shlex-split, the
 * request's args appended) to its answer. Throws CommandValueError for what
 * Gunicorn raises ValueError for.
 */
export function executeCommand(a: ControlledArbiter, parts: string[]): Json | Promise<Json> {
  if (parts.length === 0) throw new CommandValueError('Empty command');
  const cmd = parts[0]!.toLowerCase();
  const rest = parts.slice(1);
  switch (cmd) {
    case 'show': {
      if (rest.length === 0) throw new CommandValueError('Missing show target (all|workers|dirty|config|stats|listeners)');
      const target = rest[0]!.toLowerCase();
      if (target === 'all') return showAll(a);
      if (target === 'workers') return showWorkers(a);
      if (target === 'dirty') return showDirty(a);
      if (target === 'config') return a.config();
      if (target === 'stats') return showStats(a);
      if (target === 'listeners') return showListeners(a);
      throw new CommandValueError(`Unknown show target: ${target}`);
    }
    case 'worker': {
      if (rest.length === 0) throw new CommandValueError('Missing worker action (add|remove|kill)');
      const action = rest[0]!.toLowerCase();
      const args = rest.slice(1);
      if (action === 'add') return workerAdd(a, args.length ? pyInt(args[0]!) : 1);
      if (action === 'remove') return workerRemove(a, args.length ? pyInt(args[0]!) : 1);
      if (action === 'kill') {
        if (args.length === 0) throw new CommandValueError('Missing PID for worker kill');
        return workerKill(a, pyInt(args[0]!));
      }
      throw new CommandValueError(`Unknown worker action: ${action}`);
    }
    case 'dirty': {
      if (rest.length === 0) throw new CommandValueError('Missing dirty action (add|remove)');
      const action = rest[0]!.toLowerCase();
      const args = rest.slice(1);
      if (action === 'add' || action === 'remove') return dirtyChange(a, action, args.length ? pyInt(args[0]!) : 1);
      throw new CommandValueError(`Unknown dirty action: ${action}`);
    }
    case 'reload':
      return reload(a);
    case 'reopen':
      return reopen(a);
    case 'shutdown':
      return shutdown(a, rest[0] ?? 'graceful');
    case 'help':
      return { commands: HELP };
    default:
      throw new CommandValueError(`Unknown command: ${cmd}`);
  }
}

