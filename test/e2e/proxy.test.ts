// Behind a proxy, as Gunicorn 23 behaves: secure_scheme_headers and
// forwarder_headers are believed only from a --forwarded-allow-ips peer (the
// socket's peer, never a header or a PROXY line), conflicting scheme headers
// are a 400, and a PROXY protocol header (v1 text, v2 binary) is read only from
// a --proxy-allow-from peer and only at the start of a connection.

import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, exchange, get, proxyV2, type Exchange } from '../helpers/http.js';
import { FIXTURES, eventually, startServer, type Server } from '../helpers/server.js';

const APP = ['--chdir', path.join(FIXTURES, 'wsgi'), 'environ_echo'];
type Environ = Record<string, unknown>;

/** Boots a server on first use, so a failed boot fails a test rather than a hook. */
function lazyServer(args: string[], env?: NodeJS.ProcessEnv): { get(): Promise<Server>; stop(): Promise<void> } {
  let srv: Promise<Server> | undefined;
  return {
    get: () => (srv ??= startServer([...APP, ...args], { env })),
    async stop() {
      if (srv) await (await srv.catch(() => null))?.stop();
    },
  };
}

// FORWARDED_ALLOW_IPS must not leak in from the shell running the tests.
const NO_ENV = { FORWARDED_ALLOW_IPS: undefined };

/** The default trust: 127.0.0.1 (our peer address) may forward; PROXY headers are read. */
const trustedServer = lazyServer(['--proxy-protocol'], NO_ENV);
/** FORWARDED_ALLOW_IPS as the default: a proxy elsewhere, so 127.0.0.1 is untrusted; PROXY only from 10.0.0.9. */
const untrustedServer = lazyServer(['--proxy-protocol', '--proxy-allow-from', '10.0.0.9'], { FORWARDED_ALLOW_IPS: '10.0.0.1' });
/** Trust given as a network; a forwarder header other than the defaults. */
const cidrServer = lazyServer(['--forwarded-allow-ips', '127.0.0.0/8', '--forwarder-headers', 'REMOTE_USER'], NO_ENV);

function environOf(res: Exchange): Environ {
  assert.is(res.status, 200, `status line of ${JSON.stringify(res.raw.toString('latin1').slice(0, 300))}`);
  return JSON.parse(res.body.toString()) as Environ;
}

const ask = async (srv: Server, path: string, headers = '') => environOf(await exchange(srv.port, get(path, headers)));

