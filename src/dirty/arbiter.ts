// The dirty arbiter (Gunicorn 26's gunicorn/dirty/arbiter.py): a process of
// its own, child of the arbiter, that keeps dirty_workers dirty worker
// processes, listens on a Unix socket for HTTP workers' clients
// (GUNICORN_DIRTY_SOCKET), and routes each request to a worker that loaded
// its app. As in Gunicorn, each worker gets one request at a time (a queue
// per worker, round-robin over the workers of the app) and a request's
// answer, or each chunk of a stream, must come within dirty_timeout.
//
// Where nicorn-py differs: a dirty worker runs Python on its main thread
// (one Pyodide; there are no OS threads to give dirty_threads), so an action
// past dirty_timeout cannot be left running in a thread: the worker is
// aborted (SIGABRT, Gunicorn's "DIRTY WORKER TIMEOUT") and replaced.

import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Settings } from '../config/registry.js';
import type { ConfigSource } from '../config/interpreter.js';
import { procName } from '../config/settings.js';
import type { ErrorLog } from '../log/error-log.js';
import { workerExecArgv } from '../runtime/memory.js';
import { parseDirtyAppSpec, pyList, type DirtyAppSpec } from './app-specs.js';
import { WORKER_BOOT_ERROR, type DirtyArbiterView, type DirtyWorkerView, type FromDirtyArbiter, type FromDirtyWorker, type ToDirtyWorker } from './messages.js';
import { FrameReader, HEADER_SIZE, MSG, ProtocolError, errorFrame, payloadOf, responseFrame, type DirtyErrorInfo, type Frame } from './protocol.js';
import { Stash } from './stash.js';
import type { TlvValue } from './tlv.js';

const WORKER_ENTRY = fileURLToPath(new URL('./dirty-worker.js', import.meta.url));

/** Gunicorn's worker monitor wakes up once a second. */
const TICK_MS = 1000;
/** A worker that failed to boot is replaced after this long, not at once: each boot costs seconds of a core. */
const BOOT_RETRY_MS = 1000;
/** INT, QUIT: the arbiter kills the dirty arbiter 2 s after its quick-stop signal; its workers get 1 s of that. */
const QUICK_STOP_MS = 1000;
/** Gunicorn's MANAGE_OP_ADD / MANAGE_OP_REMOVE. */
const MANAGE_ADD = 1;
const MANAGE_REMOVE = 2;

interface Pending {
  client: net.Socket;
  frame: Frame;
  appPath: string;
}

interface DirtyWorkerProcess {
  child: ChildProcess;
  pid: number;
  age: number;
  appPaths: string[];
  ready: boolean;
  aborted: boolean;
  /** Sent TERM to make the pool smaller (TTOU, dirty remove): not replaced. */
  retired: boolean;
  /** Requests routed to this worker, in order; `current` is the one it runs. */
  queue: Pending[];
  current: Pending | null;
  /** dirty_timeout for the current request's next frame. */
  timer: NodeJS.Timeout | null;
}

/** on_dirty_starting raised (the arbiter logged its traceback): the dirty arbiter exits 255, as Gunicorn's. */
export class HookFailed extends Error {}

export class DirtyArbiter {
  private readonly specs = new Map<string, DirtyAppSpec>();
  private readonly workers = new Map<number, DirtyWorkerProcess>();
  /** Gunicorn's app_worker_map: which workers loaded each app, in spawn order. */
  private readonly appWorkers = new Map<string, number[]>();
  private readonly rr = new Map<string, number>();
  /** App lists of workers that died, given to their replacements first. */
  private readonly respawns: string[][] = [];
  private numWorkers: number;
  /**
   * Whether every app's worker limit is known: given as `:N`, or read from
   * its class's `workers` attribute, which only a dirty worker can import
   * (this process has no interpreter; Gunicorn's master imports the class).
   * Until the first worker reports it, no other is spawned: the first loads
   * every app, as Gunicorn's first worker does, and the others get the apps
   * still short of their limit.
   */
  private limitsKnown: boolean;
  private age = 0;
  private alive = true;
  private server: net.Server | null = null;
  private readonly clients = new Set<net.Socket>();
  /** The stash's tables, in this process's memory as in Gunicorn's dirty arbiter. */
  private readonly stash = new Stash();
  private ticker: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private hookSeq = 0;
  private readonly hookWaits = new Map<number, (ok: boolean) => void>();

