// systemd socket activation, as Gunicorn's systemd.listen_fds: when
// LISTEN_PID is this process, LISTEN_FDS sockets wait at fds 3, 4, ... and
// are the listeners instead of binding --bind.

/** sd_listen_fds' first descriptor. */
export const SD_LISTEN_FDS_START = 3;

/**
 * The number of sockets systemd handed over (0 when LISTEN_PID is not this
 * process). When it is, LISTEN_PID and LISTEN_FDS are removed from the
 * environment, so workers and anything they start do not take them as theirs.
 */
export function listenFds(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid, unsetEnvironment = true): number {
  const fds = Number.parseInt(env.LISTEN_FDS ?? '0', 10);
  const listenPid = Number.parseInt(env.LISTEN_PID ?? '0', 10);
  if (listenPid !== pid) return 0;
  if (unsetEnvironment) {
    delete env.LISTEN_PID;
    delete env.LISTEN_FDS;
  }
  return Number.isFinite(fds) && fds > 0 ? fds : 0;
}

/** The activated sockets as --bind addresses: fd://3, fd://4, ... (none when not activated). */
export function activatedBinds(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): string[] {
  const n = listenFds(env, pid);
  return Array.from({ length: n }, (_, i) => `fd://${SD_LISTEN_FDS_START + i}`);
}
