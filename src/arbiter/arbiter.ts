// The arbiter: binds the listeners, forks the workers, replaces the ones that
// die, and turns signals into Gunicorn's lifecycle. It never handles requests.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Settings } from '../config/registry.js';
import { ErrorLog } from '../log/error-log.js';
import { VERSION } from '../version.js';
import type { ArbiterMessage, WorkerMessage } from '../worker/messages.js';
import { BindError, bindOne, type Listener } from './listeners.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Gunicorn's exit codes for a worker that could not start. */
const WORKER_BOOT_ERROR = 3;
const APP_LOAD_ERROR = 4;
const GRACEFUL_TIMEOUT_MS = 30_000;

export class Arbiter {
  private readonly workers = new Map<number, ChildProcess>();
  private stopping = false;
  private exitCode = 0;
  private done!: (code: number) => void;
  readonly finished = new Promise<number>((resolve) => (this.done = resolve));

  constructor(
    private readonly settings: Settings,
    private readonly listeners: Listener[],
    private readonly log: ErrorLog,
  ) {}

  start(): void {
    for (let i = 0; i < this.settings.workers; i++) this.spawn();
    process.on('SIGTERM', () => this.stop(true, 0));
    process.on('SIGINT', () => this.stop(false, 0));
    process.on('SIGQUIT', () => this.stop(false, 0));
  }

  private spawn(): void {
    const child = fork(WORKER_ENTRY, [], { stdio: 'inherit', serialization: 'advanced' });
    const init: ArbiterMessage = { kind: 'init', settings: this.settings, listeners: this.listeners.length };
    child.send(init);
    this.listeners.forEach((l, index) => {
      const msg: ArbiterMessage = { kind: 'listener', index };
      child.send(msg, l.handle as never);
    });
    child.on('message', (m: WorkerMessage) => {
      if (m.kind === 'ready') this.log.debug(`Worker ${child.pid} is serving`);
    });
    child.once('exit', (code, signal) => this.reap(child, code, signal));
    this.workers.set(child.pid ?? -1, child);
  }

  private reap(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const pid = child.pid ?? -1;
    this.workers.delete(pid);
    if (signal) {
      const extra = signal === 'SIGKILL' ? ' Perhaps out of memory?' : '';
      if (!this.stopping) this.log.error(`Worker (pid:${pid}) was sent ${signal}!${extra}`);
    } else if (code) {
      this.log.error(`Worker (pid:${pid}) exited with code ${code}`);
    }
    if (code === WORKER_BOOT_ERROR) return this.halt('Worker failed to boot.', WORKER_BOOT_ERROR);
    if (code === APP_LOAD_ERROR) return this.halt('App failed to load.', APP_LOAD_ERROR);
    if (this.stopping) {
      if (this.workers.size === 0) this.finish();
      return;
    }
    this.spawn();
  }

  /** Graceful (TERM): workers finish in-flight requests; quick (INT, QUIT): they leave now. */
  stop(graceful: boolean, exitCode: number): void {
    if (this.stopping) return;
    this.stopping = true;
    this.exitCode = exitCode;
    if (this.workers.size === 0) return this.finish();
    for (const w of this.workers.values()) w.kill(graceful ? 'SIGTERM' : 'SIGQUIT');
    setTimeout(() => {
      for (const w of this.workers.values()) w.kill('SIGKILL');
    }, graceful ? GRACEFUL_TIMEOUT_MS : 1000).unref();
  }

  private halt(reason: string, code: number): void {
    this.reason = reason;
    this.stop(false, code);
  }

  private reason: string | null = null;

  private finish(): void {
    this.log.info('Shutting down: Master');
    if (this.reason) this.log.info(`Reason: ${this.reason}`);
    for (const l of this.listeners) l.handle.close();
    this.done(this.exitCode);
  }
}

export async function runArbiter(settings: Settings): Promise<number> {
  const log = new ErrorLog(settings.loglevel);
  log.info(`Starting nicorn-py ${VERSION}`);
  const listeners: Listener[] = [];
  try {
    for (const spec of settings.bind) listeners.push(await bindOne(spec));
  } catch (e) {
    if (!(e instanceof BindError)) throw e;
    log.error(e.message);
    log.error("Can't bind the listening sockets; shutting down.");
    return 1;
  }
  for (const l of listeners) log.info(`Listening at: ${l.url} (${process.pid})`);
  log.info(`Using worker: ${settings.worker_class}`);
  const arbiter = new Arbiter(settings, listeners, log);
  arbiter.start();
  return arbiter.finished;
}
