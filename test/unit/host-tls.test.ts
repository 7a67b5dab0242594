// src/runtime/host/tls.ts: Node's OpenSSL driving a host socket descriptor
// (made here with the C library's socket/connect, O_NONBLOCK as the host
// layer's sockets are) against real node:tls servers in a child process,
// with a CA and certificates made by openssl.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostErrno, libc } from '../../src/runtime/host/libc.js';
import { FAILED, INTERRUPTED, PROTOCOL_TLS_CLIENT, TlsConnection, TlsContext, decodeDer } from '../../src/runtime/host/tls.js';
import { POLLOUT, pollHost, watchInterrupts } from '../../src/runtime/host/wait.js';
import { makePki } from '../helpers/pki.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-host-tls-'));
const file = (name: string) => path.join(tmp, name);

// The servers: `plain` echoes after a JSON line saying what it saw (SNI,
// ALPN, client certificate); `mtls` requires a client certificate from the
// CA; `silent` accepts TCP and never speaks TLS; `closing` ends the TLS session after its line.
const SERVERS = `
const tls = require('node:tls'), net = require('node:net'), fs = require('node:fs');
const d = process.argv[1], r = (f) => fs.readFileSync(d + '/' + f);
const base = { key: r('server.key'), cert: r('server.pem'), ca: r('ca.pem'), ALPNProtocols: ['h2', 'http/1.1'] };
const hello = (s) => s.write(JSON.stringify({ sni: s.servername || null, alpn: s.alpnProtocol || null,
  client: (s.getPeerCertificate() || {}).subject?.CN ?? null }) + '\\n');
const plain = tls.createServer(base, (s) => { hello(s); s.on('error', () => {}); s.pipe(s); });
const mtls = tls.createServer({ ...base, requestCert: true, rejectUnauthorized: true }, (s) => { hello(s); s.on('error', () => {}); s.pipe(s); });
// The TCP connection is ended under the TLS session: a TLS server's end() sends close_notify on newer Node (26).
const closing = net.createServer((raw) => {
  raw.on('error', () => {});
  const s = new tls.TLSSocket(raw, { isServer: true, secureContext: tls.createSecureContext(base) });
  s.on('error', () => {});
  s.once('secure', () => s.write(JSON.stringify({ sni: null, alpn: null, client: null }) + '\\n', () => raw.end()));
});
const silent = net.createServer((s) => s.on('error', () => {}));
for (const srv of [plain, mtls]) srv.on('tlsClientError', () => {});
let n = 0; const ports = {};
for (const [name, srv] of Object.entries({ plain, mtls, closing, silent }))
  srv.listen(0, '127.0.0.1', () => { ports[name] = srv.address().port; if (++n === 4) console.log(JSON.stringify(ports)); });
`;

let child: ChildProcess | null = null;
let ports: Record<string, number> | null = null;

async function servers(): Promise<Record<string, number>> {
  if (ports) return ports;
  makePki(tmp);
  child = spawn(process.execPath, ['-e', SERVERS, tmp], { stdio: ['ignore', 'pipe', 'inherit'] });
  ports = await new Promise<Record<string, number>>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (b: Buffer) => {
      out += b;
      if (out.includes('\n')) resolve(JSON.parse(out));
    });
    child!.on('exit', (code) => reject(new Error(`servers exited ${code}`)));
  });
  return ports;
}

/** A non-blocking host TCP socket connected to 127.0.0.1:port. */
function connect(port: number): number {
  const c = libc();
  const socket = c.func('int socket(int, int, int)') as (a: number, b: number, c: number) => number;
  const conn = c.func('int connect(int, const uint8_t *, int)') as (fd: number, a: Buffer, n: number) => number;
  const fd = socket(2 /* AF_INET */, 1 | 0o4000 /* SOCK_STREAM | SOCK_NONBLOCK */, 0);
  assert.ok(fd >= 0);
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(2, 0);
  addr.writeUInt16BE(port, 2);
  addr.set([127, 0, 0, 1], 4);
  if (conn(fd, addr, 16) !== 0) {
    assert.is(hostErrno(), 115 /* EINPROGRESS */);
    assert.is(pollHost([{ fd, events: POLLOUT, revents: 0 }], 2000), 1);
  }
  return fd;
}

const closeFd = (fd: number) => (libc().func('int close(int)') as (fd: number) => number)(fd);

function clientContext(): TlsContext {
  const ctx = new TlsContext(PROTOCOL_TLS_CLIENT);
  assert.is(ctx.loadVerifyLocations(file('ca.pem'), null), null);
  return ctx;
}

