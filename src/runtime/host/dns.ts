// Name resolution through the host's C library: getaddrinfo and getnameinfo
// as the host answers them (/etc/hosts, nsswitch, DNS), instead of
// Emscripten's resolver, which makes up an address (172.29.x.x) for any name.
//
// The host's answers are copied into the interpreter's heap in the layout
// its musl expects. EAI_* codes and the sockaddr layouts are the same in
// both (see sockets.ts), so they pass through.
//
// Pyodide's CPython is built without IPv6: its socket.getaddrinfo would turn
// an AF_INET6 answer into (10, b'...') (14 bytes of the address), and its
// gethostbyname_ex/gethostbyaddr run musl's own code inside the wasm module
// (Emscripten's made-up answers), and its gaierror texts are musl's
// (gai_strerror is inside the wasm module too). So python/nicorn/host/net.py
// calls DNS_API for getaddrinfo, getnameinfo, gethostbyname(_ex) and
// gethostbyaddr; the C-level resolver below serves what CPython's C code
// resolves itself (connect/bind/sendto of an AF_INET name).

import os from 'node:os';
import koffi from 'koffi';
import { hostErrno, libc, strerror, wasmErrno } from './libc.js';
import type { EmModule, WasmImports } from './module.js';
import { AF_INET, AF_INET6, addressOf, sockaddrIn6, type PyAddress } from './sockaddr.js';

const EAI_SYSTEM = -11;
const EAI_MEMORY = -10;
const ERANGE = 34;

/** struct addrinfo on the host (x86-64/aarch64 Linux). */
// Anonymous: koffi's type names are process-wide, and the test runner loads
// one copy of this module per test file into one process.
const HostAddrInfo = koffi.struct({
  ai_flags: 'int',
  ai_family: 'int',
  ai_socktype: 'int',
  ai_protocol: 'int',
  ai_addrlen: 'uint32_t',
  ai_addr: 'void *',
  ai_canonname: 'void *',
  ai_next: 'void *',
});

/** struct hostent on the host (64-bit Linux). */
const HostEnt = koffi.struct({
  h_name: 'void *',
  h_aliases: 'void *',
  h_addrtype: 'int',
  h_length: 'int',
  h_addr_list: 'void *',
});

interface HostDns {
  getaddrinfo(node: string | null, service: string | null, hints: Buffer | null, res: unknown[]): number;
  freeaddrinfo(res: unknown): void;
  getnameinfo(sa: Uint8Array, salen: number, host: Buffer | null, hostlen: number, serv: Buffer | null, servlen: number, flags: number): number;
  gai_strerror(code: number): string;
  hstrerror(code: number): string;
  gethostbyname_r(name: string, ret: Buffer, buf: Buffer, buflen: number, result: unknown[], herr: number[]): number;
  gethostbyaddr_r(addr: Uint8Array, len: number, type: number, ret: Buffer, buf: Buffer, buflen: number, result: unknown[], herr: number[]): number;
}

let dns: HostDns | null = null;

function hostDns(): HostDns {
  if (dns) return dns;
  const lib = libc();
  dns = {
    getaddrinfo: lib.func('int getaddrinfo(const char *, const char *, const void *, _Out_ void **)') as never,
    freeaddrinfo: lib.func('void freeaddrinfo(void *)') as never,
    getnameinfo: lib.func('int getnameinfo(const void *, uint32_t, void *, uint32_t, void *, uint32_t, int)') as never,
    gai_strerror: lib.func('const char *gai_strerror(int)') as never,
    hstrerror: lib.func('const char *hstrerror(int)') as never,
    gethostbyname_r: lib.func('int gethostbyname_r(const char *, void *, void *, size_t, _Out_ void **, _Out_ int *)') as never,
    gethostbyaddr_r: lib.func('int gethostbyaddr_r(const void *, uint32_t, int, void *, void *, size_t, _Out_ void **, _Out_ int *)') as never,
  };
  return dns;
}

