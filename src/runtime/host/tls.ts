// TLS for the app's sockets, by Node's OpenSSL on the host descriptor.
//
// The app's `ssl` module (python/nicorn/host/ssl_module.py) keeps its
// contexts and connections here: an SSL_CTX per SSLContext, an SSL per
// SSLSocket, the SSL reading and writing the host socket behind the
// interpreter's descriptor itself (SSL_set_fd). Host sockets are always
// O_NONBLOCK (src/runtime/host/sockets.ts), so every operation is driven
// here: on WANT_READ/WANT_WRITE it waits with pollHost(), in slices that
// give way to --timeout's interrupt, for at most the socket's timeout, as
// CPython's _ssl.c does with poll() on a socket that has a timeout.
//
// Results cross to Python as numbers; a failure is described by
// lastError(): which exception CPython's _ssl would raise, and its
// arguments, built from OpenSSL's error queue as _ssl.c builds them.

import fs from 'node:fs';
import os from 'node:os';
import { hostErrno } from './libc.js';
import { bytesAt, openssl, peekInt, peekPtr, type Ptr } from './openssl.js';
import { POLLIN, POLLOUT, pollHost } from './wait.js';

// ----------------------------------------------------------------- constants

export const PROTOCOL_TLS = 2;
export const PROTOCOL_TLS_CLIENT = 16;
export const PROTOCOL_TLS_SERVER = 17;

export const SSL_ERROR_SSL = 1;
export const SSL_ERROR_WANT_READ = 2;
export const SSL_ERROR_WANT_WRITE = 3;
export const SSL_ERROR_SYSCALL = 5;
export const SSL_ERROR_ZERO_RETURN = 6;
export const SSL_ERROR_EOF = 8;

const SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;
const SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
const SSL_CTRL_SET_MAX_PROTO_VERSION = 124;
const SSL_CTRL_GET_MIN_PROTO_VERSION = 130;
const SSL_CTRL_GET_MAX_PROTO_VERSION = 131;
const SSL_RECEIVED_SHUTDOWN = 2;
const SSL_FILETYPE_PEM = 1;
const ERR_LIB_SYS = 2;
const ERR_LIB_SSL = 20;
const SSL_R_CERTIFICATE_VERIFY_FAILED = 134;
const SSL_R_UNEXPECTED_EOF_WHILE_READING = 294;
const X509_V_ERR_HOSTNAME_MISMATCH = 62;
const X509_V_ERR_IP_ADDRESS_MISMATCH = 64;
const NID_subject_alt_name = 85;
const NID_crl_distribution_points = 103;
const NID_info_access = 177;
const NID_ad_OCSP = 178;
const NID_ad_ca_issuers = 179;

/** Results of connection operations other than a count of bytes. */
export const FAILED = -1;
export const INTERRUPTED = -2;

/**
 * The library names _ssl.c gives errors ("[SSL: ...]"): OpenSSL 3's
 * ERR_lib_error_string says "SSL routines", CPython prints its short names.
 */
const LIBRARY_NAMES: Record<number, string> = {
  2: 'SYS', 3: 'BN', 4: 'RSA', 5: 'DH', 6: 'EVP', 7: 'BUF', 8: 'OBJ', 9: 'PEM', 10: 'DSA', 11: 'X509',
  13: 'ASN1', 14: 'CONF', 15: 'CRYPTO', 16: 'EC', 20: 'SSL', 32: 'BIO', 33: 'PKCS7', 34: 'X509V3',
  35: 'PKCS12', 36: 'RAND', 37: 'DSO', 38: 'ENGINE', 39: 'OCSP', 40: 'UI', 41: 'COMP', 42: 'ECDSA',
  43: 'ECDH', 44: 'OSSL_STORE', 45: 'FIPS', 46: 'CMS', 47: 'TS', 48: 'HMAC', 50: 'CT', 51: 'ASYNC',
  52: 'KDF', 53: 'SM2', 54: 'ESS', 55: 'PROP', 56: 'CRMF', 57: 'PROV', 58: 'CMP', 59: 'OSSL_ENCODER',
  60: 'OSSL_DECODER', 61: 'HTTP',
};

/**
 * The line each operation's errors name ("(_ssl.c:NNNN)", as CPython's
 * texts end). Nominal: CPython's own change with every release, and nothing
 * reads them; one per operation says where the error came from.
 */
const LINE = { handshake: 1029, read: 2547, write: 2427, shutdown: 2806, context: 4034 } as const;
type Where = keyof typeof LINE;

