// Binds the listening sockets once, in the arbiter, and puts them in the
// listening state (listen(2), with --backlog) as Gunicorn's master does, so
// that a connection made while no worker is up yet (at start, or between a
// lone worker's crash and its replacement) waits in the queue instead of being
// refused. Workers receive the handles over IPC and accept on them themselves,
// so the arbiter never sees a request byte (the same arrangement as
// node:cluster's SCHED_NONE).
//
// Every form of Gunicorn's --bind: HOST:PORT, [IPv6]:PORT, unix:PATH and
// fd://FD (an inherited socket, as systemd's socket activation hands over).
// A bindOne() is one try: Gunicorn's five tries at an address it binds are
// in bind-retries.ts.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { reprString } from '../config/validators.js';
import { hostAddress } from '../runtime/host/dns.js';
import { hostErrno, libc, strerror } from '../runtime/host/libc.js';

/** The libuv handle (TCP or Pipe) node keeps inside a net.Server. */
export interface ServerHandle {
  /** The socket's file descriptor (handed to a new arbiter on USR2). */
  readonly fd: number;
  /** TCP handles only: node's Pipe handle has no getsockname. */
  getsockname?(out: { address?: string; port?: number; family?: string }): number;
  /** TCP handles only: TCP_NODELAY (0, or a negative errno). */
  setNoDelay?(enable: boolean): number;
  close(): void;
}

/**
 * TCP_NODELAY on a TCP listener, as Gunicorn's TCPSocket.set_options sets it
 * (on the sockets it binds and on those it inherits). Linux copies it to every
 * connection accept() returns, so the workers' front doors do not set it per
 * connection (one setsockopt less for each; front-door/server.ts).
 */
function setNoDelay(handle: ServerHandle): void {
  handle.setNoDelay?.(true);
}

interface NetInternals {
  _createServerHandle(address: string | null, port: number | null, addressType: number | null, fd?: number, flags?: number): ServerHandle | number;
}

const internals = net as unknown as NetInternals;

export interface Listener {
  /** As written in --bind (fd://N for an inherited socket). */
  spec: string;
  /** As Gunicorn prints it: http://127.0.0.1:8000, http://[::1]:8000, unix:/path/to.sock */
  url: string;
  handle: ServerHandle;
  /** A unix socket's path: the file the arbiter removes when it exits. */
  unixPath?: string;
  /** Bound here by path: libuv removes the file itself when the handle closes. */
  removedOnClose?: boolean;
}

export class BindError extends Error {}

/**
 * A failed call for which CPython raises OSError (socket.gaierror when the
 * host does not resolve): the errors Gunicorn's create_sockets retries.
 * `errno` is e.args[0] (negative: an EAI_ code); `message` is str(e).
 */
export class SocketError extends BindError {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }

  /**
   * CPython's OSError for an errno, worded by the host's C library:
   * "[Errno 98] Address already in use", and ": 'PATH'" after it when the
   * call was given a file name (os.stat, os.remove, os.chown; not bind).
   */
  static of(errno: number, file?: string): SocketError {
    const text = `[Errno ${errno}] ${strerror(errno)}`;
    return new SocketError(errno, file === undefined ? text : `${text}: ${reprString(file)}`);
  }
}

/** The errno of a failed node:fs call (node gives it negated). */
function fsErrno(e: unknown): number {
  return Math.abs((e as NodeJS.ErrnoException).errno ?? os.constants.errno.EIO);
}

export type BindAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'fd'; fd: number };

