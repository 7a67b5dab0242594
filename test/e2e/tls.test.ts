// TLS on the front door end to end: Gunicorn's --certfile, --keyfile,
// --ca-certs, --cert-reqs, --ciphers against the real CLI, probed with
// node's https client. Two servers: CERT_OPTIONAL with a cipher list, and
// CERT_REQUIRED with key and certificate in one file.

import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { raw } from '../helpers/http.js';
import { makePki } from '../helpers/pki.js';
import { FIXTURES, eventually, runCli, runLimited, startServer, type Server } from '../helpers/server.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-tls-'));
const file = (name: string) => path.join(tmp, name);
const read = (name: string) => fs.readFileSync(file(name));
const APP = ['--chdir', path.join(FIXTURES, 'wsgi'), 'environ_echo'];

interface Reply {
  status?: number;
  body?: string;
  cipher?: string;
  protocol?: string | null;
  /** Set when the handshake or the request failed. */
  error?: string;
}

/** GET over https, trusting only the test CA; `client` presents that certificate. No agent: no session reuse between cases. */
function httpsGet(port: number, target: string, client?: 'client' | 'rogue', extra: tls.ConnectionOptions & { headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const creds = client ? { cert: read(`${client}.pem`), key: read(`${client}.key`) } : {};
    const req = https.get({ host: '127.0.0.1', port, path: target, ca: read('ca.pem'), agent: false, ...creds, ...extra }, (res) => {
      const sock = res.socket as tls.TLSSocket;
      const cipher = sock.getCipher().name;
      const protocol = sock.getProtocol();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, cipher, protocol }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

const env = (r: Reply) => JSON.parse(r.body ?? '{}') as Record<string, unknown>;

const servers: { optional?: Server; required?: Server } = {};

test('boot: a CERT_OPTIONAL server with --ciphers and a CERT_REQUIRED one with key and certificate in one file', async () => {
  makePki(tmp);
  const booted = await runLimited({
    optional: () =>
      startServer([
        '--certfile', file('server.pem'), '--keyfile', file('server.key'),
        '--ca-certs', file('ca.pem'), '--cert-reqs', '1',
        '--ciphers', 'ECDHE-RSA-AES128-GCM-SHA256',
        // Accepted and without effect, as in Gunicorn 21+ (ssl_version) and on node (always handshakes).
        '--ssl-version', '2', '--do-handshake-on-connect',
        '--access-logfile', '-',
        ...APP,
      ]),
    required: () =>
      startServer(['--certfile', file('combined.pem'), '--ca-certs', file('ca.pem'), '--cert-reqs', '2', ...APP]),
  });
  Object.assign(servers, booted);
});

test('a GET over TLS reaches the app, with wsgi.url_scheme https', async () => {
  const r = await httpsGet(servers.optional!.port, '/over-tls?x=1');
  assert.is(r.error, undefined);
  assert.is(r.status, 200);
  const e = env(r);
  assert.is(e['wsgi.url_scheme'], 'https');
  assert.is(e.PATH_INFO, '/over-tls');
  assert.is(e.QUERY_STRING, 'x=1');
  assert.is(e.SERVER_PORT, String(servers.optional!.port));
  // The listener's address, as Gunicorn's listener.getsockname(), not the Host header's.
  const other = env(await httpsGet(servers.optional!.port, '/', undefined, { headers: { host: 'example.com:9999' }, servername: 'localhost', checkServerIdentity: () => undefined }));
  assert.equal([other.SERVER_NAME, other.SERVER_PORT], ['127.0.0.1', String(servers.optional!.port)]);
});

test('over TLS too, what llhttp refuses and Gunicorn takes is served by the front door\'s own parser, and the connection goes on', async () => {
  const { connect } = await import('node:tls');
  const sock = connect({ host: '127.0.0.1', port: servers.optional!.port, ca: read('ca.pem'), servername: 'localhost', checkServerIdentity: () => undefined });
  let text = '';
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => (text += d));
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', reject);
  });
  const wait = (n: number) =>
    eventually(() => (text.match(/HTTP\/1\.1 200 OK\r\n/g) ?? []).length >= n && text.trimEnd().endsWith('}'), 5000);
  sock.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n-BLARGH /blargh HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(await wait(2), `two answers: ${text}`);
  sock.write('POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5 ; a=b\r\nhello\r\n0\r\n\r\n');
  assert.ok(await wait(3), `three answers: ${text}`);
  sock.destroy();
  const seen = text
    .split('HTTP/1.1 200 OK\r\n')
    .slice(1)
    .map((r) => JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4)) as Record<string, string>)
    .map((e) => `${e.REQUEST_METHOD} ${e.PATH_INFO}`);
  assert.equal(seen, ['GET /first', '-BLARGH /blargh', 'POST /chunks']);
});