function readLine(conn: TlsConnection): string {
  const buf = new Uint8Array(4096);
  let text = '';
  while (!text.includes('\n')) {
    const n = conn.read(buf, 5000);
    assert.ok(n > 0, `read: ${n} ${JSON.stringify(conn.lastError)}`);
    text += Buffer.from(buf.subarray(0, n)).toString();
  }
  return text;
}

test('a verified handshake by name: SNI and ALPN reach the server, data echoes, the peer certificate decodes as getpeercert()', async () => {
  const { plain } = await servers();
  const ctx = clientContext();
  ctx.setAlpn(Buffer.from('\x08http/1.1'));
  const fd = connect(plain!);
  const conn = new TlsConnection(ctx, fd, false, 'localhost');
  assert.is(conn.handshake(5000), 0, JSON.stringify(conn.lastError));
  assert.equal(JSON.parse(readLine(conn)), { sni: 'localhost', alpn: 'http/1.1', client: null });
  assert.is(conn.write(Buffer.from('ping'), 5000), 4);
  const buf = new Uint8Array(16);
  let got = '';
  while (got.length < 4) got += Buffer.from(buf.subarray(0, conn.read(buf, 5000))).toString();
  assert.is(got, 'ping');
  assert.is(conn.version(), 'TLSv1.3');
  assert.is(conn.alpnSelected(), 'http/1.1');
  const [name, proto, bits] = conn.cipher()!;
  assert.match(name, /^TLS_/);
  assert.is(proto, 'TLSv1.3');
  assert.ok(bits >= 128);
  const cert = conn.peerCertificateDict()!;
  assert.equal(cert.subject, [[['commonName', '127.0.0.1']]]);
  assert.equal(cert.issuer, [[['commonName', 'nicorn test CA']]]);
  assert.equal(cert.subjectAltName, [
    ['IP Address', '127.0.0.1'],
    ['DNS', 'localhost'],
  ]);
  assert.is(cert.version, 3);
  assert.match(cert.notAfter, /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/);
  assert.match(cert.serialNumber, /^[0-9A-F]+$/);
  // The DER form decodes to the same dict.
  assert.equal(decodeDer(conn.peerCertificate()!), cert);
  assert.is(conn.shutdown(2000), 0);
  conn.free();
  closeFd(fd);
  ctx.free();
});

test('by address: no SNI is sent (RFC 6066), the certificate is checked against the IP', async () => {
  const { plain } = await servers();
  const ctx = clientContext();
  const fd = connect(plain!);
  const conn = new TlsConnection(ctx, fd, false, '127.0.0.1');
  assert.is(conn.handshake(5000), 0, JSON.stringify(conn.lastError));
  assert.is(JSON.parse(readLine(conn)).sni, null);
  conn.free();
  closeFd(fd);
});

test('an unknown CA and a name the certificate lacks fail as CPython words them', async () => {
  const { plain } = await servers();
  const other = new TlsContext(PROTOCOL_TLS_CLIENT);
  assert.is(other.loadVerifyLocations(file('other-ca.pem'), null), null);
  let fd = connect(plain!);
  let conn = new TlsConnection(other, fd, false, 'localhost');
  assert.is(conn.handshake(5000), FAILED);
  assert.equal(conn.lastError, {
    type: 'SSLCertVerificationError',
    errno: 1,
    // node's server sends its CA after its certificate: the chain ends in a self-signed certificate we do not trust.
    message: '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1029)',
    library: 'SSL',
    reason: 'CERTIFICATE_VERIFY_FAILED',
    verify_code: 19,
    verify_message: 'self-signed certificate in certificate chain',
  });
  conn.free();
  closeFd(fd);

  fd = connect(plain!);
  conn = new TlsConnection(clientContext(), fd, false, 'example.com');
  assert.is(conn.handshake(5000), FAILED);
  assert.is(conn.lastError!.verify_code, 62);
  assert.is(
    conn.lastError!.message,
    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'example.com'. (_ssl.c:1029)",
  );
  conn.free();
  closeFd(fd);
});

