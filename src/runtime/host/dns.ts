// Name resolution through the host's C library: getaddrinfo and getnameinfo
// as the host answers them (/etc/hosts, nsswitch, DNS), instead of
// Emscripten's resolver, which makes up an address (172.29.x.x) for any name.
//
// The host's answers are copied into the interpreter's heap in the layout
// its musl expects. EAI_* codes and the sockaddr layouts are the same in
// both (see sockets.ts), so they pass through.

import koffi from 'koffi';
import { hostErrno, libc, wasmErrno } from './libc.js';
import type { EmModule, WasmImports } from './module.js';

const EAI_SYSTEM = -11;
const EAI_MEMORY = -10;
const EAI_ADDRFAMILY = -9;
const AF_INET6 = 10;

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

interface HostDns {
  getaddrinfo(node: string | null, service: string | null, hints: Buffer | null, res: unknown[]): number;
  freeaddrinfo(res: unknown): void;
  getnameinfo(sa: Uint8Array, salen: number, host: Buffer | null, hostlen: number, serv: Buffer | null, servlen: number, flags: number): number;
}

let dns: HostDns | null = null;

function hostDns(): HostDns {
  if (dns) return dns;
  const lib = libc();
  dns = {
    getaddrinfo: lib.func('int getaddrinfo(const char *, const char *, const void *, _Out_ void **)') as never,
    freeaddrinfo: lib.func('void freeaddrinfo(void *)') as never,
    getnameinfo: lib.func('int getnameinfo(const void *, uint32_t, void *, uint32_t, void *, uint32_t, int)') as never,
  };
  return dns;
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
    let hints: Buffer | null = null;
    if (hintsPtr) {
      // The host's hints: the four ints, the rest zero (pointers must be null).
      hints = Buffer.alloc(koffi.sizeof(HostAddrInfo));
      for (let i = 0; i < 4; i++) hints.writeInt32LE(mod.HEAP32[(hintsPtr >>> 2) + i]!, 4 * i);
    }
    const res: unknown[] = [null];
    const rc = hostDns().getaddrinfo(node, service, hints, res);
    if (rc !== 0) {
      if (rc === EAI_SYSTEM) setErrno(mod, wasmErrno(mod, hostErrno()));
      return rc;
    }
    let answers: Answer[] = [];
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
    // Pyodide's CPython is built without IPv6: its socket module cannot
    // pass an AF_INET6 address ("bad family"), so such answers are left
    // out, as an IPv4-only CPython's resolver would (AI_ADDRCONFIG).
    const usable = answers.filter((a) => a.family !== AF_INET6);
    if (usable.length === 0) return answers.length > 0 ? EAI_ADDRFAMILY : -2 /* EAI_NONAME */;
    answers = usable;
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
