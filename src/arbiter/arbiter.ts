// The arbiter: binds the listeners, forks the workers, replaces the ones that
// die, runs the arbiter-side server hooks and turns signals into Gunicorn's
// lifecycle. It never handles requests.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInterpreter, ArbiterState } from '../config/interpreter.js';
import type { Settings } from '../config/registry.js';
import { procName } from '../config/settings.js';
import { reportBacklog } from './backlog.js';
import { ErrorLog } from '../log/error-log.js';
import { reportWorkerCount } from '../log/statsd.js';
import { VERSION } from '../version.js';
import { INTERRUPT_GRACE_MS, type ArbiterMessage, type WorkerMessage } from '../worker/messages.js';
import { BindError, bindOne, closeListeners, listenAll, listenerSpecs, type Listener } from './listeners.js';
import { bindWithRetries } from './bind-retries.js';
import { activatedBinds } from './systemd.js';
import { Pidfile, PidfileError } from './pidfile.js';
import { WorkerTmpError, createWorkerTmp, lastUpdate } from '../worker/worker-tmp.js';
import { workerExecArgv } from '../runtime/memory.js';
import { preload, type PreloadImage } from '../runtime/preload.js';
import { IMAGE_FD, IMAGE_FD_ENV } from '../runtime/snapshot.js';
import { RELOAD_DIR_ENV, RELOAD_TRIAL_ENV } from '../runtime/boot.js';
import { CodeWatcher } from './code-reload.js';
import { logConfigActive, logConfigOf, type LogConfigSettings } from '../log/log-config.js';
import { missingTimeZoneDatabase } from '../runtime/host/timezone.js';
import { SUMMARY_SIGNAL, VIOLATIONS_EXIT, WsgiCheck } from './wsgi-check.js';
import { ControlSocketServer } from './control-socket.js';
import type { ControlledArbiter, ListenerView, WorkerView } from './control-commands.js';
import type { Json } from './control-protocol.js';
import { WORKER_CLASSES, servedWorkerClass, workerClassLabel, workerClassNote } from '../config/worker-classes.js';
import { DirtyProcess, dirtyWanted } from './dirty-process.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Gunicorn's exit codes for a worker that could not start. */
const WORKER_BOOT_ERROR = 3;
const APP_LOAD_ERROR = 4;
/** Gunicorn's master exits with -1 after an unhandled error in its main loop. */
const MAIN_LOOP_ERROR = 255;
/** How often timeouts are checked, as Gunicorn's master loop wakes up once a second. */
const TICK_MS = 1000;
/**
 * How long a worker given SIGABRT (--timeout) has to log the stuck frames and run
 * worker_abort before SIGKILL. Gunicorn kills at its next tick; its worker's handler
 * runs at once in the main thread. Ours interrupts CPython in wasm from another
 * thread, which unwinds and formats the traceback there: on a loaded machine that
 * took more than a tick, and the kill came before the traceback and the hook. The
 * worker leaves by itself INTERRUPT_GRACE_MS after the signal; this is that plus a
 * tick. Its replacement does not wait: it starts when the signal is sent.
 */
const ABORT_GRACE_MS = INTERRUPT_GRACE_MS + TICK_MS;
/** The signals that stop the arbiter: before the main loop, they also end the bind tries at once. */
const STOP_SIGNALS: readonly string[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Spawn number, Gunicorn's worker.age. */
  age: number;
  /** The WorkerTmp heartbeat file's descriptor. */
  tmp: number;
  ready: boolean;
  /** Booting is not timed (Pyodide takes seconds); the clock starts when it serves. */
  readyAt: number;
  /** From the last heartbeat message: how long Python had been busy in one request. */
  busyMs: number;
  /** When the arbiter sent SIGABRT for a timeout (0: not yet). */
  abortedAt: number;
  /** The worker asked to be replaced (max_requests, max_worker_memory); it serves until its successor does. */
  retiring: boolean;
  /** The worker booting to take this one's place. */
  successor: WorkerProcess | null;
  /** The retiring worker this one replaces, sent TERM once this one serves. */
  predecessor: WorkerProcess | null;
  /**
   * Booted by --reload for changed code: until it serves, an app that fails to
   * import in it is the reload's failure (the old workers stay), not the server's.
   */
  trial: boolean;
}

/**
 * Workers booting to replace every current one (HUP, --reload): the old ones
 * leave once all the others (the fresh ones, and any that replaced one of
 * them meanwhile) serve.
 */
interface Round {
  old: Set<WorkerProcess>;
}

export class Arbiter {
  private readonly workers = new Map<number, WorkerProcess>();
  private numWorkers: number;
  private age = 0;
  private stopping = false;
  private exitCode = 0;
  private reason: string | null = null;
  private done!: (code: number) => void;
  readonly finished = new Promise<number>((resolve) => (this.done = resolve));

