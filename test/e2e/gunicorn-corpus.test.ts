// Gunicorn 26's own request corpus (tests/requests/{valid,invalid}, read into
// corpus/gunicorn-26.json by scripts/gunicorn-corpus.py) against nicorn-py
// with Gunicorn's default settings: each case's bytes on a fresh connection
// (then the client's FIN), and what the app saw compared with what Gunicorn's
// parser must make of them. A valid case passes when every request in it
// reaches the app, in order, with the method, RAW_URI, PATH_INFO,
// QUERY_STRING, SERVER_PROTOCOL, headers and body Gunicorn's test expects; an
// invalid one when the app is not called and no 2xx comes back (an error page,
// or the connection closed for a request that never ended).
//
// Cases that need the parser's compatibility settings run below, each on a
// server with the flags its test sets; other settings' cases are left to the
// suites that run those settings (malformed.test.ts, proxy.test.ts). The known differences are
// listed with their reason; the suite fails when one changes either way, and
// prints the figure.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseResponse, raw, responseLength, splitResponses } from '../helpers/http.js';
import { FIXTURES, countingArgs, startServer, type Server } from '../helpers/server.js';

interface Expected {
  method: string;
  raw_uri: string;
  path_info: string;
  query: string;
  protocol: string;
  headers: Record<string, string>;
  body: string;
}

interface Case {
  name: string;
  bytes: string;
  settings: string[];
  requests?: Expected[];
  error?: string;
}

interface Seen {
  method: string;
  path: string;
  query: string;
  raw_uri: string | null;
  protocol: string;
  headers: Record<string, string>;
  content_length: string | null;
  content_type: string | null;
  body_all: string;
}

const corpus = JSON.parse(fs.readFileSync(path.resolve('test/e2e/corpus/gunicorn-26.json'), 'utf8')) as {
  gunicorn: string;
  cases: Case[];
};
const CASES = corpus.cases.filter((c) => c.settings.length === 0);

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
const expect = (method: string, rawUri: string, pathInfo: string, headers: Record<string, string>, body = '', query = ''): Expected => ({
  method, raw_uri: rawUri, path_info: pathInfo, query, protocol: 'HTTP/1.1', headers, body: b64(body),
});
const chunkedPost = (chunks: string, extra = '') =>
  b64(`POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n${extra}\r\n${chunks}`);
const CHUNKED = { HTTP_HOST: 'x', HTTP_TRANSFER_ENCODING: 'chunked' };

/**
 * Requests RFC 9112 allows and Gunicorn 26 takes, written for this suite (the
 * corpus has one case of each at most): what the app must see.
 */
const RFC9112: Case[] = [
  { name: 'rfc9112/chunk-ext-token', settings: [], bytes: chunkedPost('5;name=value\r\nhello\r\n0\r\n\r\n'), requests: [expect('POST', '/c', '/c', CHUNKED, 'hello')] },
  { name: 'rfc9112/chunk-ext-quoted', settings: [], bytes: chunkedPost('5;name="a quoted; value"\r\nhello\r\n0\r\n\r\n'), requests: [expect('POST', '/c', '/c', CHUNKED, 'hello')] },
  { name: 'rfc9112/chunk-ext-bws', settings: [], bytes: chunkedPost('5 ; name = value\r\nhello\r\n0\r\n\r\n'), requests: [expect('POST', '/c', '/c', CHUNKED, 'hello')] },
  { name: 'rfc9112/trailer-fields', settings: [], bytes: chunkedPost('5\r\nhello\r\n0\r\nX-Checksum: abc\r\nCache-Control: no-cache\r\nExpires: 0\r\n\r\n'), requests: [expect('POST', '/c', '/c', CHUNKED, 'hello')] },
  { name: 'rfc9112/te-identity-chunked', settings: [], bytes: b64('POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'), requests: [expect('POST', '/c', '/c', { HTTP_HOST: 'x', HTTP_TRANSFER_ENCODING: 'identity, chunked' }, 'hello')] },
  { name: 'rfc9112/connect-authority', settings: [], bytes: b64('CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n'), requests: [expect('CONNECT', 'db.example:5432', '5432', { HTTP_HOST: 'db.example:5432' })] },
  { name: 'rfc9112/connect-after-get', settings: [], bytes: b64('GET /first HTTP/1.1\r\nHost: x\r\n\r\nCONNECT h.example:1 HTTP/1.1\r\nHost: h.example:1\r\n\r\n'), requests: [expect('GET', '/first', '/first', { HTTP_HOST: 'x' }), expect('CONNECT', 'h.example:1', '1', { HTTP_HOST: 'h.example:1' })] },
  { name: 'rfc9112/connect-ipv4', settings: [], bytes: b64('CONNECT 192.0.2.1:443 HTTP/1.1\r\nHost: 192.0.2.1:443\r\n\r\n'), requests: [expect('CONNECT', '192.0.2.1:443', '192.0.2.1:443', { HTTP_HOST: '192.0.2.1:443' })] },
  { name: 'rfc9112/absolute-ipv6-query', settings: [], bytes: b64('GET http://[2001:db8::1]:8080/p?q=1 HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n'), requests: [expect('GET', 'http://[2001:db8::1]:8080/p?q=1', '/p', { HTTP_HOST: '[2001:db8::1]:8080' }, '', 'q=1')] },
  { name: 'rfc9112/options-asterisk', settings: [], bytes: b64('OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'), requests: [expect('OPTIONS', '*', '*', { HTTP_HOST: 'x' })] },
];