/** An exception for the `ssl` module to raise: its class name and arguments, as _ssl.c fills them. */
export interface TlsErrorInfo {
  /** A class of the ssl module (SSLError, SSLCertVerificationError, ...), or OSError / TimeoutError. */
  type: string;
  /** args[0]: the SSL_ERROR_* code (SSL errors) or the host errno's name (OSError). */
  errno: number | string | null;
  /** args[1], the text str(exc) shows. */
  message: string;
  library?: string | null;
  reason?: string | null;
  verify_code?: number;
  verify_message?: string;
}

// --------------------------------------------------------------- errors

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return 'EIO';
}

/** The error at the top of OpenSSL's queue as _ssl.c's fill_and_set_sslerror words it (the queue is cleared). */
function sslError(where: Where, type: string, code: number, fallback: string, verify?: { code: number; message: string }): TlsErrorInfo {
  const o = openssl();
  const e = o.ERR_peek_last_error();
  o.ERR_clear_error();
  let library: string | null = null;
  let reason: string | null = null;
  let text = fallback;
  if (e !== 0) {
    const lib = (e >>> 23) & 0xff;
    library = LIBRARY_NAMES[lib] ?? o.ERR_lib_error_string(e);
    const reasonText = o.ERR_reason_error_string(e);
    if (reasonText) {
      // OpenSSL's reason strings are the lower-case words of the
      // constants' names (CERTIFICATE_VERIFY_FAILED): CPython's table has the same.
      reason = reasonText.toUpperCase().replace(/[ -]/g, '_');
      text = reasonText;
    }
    if (lib === ERR_LIB_SSL && (e & 0x7fffff) === SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      type = 'SSLEOFError';
      code = SSL_ERROR_EOF;
      text = 'EOF occurred in violation of protocol';
    }
  }
  const at = `(_ssl.c:${LINE[where]})`;
  let message: string;
  if (library && reason && verify) message = `[${library}: ${reason}] ${text}: ${verify.message} ${at}`;
  else if (library && reason) message = `[${library}: ${reason}] ${text} ${at}`;
  else if (library) message = `[${library}] ${text} ${at}`;
  else message = `${text} ${at}`;
  // Errors of a context's set-up carry the reason's number as errno, as _ssl.c's _setSSLError gives it.
  if (where === 'context' && e !== 0) code = e & 0x7fffff;
  const info: TlsErrorInfo = { type, errno: code, message, library, reason };
  if (verify) {
    info.verify_code = verify.code;
    info.verify_message = verify.message;
  }
  return info;
}

/** An OSError for a host errno; Python words it (os.strerror of the interpreter's errno of that name). */
function osError(errno: number | string): TlsErrorInfo {
  return { type: 'OSError', errno: typeof errno === 'string' ? errno : errnoName(errno), message: '' };
}

function timeoutError(where: Where): TlsErrorInfo {
  const what = where === 'handshake' ? 'handshake' : where === 'write' ? 'write' : 'read';
  return { type: 'TimeoutError', errno: null, message: `_ssl.c:${LINE[where]}: The ${what} operation timed out` };
}

// --------------------------------------------------------------- contexts

/**
 * A MemoryBIO: bytes in and out of an SSLObject (asyncio's TLS), OpenSSL's
 * memory BIO. Until write_eof() an empty read asks for more (WANT_READ), as
 * _ssl.c sets it up (BIO_set_mem_eof_return -1).
 */
export class TlsMemoryBio {
  readonly bio: Ptr;
  eofWritten = false;

  constructor() {
    const o = openssl();
    this.bio = o.BIO_new(o.BIO_s_mem());
    o.BIO_ctrl(this.bio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, null);
  }

  get pending(): number {
    return Number(openssl().BIO_ctrl_pending(this.bio));
  }

  get eof(): boolean {
    return this.eofWritten && this.pending === 0;
  }

  write(view: Uint8Array): number {
    if (view.length === 0) return 0;
    return openssl().BIO_write(this.bio, view, view.length);
  }

  /** Up to view.length bytes into view; their count (0 when empty). */
  read(view: Uint8Array): number {
    const n = Math.min(view.length, this.pending);
    return n === 0 ? 0 : openssl().BIO_read_into(this.bio, view, n);
  }

  writeEof(): void {
    this.eofWritten = true;
    // Reads of the empty buffer now say end of file, not "retry".
    openssl().BIO_ctrl(this.bio, BIO_C_SET_BUF_MEM_EOF_RETURN, 0, null);
  }

  free(): void {
    openssl().BIO_free(this.bio);
  }
}

const BIO_C_SET_BUF_MEM_EOF_RETURN = 130;

/** One SSLContext: an SSL_CTX and what Python set on it that OpenSSL does not keep for us. */
export class TlsContext {
  readonly ctx: Ptr;
  readonly protocol: number;
  checkHostname: boolean;
  hostFlags = 0x4; // X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, CPython's default
  lastError: TlsErrorInfo | null = null;