/** Asserts a Gunicorn error page (util.write_error) and that the server closed the connection. */
async function assertErrorPage(srv: Server, data: string | Buffer, status: number, reason: string, mesg?: RegExp): Promise<void> {
  const c = connect(srv.port);
  try {
    await c.ready;
    c.send(data);
    const res = await c.response();
    const body = res.body.toString('latin1');
    assert.is(res.status, status, `answer to ${JSON.stringify(data.toString('latin1'))}: ${JSON.stringify(res.raw.toString('latin1'))}`);
    assert.match(res.raw.toString('latin1'), new RegExp(`^HTTP/1\\.1 ${status} ${reason}\\r\\n`));
    assert.equal(res.headers.get('connection'), ['close']);
    assert.equal(res.headers.get('content-type'), ['text/html']);
    assert.match(body, new RegExp(`<title>${reason}</title>`));
    if (mesg) assert.match(body, mesg);
    await c.closed;
    assert.ok(c.closedByServer(), 'the server closes the connection after an error page');
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------- a trusted front end

const trusted = suite('proxy: forwarded headers from a trusted peer (127.0.0.1 by default)');
trusted.after(() => trustedServer.stop());

trusted('X-Forwarded-Proto: https sets wsgi.url_scheme to https; the header still reaches the app', async () => {
  const srv = await trustedServer.get();
  const plain = await ask(srv, '/');
  assert.is(plain['wsgi.url_scheme'], 'http', 'no scheme header: http');
  const env = await ask(srv, '/', 'X-Forwarded-Proto: https\r\n');
  assert.is(env['wsgi.url_scheme'], 'https');
  assert.is(env.HTTP_X_FORWARDED_PROTO, 'https');
  assert.is(env.SERVER_PORT, String(srv.port), 'SERVER_PORT is the socket port, not 443');
});

trusted('each of the default secure_scheme_headers says https; values are compared exactly', async () => {
  const srv = await trustedServer.get();
  assert.is((await ask(srv, '/', 'X-Forwarded-Ssl: on\r\n'))['wsgi.url_scheme'], 'https');
  assert.is((await ask(srv, '/', 'X-Forwarded-Protocol: ssl\r\n'))['wsgi.url_scheme'], 'https');
  assert.is((await ask(srv, '/', 'X-Forwarded-Proto: http\r\n'))['wsgi.url_scheme'], 'http');
  assert.is((await ask(srv, '/', 'X-Forwarded-Proto: HTTPS\r\n'))['wsgi.url_scheme'], 'http', 'case-sensitive value');
  assert.is((await ask(srv, '/', 'X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n'))['wsgi.url_scheme'], 'https', 'agreeing pair');
});

trusted('X-Forwarded-Proto: https with X-Forwarded-Ssl: off contradict: 400, Gunicorn error page, warning logged', async () => {
  const srv = await trustedServer.get();
  const req = get('/', 'X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n');
  await assertErrorPage(srv, req, 400, 'Bad Request', /Contradictory scheme headers/);
  // Either order: the first scheme header decides, the second contradicts.
  await assertErrorPage(srv, get('/', 'X-Forwarded-Ssl: off\r\nX-Forwarded-Proto: https\r\n'), 400, 'Bad Request');
  assert.ok(
    await eventually(() => /Invalid request from ip=127\.0\.0\.1: Contradictory scheme headers/.test(srv.log())),
    `warning in the error log:\n${srv.log()}`,
  );
});

trusted('a contradiction ends the connection: a request pipelined after it is not served', async () => {
  const srv = await trustedServer.get();
  const c = connect(srv.port);
  try {
    await c.ready;
    c.send(get('/', 'X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n') + get('/second'));
    assert.is((await c.response()).status, 400);
    await c.closed;
    assert.not.match(c.pending().toString('latin1'), /HTTP\/1\.1 200/);
  } finally {
    c.close();
  }
});

trusted('REMOTE_ADDR and REMOTE_PORT stay the peer; X-Forwarded-For reaches the app as HTTP_X_FORWARDED_FOR', async () => {
  const srv = await trustedServer.get();
  const c = connect(srv.port);
  try {
    await c.ready;
    c.send(get('/', 'X-Forwarded-For: 203.0.113.7, 198.51.100.2\r\nX-Real-IP: 203.0.113.7\r\n'));
    const env = environOf(await c.response());
    assert.is(env.REMOTE_ADDR, '127.0.0.1');
    assert.is(env.REMOTE_PORT, String(c.sock.localPort));
    assert.is(env.HTTP_X_FORWARDED_FOR, '203.0.113.7, 198.51.100.2');
    assert.is(env.HTTP_X_REAL_IP, '203.0.113.7');
  } finally {
    c.close();
  }
});

trusted('SCRIPT_NAME from a trusted proxy (a default forwarder header) sets SCRIPT_NAME; PATH_INFO loses the prefix', async () => {
  const srv = await trustedServer.get();
  const env = await ask(srv, '/prefix/some/path?q=1', 'SCRIPT_NAME: /prefix\r\n');
  assert.is(env.SCRIPT_NAME, '/prefix');
  assert.is(env.PATH_INFO, '/some/path');
  assert.is(env.RAW_URI, '/prefix/some/path?q=1');
  assert.is(env.QUERY_STRING, 'q=1');
  // wsgi.py maps every header, SCRIPT_NAME included, to HTTP_*.
  assert.is(env.HTTP_SCRIPT_NAME, '/prefix');
});

trusted('PATH_INFO, the other default forwarder header, is mapped to HTTP_PATH_INFO and does not replace PATH_INFO', async () => {
  const srv = await trustedServer.get();
  const env = await ask(srv, '/real', 'PATH_INFO: /forged\r\n');
  assert.is(env.PATH_INFO, '/real');
  assert.is(env.HTTP_PATH_INFO, '/forged');
});

trusted('a header with "_" that is not a forwarder header is dropped even from a trusted peer (header_map drop)', async () => {
  const srv = await trustedServer.get();
  const env = await ask(srv, '/', 'X_Custom: 1\r\nRemote_User: mallory\r\n');
  assert.not.ok('HTTP_X_CUSTOM' in env);
  assert.not.ok('HTTP_REMOTE_USER' in env);
});

trusted('a SCRIPT_NAME the request path does not start with is a 500 (ConfigurationProblem); the app is not called', async () => {
  const srv = await trustedServer.get();
  const res = await exchange(srv.port, get('/elsewhere/x', 'SCRIPT_NAME: /prefix\r\n'));
  assert.is(res.status, 500, JSON.stringify(res.raw.toString('latin1')));
  assert.not.match(res.body.toString(), /REMOTE_ADDR/, 'no environ echoed');
});

// ---------------------------------------------------------------- PROXY protocol, allowed peer

const PROXY_V1 = 'PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n';

trusted('PROXY v1: REMOTE_ADDR and REMOTE_PORT are the proxied client', async () => {
  const srv = await trustedServer.get();
  const env = environOf(await exchange(srv.port, PROXY_V1 + get('/')));
  assert.is(env.REMOTE_ADDR, '203.0.113.7');
  assert.is(env.REMOTE_PORT, '56324');
  assert.is(env.PATH_INFO, '/');
});

trusted('PROXY v1: the environ carries PROXY_PROTOCOL, PROXY_ADDR and PROXY_PORT (wsgi.proxy_environ)', async () => {
  const srv = await trustedServer.get();
  const env = environOf(await exchange(srv.port, PROXY_V1 + get('/')));
  assert.is(env.PROXY_PROTOCOL, 'TCP4');
  assert.is(env.PROXY_ADDR, '10.0.0.1');
  assert.is(env.PROXY_PORT, '443');
});

trusted('PROXY v1 over IPv6 (TCP6)', async () => {
  const srv = await trustedServer.get();
  const env = environOf(await exchange(srv.port, 'PROXY TCP6 2001:db8::7 2001:db8::1 40000 8443\r\n' + get('/')));
  assert.is(env.REMOTE_ADDR, '2001:db8::7');
  assert.is(env.REMOTE_PORT, '40000');
});

trusted('PROXY v2 (binary): REMOTE_ADDR and REMOTE_PORT are the proxied client', async () => {
  const srv = await trustedServer.get();
  const env = environOf(await exchange(srv.port, Buffer.concat([proxyV2('203.0.113.7', '10.0.0.1', 56324, 443), Buffer.from(get('/'))])));
  assert.is(env.REMOTE_ADDR, '203.0.113.7');
  assert.is(env.REMOTE_PORT, '56324');
});

trusted('a PROXY header split over several packets is still read whole', async () => {
  const srv = await trustedServer.get();
  for (const header of [Buffer.from(PROXY_V1), proxyV2('203.0.113.7', '10.0.0.1', 56324, 443)]) {
    const c = connect(srv.port);
    try {
      await c.ready;
      c.send(header.subarray(0, 9));
      await new Promise((r) => setTimeout(r, 100));
      c.send(header.subarray(9));
      await new Promise((r) => setTimeout(r, 100));
      c.send(get('/'));
      const env = environOf(await c.response());
      assert.is(env.REMOTE_ADDR, '203.0.113.7');
    } finally {
      c.close();
    }
  }
});

trusted('keep-alive: later requests on a PROXY connection keep the proxied address', async () => {
  const srv = await trustedServer.get();
  for (const header of [Buffer.from(PROXY_V1), proxyV2('203.0.113.7', '10.0.0.1', 56324, 443)]) {
    const c = connect(srv.port);
    try {
      await c.ready;
      c.send(Buffer.concat([header, Buffer.from(get('/first'))]));
      const first = environOf(await c.response());
      c.send(get('/second'));
      const second = environOf(await c.response());
      // Pipelined, in one packet.
      c.send(get('/third') + get('/fourth'));
      const third = environOf(await c.response());
      const fourth = environOf(await c.response());
      for (const env of [first, second, third, fourth]) {
        assert.is(env.REMOTE_ADDR, '203.0.113.7', `${env.PATH_INFO}`);
        assert.is(env.REMOTE_PORT, '56324', `${env.PATH_INFO}`);
      }
      assert.equal([first, second, third, fourth].map((e) => e.PATH_INFO), ['/first', '/second', '/third', '/fourth']);
      assert.not.ok(c.closedByServer());
    } finally {
      c.close();
    }
  }
});

trusted('a PROXY line later on a connection is not a PROXY header (Gunicorn reads it only before request 1): 400', async () => {
  const srv = await trustedServer.get();
  const c = connect(srv.port);
  try {
    await c.ready;
    c.send(get('/first'));
    assert.is(environOf(await c.response()).REMOTE_ADDR, '127.0.0.1');
    c.send(PROXY_V1 + get('/second'));
    const res = await c.response();
    assert.is(res.status, 400, JSON.stringify(res.raw.toString('latin1')));
  } finally {
    c.close();
  }
});

trusted('with --proxy-protocol, plain HTTP without a PROXY header is still served', async () => {
  const srv = await trustedServer.get();
  const c = connect(srv.port);
  try {
    await c.ready;
    c.send(get('/plain'));
    const env = environOf(await c.response());
    assert.is(env.REMOTE_ADDR, '127.0.0.1');
    assert.is(env.REMOTE_PORT, String(c.sock.localPort));
    assert.not.ok('PROXY_PROTOCOL' in env);
  } finally {
    c.close();
  }
  const res = await fetch(`${srv.url}/fetch`);
  assert.is(res.status, 200);
});

/** Sends `data` (maybe nothing), half-closes, and tells whether the server then closes its side too. */
async function serverClosesAfterEof(port: number, data: string): Promise<boolean> {
  const c = connect(port);
  try {
    await c.ready;
    if (data) c.send(data);
    await new Promise((r) => setTimeout(r, 100));
    c.sock.end();
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 5000))]);
    return c.closedByServer();
  } finally {
    c.close();
  }
}