  private listeners: Listener[] = [];
  /** The listeners came from systemd: their unix socket files are systemd's to remove. */
  private systemd = false;
  private pidfile: Pidfile | null = null;
  /** --preload: the snapshot every worker starts from (null: workers import the app themselves). */
  private image: PreloadImage | null = null;
  /** --check-wsgi: where the workers record violations (null: the mode is off). */
  private check: WsgiCheck | null = null;
  /** --reload: watches the workers' source files (null: the mode is off). */
  private code: CodeWatcher | null = null;
  /** The replacement of every worker under way, if any. */
  private round: Round | null = null;
  /** --reload: a file changed while a round was under way; another round follows it. */
  private changedMeanwhile: string | null = null;
  /** logconfig*: the interpreter whose logging holds the configuration in effect, which emits the Node side's lines. */
  private logInterpreter: ConfigInterpreter | null = null;
  /** The log configuration in effect (after a HUP that could not apply a new one, the previous one): workers get it. */
  private logSettings: LogConfigSettings;
  /** --reload with --preload: the app is being imported again for a new snapshot. */
  private preloading = false;
  /** The dirty arbiter (null: dirty_workers is 0 or dirty_apps empty). */
  private dirty: DirtyProcess | null = null;
  /** The control socket (null: --no-control-socket, or not started yet). */
  private control: ControlSocketServer | null = null;
  /** Gunicorn's Arbiter._stats, which the control socket's `show stats` reports. */
  private readonly stats = { startTime: null as number | null, workersSpawned: 0, workersKilled: 0, reloads: 0 };
  /**
   * Signals that came before the main loop (during the bind tries and the
   * start-up hooks), handled once it runs, in order, as Gunicorn's main loop
   * handles its queue; null from then on.
   */
  private earlySignals: string[] | null = [];
  /**
   * Aborted by a TERM, INT or QUIT before the main loop: ends the bind tries
   * at once. Gunicorn's time.sleep(1) resumes after its handler, so it waits
   * the tries out (then exits 1, or starts and stops); here the arbiter stops
   * without waiting, as it would have once started.
   */
  private readonly stopEarly = new AbortController();

  constructor(
    private settings: Settings,
    private readonly log: ErrorLog,
    private config: ConfigInterpreter | null,
    private readonly reloader: Reloader | null = null,
  ) {
    this.numWorkers = settings.workers;
    this.logSettings = logConfigOf(settings);
  }

  /** Gunicorn's Arbiter.start, then the workers: resolves with the exit code. */
  async run(): Promise<number> {
    const { settings, log } = this;
    this.stats.startTime = Date.now();
    this.config?.init(settings, settings.loglevel);
    if (!this.applyLogConfig(false)) return 1;
    // Gunicorn's Arbiter.setup sets num_workers, which announces it (old value None).
    if (!this.hook('nworkers_changed', { args: [settings.workers, null] }, 1)) return this.finished;
    // Gunicorn's Arbiter.setup loads a preloaded app here, before anything is bound.
    if (settings.preload_app) {
      const traceback = await this.preloadApp(false);
      if (traceback !== null) {
        process.stderr.write(`\nError while loading the application:\n\n${traceback}`);
        return 1;
      }
    }
    log.info(`Starting nicorn-py ${VERSION}`);
    if (settings.pidfile) {
      // A USR2 child writes NAME.2 until its parent is gone, as Gunicorn's does.
      this.pidfile = new Pidfile(settings.pidfile + (process.env.NICORN_PID ? '.2' : ''));
      try {
        this.pidfile.create(process.pid);
      } catch (e) {
        if (!(e instanceof PidfileError)) throw e;
        process.stderr.write(`\nError: ${e.message}\n\n`);
        this.pidfile = null;
        return 1;
      }
    }
    if (!this.hook('on_starting', {}, 1)) return this.finished;
    this.initSignals();
    const bound = await this.createSockets();
    const stopSignal = this.earlySignals?.find((sig) => STOP_SIGNALS.includes(sig));
    if (stopSignal) {
      // Nothing runs yet: the arbiter stops now, as it would have in its main loop.
      this.earlySignals = null;
      this.handleSignal(stopSignal);
      return this.finished;
    }
    if (!bound) {
      closeListeners(this.listeners, !this.systemd);
      this.pidfile?.unlink(process.pid);
      return 1;
    }
    // Gunicorn names every TCP listener https:// once a certificate is configured.
    const tls = Boolean(settings.certfile || settings.keyfile);
    const urls = this.listeners.map((l) => (tls ? l.url.replace(/^http:/, 'https:') : l.url));
    log.info(`Listening at: ${urls.join(',')} (${process.pid})`);
    log.info(`Using worker: ${workerClassLabel(settings.worker_class, settings.threads)}`);
    const classNote = workerClassNote(settings.worker_class);
    if (classNote) log.info(classNote);
    // As Gunicorn's ASGIWorker.check_config.
    if (servedWorkerClass(settings.worker_class, settings.threads) === 'asgi' && settings.threads > 1) {
      log.warning('ASGI worker does not use threads configuration. Use worker_connections instead.');
    }
    const noZoneinfo = missingTimeZoneDatabase();
    if (noZoneinfo) log.warning(noZoneinfo);
    // As Gunicorn: before when_ready, and before any worker, whose environment gets its socket.
    if (dirtyWanted(settings)) {
      this.dirty = new DirtyProcess(log, settings, this.config);
      this.dirty.spawn();
    }
    if (!this.hook('when_ready', {}, 1)) return this.finished;
    if (settings.check_wsgi) this.check = WsgiCheck.create(settings);
    if (settings.reload) {
      try {
        this.code = CodeWatcher.create(settings, log, (file) => void this.codeChanged(file));
      } catch (e) {
        log.error((e as Error).message);
        this.halt(null, 1);
        return this.finished;
      }
      // Gunicorn's workers each say it as they start; said once here, where the watching is.
      log.warning('Reloader is on. Use in development only!');
      this.code.start();
    }
    process.title = `nicorn-py: master [${procName(settings)}]`;
    this.start();
    // As Gunicorn: after the first workers are spawned.
    this.startControlSocket();
    this.handleEarlySignals();
    return this.finished;
  }