  constructor(protocol: number) {
    const o = openssl();
    this.protocol = protocol;
    const method = protocol === PROTOCOL_TLS_CLIENT ? o.TLS_client_method() : protocol === PROTOCOL_TLS_SERVER ? o.TLS_server_method() : o.TLS_method();
    this.ctx = o.SSL_CTX_new(method);
    if (!this.ctx) throw new Error('SSL_CTX_new failed');
    // CPython's _ssl__SSLContext_impl: OP_ALL without DONT_INSERT_EMPTY_FRAGMENTS,
    // no SSLv3, no compression, server preference, middlebox compatibility;
    // TLS 1.2 at least; its cipher string; peers verified for TLS_CLIENT.
    const OP_DONT_INSERT_EMPTY_FRAGMENTS = 0x800n;
    o.SSL_CTX_clear_options(this.ctx, OP_DONT_INSERT_EMPTY_FRAGMENTS);
    o.SSL_CTX_set_options(this.ctx, 0x80000050n | 0x2000000n | 0x20000n | 0x400000n | 0x100000n);
    o.SSL_CTX_set_cipher_list(this.ctx, DEFAULT_CIPHERS);
    o.SSL_CTX_ctrl(this.ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, 0x303, null);
    const client = protocol === PROTOCOL_TLS_CLIENT;
    this.checkHostname = client;
    o.SSL_CTX_set_verify(this.ctx, client ? 1 : 0, null);
  }

  free(): void {
    openssl().SSL_CTX_free(this.ctx);
  }

  private fail(info: TlsErrorInfo): TlsErrorInfo {
    this.lastError = info;
    return info;
  }

  // koffi gives a uint64 as a number when it fits in one, else a BigInt.
  get options(): bigint {
    return BigInt(openssl().SSL_CTX_get_options(this.ctx));
  }

  set options(value: bigint) {
    const o = openssl();
    const now = this.options;
    o.SSL_CTX_clear_options(this.ctx, now & ~value);
    o.SSL_CTX_set_options(this.ctx, value & ~now);
  }

  /** CERT_NONE 0, CERT_OPTIONAL 1, CERT_REQUIRED 2 (SSL_VERIFY_PEER | FAIL_IF_NO_PEER_CERT). */
  get verifyMode(): number {
    const mode = openssl().SSL_CTX_get_verify_mode(this.ctx);
    return mode === 0 ? 0 : mode & 2 ? 2 : 1;
  }

  set verifyMode(mode: number) {
    openssl().SSL_CTX_set_verify(this.ctx, mode === 0 ? 0 : mode === 1 ? 1 : 3, null);
  }

  get verifyFlags(): number {
    const o = openssl();
    return o.X509_VERIFY_PARAM_get_flags(o.SSL_CTX_get0_param(this.ctx));
  }

  set verifyFlags(flags: number) {
    const o = openssl();
    const param = o.SSL_CTX_get0_param(this.ctx);
    const now = o.X509_VERIFY_PARAM_get_flags(param);
    o.X509_VERIFY_PARAM_clear_flags(param, now & ~flags);
    o.X509_VERIFY_PARAM_set_flags(param, flags & ~now);
  }

  /** 0 for "no bound" (PROTO_MINIMUM/MAXIMUM_SUPPORTED in Python). */
  getProtoVersion(max: boolean): number {
    return openssl().SSL_CTX_ctrl(this.ctx, max ? SSL_CTRL_GET_MAX_PROTO_VERSION : SSL_CTRL_GET_MIN_PROTO_VERSION, 0, null);
  }

  setProtoVersion(max: boolean, version: number): boolean {
    return openssl().SSL_CTX_ctrl(this.ctx, max ? SSL_CTRL_SET_MAX_PROTO_VERSION : SSL_CTRL_SET_MIN_PROTO_VERSION, version, null) === 1;
  }

  /** TLS 1.3 post-handshake authentication: a client offers its certificate after the handshake when asked. */
  set postHandshakeAuth(on: boolean) {
    openssl().SSL_CTX_set_post_handshake_auth(this.ctx, on ? 1 : 0);
  }

  get securityLevel(): number {
    return openssl().SSL_CTX_get_security_level(this.ctx);
  }

  /** A readable host file, else the OSError CPython's open would raise. */
  private readable(file: string): TlsErrorInfo | null {
    try {
      fs.accessSync(file, fs.constants.R_OK);
      return null;
    } catch (err) {
      return osError((err as NodeJS.ErrnoException).code ?? 'EIO');
    }
  }