/**
 * The first TCP address the host resolves `name` to (any family), as a bind
 * of (name, port) finds it; or the failure as CPython's OSError would have it:
 * `code` is socket.gaierror's EAI_ code (negative) or, for EAI_SYSTEM, the
 * errno; `message` is str() of the exception.
 */
export function hostAddress(name: string): { address: string; family: 4 | 6 } | { code: number; message: string } {
  const got = lookup(name, null, [0, 0, 1 /* SOCK_STREAM */, 0]);
  if (got === EAI_SYSTEM) {
    const errno = hostErrno();
    return { code: errno, message: `[Errno ${errno}] ${strerror(errno)}` };
  }
  if (typeof got === 'number') return { code: got, message: `[Errno ${got}] ${hostDns().gai_strerror(got)}` };
  const first = addressOf(got[0]!.addr);
  return { address: typeof first === 'string' ? first : first[0], family: got[0]!.family === AF_INET6 ? 6 : 4 };
}

interface Answer {
  flags: number;
  family: number;
  socktype: number;
  protocol: number;
  addr: Uint8Array;
  canonname: string | null;
}

/**
 * The wasm32 struct addrinfo (32 bytes): flags, family, socktype, protocol,
 * addrlen, addr*, canonname*, next*.
 */
const AI_SIZE = 32;

export function patchDns(imports: WasmImports, mod: EmModule): void {
  imports.getaddrinfo = (nodePtr: number, servicePtr: number, hintsPtr: number, outPtr: number): number => {
    nodePtr >>>= 0;
    servicePtr >>>= 0;
    hintsPtr >>>= 0;
    outPtr >>>= 0;
    const node = nodePtr ? mod.UTF8ToString(nodePtr) : null;
    const service = servicePtr ? mod.UTF8ToString(servicePtr) : null;
    const hints = hintsPtr ? [0, 1, 2, 3].map((i) => mod.HEAP32[(hintsPtr >>> 2) + i]!) : null;
    const got = lookup(node, service, hints);
    if (typeof got === 'number') {
      if (got === EAI_SYSTEM) setErrno(mod, wasmErrno(mod, hostErrno()));
      return got;
    }
    const answers = got;
    const list = writeAnswers(mod, answers);
    if (!list) return EAI_MEMORY;
    mod.HEAPU32[outPtr >>> 2] = list;
    return 0;
  };

  imports.getnameinfo = (sa: number, salen: number, nodePtr: number, nodelen: number, servPtr: number, servlen: number, flags: number): number => {
    sa >>>= 0;
    nodePtr >>>= 0;
    servPtr >>>= 0;
    const hostBuf = nodePtr && nodelen ? Buffer.alloc(nodelen) : null;
    const servBuf = servPtr && servlen ? Buffer.alloc(servlen) : null;
    const rc = hostDns().getnameinfo(mod.HEAPU8.slice(sa, sa + salen), salen, hostBuf, hostBuf ? nodelen : 0, servBuf, servBuf ? servlen : 0, flags);
    if (rc !== 0) {
      if (rc === EAI_SYSTEM) setErrno(mod, wasmErrno(mod, hostErrno()));
      return rc;
    }
    if (hostBuf) mod.HEAPU8.set(hostBuf, nodePtr);
    if (servBuf) mod.HEAPU8.set(servBuf, servPtr);
    return 0;
  };
}

/**
 * getaddrinfo on the host: its answers in its order, or its EAI_ code (for
 * EAI_SYSTEM, hostErrno() says why). `hints`: flags, family, socktype, protocol.
 */
