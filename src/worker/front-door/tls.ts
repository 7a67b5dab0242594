// TLS for the front door: Gunicorn's SSL settings mapped onto node:tls.
//
// Gunicorn (sock.py ssl_context) builds, per connection,
//   ssl.create_default_context(Purpose.CLIENT_AUTH, cafile=ca_certs)
//   .load_cert_chain(certfile, keyfile); .verify_mode = cert_reqs; .set_ciphers(ciphers) if ciphers
// so the options below reproduce what that Python context does, not node's defaults.
// ssl_version is ignored (Gunicorn 21+), do_handshake_on_connect has no
// counterpart (node always handshakes on connect), suppress_ragged_eofs keeps
// its default (node treats a close without close_notify as EOF).

import fs from 'node:fs';
import tls from 'node:tls';
import type { Settings } from '../../config/registry.js';
import { ConfigError } from '../../config/validators.js';

export type TlsSettings = Pick<Settings, 'certfile' | 'keyfile' | 'ca_certs' | 'cert_reqs' | 'ciphers'>;

/** Python's ssl.CERT_NONE / CERT_OPTIONAL / CERT_REQUIRED. */
const CERT_NONE = 0;
const CERT_OPTIONAL = 1;
const CERT_REQUIRED = 2;

/**
 * CPython's own cipher list (Modules/_ssl.c PY_SSL_DEFAULT_CIPHER_STRING, 3.10+): what an
 * SSLContext uses when --ciphers is not given. TLS 1.3 suites are configured apart, in both.
 */
export const PYTHON_DEFAULT_CIPHERS =
  '@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM';

/**
 * The cipher string node gets for --ciphers. Python's set_ciphers() hands the list to
 * SSL_CTX_set_cipher_list, which cannot name TLS 1.3 suites (they stay at OpenSSL's
 * defaults); node would read TLS_* entries as TLS 1.3 suites, so they are dropped here.
 */
export function cipherList(ciphers: string | null): string {
  // Gunicorn tests `if conf.ciphers:`, so an empty string means the default.
  if (!ciphers) return PYTHON_DEFAULT_CIPHERS;
  const kept = ciphers.split(/[:, ]+/).filter((c) => c !== '' && !c.startsWith('TLS_'));
  if (kept.length === 0) throw new ConfigError(`ciphers "${ciphers}": No cipher can be selected.`);
  return kept.join(':');
}

/** Python's verify_mode setter accepts only the three CERT_* values. */
function verifyMode(certReqs: number): number {
  if (certReqs !== CERT_NONE && certReqs !== CERT_OPTIONAL && certReqs !== CERT_REQUIRED) {
    throw new ConfigError(`cert_reqs ${certReqs}: invalid value for verify_mode (0, 1 or 2)`);
  }
  return certReqs;
}