  /** load_verify_locations(cafile, capath): host paths. */
  loadVerifyLocations(cafile: string | null, capath: string | null): TlsErrorInfo | null {
    if (cafile !== null) {
      const err = this.readable(cafile);
      if (err) return this.fail(err);
    }
    const o = openssl();
    o.ERR_clear_error();
    if (o.SSL_CTX_load_verify_locations(this.ctx, cafile, capath) !== 1) {
      return this.fail(sslError('context', 'SSLError', SSL_ERROR_SSL, 'unknown error'));
    }
    return null;
  }

  /** load_verify_locations(cadata=...): PEM text (str) or DER certificates (bytes) one after another. */
  loadVerifyData(data: Buffer, pem: boolean): TlsErrorInfo | null {
    const o = openssl();
    o.ERR_clear_error();
    const bio = o.BIO_new_mem_buf(data, data.length);
    const store = o.SSL_CTX_get_cert_store(this.ctx);
    let loaded = 0;
    try {
      for (;;) {
        const x = pem ? o.PEM_read_bio_X509(bio, null, null, null) : o.d2i_X509_bio(bio, null);
        if (!x) break;
        const ok = o.X509_STORE_add_cert(store, x);
        o.X509_free(x);
        if (!ok) return this.fail(sslError('context', 'SSLError', SSL_ERROR_SSL, 'unknown error'));
        loaded++;
      }
    } finally {
      o.BIO_free(bio);
    }
    // The loop ends on the first read that fails: at the end of the data
    // (PEM: "no start line", expected after the last certificate) or on
    // bad data. As _ssl.c: the end is fine after at least one certificate.
    const e = o.ERR_peek_last_error();
    const endOfData = ((e >>> 23) & 0xff) === 9 /* PEM */ && (e & 0x7fffff) === 108; /* PEM_R_NO_START_LINE */
    if (loaded === 0 || (e !== 0 && !endOfData && pem)) {
      const info = sslError('context', 'SSLError', SSL_ERROR_SSL, 'not enough data');
      if (loaded > 0) return this.fail(info);
      // As _ssl.c words data without a single certificate.
      const what = pem ? 'no start line' : 'not enough data';
      return this.fail({ type: 'SSLError', errno: 0, message: `${what}: cadata does not contain a certificate (_ssl.c:${LINE.context})` });
    }
    o.ERR_clear_error();
    return null;
  }

  /** load_cert_chain: the certificate chain and its key (files on the host), the key's password if any. */
  loadCertChain(certfile: string, keyfile: string | null, password: Buffer | null): TlsErrorInfo | null {
    for (const file of [certfile, keyfile]) {
      const err = file === null ? null : this.readable(file);
      if (err) return this.fail(err);
    }
    const o = openssl();
    o.ERR_clear_error();
    // OpenSSL's default password callback reads the userdata as the
    // password; it must stay put while the key is read.
    const pass = password ? Buffer.concat([password, Buffer.from([0])]) : null;
    o.SSL_CTX_set_default_passwd_cb_userdata(this.ctx, pass);
    try {
      if (o.SSL_CTX_use_certificate_chain_file(this.ctx, certfile) !== 1) {
        return this.fail(sslError('context', 'SSLError', SSL_ERROR_SSL, 'PEM lib'));
      }
      if (o.SSL_CTX_use_PrivateKey_file(this.ctx, keyfile ?? certfile, SSL_FILETYPE_PEM) !== 1) {
        return this.fail(sslError('context', 'SSLError', SSL_ERROR_SSL, 'PEM lib'));
      }
      if (o.SSL_CTX_check_private_key(this.ctx) !== 1) {
        return this.fail(sslError('context', 'SSLError', SSL_ERROR_SSL, 'key values mismatch'));
      }
      return null;
    } finally {
      o.SSL_CTX_set_default_passwd_cb_userdata(this.ctx, null);
      pass?.fill(0);
    }
  }

  setCiphers(spec: string): TlsErrorInfo | null {
    const o = openssl();
    o.ERR_clear_error();
    if (o.SSL_CTX_set_cipher_list(this.ctx, spec) !== 1) {
      o.ERR_clear_error();
      return this.fail({ type: 'SSLError', errno: null, message: 'No cipher can be selected.' });
    }
    return null;
  }

  /** ALPN protocols in wire format (length-prefixed names). */
  setAlpn(wire: Buffer): void {
    openssl().SSL_CTX_set_alpn_protos(this.ctx, wire, wire.length);
  }

  /** cert_store_stats(): {'x509', 'crl', 'x509_ca'}. */
  storeStats(): { x509: number; crl: number; x509_ca: number } {
    const o = openssl();
    const objs = o.X509_STORE_get0_objects(o.SSL_CTX_get_cert_store(this.ctx));
    const stats = { x509: 0, crl: 0, x509_ca: 0 };
    for (let i = 0, n = o.OPENSSL_sk_num(objs); i < n; i++) {
      const obj = o.OPENSSL_sk_value(objs, i);
      const type = o.X509_OBJECT_get_type(obj);
      if (type === 1) {
        stats.x509++;
        if (o.X509_check_ca(o.X509_OBJECT_get0_X509(obj))) stats.x509_ca++;
      } else if (type === 2) stats.crl++;
    }
    return stats;
  }