  private state(extra: Partial<ArbiterState> = {}): ArbiterState {
    return {
      pid: process.pid,
      num_workers: this.numWorkers,
      workers: [...this.workers.values()].map((w) => ({ pid: w.pid, age: w.age })),
      listeners: this.listeners.map((l) => l.url),
      ...extra,
    };
  }

  /**
   * Runs an arbiter-side hook. One that raises stops the arbiter as in Gunicorn:
   * during start-up (exit 1), or as an unhandled error in its main loop (exit -1).
   */
  private hook(name: string, extra: Partial<ArbiterState> = {}, exitCode = MAIN_LOOP_ERROR): boolean {
    const tb = this.config?.callHook(name, this.state(extra));
    if (!tb) return true;
    const what = exitCode === MAIN_LOOP_ERROR ? 'Unhandled exception in main loop' : `Exception in ${name} hook`;
    this.log.error(`${what}:\n${tb.trimEnd()}`);
    this.halt(null, exitCode);
    return false;
  }

  /**
   * logconfig, logconfig_dict, logconfig_json (src/log/log-config.ts): applied
   * in the config interpreter, which from then on emits this process's lines.
   * At start a failure is Gunicorn's "Error: ..." and exit 1 (false); on HUP
   * (`reloading`) it is reported on stderr and the previous configuration
   * stays, as Gunicorn 26.1's Arbiter.setup does.
   */
  private applyLogConfig(reloading: boolean): boolean {
    const wanted = logConfigOf(this.settings);
    const interp = this.config;
    if (!logConfigActive(wanted) || !interp) {
      this.logInterpreter = null;
      this.logSettings = wanted;
      this.log.route = null;
      return true;
    }
    const failure = interp.setupLogging(this.settings);
    if (failure === null) {
      this.logInterpreter = interp;
      this.logSettings = wanted;
      const pid = process.pid;
      this.log.route = (level, message) => {
        interp.emitLog(level, message, pid);
        return true;
      };
      return true;
    }
    if (!reloading) {
      process.stderr.write(`\nError: ${failure.message}\n\n`);
      return false;
    }
    process.stderr.write(`\nError: reloading the logger configuration failed, keeping the previous one\n${failure.traceback}`);
    // The interpreter that failed may be left half-configured: the previous configuration is applied again.
    const previous = this.logInterpreter;
    if (previous) {
      const again = previous.setupLogging({ ...this.settings, ...this.logSettings });
      if (again !== null) process.stderr.write(`Error: restoring the previous logger configuration failed\n${again.traceback}`);
    }
    this.log.error('reloading the logger configuration failed, keeping the previous one');
    return true;
  }

  private setNumWorkers(n: number): void {
    const old = this.numWorkers;
    this.numWorkers = n;
    this.hook('nworkers_changed', { args: [n, old] });
  }

  /**
   * Gunicorn's create_sockets: the sockets handed over (fd://, systemd's, a
   * USR2 parent's) are taken as they are; every other address is bound, with
   * Gunicorn's five tries. False when the arbiter cannot serve (the reason
   * logged) or a stop signal came meanwhile.
   */
  private async createSockets(): Promise<boolean> {
    const { settings, log } = this;
    try {
      // After USR2 the listeners are inherited from the old arbiter, not bound again.
      const inherited = process.env.NICORN_FD?.split(',').map((fd) => `fd://${fd}`);
      delete process.env.NICORN_FD;
      // systemd socket activation (LISTEN_PID/LISTEN_FDS, then unset): fds 3.. instead of binding.
      const activated = activatedBinds();
      this.systemd = activated.length > 0;
      const specs = inherited ?? listenerSpecs(settings.bind, activated);
      const opts = { cwd: settings.chdir, umask: settings.umask, uid: settings.user, gid: settings.group, reusePort: settings.reuse_port };
      if (specs.every((spec) => spec.startsWith('fd://'))) {
        for (const spec of specs) this.listeners.push(await bindOne(spec, opts));
        listenAll(this.listeners, settings.backlog);
        return true;
      }
      for (const spec of specs) {
        const listener = await bindWithRetries(spec, opts, settings.backlog, log, this.stopEarly.signal);
        if (!listener) return false;
        this.listeners.push(listener);
        if (this.stopEarly.signal.aborted) return false;
      }
      return true;
    } catch (e) {
      if (!(e instanceof BindError)) throw e;
      log.error(e.message);
      log.error("Can't bind the listening sockets; shutting down.");
      return false;
    }
  }