function readSetting(name: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new ConfigError(`${name} "${file}" cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** OpenSSL's reason without its "error:0A0000B9:SSL routines::" prefix. */
function reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/^error:[0-9A-Fa-f]+:[^:]*:[^:]*:/, '');
}

/** Node TLS server options for the settings, or null when no certfile is set (plain HTTP). Reads the files (sync: worker start-up). */
export function tlsServerOptions(s: TlsSettings): tls.TlsOptions | null {
  if (!s.certfile) {
    // Gunicorn's is_ssl is `certfile or keyfile`: a keyfile alone is not plain HTTP.
    if (s.keyfile) throw new ConfigError(`keyfile "${s.keyfile}" is set but certfile is not`);
    return null;
  }
  const mode = verifyMode(s.cert_reqs);
  const cert = readSetting('certfile', s.certfile);
  // load_cert_chain(certfile, keyfile=None) takes the key from the certfile.
  const key = s.keyfile ? readSetting('keyfile', s.keyfile) : cert;
  let ca: Buffer | Buffer[];
  if (s.ca_certs) {
    ca = readSetting('ca_certs', s.ca_certs);
    // load_verify_locations(cafile) refuses a file with no PEM certificate; node would ignore it.
    if (!/-----BEGIN (TRUSTED |X509 )?CERTIFICATE-----|-----BEGIN X509 CRL-----/.test(ca.toString('latin1'))) {
      throw new ConfigError(`ca_certs "${s.ca_certs}": no certificate or crl found`);
    }
  } else {
    // A CLIENT_AUTH context loads no system roots (its verify_mode is still CERT_NONE when
    // create_default_context would), so without ca_certs no client certificate verifies.
    ca = [];
  }
  const options: tls.TlsOptions = {
    cert,
    key,
    ca,
    ciphers: cipherList(s.ciphers),
    // Python's SSLContext sets OP_CIPHER_SERVER_PREFERENCE and a TLS 1.2 minimum.
    honorCipherOrder: true,
    minVersion: 'TLSv1.2',
    requestCert: mode !== CERT_NONE,
    rejectUnauthorized: mode === CERT_REQUIRED,
  };
  try {
    tls.createSecureContext(options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_SSL_NO_CIPHER_MATCH') {
      throw new ConfigError(`ciphers "${s.ciphers ?? ''}": No cipher can be selected.`);
    }
    const files = `certfile "${s.certfile}"` + (s.keyfile ? `, keyfile "${s.keyfile}"` : '');
    throw new ConfigError(`cannot load the TLS certificate chain (${files}): ${reason(e)}`);
  }
  return options;
}

/** Gunicorn's start-up check (gunicorn/sock.py create_sockets): certfile/keyfile must exist. Throws ConfigError (src/config/validators.ts) with a one-line message naming the file, e.g. 'certfile "/x" does not exist'. */
export function checkTlsFiles(s: Pick<Settings, 'certfile' | 'keyfile'>): void {
  if (s.certfile && !fs.existsSync(s.certfile)) throw new ConfigError(`certfile "${s.certfile}" does not exist`);
  if (s.keyfile && !fs.existsSync(s.keyfile)) throw new ConfigError(`keyfile "${s.keyfile}" does not exist`);
  // Gunicorn would start and then fail every connection (load_cert_chain(None)); say so up front.
  if (s.keyfile && !s.certfile) throw new ConfigError(`keyfile "${s.keyfile}" is set but certfile is not`);
}

/**
 * How Python words a failed handshake (str(ssl.SSLError), less CPython's "(_ssl.c:LINE)"),
 * for Gunicorn's warning "Invalid request from ip=ADDR: ERROR" (workers/sync.py handle ->
 * base.py handle_error). Give it a 'tlsClientError' error. Null when the client just went
 * away (EOF, reset): Gunicorn logs that at debug only.
 */
export function sslErrorText(err: Error & { code?: string; reason?: string }): string | null {
  if (!err.code?.startsWith('ERR_SSL_')) return null;
  return `[SSL: ${err.code.slice('ERR_SSL_'.length)}] ${err.reason ?? err.message}`;
}

/** X509_verify_cert_error_string() for the codes node puts in authorizationError. */
const VERIFY_ERRORS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
};

/** The SSLError text Python gives when a client certificate fails verification (for the same warning). */
export function clientCertRefusal(sock: tls.TLSSocket): string {
  const code = String(sock.authorizationError ?? '');
  const why = VERIFY_ERRORS[code] ?? code.toLowerCase().replaceAll('_', ' ');
  return `[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${why}`;
}

/** Called on each 'secureConnection': false when the connection must be closed (cert_reqs=1 and the client presented a certificate that failed verification — Python's CERT_OPTIONAL fails the handshake then). */
export function clientCertAcceptable(sock: tls.TLSSocket, s: Pick<Settings, 'cert_reqs'>): boolean {
  if (s.cert_reqs === CERT_NONE) return true;
  if (sock.authorized) return true;
  // Node reports UNABLE_TO_GET_ISSUER_CERT also when no certificate came at all: look for one.
  if (s.cert_reqs === CERT_OPTIONAL) return sock.getPeerX509Certificate() === undefined;
  return false;
}