  /** The CA certificates of the store, DER (get_ca_certs). */
  caCertificates(): Buffer[] {
    const o = openssl();
    const objs = o.X509_STORE_get0_objects(o.SSL_CTX_get_cert_store(this.ctx));
    const out: Buffer[] = [];
    for (let i = 0, n = o.OPENSSL_sk_num(objs); i < n; i++) {
      const obj = o.OPENSSL_sk_value(objs, i);
      if (o.X509_OBJECT_get_type(obj) !== 1) continue;
      const x = o.X509_OBJECT_get0_X509(obj);
      if (o.X509_check_ca(x)) out.push(derOf(x));
    }
    return out;
  }
}

/** CPython's _DEFAULT_CIPHERS (PY_SSL_DEFAULT_CIPHER_STRING). */
export const DEFAULT_CIPHERS = '@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM';

/** OpenSSL's version as _ssl reports it: OPENSSL_VERSION, OPENSSL_VERSION_NUMBER. */
export function opensslVersion(): { text: string; number: number } {
  const o = openssl();
  return { text: o.OpenSSL_version(0), number: Number(o.OpenSSL_version_num()) };
}

/** OpenSSL's compiled-in default CA file and directory (X509_get_default_cert_file/dir). */
export function opensslDefaultPaths(): { file: string; dir: string } {
  const o = openssl();
  return { file: o.X509_get_default_cert_file(), dir: o.X509_get_default_cert_dir() };
}

// ------------------------------------------------------------ connections

const IP_ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*(%.*)?)$/;

/**
 * One SSLSocket (an SSL on a host socket descriptor) or SSLObject (an SSL
 * between two MemoryBIOs, which never waits: timeouts are 0 there).
 */
export class TlsConnection {
  readonly ssl: Ptr;
  readonly fd: number;
  readonly serverHostname: string | null;
  lastError: TlsErrorInfo | null = null;

  constructor(context: TlsContext, io: number | { incoming: TlsMemoryBio; outgoing: TlsMemoryBio }, serverSide: boolean, serverHostname: string | null) {
    const o = openssl();
    this.fd = typeof io === 'number' ? io : -1;
    this.serverHostname = serverHostname;
    this.ssl = o.SSL_new(context.ctx);
    if (!this.ssl) throw new Error('SSL_new failed');
    if (typeof io === 'number') o.SSL_set_fd(this.ssl, io);
    else {
      // SSL_set_bio takes a reference of each; the MemoryBIOs keep theirs.
      o.BIO_up_ref(io.incoming.bio);
      o.BIO_up_ref(io.outgoing.bio);
      o.SSL_set_bio(this.ssl, io.incoming.bio, io.outgoing.bio);
    }
    if (serverSide) o.SSL_set_accept_state(this.ssl);
    else o.SSL_set_connect_state(this.ssl);
    if (serverHostname !== null && !serverSide) {
      const ip = IP_ADDRESS.test(serverHostname);
      // As _ssl.c: SNI for names only (RFC 6066 forbids addresses); the
      // certificate is checked against the name or address when check_hostname is on.
      if (!ip) o.SSL_ctrl_str(this.ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, 0, serverHostname);
      if (context.checkHostname) {
        const param = o.SSL_get0_param(this.ssl);
        o.X509_VERIFY_PARAM_set_hostflags(param, context.hostFlags);
        if (ip) o.X509_VERIFY_PARAM_set1_ip_asc(param, serverHostname.replace(/%.*$/, ''));
        else o.SSL_set1_host(this.ssl, serverHostname);
      }
    }
  }

  free(): void {
    openssl().SSL_free(this.ssl);
  }

