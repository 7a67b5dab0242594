// What the app's `ssl` module (python/nicorn/host/ssl_module.py) calls in
// `_nicorn_host`: contexts and connections of src/runtime/host/tls.ts by
// number. Numbers, strings and buffers cross; a failure is returned as the
// JSON of a TlsErrorInfo (the Python side raises it), never thrown, so a
// WANT_READ in a non-blocking loop costs no JS exception.
//
// Handles live per thread: an interpreter restored from a --preload
// snapshot finds none of the handles its image holds. `tls_epoch` tells
// the Python side, which then rebuilds a context from what was set on it.

import fs from 'node:fs';
import type { EmModule } from './module.js';
import { hostSocketFd } from './sockets.js';
import {
  DEFAULT_CIPHERS,

  TlsConnection,
  TlsContext,
  TlsMemoryBio,
  decodeDer,
  opensslDefaultPaths,
  opensslVersion,
  type TlsErrorInfo,
} from './tls.js';

/** A Python buffer object as Pyodide hands it to JS (bytes, bytearray, memoryview). */
interface PyBufferProxy {
  getBuffer(type?: string): { data: Uint8Array; release(): void };
}

let theModule: EmModule | null = null;

/** An ImportPatch that replaces nothing: it keeps the module, for descriptors to be looked up in its FS. */
export function keepModuleForTls(_imports: unknown, mod: EmModule): void {
  theModule = mod;
}

const epoch = `${process.pid}-${Math.random().toString(36).slice(2)}`;
const contexts = new Map<number, TlsContext>();
const connections = new Map<number, TlsConnection>();
const bios = new Map<number, TlsMemoryBio>();
let nextId = 1;

// Nothing is `undefined`, not null: Pyodide gives Python None for undefined (null is pyodide.ffi.jsnull).
const json = (e: TlsErrorInfo | null): string | undefined => (e === null ? undefined : JSON.stringify(e));

function ctxOf(id: number): TlsContext {
  const ctx = contexts.get(id);
  if (!ctx) throw new Error(`no TLS context ${id} in this thread`);
  return ctx;
}

function connOf(id: number): TlsConnection {
  const conn = connections.get(id);
  if (!conn) throw new Error(`no TLS connection ${id} in this thread`);
  return conn;
}

function bioOf(id: number): TlsMemoryBio {
  const bio = bios.get(id);
  if (!bio) throw new Error(`no MemoryBIO ${id} in this thread`);
  return bio;
}

/**
 * `n` bytes of the interpreter's memory at `ptr` (a buffer Python owns; see
 * _SCRATCH in ssl_module.py): data crosses as two numbers. Measured in the
 * interpreter, a call with a bytes argument (a PyProxy and getBuffer) costs
 * 56 µs, one with numbers only 3-11 µs.
 */
function heap(ptr: number, n: number): Uint8Array {
  // Looked up per call: the view is replaced when the heap grows.
  return theModule!.HEAPU8.subarray(ptr, ptr + n);
}

function withBuffer<T>(buf: PyBufferProxy, fn: (view: Uint8Array) => T): T {
  const b = buf.getBuffer('u8');
  try {
    return fn(b.data);
  } finally {
    b.release();
  }
}

function copyOf(buf: PyBufferProxy): Buffer {
  return withBuffer(buf, (view) => Buffer.from(view));
}

/** Seconds (None: -1) -> what TlsConnection takes. */
const ms = (timeout: number) => (timeout < 0 ? -1 : timeout * 1000);

