// Socket addresses between Python and the host, for what Pyodide's _socket
// cannot carry: it is built without IPv6 and AF_UNIX, so it neither builds
// nor reads a sockaddr_in6 or sockaddr_un ("bad family"). python/nicorn/host/net.py
// sends those calls to the host (NET_API in sockets.ts); the addresses cross
// the bridge as sockaddr bytes (hex) one way and as CPython's address values
// (a path; a (host, port, flowinfo, scope_id) tuple) the other way. The
// texts are the host's inet_ntop, as CPython's on the host would give them.
//
// Layouts are Linux's (the interpreter's musl follows the same ABI):
// sockaddr_in6 = family u16 (host order), port u16 BE, flowinfo u32 BE,
// addr[16], scope_id u32 (host order) = 28 bytes.

import { libc } from './libc.js';

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
const SOCKADDR_IN6_SIZE = 28;

/** A struct sockaddr_un for `path` (a leading NUL: Linux's abstract namespace), or null when too long. */
export function sockaddrUn(path: string): Uint8Array | null {
  const abstract = path.startsWith('\0');
  const name = Buffer.from(path, abstract ? 'latin1' : 'utf8');
  if (name.byteLength > (abstract ? 108 : 107)) return null;
  const sa = new Uint8Array(2 + name.byteLength + (abstract ? 0 : 1));
  sa[0] = AF_UNIX; // little-endian sa_family_t
  sa.set(name, 2);
  return sa;
}

/**
 * `sa` (a sockaddr_in6 the resolver gave for the host part) with the port,
 * flowinfo and scope_id of the app's tuple, as CPython's getsockaddrarg sets
 * them (scope_id is always the tuple's, even when the host said "%eth0").
 */
export function sockaddrIn6(sa: Uint8Array, port: number, flowinfo: number, scopeId: number): Uint8Array {
  const out = new Uint8Array(SOCKADDR_IN6_SIZE);
  out.set(sa.subarray(0, SOCKADDR_IN6_SIZE));
  const v = new DataView(out.buffer);
  v.setUint16(0, AF_INET6, true);
  v.setUint16(2, port, false);
  v.setUint32(4, flowinfo, false);
  v.setUint32(24, scopeId >>> 0, true);
  return out;
}

/** An address as CPython's makesockaddr returns it: AF_INET (host, port); AF_INET6 (host, port, flowinfo, scope_id); AF_UNIX its path. */
export type PyAddress = [string, number] | [string, number, number, number] | string;

/** The Python value of sockaddr `sa` (its first `len` bytes), as CPython's makesockaddr gives it. */
export function addressOf(sa: Uint8Array, len = sa.byteLength): PyAddress {
  const bytes = Buffer.from(sa.buffer, sa.byteOffset, Math.min(len, sa.byteLength));
  const family = bytes.length >= 2 ? bytes.readUInt16LE(0) : 0;
  // CPython's make_ipv4_addr/make_ipv6_addr: inet_ntoa/inet_ntop (no "%scope": that is the tuple's scope_id).
  if (family === AF_INET) return [Array.from(bytes.subarray(4, 8)).join('.'), bytes.readUInt16BE(2)];
  if (family === AF_INET6) {
    const sin6 = bytes.subarray(0, SOCKADDR_IN6_SIZE);
    return [unpackIn6(sin6.subarray(8, 24)), sin6.readUInt16BE(2), sin6.readUInt32BE(4), sin6.readUInt32LE(24)];
  }
  if (family === AF_UNIX) {
    const name = bytes.subarray(2);
    // A path ends at its NUL; an abstract name (leading NUL) is every byte; an unnamed socket is ''.
    return name[0] === 0 ? name.toString('latin1') : name.toString('utf8').replace(/\0.*$/s, '');
  }
  throw new Error(`no Python address for a family ${family} sockaddr`);
}

let inet: { pton(af: number, src: string, dst: Uint8Array): number; ntop(af: number, src: Uint8Array, dst: Buffer, size: number): unknown } | null = null;

function hostInet() {
  inet ??= {
    pton: libc().func('int inet_pton(int, const char *, void *)') as never,
    ntop: libc().func('void *inet_ntop(int, const void *, void *, uint32_t)') as never,
  };
  return inet;
}

/** inet_pton(AF_INET6, text) on the host: the 16 bytes, or null when `text` is no IPv6 address. */
export function packIn6(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  return hostInet().pton(AF_INET6, text, out) === 1 ? out : null;
}

/** inet_ntop(AF_INET6, 16 bytes) on the host (glibc's text: "::ffff:127.0.0.1", "::1"). */
export function unpackIn6(packed: Uint8Array): string {
  const text = Buffer.alloc(46); // INET6_ADDRSTRLEN
  hostInet().ntop(AF_INET6, packed, text, text.byteLength);
  return text.toString('latin1', 0, text.indexOf(0));
}