  /**
   * Runs `op` until it completes, waiting on the descriptor for what OpenSSL
   * wants, for at most `timeoutMs` (negative: no limit; 0: non-blocking).
   * Returns op's result, FAILED (lastError says why) or INTERRUPTED.
   */
  private drive(where: Where, timeoutMs: number, op: () => number, done: (ret: number) => boolean | 'again'): number {
    const o = openssl();
    const deadline = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      o.ERR_clear_error();
      const ret = op();
      const finished = done(ret);
      if (finished === 'again') continue;
      if (finished) return ret;
      const err = o.SSL_get_error(this.ssl, ret);
      if (err === SSL_ERROR_WANT_READ || err === SSL_ERROR_WANT_WRITE) {
        const read = err === SSL_ERROR_WANT_READ;
        if (timeoutMs === 0) {
          this.lastError = {
            type: read ? 'SSLWantReadError' : 'SSLWantWriteError',
            errno: err,
            message: `The operation did not complete (${read ? 'read' : 'write'}) (_ssl.c:${LINE[where]})`,
          };
          return FAILED;
        }
        const left = deadline - performance.now();
        if (left <= 0) {
          this.lastError = timeoutError(where);
          return FAILED;
        }
        const entries = [{ fd: this.fd, events: read ? POLLIN : POLLOUT, revents: 0 }];
        const n = pollHost(entries, left === Infinity ? -1 : left);
        if (n === 'interrupted') return INTERRUPTED;
        if (n < 0) {
          this.lastError = osError(-n);
          return FAILED;
        }
        if (n === 0) {
          this.lastError = timeoutError(where);
          return FAILED;
        }
        continue;
      }
      this.lastError = this.failure(where, err, ret);
      return FAILED;
    }
  }

  /** What _ssl.c's PySSL_SetError raises for SSL_get_error's `err`. */
  private failure(where: Where, err: number, ret: number): TlsErrorInfo {
    const o = openssl();
    if (err === SSL_ERROR_ZERO_RETURN) {
      o.ERR_clear_error();
      return { type: 'SSLZeroReturnError', errno: err, message: `TLS/SSL connection has been closed (EOF) (_ssl.c:${LINE[where]})` };
    }
    if (err === SSL_ERROR_SYSCALL) {
      const e = o.ERR_peek_last_error();
      if (e === 0) {
        // OpenSSL's socket BIO leaves errno set when its read or write failed.
        const errno = ret === -1 ? hostErrno() : 0;
        o.ERR_clear_error();
        if (errno !== 0) return osError(errno);
        return { type: 'SSLEOFError', errno: SSL_ERROR_EOF, message: `EOF occurred in violation of protocol (_ssl.c:${LINE[where]})` };
      }
      if (((e >>> 23) & 0xff) === ERR_LIB_SYS || e & 0x80000000) {
        o.ERR_clear_error();
        return osError(e & 0x7fffffff);
      }
      return sslError(where, 'SSLSyscallError', err, 'Some I/O error occurred');
    }
    const e = o.ERR_peek_last_error();
    if (((e >>> 23) & 0xff) === ERR_LIB_SSL && (e & 0x7fffff) === SSL_R_CERTIFICATE_VERIFY_FAILED) {
      const code = o.SSL_get_verify_result(this.ssl);
      const message =
        code === X509_V_ERR_HOSTNAME_MISMATCH
          ? `Hostname mismatch, certificate is not valid for '${this.serverHostname}'.`
          : code === X509_V_ERR_IP_ADDRESS_MISMATCH
            ? `IP address mismatch, certificate is not valid for '${this.serverHostname}'.`
            : o.X509_verify_cert_error_string(code);
      return sslError(where, 'SSLCertVerificationError', SSL_ERROR_SSL, 'certificate verify failed', { code, message });
    }
    return sslError(where, 'SSLError', err === SSL_ERROR_SSL ? SSL_ERROR_SSL : err, 'A failure in the SSL library occurred');
  }

  handshake(timeoutMs: number): number {
    const o = openssl();
    const r = this.drive('handshake', timeoutMs, () => o.SSL_do_handshake(this.ssl), (ret) => ret === 1);
    return r === 1 ? 0 : r;
  }

  /**
   * Decrypted bytes into `view` (up to its length): their count, 0 once the
   * peer closed the TLS session cleanly (close_notify), or FAILED/INTERRUPTED.
   */
  read(view: Uint8Array, timeoutMs: number): number {
    if (view.length === 0) return 0;
    const o = openssl();
    const r = this.drive('read', timeoutMs, () => o.SSL_read(this.ssl, view, view.length), (ret) => ret > 0);
    if (r === FAILED && this.lastError?.type === 'SSLZeroReturnError' && o.SSL_get_shutdown(this.ssl) & SSL_RECEIVED_SHUTDOWN) {
      this.lastError = null;
      return 0;
    }
    return r;
  }

  /** Encrypts and sends `view`: the count written (all of it: no partial writes), or FAILED/INTERRUPTED. */
  write(view: Uint8Array, timeoutMs: number): number {
    if (view.length === 0) return 0;
    const o = openssl();
    return this.drive('write', timeoutMs, () => o.SSL_write(this.ssl, view, view.length), (ret) => ret > 0);
  }

  pending(): number {
    return openssl().SSL_pending(this.ssl);
  }

  /**
   * Sends close_notify and waits for the peer's, as _ssl.c's shutdown does
   * (SSL_shutdown at most twice): 0 when done, or FAILED/INTERRUPTED.
   */
  shutdown(timeoutMs: number): number {
    const o = openssl();
    // SSL_shutdown answers 0 when our close_notify is sent and the peer's
    // not yet read: called once more, it reads (and waits for) the peer's.
    let zeros = 0;
    const r = this.drive(
      'shutdown',
      timeoutMs,
      () => o.SSL_shutdown(this.ssl),
      (ret) => (ret === 1 ? true : ret === 0 ? (++zeros > 1 ? true : 'again') : false),
    );
    return r >= 0 ? 0 : r;
  }

  version(): string | null {
    const v = openssl().SSL_get_version(this.ssl);
    return v ?? null;
  }

  /** (name, protocol, secret bits) of the negotiated cipher, or null before the handshake. */
  cipher(): [string, string, number] | null {
    const o = openssl();
    const c = o.SSL_get_current_cipher(this.ssl);
    if (!c) return null;
    return [o.SSL_CIPHER_get_name(c), o.SSL_CIPHER_get_version(c), o.SSL_CIPHER_get_bits(c, null)];
  }

  alpnSelected(): string | null {
    const data: [Ptr] = [null];
    const len: [number] = [0];
    openssl().SSL_get0_alpn_selected(this.ssl, data, len);
    if (!data[0] || len[0] === 0) return null;
    return bytesAt(data[0], len[0]).toString('latin1');
  }

  /** The peer's certificate, DER, or null (none sent, or no handshake yet). */
  peerCertificate(): Buffer | null {
    const o = openssl();
    const x = o.SSL_get1_peer_certificate(this.ssl);
    if (!x) return null;
    try {
      return derOf(x);
    } finally {
      o.X509_free(x);
    }
  }

  /** getpeercert()'s dict (as JSON-able values) or null. */
  peerCertificateDict(): CertDict | null {
    const o = openssl();
    const x = o.SSL_get1_peer_certificate(this.ssl);
    if (!x) return null;
    try {
      return decodeCertificate(x);
    } finally {
      o.X509_free(x);
    }
  }
}