  /**
   * Gunicorn's init_signals, which its start() calls before create_sockets:
   * from here on every signal the arbiter handles is caught (not left to
   * its default action, which kills). Until the main loop runs they are
   * held (Gunicorn's SIG_QUEUE); see onSignal.
   */
  private initSignals(): void {
    for (const sig of Object.keys(this.signalHandlers())) process.on(sig, () => this.onSignal(sig));
  }

  private onSignal(sig: string): void {
    if (this.earlySignals === null) return this.handleSignal(sig);
    this.earlySignals.push(sig);
    if (STOP_SIGNALS.includes(sig)) this.stopEarly.abort();
  }

  /** One signal, as Gunicorn's main loop handles it: logged, then its handle_* method. */
  private handleSignal(sig: string): void {
    const handler = this.signalHandlers()[sig];
    if (!handler) return;
    this.log.info(`Handling signal: ${sig.slice(3).toLowerCase()}`);
    handler();
  }

  /** What each signal does, as Gunicorn's handle_* methods. */
  private signalHandlers(): Record<string, () => void> {
    const handlers: Record<string, () => void> = {
      SIGTERM: () => this.stop(true, 0),
      SIGINT: () => this.stop(false, 0),
      SIGQUIT: () => this.stop(false, 0),
      SIGHUP: () => {
        void this.reload();
        // As Gunicorn's handle_hup: the dirty arbiter replaces its workers.
        this.dirty?.signal('SIGHUP');
      },
      SIGTTIN: () => {
        if (!this.stopping) this.setNumWorkers(this.numWorkers + 1);
        this.manageWorkers();
      },
      SIGTTOU: () => {
        if (!this.stopping && this.numWorkers > 1) this.setNumWorkers(this.numWorkers - 1);
        this.manageWorkers();
      },
      // Reopen log files (logrotate's mv + USR1), here and in every worker.
      SIGUSR1: () => {
        this.log.reopen();
        this.logInterpreter?.reopenLogFiles();
        this.signalWorkers('SIGUSR1');
        this.dirty?.signal('SIGUSR1');
      },
      SIGUSR2: () => this.reexec(),
      SIGWINCH: () => this.winch(),
    };
    // --check-wsgi: the summary (and report) so far, on a signal Gunicorn gives no meaning.
    if (this.check) handlers[SUMMARY_SIGNAL] = () => this.check?.report(this.log, this.settings.check_wsgi_report);
    return handlers;
  }

  private start(): void {
    // The master loop's tick also keeps the arbiter alive when it has no worker (WINCH).
    this.ticker = setInterval(() => {
      this.murderWorkers();
      this.adoptAfterParent();
      if (this.settings.enable_backlog_metric) reportBacklog(this.log, this.listeners);
    }, TICK_MS);
    // --check-wsgi's signal, caught once this.check exists (it is created after the bind).
    if (this.check) process.on(SUMMARY_SIGNAL, () => this.onSignal(SUMMARY_SIGNAL));
    this.manageWorkers();
  }

  /** As Gunicorn's main loop does first: the signals that came during start-up, in order. */
  private handleEarlySignals(): void {
    const early = this.earlySignals ?? [];
    this.earlySignals = null;
    for (const sig of early) this.handleSignal(sig);
  }

  private signalWorkers(sig: NodeJS.Signals): void {
    for (const w of this.workers.values()) this.killWorker(w, sig);
  }

  /** WINCH: when daemonized, stop every worker gracefully and keep the arbiter (after USR2). */
  private winch(): void {
    if (!this.settings.daemon) {
      this.log.debug('SIGWINCH ignored. Not daemonized');
      return;
    }
    this.log.info('graceful stop of workers');
    this.setNumWorkers(0);
    this.signalWorkers('SIGTERM');
  }

