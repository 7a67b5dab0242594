// The arbiter's side of the dirty pool (Gunicorn 26's spawn_dirty_arbiter,
// kill_dirty_arbiter, reap_dirty_arbiter, manage_dirty_arbiter): forks the
// dirty arbiter (src/dirty/arbiter.ts) when dirty_workers > 0 and dirty_apps
// are set, tells HTTP workers its socket (GUNICORN_DIRTY_SOCKET, set here
// before any worker is forked), runs the dirty arbiter hooks it sends in the
// config interpreter, and starts a new one if it dies.

import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInterpreter } from '../config/interpreter.js';
import type { Settings } from '../config/registry.js';
import type { ErrorLog } from '../log/error-log.js';
import type { FromDirtyArbiter, ToDirtyArbiter } from '../dirty/messages.js';

const ENTRY = fileURLToPath(new URL('./dirty-arbiter.js', import.meta.url));
/** A dirty arbiter that failed is started again after this long: Gunicorn's main loop wakes once a second. */
const RESPAWN_MS = 1000;
/** What HTTP workers' clients read the dirty arbiter's socket path from, as in Gunicorn. */
export const DIRTY_SOCKET_ENV = 'GUNICORN_DIRTY_SOCKET';

export function dirtyWanted(settings: Pick<Settings, 'dirty_workers' | 'dirty_apps'>): boolean {
  return settings.dirty_workers > 0 && settings.dirty_apps.length > 0;
}

export class DirtyProcess {
  private child: ChildProcess | null = null;
  /**
   * The dirty arbiter's directory and socket, kept for the one started in
   * place of one that died: HTTP workers have the path in their environment.
   * (Gunicorn makes a new directory, leaving running workers a dead path.)
   */
  private tmpdir: string | null = null;
  private path: string | null = null;
  private stopping = false;
  private exited: (() => void) | null = null;

  constructor(
    private readonly log: ErrorLog,
    private settings: Settings,
    private config: ConfigInterpreter | null,
  ) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The running dirty arbiter's socket, or null. */
  get socketPath(): string | null {
    return this.child ? this.path : null;
  }

  /** Settings and config file after a HUP: the next dirty arbiter started gets them. */
  update(settings: Settings, config: ConfigInterpreter | null): void {
    this.settings = settings;
    this.config = config;
  }

  spawn(): void {
    if (this.child || this.stopping) return;
    // Gunicorn's DirtyArbiter makes its directory in the master, before the fork: the path is known to both.
    if (this.tmpdir) fs.mkdirSync(this.tmpdir, { recursive: true, mode: 0o700 });
    const tmpdir = (this.tmpdir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'gunicorn-dirty-')));
    const socketPath = (this.path ??= path.join(tmpdir, 'arbiter.sock'));
    process.env[DIRTY_SOCKET_ENV] = socketPath;
    const child = fork(ENTRY, [], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: { ...process.env },
    });
    this.child = child;
    const init: ToDirtyArbiter = {
      kind: 'init',
      settings: this.settings,
      socketPath,
      tmpdir,
      config: this.config?.source ?? null,
      hooks: [...(this.config?.hooks ?? [])],
    };
    child.send(init);
    child.on('message', (m: FromDirtyArbiter) => this.hook(child, m));
    // A message to a dirty arbiter that is leaving (a hook's answer) fails with EPIPE: its exit is what counts.
    child.on('error', (e) => this.log.debug(`Dirty arbiter IPC: ${e.message}`));
    child.once('exit', (code, signal) => this.reap(child, code, signal));
    this.log.info(`Spawned dirty arbiter (pid: ${child.pid}) at ${socketPath}`);
  }

  private hook(child: ChildProcess, m: FromDirtyArbiter): void {
    if (m.kind !== 'hook') return;
    const tb = this.config?.callDirtyHook(m.name, JSON.stringify(m));
    // on_dirty_starting raising ends the dirty arbiter, as in Gunicorn, which logs it so.
    const what = m.name === 'on_dirty_starting' ? 'Exception in dirty arbiter process' : `Exception in ${m.name} hook`;
    if (tb) this.log.error(`${what}:\n${tb.trimEnd()}`);
    const done: ToDirtyArbiter = { kind: 'hook-done', seq: m.seq, failed: Boolean(tb) };
    if (child.connected) child.send(done);
  }

  /** Gunicorn's handle_dirty_arbiter_exit; a new one is started unless the server stops. */
  private reap(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    const pid = child.pid;
    if (signal) this.log.warning(`Dirty arbiter (pid:${pid}) killed by signal ${os.constants.signals[signal] ?? signal}`);
    else if (code) this.log.error(`Dirty arbiter (pid:${pid}) exited with code ${code}`);
    else this.log.info(`Dirty arbiter (pid:${pid}) exited`);
    if (this.stopping) {
      // Its own cleanup did not run if it was killed.
      if (this.tmpdir) fs.rmSync(this.tmpdir, { recursive: true, force: true });
      this.exited?.();
      return;
    }
    if (!dirtyWanted(this.settings)) return;
    // Gunicorn's main loop starts a new one on its next turn (at most a second); one that failed is not
    // restarted sooner, or a dirty arbiter failing at start (a raising on_dirty_starting) would spin.
    const start = () => {
      if (this.stopping || this.child) return;
      this.log.info('Spawning dirty arbiter...');
      this.spawn();
    };
    if (code === 0 && !signal) start();
    else setTimeout(start, RESPAWN_MS).unref();
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  /** Sends `sig` (TERM: graceful, QUIT/INT: quick); resolves once it has exited. */
  stop(sig: NodeJS.Signals): Promise<void> {
    this.stopping = true;
    if (!this.child) return Promise.resolve();
    const gone = new Promise<void>((resolve) => (this.exited = resolve));
    this.child.kill(sig);
    return gone;
  }
}