/** Where nicorn-py answers otherwise than Gunicorn 26's test expects, and why. */
const KNOWN: Record<string, string> = {};

const gc = suite<{ srv?: Server; count: number }>('Gunicorn 26 request corpus', { count: 0 });
const outcome = new Map<string, string | null>();

gc.after(async (ctx) => {
  await ctx.srv?.stop();
  const corpusOutcomes = [...outcome.entries()].filter(([k]) => !k.startsWith('rfc9112/'));
  const ok = corpusOutcomes.filter(([, v]) => v === null).length;
  const off = [...outcome.entries()].filter(([, v]) => v !== null).map(([k]) => k);
  console.log(
    `\nGunicorn ${corpus.gunicorn} corpus: ${ok} of ${CASES.length} default-settings cases as its tests expect` +
      (off.length ? `; otherwise: ${off.join(' ')}` : ''),
  );
});

/**
 * Sends the bytes and collects the answer: until `responses` complete
 * responses came, the server closed, or 1.5 s of silence; then, for a request
 * that never ended (Gunicorn's NoMoreData), the client's FIN and what follows.
 * (No FIN up front: node:http drops a request whose client half-closed, where
 * Gunicorn would still answer it.)
 */
function send(port: number, bytes: Buffer, responses: number): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout;
    let finned = false;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (finned) return done(false);
        finned = true;
        sock.end();
        arm();
      }, 1500);
    };
    sock.on('connect', () => {
      sock.write(bytes);
      arm();
    });
    sock.on('data', (d) => {
      chunks.push(d);
      if (responses > 0 && responseComplete(Buffer.concat(chunks), responses)) return done(false);
      arm();
    });
    sock.on('close', () => done(true));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? done(true) : reject(e)));
  });
}

/** Whether `buf` holds `n` complete responses. */
function responseComplete(buf: Buffer, n: number): boolean {
  let rest = buf;
  for (let i = 0; i < n; i++) {
    const len = responseLength(rest, false);
    if (len <= 0) return false;
    rest = rest.subarray(len);
  }
  return true;
}

async function calls(port: number): Promise<number> {
  // No header field: the count is read under --limit-request-field_size 14 too.
  const r = await raw(port, 'GET /__count HTTP/1.0\r\n\r\n', 3000);
  return Number(parseResponse(r.bytes).body.toString());
}

/** null when the case is answered as Gunicorn's test expects, else what differs. */
async function judge(srv: Server, c: Case, before: number): Promise<string | null> {
  const got = await send(srv.port, Buffer.from(c.bytes, 'base64'), c.requests?.length ?? 0);
  const after = await calls(srv.port);
  const responses = got.bytes.length ? splitResponses(got.bytes) : [];
  if (c.error) {
    if (after !== before) return `the app was called (${c.error} expected)`;
    const ok = responses.find((r) => r.status < 300);
    if (ok) return `answered ${ok.status} (${c.error} expected)`;
    return null;
  }
  const want = c.requests!;
  if (after - before !== want.length) {
    return `the app was called ${after - before} time(s), ${want.length} expected; got ${JSON.stringify(got.bytes.toString('latin1').slice(0, 300))}`;
  }
  for (let i = 0; i < want.length; i++) {
    const res = responses[i];
    if (!res || res.status !== 200) return `request ${i + 1}: no 200 answer`;
    const seen = JSON.parse(res.body.toString('latin1')) as Seen;
    const w = want[i]!;
    const headers: Record<string, string> = { ...seen.headers };
    if (seen.content_type !== null) headers.CONTENT_TYPE = seen.content_type;
    if (seen.content_length !== null) headers.CONTENT_LENGTH = seen.content_length;
    const have = {
      method: seen.method,
      raw_uri: seen.raw_uri,
      path_info: seen.path,
      query: seen.query,
      protocol: seen.protocol,
      headers,
      body: Buffer.from(seen.body_all, 'latin1').toString('base64'),
    };
    try {
      assert.equal(have, w);
    } catch {
      return `request ${i + 1}: app saw ${JSON.stringify(have)}, Gunicorn ${JSON.stringify(w)}`;
    }
  }
  return null;
}

gc('boots one single-worker server with Gunicorn\'s defaults', async (ctx) => {
  ctx.srv = await startServer(['-w', '1', ...countingArgs(), '--chdir', path.join(FIXTURES, 'wsgi'), 'counting']);
  ctx.count = await calls(ctx.srv.port);
});

