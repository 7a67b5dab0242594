// Sockets through the host: Emscripten's SOCKFS (a WebSocket emulation that
// cannot reach a TCP server from Node) is replaced at the system-call level,
// so CPython's own _socket, select and selectors run unchanged on real host
// sockets and pure-Python clients (pg8000, PyMySQL, redis-py, requests) reach
// real servers.
//
// A socket in the interpreter is an Emscripten FS stream (so read, write,
// close, dup, fstat and poll on its descriptor work) whose node holds a
// HostSocket: the host descriptor, opened through the host's libc (koffi).
// Every host descriptor is O_NONBLOCK; the blocking mode the app set is
// tracked here, and a blocking call waits with pollHost(), which gives way
// to --timeout's interrupt (EINTR, then CPython raises from
// PyErr_CheckSignals) instead of blocking the thread in the kernel.
//
// Constants, sockaddr and struct layouts: Emscripten's musl (wasm32) follows
// Linux's ABI for sockets. Every AF_/SOCK_/SOL_/SO_/IPPROTO_/TCP_/MSG_/SHUT_/
// EAI_/POLL* value CPython exposes is the host's, except SO_RCVTIMEO and
// SO_SNDTIMEO (66/67, the 64-bit time_t variants; the host's are 20/21;
// python/nicorn/host/net.py refuses them: the host socket is non-blocking):
// test/unit/sockets.test.ts compares the two interpreters' tables. So
// sockaddr_in/in6 (incl. sin6_scope_id)/un bytes are passed through as they
// are, and only errno values are translated (by name, wasmErrno).
//
// What Pyodide keeps inside the wasm module (setsockopt, uname's node name)
// cannot be replaced here, nor what its _socket refuses before any system
// call: it is built without IPv6 and AF_UNIX, so it cannot build or read
// their addresses ("bad family"). python/nicorn/host/net.py covers setsockopt,
// gethostname, and the calls of AF_INET6 and AF_UNIX sockets that take or
// give an address (connect, bind, accept, getsockname, getpeername, sendto,
// recvfrom) through _nicorn_host (NET_API below; addresses: sockaddr.ts).
// The resolver is dns.ts.

import os from 'node:os';
import { hostErrno, libc, wasmErrno } from './libc.js';
import type { EmModule, EmNode, EmStream, WasmImports } from './module.js';
import { addressOf, packIn6, sockaddrUn, unpackIn6, type PyAddress } from './sockaddr.js';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, pollHost, type PollEntry } from './wait.js';

// ------------------------------------------------------------------ host libc

const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const O_RDWR = 2;
const MSG_NOSIGNAL = 0x4000;
const MSG_DONTWAIT = 0x40;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const FIONBIO = 0x5421;
const FIONREAD = 0x541b;
const S_IFSOCK = 0o140000;
const F_GETFL = 3;
const F_SETFL = 4;

const EAGAIN = 11;
const EINTR = 4;
const EINPROGRESS = 115;
const EALREADY = 114;

interface HostCalls {
  socket(domain: number, type: number, protocol: number): number;
  socketpair(domain: number, type: number, protocol: number, fds: Int32Array): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, addr: Uint8Array | null, len: Uint32Array | null, flags: number): number;
  getsockname(fd: number, addr: Uint8Array, len: Uint32Array): number;
  getpeername(fd: number, addr: Uint8Array, len: Uint32Array): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint32Array): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array | null, alen: number): number;
  recvfrom(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array | null, alen: Uint32Array | null): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  ioctl(fd: number, req: number, arg: Int32Array): number;
}

let calls: HostCalls | null = null;

/**
 * The libc functions, declared once per thread. Buffers are passed as typed
 * arrays over the wasm heap where they can be: koffi hands the C function a
 * pointer into the view, so data moves host <-> heap without a copy.
 */
