// The app as a TLS client (fixtures/tlsclient): through `nicorn-py -w 2`,
// urllib, http.client and requests reach node https servers with a CA made
// by openssl; verification failures raise what CPython raises; a client
// certificate the server requires is sent; the server sees SNI. With
// --preload, a context made at import works in the restored workers.

import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, PACKAGES, eventually, startServer, type Server } from '../helpers/server.js';
import { makePki } from '../helpers/pki.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-ssl-e2e-')));
const file = (name: string) => path.join(tmp, name);
const APP = path.join(FIXTURES, 'tlsclient');

interface Seen {
  sni: string | null;
  client: string | null;
}

/**
 * An https server on all loopback addresses: it answers what it saw of the
 * client, or (`hang`) reads the request and never answers.
 */
async function httpsServer(requireClient: boolean, hang = false): Promise<{ port: number; close: () => void }> {
  const srv = https.createServer(
    {
      key: fs.readFileSync(file('server.key')),
      cert: fs.readFileSync(file('server.pem')),
      ca: fs.readFileSync(file('ca.pem')),
      requestCert: true,
      rejectUnauthorized: requireClient,
    },
    (req, res) => {
      if (hang) return;
      const sock = req.socket as TLSSocket;
      const seen: Seen = { sni: sock.servername || null, client: sock.authorized ? ((sock.getPeerCertificate().subject?.CN as string) ?? null) : null };
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(seen));
    },
  );
  srv.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => srv.listen(0, '0.0.0.0', resolve));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => {
      srv.closeAllConnections();
      srv.close();
    },
  };
}

/** A TLS echo server; and a minimal SMTP server that offers STARTTLS (RFC 3207) and, after it, AUTH. */
async function echoAndSmtp(): Promise<{ echo: number; smtp: number; close: () => void }> {
  const options = { key: fs.readFileSync(file('server.key')), cert: fs.readFileSync(file('server.pem')) };
  const echo = tls.createServer(options, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  const secureContext = tls.createSecureContext(options);
  const sockets = new Set<net.Socket>();
  const smtp = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
    let secure = false;
    const serve = (io: net.Socket) => {
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString('latin1');
        let i: number;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const cmd = buf.slice(0, i).slice(0, 4).toUpperCase();
          buf = buf.slice(i + 2);
          if (cmd === 'EHLO') io.write(secure ? '250-localhost\r\n250 AUTH PLAIN\r\n' : '250-localhost\r\n250 STARTTLS\r\n');
          else if (cmd === 'NOOP') io.write('250 OK\r\n');
          else if (cmd === 'QUIT') io.end('221 Bye\r\n');
          else if (cmd === 'STAR' && !secure) {
            io.write('220 Ready to start TLS\r\n');
            // From here the bytes are TLS: the plain reader stops, a TLS socket reads on.
            io.off('data', onData);
            secure = true;
            const t = new tls.TLSSocket(io, { isServer: true, secureContext });
            t.on('error', () => {});
            serve(t);
            return;
          } else io.write('502 5.5.2 not understood\r\n');
        }
      };
      io.on('data', onData);
    };
    sock.write('220 localhost ESMTP nicorn test\r\n');
    serve(sock);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  return {
    echo: (echo.address() as AddressInfo).port,
    smtp: (smtp.address() as AddressInfo).port,
    close: () => {
      echo.close();
      for (const s of sockets) s.destroy();
      smtp.close();
    },
  };
}

type Answer = Record<string, unknown> & { error?: string; message?: string; status?: number; body?: string };

async function ask(srv: Server, query: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${srv.url}/?${new URLSearchParams(query)}`);
  assert.is(res.status, 200, `${query.op}: ${res.status}; the server's log ends:\n${srv.log().slice(-3000)}`);
  return (await res.json()) as Answer;
}

interface Ctx {
  srv: Server;
  open: { port: number; close: () => void };
  mtls: { port: number; close: () => void };
  hang: { port: number; close: () => void };
  more: { echo: number; smtp: number; close: () => void };
}