function lookup(node: string | null, service: string | null, hints: number[] | null): Answer[] | number {
  let hostHints: Buffer | null = null;
  if (hints) {
    // The host's hints: the four ints, the rest zero (pointers must be null).
    hostHints = Buffer.alloc(koffi.sizeof(HostAddrInfo));
    hints.forEach((v, i) => hostHints!.writeInt32LE(v, 4 * i));
  }
  const res: unknown[] = [null];
  const rc = hostDns().getaddrinfo(node, service, hostHints, res);
  if (rc !== 0) return rc;
  const answers: Answer[] = [];
  try {
    for (let p = res[0]; p; ) {
      const ai = koffi.decode(p, HostAddrInfo) as {
        ai_flags: number; ai_family: number; ai_socktype: number; ai_protocol: number; ai_addrlen: number;
        ai_addr: unknown; ai_canonname: unknown; ai_next: unknown;
      };
      answers.push({
        flags: ai.ai_flags,
        family: ai.ai_family,
        socktype: ai.ai_socktype,
        protocol: ai.ai_protocol,
        addr: new Uint8Array(koffi.view(ai.ai_addr, ai.ai_addrlen).slice(0)),
        canonname: ai.ai_canonname ? (koffi.decode(ai.ai_canonname, 'char', -1) as string) : null,
      });
      p = ai.ai_next;
    }
  } finally {
    hostDns().freeaddrinfo(res[0]);
  }
  return answers;
}

/**
 * The answers as the interpreter's addrinfo list. Its freeaddrinfo is
 * Emscripten's, which frees only the first entry and that entry's ai_addr
 * (Emscripten's own resolver returns one): so the whole list, every address
 * and name lives in the first entry's block, and the first address in a
 * block of its own. Returns 0 when malloc fails.
 */
function writeAnswers(mod: EmModule, answers: Answer[]): number {
  const enc = new TextEncoder();
  const names = answers.map((a) => (a.canonname === null ? null : enc.encode(a.canonname + '\0')));
  let size = AI_SIZE * answers.length;
  answers.forEach((a, i) => (size += (i === 0 ? 0 : align4(a.addr.byteLength)) + align4(names[i]?.byteLength ?? 0)));
  const block = mod._malloc(size);
  const first = mod._malloc(Math.max(answers[0]!.addr.byteLength, 4));
  if (!block || !first) {
    if (block) mod._free(block);
    if (first) mod._free(first);
    return 0;
  }
  let extra = block + AI_SIZE * answers.length;
  answers.forEach((a, i) => {
    const ai = block + AI_SIZE * i;
    let addr = first;
    if (i > 0) {
      addr = extra;
      extra += align4(a.addr.byteLength);
    }
    mod.HEAPU8.set(a.addr, addr);
    let name = 0;
    const bytes = names[i];
    if (bytes) {
      name = extra;
      mod.HEAPU8.set(bytes, name);
      extra += align4(bytes.byteLength);
    }
    const H = mod.HEAP32;
    const U = mod.HEAPU32;
    H[ai >>> 2] = a.flags;
    H[(ai + 4) >>> 2] = a.family;
    H[(ai + 8) >>> 2] = a.socktype;
    H[(ai + 12) >>> 2] = a.protocol;
    U[(ai + 16) >>> 2] = a.addr.byteLength;
    U[(ai + 20) >>> 2] = addr;
    U[(ai + 24) >>> 2] = name;
    U[(ai + 28) >>> 2] = i + 1 < answers.length ? ai + AI_SIZE : 0;
  });
  return block;
}

const align4 = (n: number) => (n + 3) & ~3;

/** Sets the interpreter's errno (for EAI_SYSTEM, which CPython reports through errno). */
function setErrno(mod: EmModule, value: number): void {
  const loc = (mod as unknown as { ___errno_location?: () => number; _emscripten_errno_location?: () => number });
  const f = loc.___errno_location;
  if (f) mod.HEAP32[f() >>> 2] = value;
}

// ------------------------------------------------------------------ for Python

const HOST_ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, value]) => [value, name] as [number, string]));