export const TLS_API = {
  tls_epoch: (): string => epoch,

  /** JSON: OpenSSL's version and default CA locations. */
  tls_info: (): string => {
    const v = opensslVersion();
    const d = opensslDefaultPaths();
    return JSON.stringify({ version: v.text, version_number: v.number, default_file: d.file, default_dir: d.dir, default_ciphers: DEFAULT_CIPHERS });
  },

  /**
   * 'file', 'dir' or undefined for a host path: the CA store is the
   * host's, read by OpenSSL on the host, and need not be visible inside the interpreter.
   */
  tls_host_path_kind: (p: string): string | undefined => {
    try {
      const st = fs.statSync(p);
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : undefined;
    } catch {
      return undefined;
    }
  },

  tls_ctx_new: (protocol: number): number => {
    const id = nextId++;
    contexts.set(id, new TlsContext(protocol));
    return id;
  },

  tls_ctx_free: (id: number): void => {
    contexts.get(id)?.free();
    contexts.delete(id);
  },

  /** options, verify_mode, verify_flags, minimum_version, maximum_version, security_level. */
  tls_ctx_get: (id: number, name: string): number => {
    const ctx = ctxOf(id);
    switch (name) {
      case 'options':
        return Number(ctx.options);
      case 'verify_mode':
        return ctx.verifyMode;
      case 'verify_flags':
        return ctx.verifyFlags;
      case 'minimum_version':
        return ctx.getProtoVersion(false);
      case 'maximum_version':
        return ctx.getProtoVersion(true);
      case 'security_level':
        return ctx.securityLevel;
      default:
        throw new Error(`unknown TLS context property ${name}`);
    }
  },

  /** Returns false when OpenSSL refused the value (a protocol version it does not know). */
  tls_ctx_set: (id: number, name: string, value: number): boolean => {
    const ctx = ctxOf(id);
    switch (name) {
      case 'options':
        ctx.options = BigInt(value);
        return true;
      case 'verify_mode':
        ctx.verifyMode = value;
        return true;
      case 'verify_flags':
        ctx.verifyFlags = value;
        return true;
      case 'minimum_version':
        return ctx.setProtoVersion(false, value);
      case 'maximum_version':
        return ctx.setProtoVersion(true, value);
      case 'check_hostname':
        ctx.checkHostname = value !== 0;
        return true;
      case 'host_flags':
        ctx.hostFlags = value;
        return true;
      case 'post_handshake_auth':
        ctx.postHandshakeAuth = value !== 0;
        return true;
      default:
        throw new Error(`unknown TLS context property ${name}`);
    }
  },

  tls_ctx_load_verify: (id: number, cafile: string | null, capath: string | null): string | undefined =>
    json(ctxOf(id).loadVerifyLocations(cafile ?? null, capath ?? null)),

  tls_ctx_load_verify_data: (id: number, data: PyBufferProxy, pem: boolean): string | undefined => json(ctxOf(id).loadVerifyData(copyOf(data), pem)),

  tls_ctx_load_cert_chain: (id: number, certfile: string, keyfile: string | null, password: PyBufferProxy | null): string | undefined =>
    json(ctxOf(id).loadCertChain(certfile, keyfile ?? null, password ? copyOf(password) : null)),

  tls_ctx_set_ciphers: (id: number, spec: string): string | undefined => json(ctxOf(id).setCiphers(spec)),

  tls_ctx_set_alpn: (id: number, wire: PyBufferProxy): void => ctxOf(id).setAlpn(copyOf(wire)),

  tls_ctx_stats: (id: number): string => JSON.stringify(ctxOf(id).storeStats()),

  /** JSON: the store's CA certificates, DER in base64. */
  tls_ctx_ca_certs: (id: number): string => JSON.stringify(ctxOf(id).caCertificates().map((b) => b.toString('base64'))),

  /**
   * A connection on the interpreter's socket `fd`: its number, or the JSON
   * of the error when `fd` is not a socket of the host.
   */
  tls_conn_new: (ctxId: number, fd: number, serverSide: boolean, hostname: string | null): number | string => {
    const hostFd = theModule ? hostSocketFd(theModule, fd) : null;
    if (hostFd === null) {
      return JSON.stringify({
        type: 'OSError',
        errno: 'ENOTSOCK',
        message: `descriptor ${fd} is not a socket of the host: TLS needs a socket made by socket.socket()`,
      } satisfies TlsErrorInfo);
    }
    const id = nextId++;
    connections.set(id, new TlsConnection(ctxOf(ctxId), hostFd, serverSide, hostname ?? null));
    return id;
  },

  /** An SSLObject's connection between two MemoryBIOs. */
  tls_conn_new_bio: (ctxId: number, incoming: number, outgoing: number, serverSide: boolean, hostname: string | null): number => {
    const id = nextId++;
    connections.set(id, new TlsConnection(ctxOf(ctxId), { incoming: bioOf(incoming), outgoing: bioOf(outgoing) }, serverSide, hostname ?? null));
    return id;
  },

  tls_bio_new: (): number => {
    const id = nextId++;
    bios.set(id, new TlsMemoryBio());
    return id;
  },

  tls_bio_free: (id: number): void => {
    bios.get(id)?.free();
    bios.delete(id);
  },

  tls_bio_write: (id: number, ptr: number, n: number): number => bioOf(id).write(heap(ptr, n)),

  tls_bio_read: (id: number, ptr: number, n: number): number => bioOf(id).read(heap(ptr, n)),

  tls_bio_pending: (id: number): number => bioOf(id).pending,

  tls_bio_eof: (id: number): boolean => bioOf(id).eof,

  tls_bio_write_eof: (id: number): void => bioOf(id).writeEof(),

  tls_conn_free: (id: number): void => {
    connections.get(id)?.free();
    connections.delete(id);
  },

  /** 0, FAILED (-1: tls_error says why) or INTERRUPTED (-2: a signal waits; Python checks and retries). */
  tls_handshake: (id: number, timeout: number): number => connOf(id).handshake(ms(timeout)),

  /** Decrypted bytes into the interpreter's memory at ptr (up to n): their count, 0 at a clean end, FAILED or INTERRUPTED. */
  tls_read: (id: number, ptr: number, n: number, timeout: number): number => connOf(id).read(heap(ptr, n), ms(timeout)),

  /** The n bytes at ptr, encrypted and sent: n, FAILED or INTERRUPTED. */
  tls_write: (id: number, ptr: number, n: number, timeout: number): number => connOf(id).write(heap(ptr, n), ms(timeout)),

  tls_pending: (id: number): number => connOf(id).pending(),

  tls_shutdown: (id: number, timeout: number): number => connOf(id).shutdown(ms(timeout)),

  tls_error: (id: number): string => JSON.stringify(connOf(id).lastError ?? { type: 'SSLError', errno: null, message: 'unknown error' }),

  /** JSON: version, cipher and ALPN protocol of an established connection. */
  tls_conn_info: (id: number): string => {
    const conn = connOf(id);
    return JSON.stringify({ version: conn.version(), cipher: conn.cipher(), alpn: conn.alpnSelected() });
  },

  /** The peer's certificate: DER bytes (binary) or the JSON of getpeercert()'s dict; null when none. */
  tls_peer_cert: (id: number, binary: boolean): Uint8Array | string | undefined => {
    const conn = connOf(id);
    if (binary) {
      // A plain Uint8Array: Pyodide does not take a Buffer for a typed array.
      const der = conn.peerCertificate();
      return der ? new Uint8Array(der) : undefined;
    }
    const cert = conn.peerCertificateDict();
    return cert === null ? undefined : JSON.stringify(cert);
  },

  /** JSON of the dict for DER bytes, or null when they are not a certificate. */
  tls_decode_der: (der: PyBufferProxy): string | undefined => {
    const cert = decodeDer(copyOf(der));
    return cert === null ? undefined : JSON.stringify(cert);
  },
};


