// The app's `ssl` module (python/nicorn/host/ssl_module.py) in one booted
// interpreter, as a worker has it after nicorn.host.install(): contexts on
// the host's OpenSSL, the host's CA store, errors as CPython raises them.
// Connections are tested end to end (test/e2e/ssl.test.ts) and, below the
// Python side, in host-tls.test.ts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PyodideInterface } from 'pyodide';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootPyodide } from '../../src/runtime/boot.js';
import { hostLayout } from '../../src/runtime/layout.js';
import { makePki } from '../helpers/pki.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-ssl-module-')));
let py: PyodideInterface | null = null;

/** Runs Python `code` in the shared interpreter; returns its `result`, through JSON. */
async function pyJson<T = unknown>(code: string): Promise<T> {
  if (!py) {
    makePki(tmp);
    py = await bootPyodide(hostLayout(tmp, []));
    // The defaults, not this machine's SSL_CERT_FILE.
    py.runPython('import json, os, sys\nfrom nicorn import host\nhost.install()\nos.environ.pop("SSL_CERT_FILE", None)\nos.environ.pop("SSL_CERT_DIR", None)');
  }
  py.runPython(code);
  return JSON.parse(py.runPython('json.dumps(result)') as string) as T;
}

const lit = (s: string) => JSON.stringify(s);

test('import ssl anywhere gets the host-backed module; asyncio keeps working with it', async () => {
  const r = await pyJson<[string, boolean, string, string, boolean]>(`
import ssl, asyncio.sslproto
result = [ssl.__file__.rsplit('/', 1)[-1], asyncio.sslproto.ssl.SSLContext is ssl.SSLContext, ssl.OPENSSL_VERSION, repr(ssl.TLSVersion.TLSv1_3), ssl.HAS_SNI and ssl.HAS_ALPN]`);
  assert.equal(r.slice(0, 2), ['ssl_module.py', true]);
  assert.match(r[2], /^OpenSSL 3\./);
  assert.is(r[3], '<TLSVersion.TLSv1_3: 772>');
  assert.is(r[4], true);
});

test('create_default_context: CPython 3.14 defaults and the host CA store', async () => {
  const r = await pyJson<Record<string, unknown>>(`
ctx = ssl.create_default_context()
result = {'protocol': repr(ctx.protocol), 'verify_mode': repr(ctx.verify_mode), 'check_hostname': ctx.check_hostname,
 'min': repr(ctx.minimum_version), 'options': int(ctx.options), 'strict': bool(ctx.verify_flags & ssl.VERIFY_X509_STRICT),
 'partial': bool(ctx.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN), 'cas': ctx.cert_store_stats()['x509_ca'],
 'paths': list(ssl.get_default_verify_paths())}`);
  assert.is(r.protocol, '<_SSLMethod.PROTOCOL_TLS_CLIENT: 16>');
  assert.is(r.verify_mode, '<VerifyMode.CERT_REQUIRED: 2>');
  assert.is(r.check_hostname, true);
  assert.is(r.min, '<TLSVersion.TLSv1_2: 771>');
  // CPython 3.11 on Debian's OpenSSL 3.0 says 0x82520050 for the same context.
  assert.is(r.options, 0x82520050);
  assert.ok(r.strict && r.partial);
  const paths = r.paths as (string | null)[];
  const bundle = paths[0];
  assert.ok(bundle && fs.existsSync(bundle), `the host's CA bundle: ${JSON.stringify(paths)}`);
  // Every certificate of the host's bundle is in the store.
  const inBundle = (fs.readFileSync(bundle!, 'latin1').match(/BEGIN CERTIFICATE/g) ?? []).length;
  assert.ok((r.cas as number) >= inBundle * 0.9 && inBundle > 50, `${r.cas} CAs loaded, ${inBundle} in ${bundle}`);
});