function host(): HostCalls {
  if (calls) return calls;
  const lib = libc();
  const f = (decl: string) => lib.func(decl) as unknown as never;
  calls = {
    socket: f('int socket(int, int, int)'),
    socketpair: f('int socketpair(int, int, int, _Out_ int *)'),
    connect: f('int connect(int, const void *, uint32_t)'),
    bind: f('int bind(int, const void *, uint32_t)'),
    listen: f('int listen(int, int)'),
    accept4: f('int accept4(int, void *, void *, int)'),
    getsockname: f('int getsockname(int, void *, void *)'),
    getpeername: f('int getpeername(int, void *, void *)'),
    getsockopt: f('int getsockopt(int, int, int, void *, void *)'),
    setsockopt: f('int setsockopt(int, int, int, const void *, uint32_t)'),
    sendto: f('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recvfrom: f('intptr_t recvfrom(int, void *, size_t, int, void *, void *)'),
    shutdown: f('int shutdown(int, int)'),
    close: f('int close(int)'),
    ioctl: f('int ioctl(int, unsigned long, void *)'),
  };
  return calls;
}

// ------------------------------------------------------------------ state

/** The host side of one interpreter socket (shared by its dup()s). */
export interface HostSocket {
  /** The host descriptor; -1 once closed. */
  hostFd: number;
  family: number;
  type: number;
  /** The app's O_NONBLOCK (the host descriptor is always non-blocking). */
  nonblocking: boolean;
  /** Interpreter streams (descriptors) sharing it: the host one closes with the last. */
  refs: number;
}

interface SocketNode extends EmNode {
  hostSocket?: HostSocket;
}

function socketOfStream(stream: EmStream | null | undefined): HostSocket | null {
  return (stream?.node as SocketNode | undefined)?.hostSocket ?? null;
}

/** The open socket at interpreter descriptor `fd`, or -errno: EBADF (no descriptor, or closed), ENOTSOCK. */
function socketAt(mod: EmModule, fd: number): HostSocket | number {
  const stream = mod.FS.getStream(fd);
  if (!stream) return -mod.ERRNO_CODES.EBADF!;
  const s = socketOfStream(stream);
  if (!s) return -mod.ERRNO_CODES.ENOTSOCK!;
  return s.hostFd < 0 ? -mod.ERRNO_CODES.EBADF! : s;
}

/** Room for a sockaddr the host fills in (128: sizeof(struct sockaddr_storage)) and its length. */
function addressRoom(): { addr: Uint8Array; len: Uint32Array } {
  return { addr: new Uint8Array(128), len: new Uint32Array([128]) };
}

/**
 * The host descriptor behind interpreter descriptor `fd`, or null when `fd`
 * is not a socket: what the ssl module wraps (OpenSSL reads and writes it).
 */
export function hostSocketFd(mod: EmModule, fd: number): number | null {
  const s = socketOfStream(mod.FS.getStream(fd));
  return s && s.hostFd >= 0 ? s.hostFd : null;
}

/** The socket behind interpreter descriptor `fd` (its blocking mode, family), or null. */
export function hostSocketOf(mod: EmModule, fd: number): Readonly<HostSocket> | null {
  return socketOfStream(mod.FS.getStream(fd));
}

/** Sockets open in this thread's interpreters, for the snapshot's refusal and for diagnostics. */
export function openSockets(mod: EmModule): { fd: number; describe: string }[] {
  const out: { fd: number; describe: string }[] = [];
  mod.FS.streams.forEach((stream, fd) => {
    const s = socketOfStream(stream);
    if (s && s.hostFd >= 0) out.push({ fd, describe: describeSocket(s) });
  });
  return out;
}

function describeSocket(s: HostSocket): string {
  const kind = s.family === 1 ? 'Unix' : s.type === 2 ? 'UDP' : 'TCP';
  const peer = sockaddrText(s.hostFd, 'peer');
  const local = sockaddrText(s.hostFd, 'local');
  return peer ? `${kind} socket connected to ${peer}` : local ? `${kind} socket bound to ${local}` : `${kind} socket`;
}

function sockaddrText(hostFd: number, which: 'peer' | 'local'): string | null {
  const { addr, len } = addressRoom();
  const r = which === 'peer' ? host().getpeername(hostFd, addr, len) : host().getsockname(hostFd, addr, len);
  if (r < 0 || len[0]! < 2) return null;
  const a = addressOf(addr, len[0]!);
  if (typeof a === 'string') return a || null;
  return a.length === 4 ? `[${a[0]}]:${a[1]}` : `${a[0]}:${a[1]}`;
}

// ------------------------------------------------------------------ waiting

/**
 * Runs `op` (a host call: >= 0, or < 0 with the host's errno set) until it
 * succeeds or fails with something else than EAGAIN, waiting for `events`
 * on the host between tries for up to `timeoutMs` (negative: no limit; 0:
 * not at all, as a non-blocking socket). Returns op's result or -errno (the
 * interpreter's): -ETIMEDOUT when the time ran out, -EINTR when Python was
 * interrupted (CPython then runs its signal handlers).
 */
function retrying(mod: EmModule, s: HostSocket, events: number, timeoutMs: number, op: () => number): number {
  const deadline = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    const r = op();
    if (r >= 0) return r;
    const errno = hostErrno();
    if (errno === EINTR) continue;
    if (errno !== EAGAIN || timeoutMs === 0) return -wasmErrno(mod, errno);
    const w = waitFor(mod, s, events, deadline);
    if (w < 0) return w;
  }
}