// Gunicorn reads b"" and drops the connection (StopIteration / NoMoreData); a
// socket left half-open would hold a connection slot and delay a graceful stop.
trusted('a client that leaves before a byte, or in the middle of a PROXY header, is closed by the server too', async () => {
  const srv = await trustedServer.get();
  assert.ok(await serverClosesAfterEof(srv.port, ''), 'EOF before any byte: the server closes its side');
  assert.ok(await serverClosesAfterEof(srv.port, 'PROXY TCP4 203.0'), 'EOF inside a v1 line: the server closes its side');
  assert.ok(await serverClosesAfterEof(srv.port, 'GET / HT'), 'EOF inside a plain request line: the server closes its side');
});

const MALFORMED: [string, string][] = [
  ['five fields', 'PROXY TCP4 203.0.113.7 10.0.0.1 56324\r\n'],
  ['seven fields', 'PROXY TCP4 203.0.113.7 10.0.0.1 56324 443 9\r\n'],
  ['unknown protocol', 'PROXY UDP4 203.0.113.7 10.0.0.1 56324 443\r\n'],
  ['bad IPv4 address', 'PROXY TCP4 203.0.113.999 10.0.0.1 56324 443\r\n'],
  ['IPv6 address on TCP4', 'PROXY TCP4 2001:db8::7 10.0.0.1 56324 443\r\n'],
  ['port out of range', 'PROXY TCP4 203.0.113.7 10.0.0.1 70000 443\r\n'],
  ['port not a number', 'PROXY TCP4 203.0.113.7 10.0.0.1 http 443\r\n'],
];