// ----------------------------------------------------------- certificates

function withMemBio(fill: (bio: Ptr) => unknown): Buffer {
  const o = openssl();
  const bio = o.BIO_new(o.BIO_s_mem());
  try {
    fill(bio);
    const n = o.BIO_ctrl_pending(bio);
    const buf = Buffer.alloc(Number(n));
    if (n > 0) o.BIO_read(bio, buf, buf.length);
    return buf;
  } finally {
    o.BIO_free(bio);
  }
}

function derOf(x: Ptr): Buffer {
  return withMemBio((bio) => openssl().i2d_X509_bio(bio, x));
}

/** The certificate DER bytes in `der` decoded as getpeercert() does (ssl._ssl._test_decode_cert). */
export function decodeDer(der: Buffer): CertDict | null {
  const o = openssl();
  const bio = o.BIO_new_mem_buf(der, der.length);
  try {
    const x = o.d2i_X509_bio(bio, null);
    if (!x) return null;
    try {
      return decodeCertificate(x);
    } finally {
      o.X509_free(x);
    }
  } finally {
    o.BIO_free(bio);
  }
}

/** An X509_NAME as CPython's tuple of RDNs, each a tuple of (name, value). */
type NameTuple = [string, string][][];

/** getpeercert()'s dict: lists where CPython has tuples (the Python side makes them tuples). */
export interface CertDict {
  subject: NameTuple;
  issuer: NameTuple;
  version: number;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  subjectAltName?: [string, string | NameTuple][];
  OCSP?: string[];
  caIssuers?: string[];
  crlDistributionPoints?: string[];
}

function objText(obj: Ptr): string {
  const buf = Buffer.alloc(256);
  const n = openssl().OBJ_obj2txt(buf, buf.length, obj, 0);
  return buf.toString('latin1', 0, Math.max(0, Math.min(n, buf.length - 1)));
}

function asn1Utf8(s: Ptr): string {
  const o = openssl();
  const out: [Ptr] = [null];
  const n = o.ASN1_STRING_to_UTF8(out, s);
  if (n < 0 || !out[0]) return '';
  try {
    return bytesAt(out[0], n).toString('utf8');
  } finally {
    o.CRYPTO_free(out[0], 'tls.ts', 0);
  }
}

function asn1Bytes(s: Ptr): Buffer {
  const o = openssl();
  return bytesAt(o.ASN1_STRING_get0_data(s), o.ASN1_STRING_length(s));
}

function decodeName(name: Ptr): NameTuple {
  const o = openssl();
  const rdns: NameTuple = [];
  let lastSet = -1;
  for (let i = 0, n = o.X509_NAME_entry_count(name); i < n; i++) {
    const entry = o.X509_NAME_get_entry(name, i);
    const set = o.X509_NAME_ENTRY_set(entry);
    if (set !== lastSet || rdns.length === 0) rdns.push([]);
    lastSet = set;
    rdns[rdns.length - 1]!.push([objText(o.X509_NAME_ENTRY_get_object(entry)), asn1Utf8(o.X509_NAME_ENTRY_get_data(entry))]);
  }
  return rdns;
}