/** Waits until `s` is ready for `events` or `deadline` (performance.now()) passes: 0, or -errno (ETIMEDOUT, EINTR). */
function waitFor(mod: EmModule, s: HostSocket, events: number, deadline: number): number {
  const left = deadline === Infinity ? -1 : Math.ceil(deadline - performance.now());
  if (deadline !== Infinity && left <= 0) return -mod.ERRNO_CODES.ETIMEDOUT!;
  const w = pollHost([{ fd: s.hostFd, events, revents: 0 }], left);
  if (w === 'interrupted') return -mod.ERRNO_CODES.EINTR!;
  if (w < 0) return -wasmErrno(mod, -w);
  return w === 0 ? -mod.ERRNO_CODES.ETIMEDOUT! : 0;
}

/**
 * connect() on the host, waiting up to `timeoutMs` (as retrying()) for a
 * TCP connection to be made (EINPROGRESS, then SO_ERROR) or for room in a
 * Unix listener's backlog (EAGAIN: the connect is tried again). 0 or -errno.
 */
function connectWaiting(mod: EmModule, s: HostSocket, sa: Uint8Array, timeoutMs: number): number {
  const deadline = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    if (host().connect(s.hostFd, sa, sa.byteLength) === 0) return 0;
    const errno = hostErrno();
    if (errno === EINTR) continue;
    // EALREADY: made again after EINTR while the first is under way.
    if ((errno !== EINPROGRESS && errno !== EALREADY && errno !== EAGAIN) || timeoutMs === 0) return -wasmErrno(mod, errno);
    if (errno === EAGAIN) {
      // Room in the backlog shows as nothing a poll reports: look again every 100 ms.
      const w = waitFor(mod, s, POLLOUT, Math.min(deadline, performance.now() + 100));
      if (w < 0 && (w !== -mod.ERRNO_CODES.ETIMEDOUT! || performance.now() >= deadline)) return w;
      continue;
    }
    const w = waitFor(mod, s, POLLOUT, deadline);
    if (w < 0) return w;
    const val = new Int32Array(1);
    const len = new Uint32Array([4]);
    if (host().getsockopt(s.hostFd, SOL_SOCKET, SO_ERROR, new Uint8Array(val.buffer), len) < 0) return -wasmErrno(mod, hostErrno());
    return val[0] ? -wasmErrno(mod, val[0]) : 0;
  }
}

// ------------------------------------------------------------------ the patch

/**
 * Replaces Emscripten's socket system calls and poll with the host's.
 * Descriptors that are not sockets keep their previous implementation
 * (fcntl64 and ioctl chain to it, poll asks their stream_ops).
 */
