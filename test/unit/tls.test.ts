// tlsServerOptions, checkTlsFiles and clientCertAcceptable: Gunicorn's SSL
// settings (sock.py ssl_context: create_default_context(CLIENT_AUTH, cafile),
// load_cert_chain, verify_mode, set_ciphers) as node:tls options.

import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/config/validators.js';
import {
  PYTHON_DEFAULT_CIPHERS,
  checkTlsFiles,
  cipherList,
  clientCertAcceptable,
  clientCertRefusal,
  sslErrorText,
  tlsServerOptions,
  type TlsSettings,
} from '../../src/worker/front-door/tls.js';
import { makePki } from '../helpers/pki.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-tls-unit-'));
const file = (name: string) => path.join(tmp, name);

let pkiMade = false;
function pki(): void {
  if (pkiMade) return;
  makePki(tmp);
  pkiMade = true;
}

function settings(over: Partial<TlsSettings> = {}): TlsSettings {
  pki();
  return { certfile: file('server.pem'), keyfile: file('server.key'), ca_certs: null, cert_reqs: 0, ciphers: null, ...over };
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as Error).message;
  }
  assert.unreachable('expected a ConfigError');
  return '';
}

test('no certfile (and no keyfile): null, plain HTTP', () => {
  assert.is(tlsServerOptions({ certfile: null, keyfile: null, ca_certs: null, cert_reqs: 0, ciphers: null }), null);
});

test('a keyfile without a certfile is a ConfigError, not plain HTTP (Gunicorn: is_ssl = certfile or keyfile)', () => {
  const msg = configError(() => tlsServerOptions({ certfile: null, keyfile: '/k.pem', ca_certs: null, cert_reqs: 0, ciphers: null }));
  assert.is(msg, 'keyfile "/k.pem" is set but certfile is not');
});

test('certfile and keyfile are read into cert and key', () => {
  const o = tlsServerOptions(settings())!;
  assert.equal(o.cert, fs.readFileSync(file('server.pem')));
  assert.equal(o.key, fs.readFileSync(file('server.key')));
});

test('no keyfile: the key is read from the certfile, as load_cert_chain(certfile, None) does', () => {
  const o = tlsServerOptions(settings({ certfile: file('combined.pem'), keyfile: null }))!;
  assert.equal(o.key, fs.readFileSync(file('combined.pem')));
  assert.equal(o.cert, fs.readFileSync(file('combined.pem')));
});

test('cert_reqs 0 (CERT_NONE): no client certificate requested', () => {
  const o = tlsServerOptions(settings({ cert_reqs: 0 }))!;
  assert.is(o.requestCert, false);
  assert.is(o.rejectUnauthorized, false);
});

test('cert_reqs 1 (CERT_OPTIONAL): requested, not required; clientCertAcceptable decides', () => {
  const o = tlsServerOptions(settings({ cert_reqs: 1 }))!;
  assert.is(o.requestCert, true);
  assert.is(o.rejectUnauthorized, false);
});

test('cert_reqs 2 (CERT_REQUIRED): requested and verified by node', () => {
  const o = tlsServerOptions(settings({ cert_reqs: 2 }))!;
  assert.is(o.requestCert, true);
  assert.is(o.rejectUnauthorized, true);
});

test('cert_reqs beyond 2 is refused as Python refuses verify_mode = 3', () => {
  assert.match(configError(() => tlsServerOptions(settings({ cert_reqs: 3 }))), 'invalid value for verify_mode');
});

test('ca_certs is read into ca; without it the trust store is empty (a CLIENT_AUTH context loads no system roots)', () => {
  assert.equal(tlsServerOptions(settings({ ca_certs: file('ca.pem') }))!.ca, fs.readFileSync(file('ca.pem')));
  assert.equal(tlsServerOptions(settings())!.ca, []);
});

test('a ca_certs file without a certificate is refused, as load_verify_locations does', () => {
  const msg = configError(() => tlsServerOptions(settings({ ca_certs: file('server.key') })));
  assert.is(msg, `ca_certs "${file('server.key')}": no certificate or crl found`);
});

test('ciphers: Python ssl default list when unset or empty (Gunicorn tests `if conf.ciphers`)', () => {
  assert.is(tlsServerOptions(settings())!.ciphers, PYTHON_DEFAULT_CIPHERS);
  assert.is(cipherList(''), PYTHON_DEFAULT_CIPHERS);
});