for (const [what, line] of MALFORMED) {
  trusted(`a malformed PROXY line (${what}) is a 400 (InvalidProxyLine); the request after it is not served`, async () => {
    const srv = await trustedServer.get();
    await assertErrorPage(srv, line + get('/'), 400, 'Bad Request');
  });
}

trusted('a malformed PROXY line is logged as an invalid request from the peer', async () => {
  const srv = await trustedServer.get();
  assert.ok(
    await eventually(() => /Invalid request from ip=127\.0\.0\.1: Invalid PROXY line/.test(srv.log())),
    `warning in the error log:\n${srv.log()}`,
  );
});

trusted('forwarded-header trust is the socket peer\'s, not the PROXY source\'s', async () => {
  const srv = await trustedServer.get();
  // 203.0.113.7 is not in forwarded_allow_ips, but the peer (127.0.0.1) is.
  const env = environOf(await exchange(srv.port, PROXY_V1 + get('/', 'X-Forwarded-Proto: https\r\n')));
  assert.is(env.REMOTE_ADDR, '203.0.113.7');
  assert.is(env['wsgi.url_scheme'], 'https');
});

trusted.run();

// ---------------------------------------------------------------- an untrusted peer

const untrusted = suite('proxy: the same headers from an untrusted peer (FORWARDED_ALLOW_IPS=10.0.0.1, --proxy-allow-from 10.0.0.9)');
untrusted.after(() => untrustedServer.stop());

