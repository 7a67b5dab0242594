// The dirty arbiter's process (arbiter.ts): forked by the arbiter
// (src/arbiter/dirty-process.ts) with its settings over IPC.

import { ErrorLog } from '../log/error-log.js';
import { DirtyArbiter, HookFailed } from './arbiter.js';
import type { ToDirtyArbiter } from './messages.js';

let arbiter: DirtyArbiter | null = null;
let log: ErrorLog | null = null;
let stopping = false;

/** TERM (graceful), INT and QUIT (quick); before the init arrived there is nothing to stop. */
const stop = (quick: boolean) => {
  if (stopping) return;
  stopping = true;
  if (!arbiter) process.exit(0);
  void arbiter.stop(quick).then(() => process.exit(0));
};
// Installed first: a signal's default action (HUP's too) would end the process without its cleanup.
process.on('SIGTERM', () => stop(false));
// The arbiter's quick shutdown: it kills this process 2 s after sending INT or QUIT, so the workers get 1 s.
process.on('SIGINT', () => stop(true));
process.on('SIGQUIT', () => stop(true));
process.on('SIGHUP', () => arbiter?.reload());
process.on('SIGUSR1', () => log?.reopen());
process.on('SIGTTIN', () => arbiter?.changeWorkers(1));
process.on('SIGTTOU', () => arbiter?.changeWorkers(-1));
// Gunicorn's dirty arbiter leaves when its parent changes: here, when the IPC channel closes.
process.on('disconnect', () => {
  if (!stopping) log?.warning('Parent changed, shutting down dirty arbiter');
  stop(false);
});

const init = await new Promise<Extract<ToDirtyArbiter, { kind: 'init' }>>((resolve) => {
  const onMessage = (m: ToDirtyArbiter) => {
    if (m.kind !== 'init') return;
    process.off('message', onMessage);
    resolve(m);
  };
  process.on('message', onMessage);
});

log = ErrorLog.fromSettings(init.settings);
arbiter = new DirtyArbiter(init.settings, log, init.socketPath, init.tmpdir, init.config, init.hooks);
const running = arbiter;
process.on('message', (m: ToDirtyArbiter) => {
  if (m.kind === 'hook-done') running.hookDone(m.seq, m.failed);
});

try {
  if (!stopping) await arbiter.run();
} catch (e) {
  if (!(e instanceof HookFailed)) log.error(`Exception in dirty arbiter process:\n${(e as Error).stack ?? e}`);
  await arbiter.stop(true);
  process.exit(255);
}