/** What an error of DNS_API raises in Python: [class, code, text]; OSError's text is the errno's name; 'OSError text' is an OSError of that text alone. */
type DnsError = ['gaierror' | 'herror' | 'OSError' | 'OSError text', number, string];
/** A DNS_API answer: ['ok', value] or the error. */
type DnsResult<T> = ['ok', T] | DnsError;

/** The Python error for EAI_ code `rc` (CPython's set_gaierror: EAI_SYSTEM is the errno's OSError). */
function gaiError(rc: number): DnsError {
  // The errno by name: the interpreter numbers errors differently.
  if (rc === EAI_SYSTEM) return ['OSError', 0, HOST_ERRNO_NAMES.get(hostErrno()) ?? 'EIO'];
  return ['gaierror', rc, hostDns().gai_strerror(rc)];
}

/**
 * The first address the host resolves `name` to in `family` (AF_UNSPEC: any),
 * as CPython's setipaddr picks it, or the error.
 */
function firstAddress(name: string, family: number): Uint8Array | DnsError {
  // setipaddr: "" is the wildcard address (AI_PASSIVE).
  const got = name === '' ? lookup(null, '0', [1 /* AI_PASSIVE */, family, 2 /* SOCK_DGRAM */, 0]) : lookup(name, null, [0, family, 0, 0]);
  if (typeof got === 'number') return gaiError(got);
  return got[0]!.addr;
}

/** CPython's gethost_common: (name, aliases, addresses) of a struct hostent, or herror. */
function hostEntry(rc: number, result: unknown, herr: number): DnsResult<[string, string[], string[]]> {
  if (rc !== 0 || !result) return ['herror', herr, hostDns().hstrerror(herr)];
  const h = koffi.decode(result, HostEnt) as { h_name: unknown; h_aliases: unknown; h_addrtype: number; h_length: number; h_addr_list: unknown };
  const list = (p: unknown): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; p; i++) {
      const item = koffi.decode(p, 8 * i, 'void *');
      if (!item) break;
      out.push(item);
    }
    return out;
  };
  const aliases = list(h.h_aliases).map((p) => koffi.decode(p, 'char', -1) as string);
  const addresses = list(h.h_addr_list).map((p) => {
    const raw = new Uint8Array(koffi.view(p, h.h_length).slice(0));
    const sa = new Uint8Array(h.h_addrtype === AF_INET6 ? 28 : 16);
    sa[0] = h.h_addrtype;
    sa.set(raw, h.h_addrtype === AF_INET6 ? 8 : 4);
    return (addressOf(sa) as [string, number])[0];
  });
  return ['ok', [koffi.decode(h.h_name, 'char', -1) as string, aliases, addresses]];
}

/** Calls a gethostby*_r with a buffer that grows while the host says ERANGE. */
function withHostBuffer(call: (ret: Buffer, buf: Buffer, result: unknown[], herr: number[]) => number): { rc: number; result: unknown; herr: number; keep: Buffer[] } {
  for (let size = 16384; ; size *= 2) {
    const ret = Buffer.alloc(koffi.sizeof(HostEnt));
    const buf = Buffer.alloc(size);
    const result: unknown[] = [null];
    const herr = [0];
    const rc = call(ret, buf, result, herr);
    if (rc !== ERANGE || size >= 1 << 22) return { rc, result: result[0], herr: herr[0]!, keep: [ret, buf] };
  }
}

/**
 * Resolver calls of python/nicorn/host/net.py, for what Pyodide's CPython
 * cannot do itself (see the top of this file). Each answers a DnsResult.
 */