const clients = suite<Ctx>('an app calling HTTPS servers');

clients.before(async (ctx) => {
  makePki(tmp);
  ctx.open = await httpsServer(false);
  ctx.mtls = await httpsServer(true);
  ctx.hang = await httpsServer(false, true);
  ctx.more = await echoAndSmtp();
  ctx.srv = await startServer(['-w', '2', '--timeout', '3', '--chdir', APP, '--pythonpath', PACKAGES, 'app:application']);
});

clients.after(async (ctx) => {
  await ctx.srv?.stop();
  ctx.open?.close();
  ctx.mtls?.close();
  ctx.hang?.close();
  ctx.more?.close();
});

clients('urllib.request.urlopen with create_default_context(cafile=CA): verified, SNI seen by the server', async ({ srv, open }) => {
  const r = await ask(srv, { op: 'urlopen', url: `https://localhost:${open.port}/`, ca: file('ca.pem') });
  assert.is(r.status, 200, JSON.stringify(r));
  assert.equal(JSON.parse(r.body!), { sni: 'localhost', client: null });
});

clients('http.client.HTTPSConnection by address: TLS 1.3, the peer certificate, ALPN', async ({ srv, open }) => {
  const r = await ask(srv, { op: 'httpclient', url: `https://127.0.0.1:${open.port}/`, ca: file('ca.pem'), alpn: 'h2,http/1.1' });
  assert.is(r.status, 200, JSON.stringify(r));
  assert.equal(JSON.parse(r.body!), { sni: null, client: null }, 'no SNI for an address (RFC 6066), as CPython');
  assert.is(r.version, 'TLSv1.3');
  assert.equal(r.peer, [[['commonName', '127.0.0.1']]]);
  // node's https server speaks http/1.1 only: it picks that of the app's two.
  assert.is(r.alpn, 'http/1.1');
});

clients('an address the certificate lacks: SSLCertVerificationError (a ValueError), verify_code 64', async ({ srv, open }) => {
  const r = await ask(srv, { op: 'httpclient', url: `https://127.0.0.2:${open.port}/`, ca: file('ca.pem') });
  assert.is(r.error, 'SSLCertVerificationError', JSON.stringify(r));
  assert.match(r.message!, /^\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: IP address mismatch, certificate is not valid for '127\.0\.0\.2'\. \(_ssl\.c:\d+\)$/);
  assert.is(r.verify_code, 64);
  assert.ok((r.mro as string[]).includes('ValueError') && (r.mro as string[]).includes('SSLError'));
});

clients('a CA the app does not trust: SSLCertVerificationError as CPython words it', async ({ srv, open }) => {
  const r = await ask(srv, { op: 'urlopen', url: `https://localhost:${open.port}/`, ca: file('other-ca.pem') });
  assert.is(r.error, 'SSLCertVerificationError', JSON.stringify(r));
  assert.match(r.message!, /^\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: self-signed certificate in certificate chain \(_ssl\.c:\d+\)$/);
  assert.is(r.verify_code, 19);
  assert.is(r.verify_message, 'self-signed certificate in certificate chain');
});

clients('a client certificate the server requires: refused without, accepted with', async ({ srv, mtls }) => {
  const url = `https://localhost:${mtls.port}/`;
  const without = await ask(srv, { op: 'httpclient', url, ca: file('ca.pem') });
  assert.ok(without.error, JSON.stringify(without));
  assert.ok((without.mro as string[]).includes('OSError'), JSON.stringify(without));
  const withCert = await ask(srv, { op: 'httpclient', url, ca: file('ca.pem'), cert: file('client.pem'), key: file('client.key') });
  assert.is(withCert.status, 200, JSON.stringify(withCert));
  assert.equal(JSON.parse(withCert.body!), { sni: 'localhost', client: 'client' });
});

