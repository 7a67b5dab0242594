// --enable-backlog-metric: the connections waiting in the listen queues, as
// Gunicorn 26's arbiter reports them on each turn of its loop
// (manage_workers): a debug line "socket backlog: N" and the statsd histogram
// gunicorn.backlog. The count is Linux's TCP_INFO of a listening TCP socket,
// whose tcpi_unacked is the accept queue's length (TCPSocket.get_backlog).
// Node has no getsockopt: it is read through the host's C library (koffi).

import type { ErrorLog } from '../log/error-log.js';
import { libc } from '../runtime/host/libc.js';
import type { Listener } from './listeners.js';

const IPPROTO_TCP = 6;
const TCP_INFO = 11;
/** struct tcp_info as Gunicorn reads it: 8 bytes then 24 u32 (104 bytes); tcpi_unacked is the fifth u32. */
const TCP_INFO_SIZE = 104;
const TCPI_UNACKED_OFFSET = 8 + 4 * 4;

type GetSockOpt = (fd: number, level: number, name: number, val: Uint8Array, len: Uint32Array) => number;
let getsockopt: GetSockOpt | null = null;

/**
 * One listener's backlog as Gunicorn's get_backlog answers: the accept queue of
 * a TCP socket (0 when it cannot be read), -1 for a unix socket (BaseSocket's).
 */
export function listenerBacklog(listener: Listener): number {
  if (listener.url.startsWith('unix:')) return -1;
  getsockopt ??= libc().func('int getsockopt(int, int, int, void *, void *)') as GetSockOpt;
  const info = new Uint8Array(TCP_INFO_SIZE);
  const len = new Uint32Array([TCP_INFO_SIZE]);
  if (getsockopt(listener.handle.fd, IPPROTO_TCP, TCP_INFO, info, len) < 0) return 0;
  return new DataView(info.buffer).getUint32(TCPI_UNACKED_OFFSET, true);
}

/** Gunicorn's sum(sock.get_backlog() or 0 for sock in LISTENERS), reported when it is not negative. */
export function reportBacklog(log: ErrorLog, listeners: readonly Listener[]): void {
  const backlog = listeners.reduce((sum, l) => sum + listenerBacklog(l), 0);
  if (backlog < 0) return;
  log.debug(`socket backlog: ${backlog}`);
  log.statsd?.histogram('gunicorn.backlog', backlog);
}