export const DNS_API = {
  /**
   * getaddrinfo(host, port, family, type, proto, flags) as CPython's: the
   * host's answers, in its order, as (family, type, proto, canonname, address).
   */
  net_getaddrinfo(node: string | null, service: string | null, family: number, type: number, proto: number, flags: number): DnsResult<[number, number, number, string, PyAddress][]> {
    const got = lookup(node ?? null, service ?? null, [flags, family, type, proto]);
    if (typeof got === 'number') return gaiError(got);
    return ['ok', got.map((a) => [a.family, a.socktype, a.protocol, a.canonname ?? '', addressOf(a.addr)])];
  },
  /** The sockaddr_in6 (hex) for `host` (resolved as AF_INET6) with the tuple's port, flowinfo and scope_id. */
  net_sockaddr_in6(host: string, port: number, flowinfo: number, scopeId: number): DnsResult<string> {
    const sa = firstAddress(host, AF_INET6);
    if (!(sa instanceof Uint8Array)) return sa;
    return ['ok', Buffer.from(sockaddrIn6(sa, port, flowinfo, scopeId)).toString('hex')];
  },
  /** gethostbyname(name) as CPython's: the first IPv4 address the host resolves it to (errors: the host's gai_strerror text). */
  net_gethostbyname(name: string): DnsResult<string> {
    const sa = firstAddress(name, AF_INET);
    if (!(sa instanceof Uint8Array)) return sa;
    return ['ok', (addressOf(sa) as [string, number])[0]];
  },
  /**
   * getnameinfo((host, port[, flowinfo[, scope_id]]), flags) as CPython's: the
   * numeric host must resolve to one address; the tuple's flowinfo and scope_id go into an IPv6 one.
   */
  net_getnameinfo(node: string, port: number, flowinfo: number, scopeId: number, tupleLen: number, flags: number): DnsResult<[string, string]> {
    const got = lookup(node, String(port), [4 /* AI_NUMERICHOST */, 0, 2 /* SOCK_DGRAM */, 0]);
    if (typeof got === 'number') return gaiError(got);
    if (got.length !== 1) return ['OSError text', 0, 'sockaddr resolved to multiple addresses'];
    let sa = got[0]!.addr;
    if (got[0]!.family === AF_INET && tupleLen !== 2) return ['OSError text', 0, 'IPv4 sockaddr must be 2 tuple'];
    if (got[0]!.family === AF_INET6) sa = sockaddrIn6(sa, new DataView(sa.buffer, sa.byteOffset).getUint16(2, false), flowinfo, scopeId);
    const hostBuf = Buffer.alloc(1025); // NI_MAXHOST
    const servBuf = Buffer.alloc(32); // NI_MAXSERV
    const rc = hostDns().getnameinfo(sa, sa.byteLength, hostBuf, hostBuf.byteLength, servBuf, servBuf.byteLength, flags);
    if (rc !== 0) return gaiError(rc);
    const text = (b: Buffer) => b.toString('utf8', 0, b.indexOf(0));
    return ['ok', [text(hostBuf), text(servBuf)]];
  },
  /** gethostbyname_ex(name) as CPython's on Linux: resolved as AF_INET first (gaierror), then gethostbyname_r (herror). */
  net_gethostbyname_ex(name: string): DnsResult<[string, string[], string[]]> {
    const sa = firstAddress(name, AF_INET);
    if (!(sa instanceof Uint8Array)) return sa;
    const r = withHostBuffer((ret, buf, result, herr) => hostDns().gethostbyname_r(name, ret, buf, buf.byteLength, result, herr));
    return hostEntry(r.rc, r.result, r.herr);
  },
  /** gethostbyaddr(address or name) as CPython's: the first address it resolves to, then gethostbyaddr_r (herror). */
  net_gethostbyaddr(name: string): DnsResult<[string, string[], string[]]> {
    const sa = firstAddress(name, 0);
    if (!(sa instanceof Uint8Array)) return sa;
    const family = sa[0]! | (sa[1]! << 8);
    const addr = family === AF_INET6 ? sa.subarray(8, 24) : sa.subarray(4, 8);
    const r = withHostBuffer((ret, buf, result, herr) => hostDns().gethostbyaddr_r(addr, addr.byteLength, family, ret, buf, buf.byteLength, result, herr));
    return hostEntry(r.rc, r.result, r.herr);
  },
};