  /**
   * USR2: a new arbiter from the same executable, handed the same listening
   * sockets (fds 3.. with NICORN_FD), so an upgrade drops no connection. This
   * one keeps serving until it is sent TERM (or WINCH, then TERM).
   */
  private reexec(): void {
    if (this.reexecChild && this.reexecChild.exitCode === null) {
      this.log.warning('USR2 signal ignored. Child exists.');
      return;
    }
    if (process.env.NICORN_PID) {
      this.log.warning('USR2 signal ignored. Parent exists.');
      return;
    }
    if (!this.hook('pre_exec')) return;
    this.pidfile?.rename(`${this.pidfile.file}.oldbin`);
    const fds = this.listeners.map((l) => l.handle.fd);
    const env = { ...process.env, NICORN_PID: String(process.pid), NICORN_FD: fds.map((_, i) => i + 3).join(',') };
    this.reexecChild = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      cwd: this.startCwd,
      env,
      stdio: ['ignore', 'inherit', 'inherit', ...fds],
    });
    // The new arbiter outlives this one: it must not keep this one running.
    this.reexecChild.unref();
  }

  /** A USR2 child whose old arbiter has left becomes the one arbiter: its pid file takes the name. */
  private adoptAfterParent(): void {
    const parent = Number(process.env.NICORN_PID ?? 0);
    if (!parent || process.ppid === parent) return;
    delete process.env.NICORN_PID;
    if (this.settings.pidfile) this.pidfile?.rename(this.settings.pidfile);
  }

  private reexecChild: ChildProcess | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private readonly startCwd = process.cwd();

  /**
   * Spawns or retires workers until there are num_workers of them. A worker
   * already signalled (retired, aborted for a timeout) is not counted, so its
   * replacement starts at once; nor is one whose successor is booting.
   */
  private manageWorkers(): void {
    if (this.stopping) return;
    // A --reload trial worker is not counted until it serves: the old ones it may replace stay.
    const live = [...this.workers.values()].filter((w) => !w.child.killed && !w.successor && !w.trial);
    for (let i = live.length; i < this.numWorkers && !this.stopping; i++) this.spawn();
    // Retire the oldest first, as Gunicorn does.
    const extra = live.sort((a, b) => a.age - b.age).slice(0, Math.max(0, live.length - this.numWorkers));
    for (const w of extra) this.killWorker(w, 'SIGTERM');
    reportWorkerCount(this.log, [...this.workers.values()].filter((w) => !w.child.killed).length);
  }

  /**
   * Workers that asked to be replaced are, one at a time: a successor is
   * spawned for the oldest, and the old one serves until the successor does
   * (then TERM, a graceful exit). One at a time so that workers that reach
   * max_requests together do not all boot at once, on the cores the serving
   * ones need, and so that never more than one extra worker's memory is in use.
   */
  private rotate(): void {
    if (this.stopping) return;
    const all = [...this.workers.values()];
    if (all.some((w) => w.predecessor && !w.ready)) return;
    const next = all.filter((w) => w.retiring && !w.successor && !w.child.killed).sort((a, b) => a.age - b.age)[0];
    if (!next) return;
    const successor = this.spawn();
    if (!successor) return;
    next.successor = successor;
    successor.predecessor = next;
    this.log.debug(`Worker ${successor.pid} boots to replace worker ${next.pid}`);
  }

  private spawn(trial = false): WorkerProcess | null {
    const age = ++this.age;
    if (!this.hook('pre_fork', { worker: { pid: null, age, alive: true } })) return null;
    let tmp: number;
    try {
      tmp = createWorkerTmp(this.settings.worker_tmp_dir, this.settings.umask, this.settings.user, this.settings.group);
    } catch (e) {
      if (!(e instanceof WorkerTmpError)) throw e;
      this.log.error(e.message);
      this.halt('Worker failed to boot.', WORKER_BOOT_ERROR);
      return null;
    }
    // The heartbeat file travels as the worker's fd 4 (WORKER_TMP_FD), after the IPC channel;
    // with --preload the snapshot image follows as fd 5 (IMAGE_FD).
    const image = this.image;
    const env = { ...process.env };
    if (image) env[IMAGE_FD_ENV] = String(IMAGE_FD);
    if (this.code) env[RELOAD_DIR_ENV] = this.code.dir;
    if (trial) env[RELOAD_TRIAL_ENV] = '1';
    const child = fork(WORKER_ENTRY, [], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', tmp, ...(image ? [image.fd] : [])],
      serialization: 'advanced',
      execArgv: workerExecArgv(),
      env,
    });
    const init: ArbiterMessage = {
      kind: 'init',
      settings: { ...this.settings, ...this.logSettings },
      listeners: this.listeners.length,
      age,
      config: this.config?.source ?? null,
      hooks: [...(this.config?.hooks ?? [])],
      checkWsgiDir: this.check?.dir ?? null,
    };
    child.send(init);
    this.listeners.forEach((l, index) => {
      const msg: ArbiterMessage = { kind: 'listener', index };
      child.send(msg, l.handle as never);
    });
    const w: WorkerProcess = {
      child, pid: child.pid ?? -1, age, tmp, ready: false, readyAt: 0, busyMs: 0, abortedAt: 0,
      retiring: false, successor: null, predecessor: null, trial: false,
    };
    child.on('message', (m: WorkerMessage) => {
      if (m.kind === 'ready') {
        w.ready = true;
        w.readyAt = Date.now();
        this.log.debug(`Worker ${w.pid} is serving`);
        // Its list of loaded source files is written by now: watched from this moment.
        this.code?.readReports();
        // --reload: changed code with a syntax error serves Gunicorn's traceback page; not in place of working workers.
        if (w.trial && this.round && !this.round.old.has(w) && this.code?.failed(w.pid)) {
          this.failRound();
          return;
        }
        const old = w.predecessor;
        if (old) {
          w.predecessor = null;
          this.killWorker(old, 'SIGTERM');
          this.rotate();
        }
        if (this.round && !this.round.old.has(w)) this.roundProgress();
      } else if (m.kind === 'heartbeat') {
        w.busyMs = m.busyMs;
      } else if (m.kind === 'retire') {
        w.retiring = true;
        this.rotate();
      } else if (m.kind === 'log') {
        this.logInterpreter?.emitLog(m.level, m.message, w.pid);
      } else if (m.kind === 'access') {
        this.logInterpreter?.emitAccess(this.settings.access_log_format, m.atoms, w.pid);
      }
    });
    child.once('exit', (code, signal) => {
      fs.closeSync(tmp);
      this.reap(w, code, signal);
    });
    this.workers.set(w.pid, w);
    this.stats.workersSpawned++;
    return w;
  }

  private reap(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.delete(w.pid);
    this.code?.forget(w.pid);
    // A successor that died booting: its predecessor waits for the next one. A
    // predecessor that died first: its successor simply takes its place.
    if (w.predecessor) w.predecessor.successor = null;
    if (w.successor) w.successor.predecessor = null;
    if (signal) {
      const extra = signal === 'SIGKILL' ? ' Perhaps out of memory?' : '';
      if (!this.stopping && signal !== 'SIGTERM') this.log.error(`Worker (pid:${w.pid}) was sent ${signal}!${extra}`);
    } else if (code) {
      this.log.error(`Worker (pid:${w.pid}) exited with code ${code}`);
    }
    if (!this.hook('child_exit', { worker: { pid: w.pid, age: w.age, alive: false } })) return;
    // --reload: a trial worker that ends before it serves is the changed code's failure, not the server's.
    if (w.trial && !w.ready) {
      if (this.round && !this.round.old.has(w)) this.failRound();
      if (code === WORKER_BOOT_ERROR || code === APP_LOAD_ERROR) return;
    }
    if (code === WORKER_BOOT_ERROR) return this.halt('Worker failed to boot.', WORKER_BOOT_ERROR);
    if (code === APP_LOAD_ERROR) return this.halt('App failed to load.', APP_LOAD_ERROR);
    if (this.stopping) {
      this.finishWhenDone();
      return;
    }
    this.manageWorkers();
    this.rotate();
  }

  /**
   * --preload: imports the app once and snapshots the interpreter for the
   * workers (src/runtime/preload.ts); `rebuild` (HUP) makes a new snapshot
   * even if the cached one is current. Returns the traceback when the app
   * failed to import, else null; an app that imports but cannot be
   * snapshotted is logged, and workers then import it themselves.
   */
  private async preloadApp(rebuild: boolean): Promise<string | null> {
    const outcome = await preload({
      settings: this.settings,
      config: this.config?.source ?? null,
      log: this.log.forPythonThread(),
      rebuild,
    });
    if (outcome.kind === 'app-error') return outcome.traceback;
    const old = this.image;
    if (outcome.kind === 'fallback') {
      this.log.warning(`Preload: cannot snapshot the app (${outcome.reason}); each worker imports it itself`);
      this.image = null;
    } else {
      const { image } = outcome;
      const where = image.file || 'a private temporary file';
      if (image.built === null) this.log.debug(`Preload: workers start from the cached snapshot ${where}`);
      else {
        const from = image.from === 'base' ? ' from the base snapshot' : '';
        this.log.info(`Preload: snapshot made${from} in ${image.ms} ms (${image.built}): ${where}`);
      }
      this.image = image;
    }
    // Workers forked already hold their own copy of the descriptor.
    if (old && old !== this.image) fs.closeSync(old.fd);
    return null;
  }

  /**
   * HUP: the configuration is read again (config file included), new workers
   * come up with it, and once they serve the old ones leave gracefully.
   */
  private async reload(): Promise<void> {
    if (this.stopping) return;
    this.stats.reloads++;
    this.log.info('Hang up: Master');
    if (this.reloader) {
      try {
        const next = await this.reloader();
        this.settings = next.settings;
        this.config = next.config;
        this.log.setup(this.settings);
        this.config?.init(this.settings, this.settings.loglevel);
        this.dirty?.update(this.settings, this.config);
        // As Gunicorn's manage_dirty_arbiter: dirty apps configured by the reload start their dirty arbiter (before the new workers, which get its socket).
        if (!this.dirty && dirtyWanted(this.settings)) {
          this.dirty = new DirtyProcess(this.log, this.settings, this.config);
          this.dirty.spawn();
        }
        this.applyLogConfig(true);
        if (this.settings.workers !== this.numWorkers) this.setNumWorkers(this.settings.workers);
      } catch (e) {
        this.log.error(`Reload failed, keeping the current configuration: ${(e as Error).message}`);
        return;
      }
    }
    if (this.settings.preload_app) {
      // The app is imported again, so the new workers run the code as it is now.
      const traceback = await this.preloadApp(true);
      if (traceback !== null) {
        const then = this.image ? 'new workers start from the previous snapshot' : 'new workers import the app themselves';
        this.log.error(`Preload failed, ${then}:\n${traceback.trimEnd()}`);
      }
      if (this.stopping) return;
    } else if (this.image) {
      fs.closeSync(this.image.fd);
      this.image = null;
    }
    if (!this.hook('on_reload')) return;
    this.replaceWorkers(false);
  }

  /**
   * Boots num_workers fresh workers; the current ones (a pending round's
   * included) leave gracefully once every fresh one serves. `trial` (--reload):
   * if the app fails to import in a fresh one, they are stopped instead.
   */
  private replaceWorkers(trial: boolean): void {
    this.round = { old: new Set(this.workers.values()) };
    for (let i = 0; i < this.numWorkers; i++) {
      const w = this.spawn(trial);
      if (!w) return;
      w.trial = trial;
    }
    this.roundProgress();
  }

  private fresh(round: Round): WorkerProcess[] {
    return [...this.workers.values()].filter((w) => !round.old.has(w));
  }

  private roundProgress(): void {
    const round = this.round;
    if (!round) return;
    const fresh = this.fresh(round);
    if (fresh.some((w) => !w.ready)) return;
    this.round = null;
    for (const w of fresh) w.trial = false;
    for (const w of round.old) this.killWorker(w, 'SIGTERM');
    this.afterRound();
  }

  /** --reload: the changed code did not import; the old workers keep serving it as it was. */
  private failRound(): void {
    const round = this.round;
    if (!round) return;
    this.round = null;
    this.log.error('Reload failed: the changed application did not load (traceback above); the old workers keep serving');
    for (const w of this.fresh(round)) if (w.child.exitCode === null && w.child.signalCode === null) this.killWorker(w, 'SIGTERM');
    this.afterRound();
  }

  private afterRound(): void {
    const file = this.changedMeanwhile;
    this.changedMeanwhile = null;
    if (file !== null) void this.codeChanged(file);
  }

  /**
   * --reload: a watched file changed. As Gunicorn's reloading worker says,
   * then new workers import the code as it is now; the old ones leave once
   * they serve, or stay if it does not import. With --preload (which
   * Gunicorn's reloader cannot follow) the app is imported again first.
   */
  private async codeChanged(file: string): Promise<void> {
    if (this.stopping) return;
    this.log.info(`Worker reloading: ${file} modified`);
    if (this.round || this.preloading) {
      this.changedMeanwhile = file;
      return;
    }
    if (this.settings.preload_app) {
      this.preloading = true;
      const traceback = await this.preloadApp(true).finally(() => (this.preloading = false));
      if (this.stopping) return;
      if (traceback !== null) {
        this.log.error(`Reload failed, the old workers keep serving:\n${traceback.trimEnd()}`);
        this.afterRound();
        return;
      }
    }
    this.replaceWorkers(true);
  }

  /** Signals a worker; TERM and KILL count as kills in `show stats`, as Gunicorn's kill_worker counts them. */
  private killWorker(w: WorkerProcess, sig: NodeJS.Signals): void {
    w.child.kill(sig);
    if (sig === 'SIGTERM' || sig === 'SIGKILL') this.stats.workersKilled++;
  }

  /** --control-socket: the path (relative to --chdir), unless --no-control-socket. */
  private startControlSocket(): void {
    const { settings } = this;
    if (settings.control_socket_disable) {
      this.log.debug('Control socket disabled');
      return;
    }
    const file = path.resolve(settings.chdir, settings.control_socket);
    this.control = new ControlSocketServer(this.controlled(), file, settings.control_socket_mode, this.log);
    this.control.start();
  }

  /** What the control socket's commands read and do (src/arbiter/control-commands.ts). */
  private controlled(): ControlledArbiter {
    const arbiter = this;
    return {
      pid: process.pid,
      workers: (): WorkerView[] =>
        [...arbiter.workers.values()].map((w) => {
          let lastHeartbeat: number | null;
          try {
            lastHeartbeat = (Date.now() - lastUpdate(w.tmp)) / 1000;
          } catch {
            lastHeartbeat = null;
          }
          return { pid: w.pid, age: w.age, booted: w.ready, aborted: w.abortedAt > 0, lastHeartbeat };
        }),
      numWorkers: () => arbiter.numWorkers,
      setNumWorkers: (n: number) => {
        if (arbiter.stopping) return;
        if (n !== arbiter.numWorkers) arbiter.setNumWorkers(n);
        arbiter.manageWorkers();
      },
      stats: () => ({ ...arbiter.stats }),
      listeners: (): ListenerView[] => {
        const tls = Boolean(arbiter.settings.certfile || arbiter.settings.keyfile);
        return arbiter.listeners.map((l) => ({
          address: tls ? l.url.replace(/^http:/, 'https:') : l.url,
          fd: (l.handle as { fd?: number }).fd ?? -1,
          type: l.url.startsWith('unix:') ? 'unix' : l.url.includes('://[') ? 'tcp6' : l.url.includes('://') ? 'tcp' : 'unknown',
        }));
      },
      config: () => arbiter.controlConfig(),
      signalSelf: (sig: NodeJS.Signals) => {
        process.kill(process.pid, sig);
      },
      dirty: () => {
        const pid = arbiter.dirty?.pid;
        const socketPath = arbiter.dirty?.socketPath;
        return pid && socketPath ? { pid, socketPath, apps: arbiter.settings.dirty_apps } : null;
      },
      terminateWorker: (pid: number) => {
        const w = arbiter.workers.get(pid);
        if (!w) return `Worker ${pid} not found`;
        try {
          process.kill(pid, 'SIGTERM');
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      },
    };
  }

  /** `show config`: Gunicorn's keys, as its cfg gives them (worker_class as str() of the class). */
  private controlConfig(): { [key: string]: Json } {
    const s = this.settings;
    const served = servedWorkerClass(s.worker_class, s.threads);
    return {
      bind: [...s.bind],
      workers: s.workers,
      worker_class: `<class '${WORKER_CLASSES[served]!.path}'>`,
      threads: s.threads,
      timeout: s.timeout,
      graceful_timeout: s.graceful_timeout,
      keepalive: s.keepalive,
      max_requests: s.max_requests,
      max_requests_jitter: s.max_requests_jitter,
      worker_connections: s.worker_connections,
      preload_app: s.preload_app,
      daemon: s.daemon,
      pidfile: s.pidfile ?? null,
      proc_name: procName(s),
      reload: s.reload,
      dirty_workers: s.dirty_workers,
      dirty_apps: [...s.dirty_apps],
      dirty_timeout: s.dirty_timeout,
      control_socket: s.control_socket,
      control_socket_disable: s.control_socket_disable,
    };
  }

  /**
   * Gunicorn's murder_workers: a worker whose Python has been inside one request
   * (or whose I/O thread has been silent) longer than --timeout gets SIGABRT
   * (worker_abort runs there), and SIGKILL if it is still around ABORT_GRACE_MS later.
   */
  private murderWorkers(): void {
    const limit = this.settings.timeout * 1000;
    if (limit <= 0 || this.stopping) return;
    const now = Date.now();
    for (const w of this.workers.values()) {
      // Silent (no heartbeat in the tmp file) or stuck in one request: both are timeouts.
      let lastSeen: number;
      try {
        lastSeen = Math.max(lastUpdate(w.tmp), w.readyAt);
      } catch {
        continue;
      }
      if (!w.ready || Math.max(w.busyMs, now - lastSeen) <= limit) continue;
      if (!w.abortedAt) {
        this.log.critical(`WORKER TIMEOUT (pid:${w.pid})`);
        w.abortedAt = now;
        w.child.kill('SIGABRT');
        // Its replacement starts now, not once it has gone.
        this.manageWorkers();
      } else if (now - w.abortedAt >= ABORT_GRACE_MS) {
        this.killWorker(w, 'SIGKILL');
      }
    }
  }

  /** Graceful (TERM): workers finish in-flight requests; quick (INT, QUIT): they leave now. */
  stop(graceful: boolean, exitCode: number): void {
    if (this.stopping) return;
    this.stopping = true;
    this.exitCode = exitCode;
    // Gunicorn's halt stops the control server first.
    this.control?.stop();
    // As Gunicorn's stop: the dirty arbiter first, with the same signal; the master waits for it too.
    const dirty = this.dirty;
    // Stopped even when none is running: one may be due to start again (after a failure).
    if (dirty) void dirty.stop(graceful ? 'SIGTERM' : 'SIGQUIT').then(() => this.finishWhenDone());
    if (this.workers.size === 0 && !dirty?.running) return this.finish();
    for (const w of this.workers.values()) this.killWorker(w, graceful ? 'SIGTERM' : 'SIGQUIT');
    setTimeout(() => {
      for (const w of this.workers.values()) this.killWorker(w, 'SIGKILL');
    }, graceful ? this.settings.graceful_timeout * 1000 : 1000).unref();
    // The dirty arbiter gets its workers' dirty_graceful_timeout (then it kills them) before it is killed
    // itself: killed sooner, it would leave a worker still in an action behind, an orphan.
    const dirtyLimit = graceful ? Math.max(this.settings.graceful_timeout, this.settings.dirty_graceful_timeout + 1) : 2;
    if (dirty?.running) setTimeout(() => dirty.signal('SIGKILL'), dirtyLimit * 1000).unref();
  }

  /** Stopping: once every worker and the dirty arbiter are gone. */
  private finishWhenDone(): void {
    if (this.workers.size === 0 && !this.dirty?.running && !this.shutDown) this.finish();
  }

  /** finish() ran: the exit code is given. */
  private shutDown = false;

  private halt(reason: string | null, code: number): void {
    this.reason ??= reason;
    this.stop(false, code);
  }

  private finish(): void {
    this.shutDown = true;
    if (this.ticker) clearInterval(this.ticker);
    this.code?.stop();
    this.log.info('Shutting down: Master');
    if (this.reason) this.log.info(`Reason: ${this.reason}`);
    // Gunicorn's close_sockets: unix socket files stay for systemd and across a USR2 hand-over.
    const child = this.reexecChild;
    const handingOver = (child !== null && child.exitCode === null && child.signalCode === null) || !!process.env.NICORN_PID;
    closeListeners(this.listeners, !this.systemd && !handingOver);
    this.pidfile?.unlink(process.pid);
    const tb = this.config?.callHook('on_exit', this.state());
    if (tb) this.log.error(`Exception in on_exit hook:\n${tb.trimEnd()}`);
    // --check-wsgi: every worker has written its last record by now.
    const seen = this.check ? this.check.report(this.log, this.settings.check_wsgi_report).total : 0;
    this.check?.remove();
    this.done(this.exitCode || (seen > 0 ? VIOLATIONS_EXIT : 0));
  }
}

/** Reads the configuration again, for HUP. */
export type Reloader = () => Promise<{ settings: Settings; config: ConfigInterpreter | null }>;

export function runArbiter(settings: Settings, config: ConfigInterpreter | null = null, reloader: Reloader | null = null): Promise<number> {
  return new Arbiter(settings, ErrorLog.fromSettings(settings), config, reloader).run();
}