clients('a non-blocking SSLSocket with select: SSLWantReadError until readable, as an event loop sees it', async ({ srv, more }) => {
  const r = await ask(srv, { op: 'nonblocking', host: '127.0.0.1', port: String(more.echo), ca: file('ca.pem') });
  const events = r.events as string[];
  assert.ok(events, JSON.stringify(r));
  // The handshake may finish in one call when the server's flight is in
  // before OpenSSL reads (it does on a first, slower handshake): not asserted.
  assert.equal(events.filter((e) => e !== 'handshake wants read'), ['read: SSLWantReadError 2', 'readable: True', 'got: ping', 'version: TLSv1.3']);
});

clients('smtplib STARTTLS: plain SMTP, then TLS on the same socket, verified', async ({ srv, more }) => {
  const r = await ask(srv, { op: 'starttls', host: 'localhost', port: String(more.smtp), ca: file('ca.pem') });
  assert.equal(r, { ehlo_after_tls: 250, features: ['auth'], cipher_version: 'TLSv1.3', noop: 250 }, JSON.stringify(r));
});

clients('requests.get(url, verify=CA), unchanged requests and urllib3 on the ssl module', async ({ srv, open }) => {
  const r = await ask(srv, { op: 'requests', url: `https://localhost:${open.port}/`, ca: file('ca.pem') });
  assert.is(r.status, 200, JSON.stringify(r));
  assert.equal(JSON.parse(r.body!), { sni: 'localhost', client: null });
  const bad = await ask(srv, { op: 'requests', url: `https://localhost:${open.port}/`, ca: file('other-ca.pem') });
  assert.is(bad.error, 'SSLError', JSON.stringify(bad));
  assert.match(bad.message!, /CERTIFICATE_VERIFY_FAILED/);
});

clients('a TLS read waiting on a server that never answers gives way to --timeout: the worker is aborted, the frame logged', async ({ srv, hang }) => {
  const before = srv.workerPids().length;
  const q = new URLSearchParams({ op: 'urlopen', url: `https://localhost:${hang.port}/`, ca: file('ca.pem'), timeout: 'none' });
  const stuck = await fetch(`${srv.url}/?${q}`).then(
    (r) => `status ${r.status}`,
    (e: Error) => `failed: ${e.message}`,
  );
  assert.match(stuck, /failed|status 5/);
  assert.ok(await eventually(() => srv.workerPids().length === before + 1, 15_000), 'a replacement booted');
  assert.match(srv.log(), /\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\)/);
  // The stuck worker logs the frames as it unwinds, which may end after its replacement boots (as in arbiter.test.ts).
  const stuckFrame = /Worker aborted while handling \/\?op=urlopen[\s\S]*ssl_module\.py", line \d+, in _read/;
  assert.ok(await eventually(() => stuckFrame.test(srv.log()), 15_000), `the stuck frame is logged:\n${srv.log().slice(-4000)}`);
});

clients.run();

// ---------------------------------------------------------------- --preload

const preload = suite<{ srv: Server }>('--preload: a context made at import, in restored workers');

preload.after(async (ctx) => {
  await ctx.srv?.stop();
});

preload('the context from the snapshot is made again on the host and verifies', async (ctx) => {
  if (!fs.existsSync(file('ca.pem'))) makePki(tmp);
  ctx.srv = await startServer(['--preload', '-w', '2', '--log-level', 'debug', '--chdir', APP, '--pythonpath', PACKAGES, 'app:application'], {
    env: { XDG_CACHE_HOME: path.join(tmp, 'cache') },
  });
  for (let i = 0; i < 4; i++) {
    const r = await ask(ctx.srv, { op: 'memory', ca: file('ca.pem'), cert: file('server.pem'), key: file('server.key') });
    assert.equal(r, { version: 'TLSv1.3', peer: [[['commonName', '127.0.0.1']]] }, JSON.stringify(r));
  }
  assert.match(ctx.srv.log(), /Started from the preload snapshot/);
});

preload.run();

process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