untrusted('FORWARDED_ALLOW_IPS is the default: X-Forwarded-Proto from 127.0.0.1 is ignored (scheme http), yet passed on', async () => {
  const srv = await untrustedServer.get();
  const env = await ask(srv, '/', 'X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n');
  assert.is(env['wsgi.url_scheme'], 'http');
  assert.is(env.HTTP_X_FORWARDED_PROTO, 'https');
  assert.is(env.HTTP_X_FORWARDED_SSL, 'on');
});

untrusted('a conflicting pair from an untrusted peer is not an error', async () => {
  const srv = await untrustedServer.get();
  const env = await ask(srv, '/', 'X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n');
  assert.is(env['wsgi.url_scheme'], 'http');
});

untrusted('X-Forwarded-For still reaches the app; REMOTE_ADDR is the peer', async () => {
  const srv = await untrustedServer.get();
  const env = await ask(srv, '/', 'X-Forwarded-For: 203.0.113.7\r\n');
  assert.is(env.HTTP_X_FORWARDED_FOR, '203.0.113.7');
  assert.is(env.REMOTE_ADDR, '127.0.0.1');
});

untrusted('SCRIPT_NAME from an untrusted peer is dropped (header_map drop): the path is untouched', async () => {
  const srv = await untrustedServer.get();
  const env = await ask(srv, '/prefix/x', 'SCRIPT_NAME: /prefix\r\n');
  assert.is(env.SCRIPT_NAME, '');
  assert.is(env.PATH_INFO, '/prefix/x');
  assert.not.ok('HTTP_SCRIPT_NAME' in env);
  // Nor can it break the request the way a mismatching trusted one would.
  assert.is((await ask(srv, '/elsewhere', 'SCRIPT_NAME: /prefix\r\n')).PATH_INFO, '/elsewhere');
});

untrusted('PROXY v1 from a peer not in --proxy-allow-from: 403 Forbidden (ForbiddenProxyRequest)', async () => {
  const srv = await untrustedServer.get();
  await assertErrorPage(srv, PROXY_V1 + get('/'), 403, 'Forbidden', /Request forbidden/);
});

untrusted('PROXY v2 from a peer not in --proxy-allow-from: 403 Forbidden', async () => {
  const srv = await untrustedServer.get();
  await assertErrorPage(srv, Buffer.concat([proxyV2('203.0.113.7', '10.0.0.1', 56324, 443), Buffer.from(get('/'))]), 403, 'Forbidden');
});

untrusted('plain HTTP from that peer is still served', async () => {
  const srv = await untrustedServer.get();
  assert.is((await ask(srv, '/')).REMOTE_ADDR, '127.0.0.1');
});

untrusted.run();

// ---------------------------------------------------------------- trust as a network

const cidr = suite('proxy: --forwarded-allow-ips 127.0.0.0/8 --forwarder-headers REMOTE_USER');
cidr.after(() => cidrServer.stop());

cidr('a network in --forwarded-allow-ips trusts the peers inside it', async () => {
  const srv = await cidrServer.get();
  assert.is((await ask(srv, '/', 'X-Forwarded-Proto: https\r\n'))['wsgi.url_scheme'], 'https');
  await assertErrorPage(srv, get('/', 'X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n'), 400, 'Bad Request');
});

cidr('--forwarder-headers replaces the defaults: REMOTE_USER passes, SCRIPT_NAME is dropped', async () => {
  const srv = await cidrServer.get();
  const env = await ask(srv, '/prefix/x', 'Remote_User: alice\r\nSCRIPT_NAME: /prefix\r\n');
  assert.is(env.HTTP_REMOTE_USER, 'alice');
  assert.is(env.SCRIPT_NAME, '');
  assert.is(env.PATH_INFO, '/prefix/x');
});

cidr('without --proxy-protocol, a client that leaves before a byte is closed by the server too', async () => {
  const srv = await cidrServer.get();
  assert.ok(await serverClosesAfterEof(srv.port, ''));
  assert.ok(await serverClosesAfterEof(srv.port, 'GET / HT'));
});

cidr.run();
