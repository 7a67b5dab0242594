// Binds the listening sockets once, in the arbiter. Workers receive the bound
// handles over IPC and accept on them themselves, so the arbiter never sees a
// request byte (the same arrangement as node:cluster's SCHED_NONE).

import dns from 'node:dns/promises';
import net from 'node:net';

/** The libuv TCP handle node keeps inside a net.Server. */
export interface ServerHandle {
  /** The socket's file descriptor (handed to a new arbiter on USR2). */
  readonly fd: number;
  getsockname(out: { address?: string; port?: number; family?: string }): number;
  close(): void;
}

interface NetInternals {
  _createServerHandle(address: string, port: number, addressType: number, fd?: number, flags?: number): ServerHandle | number;
}

export interface Listener {
  /** As written in --bind. */
  spec: string;
  /** As Gunicorn prints it: http://127.0.0.1:8000 */
  url: string;
  handle: ServerHandle;
}

export class BindError extends Error {}

export function parseBind(spec: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec) ?? /^([^:]*)(?::(\d+))?$/.exec(spec);
  if (!m) throw new BindError(`'${spec}' is not a valid address (HOST:PORT or [IPv6]:PORT)`);
  const port = m[2] === undefined ? 8000 : Number(m[2]);
  if (port > 65535) throw new BindError(`'${spec}': port ${port} is out of range`);
  return { host: m[1] || '0.0.0.0', port };
}

export async function bindOne(spec: string): Promise<Listener> {
  const { host, port } = parseBind(spec);
  let address: string;
  let family: number;
  try {
    ({ address, family } = await dns.lookup(host));
  } catch {
    throw new BindError(`Can't resolve host '${host}' in '${spec}'`);
  }
  const internals = net as unknown as NetInternals;
  const handle = internals._createServerHandle(address, port, family);
  if (typeof handle === 'number') {
    const reason = handle === -98 ? 'Connection in use' : `bind failed (errno ${handle})`;
    throw new BindError(`${reason}: ('${address}', ${port})`);
  }
  const out: { address?: string; port?: number } = {};
  // libuv defers EADDRINUSE from bind() to listen(); getsockname() fails on such a handle.
  if (handle.getsockname(out) !== 0 || out.port === undefined) {
    handle.close();
    throw new BindError(`Connection in use: ('${address}', ${port})`);
  }
  const shown = family === 6 ? `[${out.address}]` : out.address;
  return { spec, url: `http://${shown}:${out.port}`, handle };
}