test('the arbiter announces the listener as https://, as Gunicorn does for an SSL bind', () => {
  assert.match(servers.optional!.log(), `Listening at: https://127.0.0.1:${servers.optional!.port}`);
});

test('plain HTTP to the TLS port never reaches the app', async () => {
  const srv = servers.optional!;
  const r = await raw(srv.port, 'GET /plain-http-probe HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(r.closedByServer, 'the connection is closed');
  assert.not.match(r.text, /^HTTP\/1\.[01] 200/);
  // The access log would name the path had the app been called.
  assert.ok(await eventually(() => srv.log().includes('/over-tls'), 3000), 'the access log is on');
  assert.not.match(srv.log(), '/plain-http-probe');
});

test('--ciphers restricts what a TLS 1.2 client can negotiate', async () => {
  const port = servers.optional!.port;
  const ok = await httpsGet(port, '/', undefined, { maxVersion: 'TLSv1.2' });
  assert.is(ok.status, 200);
  assert.is(ok.protocol, 'TLSv1.2');
  assert.is(ok.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
  const refused = await httpsGet(port, '/', undefined, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' });
  assert.ok(refused.error, 'no shared cipher: the handshake fails');
});

test('--ciphers leaves TLS 1.3 suites alone (Python\'s set_ciphers cannot name them)', async () => {
  const r = await httpsGet(servers.optional!.port, '/');
  assert.is(r.status, 200);
  assert.is(r.protocol, 'TLSv1.3');
});

test('--cert-reqs 1: no client certificate is fine', async () => {
  const r = await httpsGet(servers.optional!.port, '/no-cert');
  assert.is(r.status, 200);
});

test('--cert-reqs 1: a client certificate from --ca-certs is accepted', async () => {
  const r = await httpsGet(servers.optional!.port, '/good-cert', 'client');
  assert.is(r.status, 200);
});

test('--cert-reqs 1: a client certificate signed by another CA is refused, the app is not called', async () => {
  const srv = servers.optional!;
  const r = await httpsGet(srv.port, '/rogue-cert', 'rogue');
  assert.ok(r.error, `refused (got ${JSON.stringify(r)})`);
  assert.not.match(srv.log(), '/rogue-cert');
});

test('--cert-reqs 2: without a client certificate the handshake fails', async () => {
  const r = await httpsGet(servers.required!.port, '/');
  assert.ok(r.error, `refused (got ${JSON.stringify(r)})`);
});

test('--cert-reqs 2: a certificate signed by another CA fails too', async () => {
  const r = await httpsGet(servers.required!.port, '/', 'rogue');
  assert.ok(r.error, `refused (got ${JSON.stringify(r)})`);
});

test('--cert-reqs 2: with the client certificate it works; the key came from the certfile (no --keyfile)', async () => {
  const r = await httpsGet(servers.required!.port, '/', 'client');
  assert.is(r.error, undefined);
  assert.is(r.status, 200);
  assert.is(env(r)['wsgi.url_scheme'], 'https');
});

test('a failed handshake is logged as Gunicorn\'s warning, worded as Python\'s SSLError (workers/sync.py handle -> handle_error)', async () => {
  // Earlier cases made these: plain HTTP, a refused client certificate, no certificate where one is required.
  const optional = servers.optional!.log();
  assert.match(optional, '[WARNING] Invalid request from ip=127.0.0.1: [SSL: HTTP_REQUEST] http request');
  assert.match(optional, '[WARNING] Invalid request from ip=127.0.0.1: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ');
  assert.match(
    servers.required!.log(),
    '[WARNING] Invalid request from ip=127.0.0.1: [SSL: PEER_DID_NOT_RETURN_A_CERTIFICATE] peer did not return a certificate',
  );
});

test('a missing --certfile or --keyfile stops start-up with Gunicorn\'s one-line message', async () => {
  const missing = path.join(tmp, 'nope.pem');
  const checks = await runLimited({
    cert: () => runCli(['-b', '127.0.0.1:0', '--certfile', missing, ...APP], { timeoutMs: 30_000 }),
    key: () => runCli(['-b', '127.0.0.1:0', '--certfile', file('server.pem'), '--keyfile', missing, ...APP], { timeoutMs: 30_000 }),
  });
  for (const [which, run] of Object.entries(checks)) {
    assert.is.not(run.code, 0, `${which}: non-zero exit`);
    assert.match(run.stderr, `${which}file "${missing}" does not exist`);
    assert.not.match(run.stderr, 'Booting worker', `${which}: fails before any worker`);
  }
});

test.after(async () => {
  await Promise.all([servers.optional?.stop(), servers.required?.stop()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test.run();