  constructor(
    private readonly settings: Settings,
    private readonly log: ErrorLog,
    private readonly socketPath: string,
    private readonly tmpdir: string,
    private readonly config: ConfigSource | null,
    private readonly hooks: string[],
  ) {
    this.numWorkers = settings.dirty_workers;
    for (const raw of settings.dirty_apps) {
      const spec = parseDirtyAppSpec(raw);
      this.specs.set(spec.importPath, spec);
      this.appWorkers.set(spec.importPath, []);
    }
    this.limitsKnown = [...this.specs.values()].every((s) => s.workers !== null);
  }

  /** Gunicorn's DirtyArbiter.run: the hook, the socket, the workers. */
  async run(): Promise<void> {
    this.log.info(`Dirty arbiter starting (pid: ${process.pid})`);
    if (!(await this.hook('on_dirty_starting', null, true))) throw new HookFailed();
    process.title = `nicorn-py: dirty-arbiter [${procName(this.settings)}]`;
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      // not there
    }
    this.server = net.createServer((c) => this.handleClient(c));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolve());
    });
    fs.chmodSync(this.socketPath, 0o600);
    this.log.info(`Dirty arbiter listening on ${this.socketPath}`);
    this.manageWorkers();
    this.ticker = setInterval(() => this.manageWorkers(), TICK_MS);
  }

  /** Called with the arbiter's answer to a hook message. */
  hookDone(seq: number, failed: boolean): void {
    this.hookWaits.get(seq)?.(!failed);
    this.hookWaits.delete(seq);
  }

  private view(): DirtyArbiterView {
    return {
      pid: process.pid,
      ppid: process.ppid,
      socket_path: this.socketPath,
      num_workers: this.numWorkers,
      workers: [...this.workers.values()].map((w) => this.workerView(w)),
    };
  }

  private workerView(w: DirtyWorkerProcess): DirtyWorkerView {
    return { pid: w.pid, age: w.age, app_paths: [...w.appPaths], booted: w.ready, aborted: w.aborted };
  }

  /**
   * The dirty arbiter hooks run in the arbiter's config interpreter (this
   * process has none): sent there; `wait` for on_dirty_starting, which
   * Gunicorn runs before the dirty arbiter listens.
   */
  private hook(name: FromDirtyArbiter['name'], worker: DirtyWorkerProcess | null, wait = false): Promise<boolean> {
    if (!this.hooks.includes(name) || !process.send || !process.connected) return Promise.resolve(true);
    const seq = ++this.hookSeq;
    const msg: FromDirtyArbiter = { kind: 'hook', seq, name, arbiter: this.view(), worker: worker && this.workerView(worker) };
    // The arbiter gone meanwhile: 'disconnect' stops this process; the failed send is not an error of its own.
    process.send(msg, undefined, undefined, () => {});
    if (!wait) return Promise.resolve(true);
    return new Promise((resolve) => this.hookWaits.set(seq, resolve));
  }

  // ------------------------------------------------------------------ workers

  /** Gunicorn's _get_apps_for_new_worker: every unlimited app, and the limited ones short of their count. */
  private appsForNewWorker(): string[] {
    const respawn = this.respawns.shift();
    if (respawn) return respawn;
    return [...this.specs.values()]
      .filter((s) => s.workers === null || (this.appWorkers.get(s.importPath)?.length ?? 0) < s.workers)
      .map((s) => s.importPath);
  }

  private manageWorkers(): void {
    // During a HUP's replacement there are more workers than num_workers on purpose.
    if (!this.alive || this.retry || this.replacing) return;
    while (this.alive && this.workers.size < this.numWorkers && (this.limitsKnown || this.workers.size === 0)) {
      if (!this.spawnWorker()) break;
    }
    const live = [...this.workers.values()].filter((w) => !w.child.killed).sort((a, b) => a.age - b.age);
    for (const w of live.slice(0, Math.max(0, live.length - this.numWorkers))) this.retire(w);
  }

  /**
   * TERM to a worker the pool no longer needs, the oldest first as in
   * Gunicorn. Its apps are not queued for a replacement (Gunicorn queues
   * them, and the next worker spawned, by HUP say, took a stale list in place
   * of a dead worker's); an app left with too few workers is given to the
   * next one spawned.
   */
  private retire(w: DirtyWorkerProcess): void {
    w.retired = true;
    w.child.kill('SIGTERM');
  }

  private spawnWorker(): DirtyWorkerProcess | null {
    const appPaths = this.appsForNewWorker();
    if (appPaths.length === 0) {
      this.log.debug('No apps need more workers, skipping spawn');
      return null;
    }
    const age = ++this.age;
    const child = fork(WORKER_ENTRY, [], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: workerExecArgv(),
      env: { ...process.env },
    });
    const w: DirtyWorkerProcess = {
      child, pid: child.pid ?? -1, age, appPaths, ready: false, aborted: false, retired: false, queue: [], current: null, timer: null,
    };
    const init: ToDirtyWorker = { kind: 'init', settings: this.settings, age, appPaths, config: this.config, hooks: this.hooks };
    child.send(init);
    child.on('message', (m: FromDirtyWorker) => this.fromWorker(w, m));
    // A request sent to a worker that is dying fails with EPIPE: its exit (reap) answers the client.
    child.on('error', (e) => this.log.debug(`Dirty worker ${w.pid} IPC: ${e.message}`));
    child.once('exit', (code, signal) => this.reap(w, code, signal));
    this.workers.set(w.pid, w);
    for (const p of appPaths) this.appWorkers.get(p)?.push(w.pid);
    void this.hook('dirty_post_fork', w);
    this.log.info(`Spawned dirty worker (pid: ${w.pid}) with apps: ${pyList(appPaths)}`);
    return w;
  }

  private fromWorker(w: DirtyWorkerProcess, m: FromDirtyWorker): void {
    if (m.kind === 'ready') {
      w.ready = true;
      if (!this.limitsKnown) this.learnLimits(w, m.classWorkers);
      this.replaced();
      this.pump(w);
      return;
    }
    const p = w.current;
    const frame = Buffer.from(m.frame.buffer, m.frame.byteOffset, m.frame.byteLength);
    if (!p) {
      this.log.warning(`Unknown message type from worker: frame with no request in progress (pid:${w.pid})`);
      return;
    }
    send(p.client, frame);
    if (frame[3] === MSG.chunk) {
      this.armTimer(w);
      return;
    }
    this.clearTimer(w);
    w.current = null;
    this.pump(w);
  }

  /** The `workers` class attributes the first dirty worker reported, for the apps given without `:N`. */
  private learnLimits(w: DirtyWorkerProcess, classWorkers: Record<string, unknown>): void {
    for (const spec of this.specs.values()) {
      if (spec.workers !== null || !(spec.importPath in classWorkers)) continue;
      const value = classWorkers[spec.importPath];
      if (value === null || value === undefined) continue;
      if (typeof value === 'number' && Number.isInteger(value) && value >= 1) {
        spec.workers = value;
        this.log.debug(`Dirty app ${spec.importPath}: ${value} workers (its class's workers attribute)`);
      } else {
        this.log.warning(`Could not read workers attribute from ${spec.importPath}: not a positive integer: ${JSON.stringify(value)} (every worker loads it)`);
      }
    }
    // A worker spawned with only some of the apps (a respawn) cannot tell of the others.
    if ([...this.specs.keys()].every((p) => w.appPaths.includes(p))) {
      this.limitsKnown = true;
      this.manageWorkers();
    }
  }

  /** The next request of the worker's queue, once it is ready and idle. */
  private pump(w: DirtyWorkerProcess): void {
    if (!w.ready || w.current || w.aborted) return;
    let p: Pending | undefined;
    // A client that left while its request waited is not run.
    while ((p = w.queue.shift()) && p.client.destroyed);
    if (!p) return;
    w.current = p;
    const msg: ToDirtyWorker = { kind: 'request', frame: p.frame.raw };
    w.child.send(msg);
    this.armTimer(w);
  }

  private armTimer(w: DirtyWorkerProcess): void {
    this.clearTimer(w);
    const timeout = this.settings.dirty_timeout;
    if (timeout <= 0) return;
    w.timer = setTimeout(() => this.timedOut(w), timeout * 1000);
  }

  private clearTimer(w: DirtyWorkerProcess): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = null;
  }

  /**
   * No answer within dirty_timeout: the client gets Gunicorn's "Worker
   * timeout" DirtyTimeoutError; the worker, whose Python is still in the
   * action, is aborted and replaced (its queued requests go to the others).
   */
  private timedOut(w: DirtyWorkerProcess): void {
    const p = w.current;
    w.timer = null;
    w.current = null;
    const timeout = this.settings.dirty_timeout;
    if (p) send(p.client, errorFrame(p.frame.id, { error_type: 'DirtyTimeoutError', message: 'Worker timeout', details: { timeout } }));
    this.log.critical(`DIRTY WORKER TIMEOUT (pid:${w.pid})`);
    w.aborted = true;
    w.child.kill('SIGABRT');
    this.unregister(w);
    // Gunicorn's murder_workers: SIGKILL if it is still there at the next look.
    setTimeout(() => {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    }, TICK_MS).unref();
  }

  /** The worker takes no more requests: its apps' workers lose it, its queue goes to the others. */
  private unregister(w: DirtyWorkerProcess): void {
    for (const pids of this.appWorkers.values()) {
      const i = pids.indexOf(w.pid);
      if (i >= 0) pids.splice(i, 1);
    }
    const queued = w.queue.splice(0);
    for (const p of queued) this.route(p);
  }

  private reap(w: DirtyWorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.clearTimer(w);
    if (signal) this.log.warning(`Dirty worker (pid:${w.pid}) killed by signal ${os.constants.signals[signal] ?? signal}`);
    if (code === WORKER_BOOT_ERROR) this.log.error(`Dirty worker failed to boot (pid:${w.pid})`);
    const p = w.current;
    w.current = null;
    if (p) {
      const error: DirtyErrorInfo = {
        error_type: 'DirtyWorkerError',
        message: `Worker communication failed: dirty worker ${w.pid} exited`,
        details: { worker_id: w.pid },
      };
      send(p.client, errorFrame(p.frame.id, error));
    }
    if (!w.aborted) this.unregister(w);
    this.workers.delete(w.pid);
    if (this.alive && !w.retired && w.appPaths.length) this.respawns.push([...w.appPaths]);
    void this.hook('dirty_worker_exit', w);
    this.log.info(`Dirty worker exited (pid:${w.pid})`);
    // A HUP's new worker that died: another takes its place in the replacement, unless its apps did not load
    // (then the old workers stay, as Gunicorn's arbiter keeps its workers when new code does not load).
    const r = this.replacing;
    if (r?.fresh.delete(w) && this.alive) {
      const apps = this.respawns.pop() ?? [...w.appPaths];
      if (code === WORKER_BOOT_ERROR) {
        this.replacing = null;
        this.log.error('Reloading dirty workers failed: a new worker did not boot; the old workers keep serving');
        for (const f of r.fresh) this.retire(f);
        return;
      }
      this.respawns.unshift(apps);
      const next = this.spawnWorker();
      if (next) r.fresh.add(next);
      this.replaced();
    }
    if (!this.alive) {
      if (this.workers.size === 0) this.stopped?.();
      return;
    }
    if (code === WORKER_BOOT_ERROR && !this.retry) {
      this.retry = setTimeout(() => {
        this.retry = null;
        this.manageWorkers();
      }, BOOT_RETRY_MS);
      return;
    }
    this.manageWorkers();
  }

  // ------------------------------------------------------------------ clients

  private handleClient(c: net.Socket): void {
    this.log.debug('New client connection from HTTP worker');
    this.clients.add(c);
    const reader = new FrameReader();
    c.on('data', (data: Buffer) => {
      let frames: Frame[];
      try {
        frames = reader.push(data);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.log.error(`Client connection error: ${e.message}`);
        c.destroy();
        return;
      }
      for (const f of frames) this.handleFrame(c, f);
    });
    c.on('error', () => {});
    c.on('close', () => this.clients.delete(c));
  }

  private handleFrame(c: net.Socket, f: Frame): void {
    let payload: { [key: string]: TlvValue };
    try {
      payload = payloadOf(f);
    } catch (e) {
      this.log.error(`Client connection error: ${(e as Error).message}`);
      c.destroy();
      return;
    }
    if (f.type === 'status') return send(c, responseFrame(f.id, this.status()));
    if (f.type === 'manage') return send(c, this.manage(f.id, payload));
    if (f.type === 'stash') {
      const out = this.stash.run(payload);
      return send(c, 'error' in out ? errorFrame(f.id, out.error) : responseFrame(f.id, out.result));
    }
    if (f.type !== 'request') {
      return send(c, errorFrame(f.id, { error_type: 'DirtyError', message: `Unexpected message type from client: ${f.type}`, details: {} }));
    }
    const appPath = typeof payload.app_path === 'string' ? payload.app_path : '';
    this.route({ client: c, frame: f, appPath });
  }

  /** Gunicorn's route_request: round-robin over the workers that loaded the app. */
  private route(p: Pending): void {
    const eligible = this.appWorkers.get(p.appPath) ?? [];
    if (eligible.length === 0) {
      const error: DirtyErrorInfo =
        this.workers.size === 0
          ? { error_type: 'DirtyError', message: 'No dirty workers available', details: {} }
          : { error_type: 'DirtyNoWorkersAvailableError', message: `No workers available for app: ${p.appPath}`, details: { app_path: p.appPath } };
      send(p.client, errorFrame(p.frame.id, error));
      return;
    }
    const i = (this.rr.get(p.appPath) ?? 0) % eligible.length;
    this.rr.set(p.appPath, (i + 1) % eligible.length);
    const w = this.workers.get(eligible[i]!)!;
    w.queue.push(p);
    this.pump(w);
  }

  /** Gunicorn's handle_status_request. */
  private status(): TlvValue {
    const workers = [...this.workers.values()]
      .sort((a, b) => a.age - b.age)
      .map((w) => ({ pid: w.pid, age: w.age, apps: [...w.appPaths], booted: w.ready, last_heartbeat: null }));
    // Gunicorn's keys, and one more that its ctl's show dirty reads from the master's copy of the specs:
    // each app's worker limit (null: all), the `workers` class attributes included.
    const limits = Object.fromEntries([...this.specs.values()].map((s) => [s.importPath, s.workers]));
    return { arbiter_pid: process.pid, workers, worker_count: workers.length, apps: [...this.specs.keys()], app_worker_limits: limits };
  }

  /** Gunicorn's handle_manage_request: add or remove dirty workers. */
  private manage(id: Buffer, payload: { [key: string]: TlvValue }): Buffer {
    const op = Number(payload.op);
    const count = Math.max(1, Number(payload.count ?? 1) || 1);
    let result: { [key: string]: TlvValue };
    if (op === MANAGE_ADD) {
      let spawned = 0;
      for (let i = 0; i < count; i++) {
        if (this.spawnWorker()) {
          this.numWorkers++;
          spawned++;
        }
      }
      result = { success: true, operation: 'add', requested: count, spawned };
      if (spawned === 0) result.reason = 'All apps have reached their worker limits';
    } else if (op === MANAGE_REMOVE) {
      const min = Math.max(1, ...[...this.specs.values()].map((s) => s.workers ?? 1));
      let removed = 0;
      for (let i = 0; i < count && this.numWorkers > min && this.workers.size > 1; i++) {
        this.numWorkers--;
        const oldest = [...this.workers.values()].filter((w) => !w.child.killed).sort((a, b) => a.age - b.age)[0];
        if (oldest) this.retire(oldest);
        removed++;
      }
      result = { success: true, operation: 'remove', requested: count, removed };
    } else {
      return errorFrame(id, { error_type: 'DirtyError', message: `Unknown manage operation: ${op}`, details: {} });
    }
    result.total_workers = this.workers.size;
    result.target_workers = this.numWorkers;
    const done = Number(result.spawned ?? result.removed ?? 0);
    this.log.info(`Worker management: ${op === MANAGE_ADD ? 'add' : 'remove'} ${count} workers (spawned/removed: ${done})`);
    return responseFrame(id, result);
  }

  // ------------------------------------------------------------------ signals

  /** TTIN / TTOU, as Gunicorn's dirty arbiter takes them. */
  changeWorkers(delta: 1 | -1): void {
    if (delta > 0) {
      this.numWorkers++;
      this.log.info(`SIGTTIN: Increasing dirty workers to ${this.numWorkers}`);
    } else {
      const min = Math.max(1, ...[...this.specs.values()].map((s) => s.workers ?? 1));
      if (this.numWorkers <= min) {
        this.log.warning(`SIGTTOU: Cannot decrease below ${min} workers (required by app specs)`);
        return;
      }
      this.numWorkers--;
      this.log.info(`SIGTTOU: Decreasing dirty workers to ${this.numWorkers}`);
    }
    this.manageWorkers();
  }

  /**
   * HUP: every dirty worker is replaced, each by one with the same apps; the
   * old ones serve until all the new ones are ready, then leave gracefully.
   */
  reload(): void {
    if (!this.alive || this.replacing) return;
    this.log.info('Reloading dirty workers');
    const old = [...this.workers.values()].filter((w) => !w.child.killed && !w.retired);
    const fresh = new Set<DirtyWorkerProcess>();
    for (const w of old) {
      this.respawns.push([...w.appPaths]);
      const next = this.spawnWorker();
      if (next) fresh.add(next);
    }
    this.replacing = { old, fresh };
    this.replaced();
  }

  /** A HUP's new workers are all ready: the old ones leave. */
  private replaced(): void {
    const r = this.replacing;
    if (!r || [...r.fresh].some((w) => !w.ready)) return;
    this.replacing = null;
    for (const w of r.old) if (this.workers.has(w.pid)) this.retire(w);
  }

  private stopped: (() => void) | null = null;
  /** A HUP's replacement of every worker, under way. */
  private replacing: { old: DirtyWorkerProcess[]; fresh: Set<DirtyWorkerProcess> } | null = null;

  /**
   * TERM (or the arbiter gone): no more clients; the workers are sent TERM
   * and get dirty_graceful_timeout to finish the action they run, then
   * SIGKILL; the socket and its directory are removed. `quick` (INT, QUIT):
   * they get QUICK_STOP_MS.
   */
  async stop(quick = false): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    if (this.ticker) clearInterval(this.ticker);
    if (this.retry) clearTimeout(this.retry);
    this.server?.close();
    for (const w of this.workers.values()) w.child.kill(quick ? 'SIGQUIT' : 'SIGTERM');
    if (this.workers.size > 0) {
      const all = new Promise<void>((resolve) => (this.stopped = resolve));
      const ms = quick ? QUICK_STOP_MS : this.settings.dirty_graceful_timeout * 1000;
      const limit = new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
      await Promise.race([all, limit]);
      for (const w of this.workers.values()) w.child.kill('SIGKILL');
      // Reaped before this process leaves: a child whose parent has gone stays a zombie wherever pid 1 does not reap.
      if (this.workers.size > 0) await Promise.race([all, new Promise<void>((resolve) => setTimeout(resolve, TICK_MS).unref())]);
    }
    for (const c of this.clients) c.destroy();
    fs.rmSync(this.tmpdir, { recursive: true, force: true });
    this.log.info(`Dirty arbiter exiting (pid: ${process.pid})`);
  }
}

function send(c: net.Socket, data: Buffer): void {
  if (!c.destroyed && data.length >= HEADER_SIZE) c.write(data);
}