test('a client certificate the server requires: refused without, accepted with (key password too)', async () => {
  const { mtls } = await servers();
  let fd = connect(mtls!);
  let conn = new TlsConnection(clientContext(), fd, false, 'localhost');
  // TLS 1.3: the client's handshake ends before the server's verdict, which
  // arrives as an alert on the first read.
  const hs = conn.handshake(5000);
  const r = hs === 0 ? conn.read(new Uint8Array(64), 5000) : hs;
  assert.is(r, FAILED);
  assert.is(conn.lastError!.type, 'SSLError');
  assert.match(conn.lastError!.message, /^\[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED\] tlsv13 alert certificate required \(_ssl\.c:\d+\)$/);
  conn.free();
  closeFd(fd);

  execOpenssl('rsa', '-in', 'client.key', '-aes256', '-passout', 'pass:s3cret', '-out', 'client-enc.key');
  const ctx = clientContext();
  const wrong = ctx.loadCertChain(file('client.pem'), file('client-enc.key'), Buffer.from('nope'));
  assert.is(wrong?.type, 'SSLError');
  assert.is(ctx.loadCertChain(file('client.pem'), file('client-enc.key'), Buffer.from('s3cret')), null);
  fd = connect(mtls!);
  conn = new TlsConnection(ctx, fd, false, 'localhost');
  assert.is(conn.handshake(5000), 0, JSON.stringify(conn.lastError));
  assert.is(JSON.parse(readLine(conn)).client, 'client');
  conn.free();
  closeFd(fd);
});

test('timeouts, non-blocking reads and an end without close_notify', async () => {
  const { silent, closing } = await servers();
  let fd = connect(silent!);
  let conn = new TlsConnection(clientContext(), fd, false, 'localhost');
  const t0 = performance.now();
  assert.is(conn.handshake(200), FAILED);
  const took = performance.now() - t0;
  assert.ok(took >= 190 && took < 1000, `took ${took} ms`);
  assert.equal(conn.lastError, { type: 'TimeoutError', errno: null, message: '_ssl.c:1029: The handshake operation timed out' });
  conn.free();
  closeFd(fd);

  fd = connect(closing!);
  conn = new TlsConnection(clientContext(), fd, false, 'localhost');
  assert.is(conn.handshake(5000), 0);
  readLine(conn);
  // The server has ended without close_notify: OpenSSL 3 says UNEXPECTED_EOF_WHILE_READING, which
  // _ssl.c raises as SSLEOFError (SSLSocket.read turns it into b'' with suppress_ragged_eofs).
  assert.is(conn.read(new Uint8Array(64), 5000), FAILED);
  assert.equal(conn.lastError, {
    type: 'SSLEOFError',
    errno: 8,
    message: '[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:2547)',
    library: 'SSL',
    reason: 'UNEXPECTED_EOF_WHILE_READING',
  });
  conn.free();
  closeFd(fd);

  const { plain } = await servers();
  fd = connect(plain!);
  conn = new TlsConnection(clientContext(), fd, false, 'localhost');
  assert.is(conn.handshake(5000), 0);
  readLine(conn);
  assert.is(conn.read(new Uint8Array(64), 0), FAILED);
  assert.is(conn.lastError!.type, 'SSLWantReadError');
  assert.is(conn.lastError!.errno, 2);
  conn.free();
  closeFd(fd);
});

test('a wait gives way to a pending interrupt (--timeout, INT): INTERRUPTED within a poll slice, and resumes after', async () => {
  const { silent } = await servers();
  const buffer = new Int32Array(new SharedArrayBuffer(4));
  watchInterrupts(buffer);
  const fd = connect(silent!);
  const conn = new TlsConnection(clientContext(), fd, false, 'localhost');
  Atomics.store(buffer, 0, 2);
  const t0 = performance.now();
  assert.is(conn.handshake(-1), INTERRUPTED);
  assert.ok(performance.now() - t0 < 100);
  // Python handled the signal (the buffer is cleared): the same handshake waits again, up to its timeout.
  Atomics.store(buffer, 0, 0);
  assert.is(conn.handshake(150), FAILED);
  assert.is(conn.lastError!.type, 'TimeoutError');
  conn.free();
  closeFd(fd);
});

test('files: a missing CA file is the OSError open() raises; a file without certificates is an SSLError', () => {
  const ctx = new TlsContext(PROTOCOL_TLS_CLIENT);
  assert.equal(ctx.loadVerifyLocations(file('missing.pem'), null), { type: 'OSError', errno: 'ENOENT', message: '' });
  fs.writeFileSync(file('empty.pem'), 'nothing here\n');
  const err = ctx.loadVerifyLocations(file('empty.pem'), null)!;
  assert.is(err.type, 'SSLError');
  assert.match(err.message, /^\[X509: NO_CERTIFICATE_OR_CRL_FOUND\] no certificate or crl found \(_ssl\.c:\d+\)$/);
  assert.is(ctx.loadVerifyData(fs.readFileSync(file('ca.pem')), true), null);
  assert.equal(ctx.storeStats(), { x509: 1, crl: 0, x509_ca: 1 });
  assert.is(ctx.setCiphers('NOT-A-CIPHER')?.message, 'No cipher can be selected.');
  ctx.free();
});

function execOpenssl(...args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: tmp, stdio: 'pipe' });
}

test.after(() => {
  if (child?.pid) process.kill(child.pid);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test.run();