for (const c of [...CASES, ...RFC9112]) {
  gc(`${c.name}${c.error ? ` (${c.error})` : ''}`, async (ctx) => {
    assert.ok(ctx.srv, 'server up');
    const why = await judge(ctx.srv!, c, ctx.count);
    ctx.count = await calls(ctx.srv!.port);
    outcome.set(c.name, why);
    if (KNOWN[c.name] !== undefined) {
      assert.ok(why !== null, `${c.name} is now answered as Gunicorn does: take it out of KNOWN`);
    } else if (why !== null) {
      assert.unreachable(`${c.name}: ${why}`);
    }
  });
}

gc.run();

// ------------------------------------------------------------ the compatibility settings
// Gunicorn's corpus cases for permit_obsolete_folding, strip_header_spaces,
// permit_unconventional_http_method/_version and casefold_http_method, each on a
// server started with the flags its test sets (tests/requests/*.py); llhttp refuses
// every one of these requests, so the front door's own parser serves them.

const PERMITS = ['--permit-obsolete-folding', '--strip-header-spaces', '--permit-unconventional-http-method', '--permit-unconventional-http-version'];
const COMPAT_SERVERS: Record<string, string[]> = {
  permits: PERMITS,
  casefold: [...PERMITS, '--casefold-http-method'],
  'fold-small': ['--permit-obsolete-folding', '--limit-request-field_size', '14'],
};
/** The server each settings case runs on. */
const COMPAT_CASES: Record<string, string> = {
  'valid/028': 'permits',
  'valid/031compat2': 'permits',
  'valid/compat_obs_fold': 'permits',
  'valid/compat_obs_fold_huge': 'permits',
  'valid/031compat': 'casefold',
  'invalid/013': 'fold-small',
};
const version = (v: string, path: string): Expected => ({ ...expect('GET', path, path, { HTTP_HOST: 'x' }), protocol: `HTTP/${v}` });
/** permit_unconventional_http_version, which Gunicorn's corpus has no case for (RFC 9112 2.3: one digit each). */
const VERSIONS: [Case, string][] = [
  [{ name: 'version/3.1', settings: [], bytes: b64('GET /v31 HTTP/3.1\r\nHost: x\r\n\r\n'), requests: [version('3.1', '/v31')] }, 'permits'],
  [{ name: 'version/0.9-line', settings: [], bytes: b64('GET /v09 HTTP/0.9\r\nHost: x\r\n\r\n'), requests: [version('0.9', '/v09')] }, 'permits'],
  [{ name: 'version/1.2', settings: [], bytes: b64('GET /v12 HTTP/1.2\r\nHost: x\r\n\r\n'), requests: [version('1.2', '/v12')] }, 'permits'],
  [{ name: 'version/3.1-refused', settings: [], bytes: b64('GET /v31 HTTP/3.1\r\nHost: x\r\n\r\n'), error: 'InvalidHTTPVersion' }, 'defaults'],
  [{ name: 'version/1.10-refused', settings: [], bytes: b64('GET /v HTTP/1.10\r\nHost: x\r\n\r\n'), error: 'InvalidHTTPVersion' }, 'permits'],
];
COMPAT_SERVERS['defaults'] = [];

const compat = suite<{ servers: Record<string, Server>; counts: Record<string, number> }>('Gunicorn 26 corpus: compatibility settings', { servers: {}, counts: {} });

compat.after(async (ctx) => {
  await Promise.all(Object.values(ctx.servers).map((s) => s.stop()));
});

compat('boots a server per combination of settings the cases need', async (ctx) => {
  await Promise.all(
    Object.entries(COMPAT_SERVERS).map(async ([name, flags]) => {
      ctx.servers[name] = await startServer(['-w', '1', ...flags, '--chdir', path.join(FIXTURES, 'wsgi'), 'counting']);
      ctx.counts[name] = await calls(ctx.servers[name]!.port);
    }),
  );
});

const compatCases: [Case, string][] = [
  ...corpus.cases.filter((c) => c.name in COMPAT_CASES).map((c): [Case, string] => [c, COMPAT_CASES[c.name]!]),
  ...VERSIONS,
];
compat('every settings case named here is in the corpus file', () => {
  assert.equal(corpus.cases.filter((c) => c.name in COMPAT_CASES).length, Object.keys(COMPAT_CASES).length);
});
for (const [c, server] of compatCases) {
  compat(`${c.name} (${COMPAT_SERVERS[server]!.join(' ') || 'defaults'})${c.error ? ` (${c.error})` : ''}`, async (ctx) => {
    const srv = ctx.servers[server];
    assert.ok(srv, 'server up');
    const why = await judge(srv!, c, ctx.counts[server]!);
    ctx.counts[server] = await calls(srv!.port);
    if (why !== null) assert.unreachable(`${c.name}: ${why}`);
  });
}

compat.run();