/** One GENERAL_NAME ({int type; union d}) as CPython's _get_peer_alt_names words it. */
function decodeGeneralName(gn: Ptr): [string, string | NameTuple] {
  const type = peekInt(gn, 0);
  const d = peekPtr(gn, 8);
  switch (type) {
    case 1:
      return ['email', asn1Bytes(d).toString('latin1')];
    case 2:
      return ['DNS', asn1Bytes(d).toString('latin1')];
    case 4:
      return ['DirName', decodeName(d)];
    case 6:
      return ['URI', asn1Bytes(d).toString('latin1')];
    case 7: {
      const ip = asn1Bytes(d);
      if (ip.length === 4) return ['IP Address', Array.from(ip).join('.')];
      if (ip.length === 16) {
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i).toString(16).toUpperCase());
        return ['IP Address', groups.join(':')];
      }
      return ['IP Address', '<invalid>'];
    }
    case 8:
      return ['Registered ID', objText(d)];
    case 0:
      return ['othername', '<unsupported>'];
    case 3:
      return ['X400Name', '<unsupported>'];
    case 5:
      return ['EdiPartyName', '<unsupported>'];
    default:
      return ['othername', '<unsupported>'];
  }
}

function decodeCertificate(x: Ptr): CertDict {
  const o = openssl();
  const cert: CertDict = {
    subject: decodeName(o.X509_get_subject_name(x)),
    issuer: decodeName(o.X509_get_issuer_name(x)),
    version: o.X509_get_version(x) + 1,
    serialNumber: withMemBio((bio) => o.i2a_ASN1_INTEGER(bio, o.X509_get_serialNumber(x))).toString('latin1'),
    notBefore: withMemBio((bio) => o.ASN1_TIME_print(bio, o.X509_get0_notBefore(x))).toString('latin1'),
    notAfter: withMemBio((bio) => o.ASN1_TIME_print(bio, o.X509_get0_notAfter(x))).toString('latin1'),
  };
  const names = o.X509_get_ext_d2i(x, NID_subject_alt_name, null, null);
  if (names) {
    try {
      const alt: CertDict['subjectAltName'] = [];
      for (let i = 0, n = o.OPENSSL_sk_num(names); i < n; i++) alt.push(decodeGeneralName(o.OPENSSL_sk_value(names, i)));
      cert.subjectAltName = alt;
    } finally {
      o.GENERAL_NAMES_free(names);
    }
  }
  // Authority information access: ACCESS_DESCRIPTION {ASN1_OBJECT *method; GENERAL_NAME *location}.
  const aia = o.X509_get_ext_d2i(x, NID_info_access, null, null);
  if (aia) {
    try {
      for (let i = 0, n = o.OPENSSL_sk_num(aia); i < n; i++) {
        const ad = o.OPENSSL_sk_value(aia, i);
        const method = o.OBJ_obj2nid(peekPtr(ad, 0));
        const location = peekPtr(ad, 8);
        if (peekInt(location, 0) !== 6 /* GEN_URI */) continue;
        const uri = asn1Bytes(peekPtr(location, 8)).toString('latin1');
        if (method === NID_ad_OCSP) (cert.OCSP ??= []).push(uri);
        else if (method === NID_ad_ca_issuers) (cert.caIssuers ??= []).push(uri);
      }
    } finally {
      o.AUTHORITY_INFO_ACCESS_free(aia);
    }
  }
  // CRL distribution points: DIST_POINT {DIST_POINT_NAME *distpoint; ...},
  // DIST_POINT_NAME {int type; GENERAL_NAMES *fullname}: the URIs of full names.
  const dps = o.X509_get_ext_d2i(x, NID_crl_distribution_points, null, null);
  if (dps) {
    try {
      for (let i = 0, n = o.OPENSSL_sk_num(dps); i < n; i++) {
        const dpn = peekPtr(o.OPENSSL_sk_value(dps, i), 0);
        if (!dpn || peekInt(dpn, 0) !== 0) continue;
        const full = peekPtr(dpn, 8);
        for (let j = 0, m = o.OPENSSL_sk_num(full); j < m; j++) {
          const gn = o.OPENSSL_sk_value(full, j);
          if (peekInt(gn, 0) === 6) (cert.crlDistributionPoints ??= []).push(asn1Bytes(peekPtr(gn, 8)).toString('latin1'));
        }
      }
    } finally {
      o.CRL_DIST_POINTS_free(dps);
    }
  }
  return cert;
}