/** Gunicorn's util.parse_address (default port 8000). */
export function parseBind(spec: string): BindAddress {
  // unix:PATH and unix://PATH
  const unix = /^unix:(?:\/\/)?/.exec(spec);
  if (unix) {
    const p = spec.slice(unix[0].length);
    if (!p) throw new BindError(`'${spec}': a unix socket needs a path (unix:PATH)`);
    return { kind: 'unix', path: p };
  }
  if (spec.startsWith('fd://')) {
    const fd = spec.slice(5);
    if (!/^\d+$/.test(fd)) throw new BindError(`'${fd}' is not a valid file descriptor.`);
    return { kind: 'fd', fd: Number(fd) };
  }
  const netloc = spec.startsWith('tcp://') ? spec.slice(6) : spec;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(netloc) ?? /^([^:]*)(?::(\d+))?$/.exec(netloc);
  if (!m) throw new BindError(`'${spec}' is not a valid address (HOST:PORT, [IPv6]:PORT, unix:PATH or fd://FD)`);
  const port = m[2] === undefined ? 8000 : Number(m[2]);
  if (port > 65535) throw new BindError(`'${spec}': port ${port} is out of range`);
  return { kind: 'tcp', host: (m[1] || '0.0.0.0').toLowerCase(), port };
}

export interface BindOptions {
  /** Where a relative unix:PATH is: Gunicorn's arbiter has changed to --chdir before binding. */
  cwd?: string;
  /** Gunicorn's --umask, in effect while a unix socket is bound (its file's mode). */
  umask?: number;
  /** Gunicorn's --user/--group: a unix socket's owner (only changed when running as root). */
  uid?: number;
  gid?: number;
  /** Gunicorn's --reuse-port: SO_REUSEPORT on TCP listeners. */
  reusePort?: boolean;
}

/** libuv's UV_TCP_REUSEPORT bind flag (libuv 1.49): what node passes for listen({ reusePort: true }). */
const UV_TCP_REUSEPORT = 2;

/**
 * Why this node cannot set SO_REUSEPORT, or null when it can. Node passes
 * UV_TCP_REUSEPORT since v23.1.0 and v22.12.0 (nodejs/node#55408); the
 * libuv of older ones ignores the flag without a word (Node 20: a second
 * listener on the port still fails with EADDRINUSE), so the version decides.
 */
export function reusePortUnsupported(version: string = process.versions.node): string | null {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)) return null;
  return `reuse_port needs Node 22.12 or later (SO_REUSEPORT through libuv's UV_TCP_REUSEPORT); this is Node ${version}`;
}

export async function bindOne(spec: string, opts: BindOptions = {}): Promise<Listener> {
  const addr = parseBind(spec);
  switch (addr.kind) {
    case 'tcp': {
      const unsupported = opts.reusePort ? reusePortUnsupported() : null;
      if (unsupported) throw new BindError(unsupported);
      return bindTcp(spec, addr.host, addr.port, opts.reusePort ? UV_TCP_REUSEPORT : 0);
    }
    case 'unix':
      return bindUnix(spec, addr.path, opts);
    case 'fd':
      return openFd(spec, addr.fd);
  }
}

function errnoName(code: number): string {
  try {
    return util.getSystemErrorName(code);
  } catch {
    return `errno ${code}`;
  }
}

/** Errors: SocketError (the host does not resolve, or bind() failed). */
async function bindTcp(spec: string, host: string, port: number, flags: number): Promise<Listener> {
  // The host's getaddrinfo, as CPython's bind of (host, port) calls it: its EAI_ code and words on failure.
  const resolved = hostAddress(host);
  if ('code' in resolved) throw new SocketError(resolved.code, resolved.message);
  const { address, family } = resolved;
  const handle = internals._createServerHandle(address, port, family, undefined, flags);
  if (typeof handle === 'number') throw SocketError.of(-handle);
  const out: { address?: string; port?: number } = {};
  // libuv defers an error of bind() (EADDRINUSE) to listen(); getsockname() returns it.
  const rc = handle.getsockname!(out);
  if (rc !== 0 || out.port === undefined) {
    handle.close();
    throw SocketError.of(rc < 0 ? -rc : os.constants.errno.EADDRINUSE);
  }
  setNoDelay(handle);
  return { spec, url: tcpUrl(out.address!, out.port, family === 6), handle };
}