test('SSL_CERT_FILE set in os.environ is the default CA file', async () => {
  const r = await pyJson<[string, number]>(`
os_ = __import__('os'); os_.environ['SSL_CERT_FILE'] = ${lit(path.join(tmp, 'ca.pem'))}
os_.environ['SSL_CERT_DIR'] = ${lit(tmp)}
ctx = ssl.create_default_context(); del os_.environ['SSL_CERT_FILE'], os_.environ['SSL_CERT_DIR']
result = [ssl.get_default_verify_paths().openssl_cafile_env, ctx.cert_store_stats()['x509_ca']]`);
  assert.equal(r, ['SSL_CERT_FILE', 1]);
});

test('errors: classes, arguments and texts as CPython raises them', async () => {
  const r = await pyJson<string[][]>(`
out = []
def caught(fn):
    try:
        fn()
    except Exception as e:
        out.append([type(e).__name__, str(e), repr(getattr(e, 'errno', None)), str(getattr(e, 'reason', None))])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
caught(lambda: ctx.load_verify_locations(${lit(path.join(tmp, 'missing.pem'))}))
open(${lit(path.join(tmp, 'junk.pem'))}, 'w').write('junk')
caught(lambda: ctx.load_verify_locations(${lit(path.join(tmp, 'junk.pem'))}))
caught(lambda: ctx.set_ciphers('NOPE'))
caught(lambda: ctx.load_cert_chain(${lit(path.join(tmp, 'client.pem'))}, ${lit(path.join(tmp, 'server.key'))}))
caught(lambda: setattr(ctx, 'verify_mode', ssl.CERT_NONE))
result = out`);
  assert.equal(r[0]!.slice(0, 3), ['FileNotFoundError', '[Errno 44] No such file or directory', '44']);
  assert.equal(r[1]![0], 'SSLError');
  assert.is(r[1]![2], '136'); // the reason's number, as CPython 3.11 on this machine says
  assert.match(r[1]![1]!, /^\[X509: NO_CERTIFICATE_OR_CRL_FOUND\] no certificate or crl found \(_ssl\.c:\d+\)$/);
  assert.is(r[1]![3], 'NO_CERTIFICATE_OR_CRL_FOUND');
  // CPython's str() of it, verbatim: SSLError(msg) has no strerror, so str() shows args.
  assert.equal(r[2]!.slice(0, 2), ['SSLError', "('No cipher can be selected.',)"]);
  assert.equal(r[3]![0], 'SSLError');
  assert.match(r[3]![1]!, /^\[X509: KEY_VALUES_MISMATCH\] key values mismatch \(_ssl\.c:\d+\)$/);
  assert.equal(r[4]!.slice(0, 2), ['ValueError', 'Cannot set verify_mode to CERT_NONE when check_hostname is enabled.']);
});

test('certificates: _test_decode_cert gives getpeercert()\'s dict; PEM <-> DER; cert_time_to_seconds', async () => {
  const r = await pyJson<Record<string, unknown>>(`
c = ssl._test_decode_cert(${lit(path.join(tmp, 'server.pem'))})
pem = open(${lit(path.join(tmp, 'server.pem'))}).read()
der = ssl.PEM_cert_to_DER_cert(pem)
result = {'subject': c['subject'], 'issuer': c['issuer'], 'san': c['subjectAltName'], 'version': c['version'],
 'roundtrip': ssl.DER_cert_to_PEM_cert(der) == pem, 'notAfter': ssl.cert_time_to_seconds(c['notAfter']) > __import__('time').time(),
 'tuples': type(c['subject']).__name__ + type(c['subject'][0][0]).__name__}`);
  assert.equal(r.subject, [[['commonName', '127.0.0.1']]]);
  assert.equal(r.issuer, [[['commonName', 'nicorn test CA']]]);
  assert.equal(r.san, [
    ['IP Address', '127.0.0.1'],
    ['DNS', 'localhost'],
  ]);
  assert.is(r.version, 3);
  assert.is(r.roundtrip, true);
  assert.is(r.notAfter, true);
  assert.is(r.tuples, 'tupletuple');
});