test('ciphers: an OpenSSL list is passed through; TLS 1.3 names are dropped (set_ciphers cannot set them)', () => {
  assert.is(tlsServerOptions(settings({ ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }))!.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.is(cipherList('TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256'), 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.is(cipherList('HIGH, !aNULL'), 'HIGH:!aNULL');
});

test('ciphers that select nothing: "No cipher can be selected."', () => {
  assert.is(configError(() => tlsServerOptions(settings({ ciphers: 'NOPE' }))), 'ciphers "NOPE": No cipher can be selected.');
  assert.is(configError(() => cipherList('TLS_AES_128_GCM_SHA256')), 'ciphers "TLS_AES_128_GCM_SHA256": No cipher can be selected.');
});

test('Python context defaults: server cipher preference, TLS 1.2 minimum', () => {
  const o = tlsServerOptions(settings())!;
  assert.is(o.honorCipherOrder, true);
  assert.is(o.minVersion, 'TLSv1.2');
});

test('a key that does not match the certificate is a ConfigError naming the files', () => {
  const msg = configError(() => tlsServerOptions(settings({ keyfile: file('client.key') })));
  assert.match(msg, `certfile "${file('server.pem')}", keyfile "${file('client.key')}"`);
  assert.match(msg, 'key values mismatch');
  assert.not.match(msg, '\n');
});

test('an unreadable certfile is a ConfigError naming it', () => {
  assert.is(configError(() => tlsServerOptions(settings({ certfile: tmp }))), `certfile "${tmp}" cannot be read: EISDIR`);
});

test('checkTlsFiles: Gunicorn\'s messages for a missing certfile / keyfile', () => {
  pki();
  checkTlsFiles({ certfile: null, keyfile: null });
  checkTlsFiles({ certfile: file('server.pem'), keyfile: file('server.key') });
  checkTlsFiles({ certfile: file('combined.pem'), keyfile: null });
  assert.is(configError(() => checkTlsFiles({ certfile: '/nope/cert.pem', keyfile: null })), 'certfile "/nope/cert.pem" does not exist');
  assert.is(configError(() => checkTlsFiles({ certfile: '/nope/cert.pem', keyfile: '/nope/key.pem' })), 'certfile "/nope/cert.pem" does not exist');
  assert.is(configError(() => checkTlsFiles({ certfile: file('server.pem'), keyfile: '/nope/key.pem' })), 'keyfile "/nope/key.pem" does not exist');
  assert.is(configError(() => checkTlsFiles({ certfile: null, keyfile: file('server.key') })), `keyfile "${file('server.key')}" is set but certfile is not`);
});

/** Connects to a tls.Server built from the options and reports what clientCertAcceptable said, or the handshake error. */
async function verdict(s: TlsSettings, client: 'none' | 'client' | 'rogue'): Promise<boolean | string> {
  const server = tls.createServer(tlsServerOptions(s)!);
  const seen = new Promise<boolean | string>((resolve) => {
    server.on('secureConnection', (sock) => {
      resolve(clientCertAcceptable(sock, s));
      sock.end('x');
    });
    server.on('tlsClientError', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const creds = client === 'none' ? {} : { cert: fs.readFileSync(file(`${client}.pem`)), key: fs.readFileSync(file(`${client}.key`)) };
  const outcome = await new Promise<boolean | string>((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(file('ca.pem')), ...creds });
    c.on('data', () => undefined);
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    c.on('close', () => seen.then(resolve));
  });
  server.close();
  return outcome;
}

test('clientCertAcceptable with cert_reqs 1: no certificate or a verified one passes, an unverified one does not', async () => {
  const s = settings({ cert_reqs: 1, ca_certs: file('ca.pem') });
  assert.is(await verdict(s, 'none'), true);
  assert.is(await verdict(s, 'client'), true);
  assert.is(await verdict(s, 'rogue'), false);
});

test('clientCertAcceptable with cert_reqs 0: a certificate is not even asked for', async () => {
  assert.is(await verdict(settings({ cert_reqs: 0 }), 'rogue'), true);
});

test('cert_reqs 2: node refuses the handshake without a verified certificate; with one, acceptable', async () => {
  const s = settings({ cert_reqs: 2, ca_certs: file('ca.pem') });
  assert.type(await verdict(s, 'none'), 'string');
  assert.type(await verdict(s, 'rogue'), 'string');
  assert.is(await verdict(s, 'client'), true);
});

test('cert_reqs 2 without ca_certs: no trust anchor, so no client certificate verifies', async () => {
  assert.type(await verdict(settings({ cert_reqs: 2 }), 'client'), 'string');
});

test('sslErrorText: a failed handshake worded as Python\'s SSLError; a vanished client is not a warning', () => {
  const e = (code: string, reason?: string) => Object.assign(new Error('x'), { code, reason });
  assert.is(sslErrorText(e('ERR_SSL_HTTP_REQUEST', 'http request')), '[SSL: HTTP_REQUEST] http request');
  assert.is(
    sslErrorText(e('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'peer did not return a certificate')),
    '[SSL: PEER_DID_NOT_RETURN_A_CERTIFICATE] peer did not return a certificate',
  );
  assert.is(sslErrorText(e('ECONNRESET')), null);
});

test('clientCertRefusal: Python\'s CERTIFICATE_VERIFY_FAILED text for a refused client certificate', async () => {
  const s = settings({ cert_reqs: 1, ca_certs: file('ca.pem') });
  const server = tls.createServer(tlsServerOptions(s)!);
  const text = new Promise<string>((resolve) =>
    server.on('secureConnection', (sock) => {
      resolve(clientCertRefusal(sock));
      sock.destroy();
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c = tls.connect({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    ca: fs.readFileSync(file('ca.pem')),
    cert: fs.readFileSync(file('rogue.pem')),
    key: fs.readFileSync(file('rogue.key')),
  });
  c.on('error', () => undefined);
  assert.match(await text, /^\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: unable to (verify the first certificate|get local issuer certificate)$/);
  c.destroy();
  server.close();
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