function tcpUrl(address: string, port: number, v6: boolean): string {
  return `http://${v6 ? `[${address}]` : address}:${port}`;
}

/**
 * Gunicorn's UnixSocket: an existing socket file at the path (one left behind
 * by a dead server) is replaced; any other file there is an error. The file
 * gets the mode --umask leaves and, as root, --user/--group as its owner.
 * Errors: SocketError (stat, remove, bind or chown failed; the file calls
 * name the path as given, as CPython's do), BindError (not a socket: a
 * ValueError in Gunicorn, which it does not retry).
 */
function bindUnix(spec: string, given: string, opts: BindOptions): Listener {
  const file = path.resolve(opts.cwd ?? '.', given);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw SocketError.of(fsErrno(e), given);
  }
  if (st && !st.isSocket()) throw new BindError(`'${given}' is not a socket`);
  try {
    if (st) fs.rmSync(file, { force: true });
  } catch (e) {
    throw SocketError.of(fsErrno(e), given);
  }
  const old = process.umask(opts.umask ?? 0);
  let handle: ServerHandle | number;
  try {
    handle = internals._createServerHandle(file, -1, -1);
  } finally {
    process.umask(old);
  }
  if (typeof handle === 'number') throw SocketError.of(bindErrno(file, -handle));
  try {
    if (opts.uid !== undefined && opts.gid !== undefined && process.geteuid?.() === 0) fs.chownSync(file, opts.uid, opts.gid);
  } catch (e) {
    handle.close();
    throw SocketError.of(fsErrno(e), given);
  }
  // libuv remembers the path it bound and removes the file when the handle closes.
  return { spec, url: `unix:${given}`, handle, unixPath: file, removedOnClose: true };
}

/**
 * The errno bind(2) gave for a unix socket's path: libuv reports ENOENT (a
 * directory on the path is missing) as EACCES, as Windows would; CPython
 * says "[Errno 2] No such file or directory".
 */
function bindErrno(file: string, reported: number): number {
  const { EACCES, ENOENT } = os.constants.errno;
  if (reported !== EACCES) return reported;
  try {
    fs.statSync(path.dirname(file));
    return EACCES;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? ENOENT : EACCES;
  }
}

/**
 * fd://N: a socket the process inherited, already bound (and usually
 * listening). It is shown by its address, as Gunicorn shows it.
 */
function openFd(spec: string, fd: number): Listener {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (e) {
    throw new BindError(`${spec}: ${(e as NodeJS.ErrnoException).code === 'EBADF' ? 'no such open file descriptor' : (e as Error).message}`);
  }
  if (!st.isSocket()) throw new BindError(`${spec} is not a socket`);
  const handle = internals._createServerHandle(null, null, null, fd);
  if (typeof handle === 'number') throw new BindError(`${spec} is not a stream socket (${errnoName(handle)})`);
  if (handle.getsockname) {
    const out: { address?: string; port?: number; family?: string } = {};
    if (handle.getsockname(out) !== 0 || out.port === undefined) {
      handle.close();
      throw new BindError(`${spec}: can't read the socket's address`);
    }
    setNoDelay(handle);
    return { spec, url: tcpUrl(out.address!, out.port, out.family === 'IPv6'), handle };
  }
  // Gunicorn prints unix:NAME with the name the socket was bound to ('' when unnamed).
  const file = unixSocketPath(fd);
  const listener: Listener = { spec, url: `unix:${file ?? ''}`, handle };
  if (file && !file.startsWith('@')) listener.unixPath = file;
  return listener;
}

/**
 * The path a unix socket fd is bound to (node's Pipe handle cannot tell):
 * its inode from /proc/self/fd, looked up in /proc/net/unix. '@name' for an
 * abstract socket, undefined when unnamed or without /proc.
 */