export function patchSockets(imports: WasmImports, mod: EmModule): void {
  const E = (name: string) => mod.ERRNO_CODES[name]!;
  /** -errno (interpreter's) for the host's errno of the last call. */
  const fail = () => -wasmErrno(mod, hostErrno());

  let nextName = 0;
  const streamOps: Record<string, unknown> = {
    read: (stream: EmStream, buffer: Int8Array, offset: number, length: number) =>
      viaErrno(recv(must(stream), new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length), 0, null, null)),
    write: (stream: EmStream, buffer: Int8Array, offset: number, length: number) =>
      viaErrno(send(must(stream), new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length), 0, null, 0)),
    poll: (stream: EmStream) => pollOne(must(stream)),
    close: (stream: EmStream) => {
      const s = socketOfStream(stream);
      if (s && --s.refs === 0 && s.hostFd >= 0) {
        host().close(s.hostFd);
        s.hostFd = -1;
      }
    },
    dup: (stream: EmStream) => {
      const s = socketOfStream(stream);
      if (s) s.refs++;
    },
    getattr: (stream: EmStream) => {
      const now = new Date();
      return {
        dev: 1, ino: stream.node.id, mode: S_IFSOCK | 0o777, nlink: 1, uid: 0, gid: 0, rdev: 0, size: 0,
        atime: now, mtime: now, ctime: now, blksize: 4096, blocks: 0,
      };
    },
  };

  /** FS read/write report errors by throwing ErrnoError. */
  const viaErrno = (r: number) => {
    if (r < 0) throw new mod.FS.ErrnoError(-r);
    return r;
  };
  const must = (stream: EmStream) => {
    const s = socketOfStream(stream);
    if (!s || s.hostFd < 0) throw new mod.FS.ErrnoError(E('EBADF'));
    return s;
  };

  /** A new interpreter descriptor for host descriptor `hostFd`. */
  const newStream = (hostFd: number, family: number, type: number, nonblocking: boolean): number => {
    const SOCKFS = (mod as unknown as { SOCKFS: { root: EmNode } }).SOCKFS;
    const name = `hostsocket[${nextName++}]`;
    const node = mod.FS.createNode(SOCKFS.root, name, S_IFSOCK, 0) as SocketNode;
    node.hostSocket = { hostFd, family, type, nonblocking, refs: 1 };
    const stream = mod.FS.createStream({ path: name, node, flags: O_RDWR, seekable: false, stream_ops: streamOps } as Partial<EmStream>);
    return stream.fd;
  };

  active = { mod, newStream };

  const sock = (fd: number): HostSocket | number => socketAt(mod, fd);

  /** Runs `op` as the app's blocking mode says (see retrying()). */
  const blocking = (s: HostSocket, events: number, op: () => number, dontwait = false): number =>
    retrying(mod, s, events, s.nonblocking || dontwait ? 0 : -1, op);

  function send(s: HostSocket, data: Uint8Array, flags: number, addr: Uint8Array | null, alen: number): number {
    return blocking(s, POLLOUT, () => host().sendto(s.hostFd, data, data.byteLength, flags | MSG_NOSIGNAL, addr, alen), (flags & MSG_DONTWAIT) !== 0);
  }

  function recv(s: HostSocket, into: Uint8Array, flags: number, addr: Uint8Array | null, alen: Uint32Array | null): number {
    return blocking(s, POLLIN, () => host().recvfrom(s.hostFd, into, into.byteLength, flags, addr, alen), (flags & MSG_DONTWAIT) !== 0);
  }

  function pollOne(s: HostSocket): number {
    const entry: PollEntry = { fd: s.hostFd, events: POLLIN | POLLOUT, revents: 0 };
    const n = pollHost([entry], 0);
    return typeof n === 'number' && n > 0 ? entry.revents : 0;
  }

  const heap = (ptr: number, len: number) => mod.HEAPU8.subarray(ptr, ptr + len);

  /** Copies a host sockaddr out to the app's (addr, *addrlen), truncating as the kernel does. */
  const giveAddr = (addr: number, addrlenPtr: number, got: Uint8Array, gotLen: number) => {
    if (!addr || !addrlenPtr) return;
    const room = mod.HEAPU32[addrlenPtr >>> 2]!;
    mod.HEAPU8.set(got.subarray(0, Math.min(room, gotLen)), addr);
    mod.HEAPU32[addrlenPtr >>> 2] = gotLen;
  };

  imports.__syscall_socket = (domain: number, type: number, protocol: number): number => {
    const hostFd = host().socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (hostFd < 0) return fail();
    return newStream(hostFd, domain, type & 0xf, (type & SOCK_NONBLOCK) !== 0);
  };

  imports.__syscall_connect = (fd: number, addr: number, addrlen: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    return connectWaiting(mod, s, heap(addr >>> 0, addrlen), s.nonblocking ? 0 : -1);
  };

  imports.__syscall_bind = (fd: number, addr: number, addrlen: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    return host().bind(s.hostFd, heap(addr >>> 0, addrlen), addrlen) === 0 ? 0 : fail();
  };

  imports.__syscall_listen = (fd: number, backlog: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    return host().listen(s.hostFd, backlog) === 0 ? 0 : fail();
  };

  imports.__syscall_accept4 = (fd: number, addr: number, addrlenPtr: number, flags: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    const { addr: got, len: gotLen } = addressRoom();
    const hostFd = blocking(s, POLLIN, () => host().accept4(s.hostFd, got, gotLen, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (hostFd < 0) return hostFd;
    giveAddr(addr >>> 0, addrlenPtr >>> 0, got, gotLen[0]!);
    return newStream(hostFd, s.family, s.type, (flags & SOCK_NONBLOCK) !== 0);
  };

  const nameCall = (which: 'getsockname' | 'getpeername') => (fd: number, addr: number, addrlenPtr: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    const { addr: got, len: gotLen } = addressRoom();
    if (host()[which](s.hostFd, got, gotLen) < 0) return fail();
    giveAddr(addr >>> 0, addrlenPtr >>> 0, got, gotLen[0]!);
    return 0;
  };
  imports.__syscall_getsockname = nameCall('getsockname');
  imports.__syscall_getpeername = nameCall('getpeername');

  imports.__syscall_sendto = (fd: number, message: number, length: number, flags: number, addr: number, addrlen: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    message >>>= 0;
    addr >>>= 0;
    return send(s, heap(message, length >>> 0), flags, addr ? heap(addr, addrlen) : null, addr ? addrlen : 0);
  };

  imports.__syscall_recvfrom = (fd: number, buf: number, len: number, flags: number, addr: number, addrlenPtr: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    buf >>>= 0;
    addr >>>= 0;
    if (!addr) return recv(s, heap(buf, len >>> 0), flags, null, null);
    const { addr: got, len: gotLen } = addressRoom();
    const n = recv(s, heap(buf, len >>> 0), flags, got, gotLen);
    if (n >= 0) giveAddr(addr, addrlenPtr >>> 0, got, gotLen[0]!);
    return n;
  };

  // struct msghdr on wasm32: name, namelen, iov, iovlen, control, controllen, flags (4 bytes each).
  imports.__syscall_sendmsg = (fd: number, msg: number, flags: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    const m = readMsghdr(msg >>> 0);
    if (m.controllen > 0) return -E('EOPNOTSUPP'); // ancillary data (SCM_RIGHTS): descriptors cannot cross to the host
    const data = gather(m.iov, m.iovlen);
    return send(s, data, flags, m.name ? heap(m.name, m.namelen) : null, m.name ? m.namelen : 0);
  };

  imports.__syscall_recvmsg = (fd: number, msg: number, flags: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    msg >>>= 0;
    const m = readMsghdr(msg);
    let room = 0;
    for (let i = 0; i < m.iovlen; i++) room += mod.HEAPU32[(m.iov + 8 * i + 4) >>> 2]!;
    const into = new Uint8Array(room);
    const { addr: got, len: gotLen } = addressRoom();
    const n = recv(s, into, flags, got, gotLen);
    if (n < 0) return n;
    let at = 0;
    for (let i = 0; i < m.iovlen && at < n; i++) {
      const base = mod.HEAPU32[(m.iov + 8 * i) >>> 2]!;
      const len = Math.min(mod.HEAPU32[(m.iov + 8 * i + 4) >>> 2]!, n - at);
      mod.HEAPU8.set(into.subarray(at, at + len), base);
      at += len;
    }
    giveAddr(m.name, msg + 4, got, gotLen[0]!); // msg_namelen is the second field
    mod.HEAPU32[(msg + 20) >>> 2] = 0; // no ancillary data
    mod.HEAP32[(msg + 24) >>> 2] = 0;
    return n;
  };

  function readMsghdr(msg: number) {
    const u = mod.HEAPU32;
    return {
      name: u[msg >>> 2]!, namelen: u[(msg + 4) >>> 2]!, iov: u[(msg + 8) >>> 2]!, iovlen: u[(msg + 12) >>> 2]!,
      controllen: u[(msg + 20) >>> 2]!,
    };
  }

  function gather(iov: number, iovlen: number): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < iovlen; i++) {
      const base = mod.HEAPU32[(iov + 8 * i) >>> 2]!;
      parts.push(mod.HEAPU8.slice(base, base + mod.HEAPU32[(iov + 8 * i + 4) >>> 2]!));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  imports.__syscall_getsockopt = (fd: number, level: number, name: number, optval: number, optlenPtr: number): number => {
    const s = sock(fd);
    if (typeof s === 'number') return s;
    optval >>>= 0;
    optlenPtr >>>= 0;
    const room = mod.HEAPU32[optlenPtr >>> 2]!;
    const val = new Uint8Array(Math.max(room, 4));
    const len = new Uint32Array([room]);
    if (host().getsockopt(s.hostFd, level, name, val, len) < 0) return fail();
    if (level === SOL_SOCKET && name === SO_ERROR && len[0]! >= 4) {
      // A pending error is an errno: the interpreter numbers them differently.
      const dv = new DataView(val.buffer);
      const errno = dv.getInt32(0, true);
      if (errno) dv.setInt32(0, wasmErrno(mod, errno), true);
    }
    mod.HEAPU8.set(val.subarray(0, Math.min(room, len[0]!)), optval);
    mod.HEAPU32[optlenPtr >>> 2] = len[0]!;
    return 0;
  };

  // shutdown(): Pyodide's CPython asks _try_shutdown first (its own socket
  // layer); the wasm module's own shutdown is a stub (ENOSYS).
  const tryShutdown = imports._try_shutdown as ((fd: number, how: number, result: number) => number) | undefined;
  imports._try_shutdown = (fd: number, how: number, result: number): number => {
    const s = socketOfStream(mod.FS.getStream(fd));
    if (!s) return tryShutdown ? tryShutdown(fd, how, result) : 0;
    mod.HEAP32[result >>> 2] = s.hostFd < 0 ? -E('EBADF') : host().shutdown(s.hostFd, how) === 0 ? 0 : fail();
    return 1;
  };

  // Pyodide's JSPI hooks for its own socket layer: never ours.
  for (const name of ['_maybe_connect_async', '_maybe_recvfrom_async', '_maybe_sendto_async']) {
    if (name in imports) imports[name] = () => null;
  }

  /** fcntl on a socket: the app's O_NONBLOCK (F_SETFL's `arg`); null for other commands. */
  const socketFcntl = (s: HostSocket, cmd: number, arg: number): number | null => {
    if (cmd === F_GETFL) return O_RDWR | (s.nonblocking ? O_NONBLOCK : 0);
    if (cmd === F_SETFL) {
      s.nonblocking = (arg & O_NONBLOCK) !== 0;
      return 0;
    }
    return null;
  };

  /** fcntl(fd, cmd, ...) when fd is a socket; null otherwise or for other commands. `varargs` points at the argument. */
  const fcntlOnSocket = (fd: number, cmd: number, varargs: number): number | null => {
    const s = socketOfStream(mod.FS.getStream(fd));
    return s ? socketFcntl(s, cmd, cmd === F_SETFL ? mod.HEAP32[(varargs >>> 0) >>> 2]! : 0) : null;
  };

  // Pyodide's CPython asks _try_fcntl64 before fcntl64.
  const tryFcntl = imports._try_fcntl64 as ((fd: number, cmd: number, varargs: number, result: number) => number) | undefined;
  imports._try_fcntl64 = (fd: number, cmd: number, varargs: number, result: number): number => {
    const r = fcntlOnSocket(fd, cmd, varargs);
    if (r === null) return tryFcntl ? tryFcntl(fd, cmd, varargs, result) : 0;
    mod.HEAP32[result >>> 2] = r;
    return 1;
  };

  const fcntl64 = imports.__syscall_fcntl64 as (fd: number, cmd: number, varargs: number) => number;
  imports.__syscall_fcntl64 = (fd: number, cmd: number, varargs: number): number => {
    return fcntlOnSocket(fd, cmd, varargs) ?? fcntl64(fd, cmd, varargs);
  };

  const ioctl = imports.__syscall_ioctl as (fd: number, op: number, varargs: number) => number;
  imports.__syscall_ioctl = (fd: number, op: number, varargs: number): number => {
    const s = socketOfStream(mod.FS.getStream(fd));
    if (!s || (op !== FIONBIO && op !== FIONREAD)) return ioctl(fd, op, varargs);
    const argp = mod.HEAPU32[(varargs >>> 0) >>> 2]!;
    if (op === FIONBIO) {
      s.nonblocking = mod.HEAP32[argp >>> 2] !== 0;
      return 0;
    }
    const n = new Int32Array(1);
    if (host().ioctl(s.hostFd, FIONREAD, n) < 0) return fail();
    mod.HEAP32[argp >>> 2] = n[0]!;
    return 0;
  };

  // poll (select and pselect reach it too): host sockets are polled on the
  // host, for as long as asked; other descriptors answer from their
  // stream_ops at once (regular files are always ready, Emscripten pipes
  // keep their own semantics).
  const pollAsync = '_maybe_poll_async' in imports;
  if (pollAsync) imports._maybe_poll_async = () => null;
  imports.__syscall_poll = (fds: number, nfds: number, timeout: number): number => {
    fds >>>= 0;
    const H16 = mod.HEAP16;
    const H32 = mod.HEAP32;
    const entries: PollEntry[] = [];
    const at: number[] = [];
    let ready = 0;
    for (let i = 0; i < nfds; i++) {
      const p = fds + 8 * i;
      const fd = H32[p >>> 2]!;
      const events = H16[(p + 4) >>> 1]!;
      const stream = fd >= 0 ? mod.FS.getStream(fd) : null;
      const s = socketOfStream(stream);
      let revents = 0;
      if (s && s.hostFd >= 0) {
        entries.push({ fd: s.hostFd, events, revents: 0 });
        at.push(p);
      } else if (fd >= 0) {
        if (!stream) revents = POLLNVAL;
        else revents = (stream.stream_ops.poll ? (stream.stream_ops.poll as (s: EmStream, t: number) => number)(stream, -1) : POLLIN | POLLOUT) & (events | POLLERR | POLLHUP);
      }
      if (revents) ready++;
      H16[(p + 6) >>> 1] = revents;
    }
    // Nothing to wait for on the host: answer at once (no call into libc).
    if (entries.length === 0 && (ready > 0 || timeout === 0)) return ready;
    const n = pollHost(entries, ready > 0 ? 0 : timeout);
    if (n === 'interrupted') return -E('EINTR');
    if (n < 0) return -wasmErrno(mod, -n);
    const H16b = mod.HEAP16;
    entries.forEach((e, i) => {
      H16b[(at[i]! + 6) >>> 1] = e.revents;
      if (e.revents) ready++;
    });
    return ready;
  };
}


// ------------------------------------------------------------------ for Python

/**
 * The interpreter whose imports were patched last in this thread: the one
 * Python's _nicorn_host calls come from (a thread holds one interpreter).
 */
let active: { mod: EmModule; newStream: (hostFd: number, family: number, type: number, nonblocking: boolean) => number } | null = null;

/** The socket behind interpreter descriptor `fd`, or -errno. */
function apiSocket(fd: number): HostSocket | number {
  return socketAt(active!.mod, fd);
}

/** A buffer Python passed (a PyProxy of a bytes-like object), as bytes over the wasm heap. */
interface PyBufferProxy {
  getBuffer(type: 'u8'): { data: Uint8Array; release(): void };
}

/**
 * What python/nicorn/host/net.py calls for what Pyodide keeps inside the
 * wasm module (no import can replace it): setsockopt, gethostname, and the
 * calls that take or give an address its _socket cannot carry (IPv6,
 * AF_UNIX; see sockaddr.ts). Addresses come in as sockaddr bytes (hex, made
 * by net_sockaddr_* or dns.ts) and go out as CPython's address values;
 * `timeoutMs` is the Python socket's timeout (negative: blocking; 0:
 * non-blocking). Errors come back as -errno in the interpreter's numbering.
 */
export const NET_API = {
  /** setsockopt(interpreter fd, level, name, value as hex bytes) -> 0 or -errno. */
  net_setsockopt(fd: number, level: number, name: number, hex: string): number {
    const s = apiSocket(fd);
    if (typeof s === 'number') return s;
    const val = Buffer.from(hex, 'hex');
    return host().setsockopt(s.hostFd, level, name, val, val.byteLength) === 0 ? 0 : -wasmErrno(active!.mod, hostErrno());
  },
  /** The sockaddr_un (hex) for `path`, or -ENAMETOOLONG. */
  net_sockaddr_un(path: string): string | number {
    const sa = sockaddrUn(path);
    return sa ? Buffer.from(sa).toString('hex') : -active!.mod.ERRNO_CODES.ENAMETOOLONG!;
  },
  /** connect(): 0 or -errno (-ETIMEDOUT when `timeoutMs` ran out). */
  net_connect(fd: number, sa: string, timeoutMs: number): number {
    const s = apiSocket(fd);
    if (typeof s === 'number') return s;
    return connectWaiting(active!.mod, s, Buffer.from(sa, 'hex'), timeoutMs);
  },
  /** bind(): 0 or -errno. */
  net_bind(fd: number, sa: string): number {
    const s = apiSocket(fd);
    if (typeof s === 'number') return s;
    const addr = Buffer.from(sa, 'hex');
    return host().bind(s.hostFd, addr, addr.byteLength) === 0 ? 0 : -wasmErrno(active!.mod, hostErrno());
  },
  /** accept(): [new interpreter descriptor (blocking), peer address], or -errno. */
  net_accept(fd: number, timeoutMs: number): [number, PyAddress] | number {
    const { mod, newStream } = active!;
    const s = apiSocket(fd);
    if (typeof s === 'number') return s;
    const { addr: got, len: gotLen } = addressRoom();
    const hostFd = retrying(mod, s, POLLIN, timeoutMs, () => host().accept4(s.hostFd, got, gotLen, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (hostFd < 0) return hostFd;
    return [newStream(hostFd, s.family, s.type, false), addressOf(got, gotLen[0]!)];
  },
  /** getsockname() (`peer` false) or getpeername(): the address, or -errno. */
  net_name(fd: number, peer: boolean): PyAddress | number {
    const s = apiSocket(fd);
    if (typeof s === 'number') return s;
    const { addr, len } = addressRoom();
    if ((peer ? host().getpeername(s.hostFd, addr, len) : host().getsockname(s.hostFd, addr, len)) < 0) return -wasmErrno(active!.mod, hostErrno());
    return addressOf(addr, len[0]!);
  },
  /** sendto(data, flags, address): bytes sent, or -errno. */
  net_sendto(fd: number, data: PyBufferProxy, flags: number, sa: string, timeoutMs: number): number {
    const s = apiSocket(fd);
    if (typeof s === 'number') return s;
    const addr = Buffer.from(sa, 'hex');
    const buf = data.getBuffer('u8');
    try {
      const bytes = buf.data;
      return retrying(active!.mod, s, POLLOUT, timeoutMs, () =>
        host().sendto(s.hostFd, bytes, bytes.byteLength, flags | MSG_NOSIGNAL, addr, addr.byteLength));
    } finally {
      buf.release();
    }
  },
  /** recvfrom_into(buffer, nbytes, flags): [bytes received, sender's address (undefined, Python's None: none)], or -errno. */
  net_recvfrom_into(fd: number, into: PyBufferProxy, nbytes: number, flags: number, timeoutMs: number): [number, PyAddress | undefined] | number {
    const s = apiSocket(fd);
    if (typeof s === 'number') return s;
    const buf = into.getBuffer('u8');
    try {
      const room = buf.data.subarray(0, nbytes);
      const { addr: got, len: gotLen } = addressRoom();
      const n = retrying(active!.mod, s, POLLIN, timeoutMs, () => host().recvfrom(s.hostFd, room, room.byteLength, flags, got, gotLen));
      if (n < 0) return n;
      // A connected stream socket gives no address (CPython: None; JS null would be jsnull).
      return [n, gotLen[0]! >= 2 ? addressOf(got, gotLen[0]!) : undefined];
    } finally {
      buf.release();
    }
  },
  /** inet_pton(AF_INET6, text): the address as hex, or null (CPython: OSError). */
  net_inet_pton6(text: string): string | undefined {
    const packed = packIn6(text);
    return packed ? Buffer.from(packed).toString('hex') : undefined;
  },
  /** inet_ntop(AF_INET6, 16 bytes as hex). */
  net_inet_ntop6(hex: string): string {
    return unpackIn6(Buffer.from(hex, 'hex'));
  },
  /** The host's name, as uname(2) gives it (what socket.gethostname() returns under CPython). */
  net_gethostname(): string {
    return os.hostname();
  },
};