// Two SSLObjects, client and server, with MemoryBIOs pumped between them:
// a whole TLS session inside the interpreter, on the host's OpenSSL.
const PUMP = `
def pair(client_ctx, server_ctx, hostname):
    cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client_ctx.wrap_bio(cin, cout, server_hostname=hostname)
    s = server_ctx.wrap_bio(sin, sout, server_side=True)
    def pump():
        moved = cout.pending + sout.pending
        sin.write(cout.read()); cin.write(sout.read())
        return moved
    return c, s, pump

def handshake(c, s, pump):
    done = {c: False, s: False}
    for _ in range(20):
        for o in (c, s):
            if not done[o]:
                try:
                    o.do_handshake(); done[o] = True
                except ssl.SSLWantReadError:
                    pass
        if not pump() and all(done.values()):
            return
    raise AssertionError('no handshake')

def server_ctx(require_client=False):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(${lit(path.join(tmp, 'server.pem'))}, ${lit(path.join(tmp, 'server.key'))})
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(${lit(path.join(tmp, 'ca.pem'))})
    return ctx
`;

test('SSLObject over MemoryBIOs: a verified session, data both ways, peer certificates, a client certificate', async () => {
  const r = await pyJson<Record<string, unknown>>(`${PUMP}
client = ssl.create_default_context(cafile=${lit(path.join(tmp, 'ca.pem'))})
client.load_cert_chain(${lit(path.join(tmp, 'client.pem'))}, ${lit(path.join(tmp, 'client.key'))})
c, s, pump = pair(client, server_ctx(require_client=True), 'localhost')
try:
    c.read()
    early = 'no error'
except ssl.SSLWantReadError as e:
    early = [type(e).__name__, e.args[0]]
handshake(c, s, pump)
c.write(b'hello server'); pump()
got = s.read(1024)
s.write(b'hello client'); pump()
buf = bytearray(64); n = c.read(64, buf)
result = {'early': early, 'server_got': got.decode(), 'client_got': bytes(buf[:n]).decode(), 'version': c.version(),
          'cipher': list(c.cipher()), 'peer': c.getpeercert()['subject'], 'client_seen': s.getpeercert()['subject'],
          'der': ssl.DER_cert_to_PEM_cert(c.getpeercert(True)) == open(${lit(path.join(tmp, 'server.pem'))}).read()}`);
  assert.equal(r.early, ['SSLWantReadError', 2]);
  assert.is(r.server_got, 'hello server');
  assert.is(r.client_got, 'hello client');
  assert.is(r.version, 'TLSv1.3');
  assert.equal((r.cipher as unknown[])[1], 'TLSv1.3');
  assert.equal(r.peer, [[['commonName', '127.0.0.1']]]);
  assert.equal(r.client_seen, [[['commonName', 'client']]]);
  assert.is(r.der, true);
});

test('SSLObject: a name the certificate lacks and an unknown CA raise SSLCertVerificationError as CPython words it', async () => {
  const r = await pyJson<string[][]>(`${PUMP}
out = []
for cafile, name in ((${lit(path.join(tmp, 'ca.pem'))}, 'example.com'), (${lit(path.join(tmp, 'other-ca.pem'))}, 'localhost')):
    c, s, pump = pair(ssl.create_default_context(cafile=cafile), server_ctx(), name)
    try:
        handshake(c, s, pump)
        out.append(['no error'])
    except ssl.SSLCertVerificationError as e:
        out.append([type(e).__name__, str(e), e.verify_code, e.verify_message, e.library, e.reason, isinstance(e, ValueError)])
result = out`);
  assert.equal(r[0], [
    'SSLCertVerificationError',
    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'example.com'. (_ssl.c:1029)",
    62,
    "Hostname mismatch, certificate is not valid for 'example.com'.",
    'SSL',
    'CERTIFICATE_VERIFY_FAILED',
    true,
  ]);
  assert.equal(r[1]!.slice(0, 3), [
    'SSLCertVerificationError',
    '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1029)',
    20,
  ]);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