export function unixSocketPath(fd: number): string | undefined {
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    if (!inode) return undefined;
    // Num RefCount Protocol Flags Type St Inode [Path]
    for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[6] === inode) return cols.length > 7 ? cols.slice(7).join(' ') : undefined;
    }
  } catch {
    // not Linux, or /proc not mounted
  }
  return undefined;
}

type Listen = (fd: number, backlog: number) => number;
let listen: Listen | null = null;

/**
 * listen(2), as Gunicorn's BaseSocket.set_options does right after binding
 * (also for an inherited fd): 0, or the errno. It goes to the host's C
 * library: node's handle.listen() would also start accepting here, in the
 * arbiter. The workers' server.listen() repeats it, which changes nothing.
 * Before this, the port refused connections until the first worker had
 * booted (2-6 s), while the log already said "Listening at".
 */
function listenFd(fd: number, backlog: number): number {
  listen ??= libc().func('int listen(int, int)') as Listen;
  return listen(fd, backlog) === 0 ? 0 : hostErrno();
}

/** listen(2) on each inherited listener (fd://, systemd's, a USR2 parent's): not retried. */
export function listenAll(listeners: readonly Listener[], backlog: number): void {
  for (const l of listeners) {
    const code = listenFd(l.handle.fd, backlog);
    if (code !== 0) {
      const reason = code === 98 ? 'Connection in use' : `listen failed (${errnoName(-code)})`;
      throw new BindError(`${reason}: ${l.spec}`);
    }
  }
}

/** listen(2) on a listener just bound. Errors: SocketError. */
export function listenOn(l: Listener, backlog: number): void {
  const code = listenFd(l.handle.fd, backlog);
  if (code !== 0) throw SocketError.of(code);
}

/**
 * One of Gunicorn's tries at an address it binds (HOST:PORT, unix:PATH):
 * its socket classes bind and listen in their constructor, so a listen()
 * that fails is a failed try too. Errors: SocketError (retried), BindError.
 */
export async function bindAndListen(spec: string, opts: BindOptions, backlog: number): Promise<Listener> {
  const l = await bindOne(spec, opts);
  try {
    listenOn(l, backlog);
  } catch (e) {
    closeListeners([l]);
    throw e;
  }
  return l;
}

/**
 * Gunicorn's create_sockets: when any address is fd://N, or sockets came
 * from systemd (fds 3.., after the fd:// ones), those are the listeners and
 * every other --bind is ignored; otherwise each --bind is bound.
 */
export function listenerSpecs(bind: readonly string[], activated: readonly string[] = []): string[] {
  const fds = [...bind.filter((b) => b.startsWith('fd://')), ...activated];
  return fds.length > 0 ? fds : [...bind];
}

/**
 * Gunicorn's close_sockets: closes every listener and, with `unlink`, removes
 * the unix sockets' files. The arbiter does not unlink when the sockets came
 * from systemd or are being handed to (or came from) another arbiter on USR2.
 */
export function closeListeners(listeners: readonly Listener[], unlink = true): void {
  for (const l of listeners) {
    if (!l.unixPath) {
      l.handle.close();
    } else if (unlink) {
      l.handle.close();
      if (!l.removedOnClose) fs.rmSync(l.unixPath, { force: true });
    } else if (l.removedOnClose) {
      // Keep the file for whoever holds the socket now: a second link survives
      // libuv's unlink of the path and is renamed back over it.
      keepFileAcrossClose(l.unixPath, () => l.handle.close());
    } else {
      l.handle.close();
    }
  }
}

function keepFileAcrossClose(file: string, close: () => void): void {
  const spare = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}`);
  let linked = false;
  try {
    fs.rmSync(spare, { force: true });
    fs.linkSync(file, spare);
    linked = true;
  } catch {
    // the file is gone already, or the directory is read-only: nothing to keep
  }
  close();
  if (linked) {
    try {
      fs.renameSync(spare, file);
    } catch {
      fs.rmSync(spare, { force: true });
    }
  }
}
