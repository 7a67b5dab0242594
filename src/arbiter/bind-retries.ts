// Gunicorn's create_sockets for an address it binds itself (HOST:PORT,
// unix:PATH; not fd://, systemd's or a USR2 parent's sockets, which are not
// bound and not retried): five tries, a second apart, so that a server
// restarted while its predecessor still holds the port, or before the
// address is up, comes up a few seconds later instead of failing. Every
// OSError of a try is retried, as in Gunicorn (its socket classes create,
// bind and listen in one constructor); other errors are not.
//
// The lines are Gunicorn 26's (sock.py), levels included: for each failed
// try "Connection in use: ADDR" (EADDRINUSE) or "Invalid address: ADDR"
// (EADDRNOTAVAIL), "connection to ADDR failed: ERROR" and, at debug,
// "Retrying in 1 second." (it waits after the fifth try too); then
// "Can't connect to ADDR", and the arbiter exits 1. ADDR is Python's str()
// of the address Gunicorn parsed: ('127.0.0.1', 8000), ('::1', 8000), or a
// unix socket's path as given.

import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { reprString } from '../config/validators.js';
import type { ErrorLog } from '../log/error-log.js';
import { SocketError, bindAndListen, parseBind, type BindOptions, type Listener } from './listeners.js';

/** Gunicorn's `for i in range(5)`. */
export const BIND_TRIES = 5;
/** Gunicorn's time.sleep(1) after each failed try. */
export const BIND_RETRY_MS = 1000;

const { EADDRINUSE, EADDRNOTAVAIL } = os.constants.errno;

/** Gunicorn's str(addr) of a --bind it binds: the (host, port) tuple, or the unix socket's path. */
export function addressText(spec: string): string {
  const addr = parseBind(spec);
  switch (addr.kind) {
    case 'tcp':
      return `(${reprString(addr.host)}, ${addr.port})`;
    case 'unix':
      return addr.path;
    case 'fd':
      return String(addr.fd);
  }
}

/**
 * Binds and listens on `spec` with Gunicorn's tries. Resolves with the
 * listener; or with null when the last try failed ("Can't connect to ADDR"
 * logged: the arbiter exits 1), or once `stop` is aborted (a TERM, INT or
 * QUIT: the wait between tries ends at once, nothing more is logged).
 * Errors other than SocketError (a file in the way of a unix socket, a
 * malformed address) are thrown at the first try, as Gunicorn raises them.
 */
export async function bindWithRetries(
  spec: string,
  opts: BindOptions,
  backlog: number,
  log: Pick<ErrorLog, 'error' | 'debug'>,
  stop: AbortSignal,
  retryMs: number = BIND_RETRY_MS,
): Promise<Listener | null> {
  const addr = addressText(spec);
  for (let i = 0; i < BIND_TRIES && !stop.aborted; i++) {
    try {
      return await bindAndListen(spec, opts, backlog);
    } catch (e) {
      if (!(e instanceof SocketError)) throw e;
      if (e.errno === EADDRINUSE) log.error(`Connection in use: ${addr}`);
      if (e.errno === EADDRNOTAVAIL) log.error(`Invalid address: ${addr}`);
      log.error(`connection to ${addr} failed: ${e.message}`);
      log.debug('Retrying in 1 second.');
      // Not a blocking sleep: signals are still received meanwhile.
      await sleep(retryMs, undefined, { signal: stop }).catch(() => undefined);
    }
  }
  if (stop.aborted) return null;
  log.error(`Can't connect to ${addr}`);
  return null;
}
