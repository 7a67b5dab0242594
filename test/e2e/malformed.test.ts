// The front door against a corpus of malformed requests (corpus/malformed.ts:
// Gunicorn's tests/requests/invalid, its parser's rules, RFC 9110/9112), each
// sent as raw bytes on a fresh connection: Gunicorn's status and error page,
// the connection closed, and the app never called. Then the edge cases that
// must be served. fixtures/wsgi/counting.py counts its calls; one worker per
// server, so the count is exact.

import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { completeResponses, connected, parseResponse, raw, splitResponses, type FramedResponse, type RawResult } from '../helpers/http.js';
import { FIXTURES, countingArgs, runLimited, startServer, type Server } from '../helpers/server.js';
import { REFUSED, SERVER_ARGS, type ServerName } from './corpus/malformed.js';
import { assertErrorPage, calls, show } from '../helpers/error-page.js';

interface Seen {
  call: number;
  method: string;
  path: string;
  query: string;
  raw_uri: string | null;
  protocol: string;
  headers: Record<string, string>;
  content_length: string | null;
  body_length: number;
  body: string;
}

interface ServedCase {
  id: string;
  title: string;
  server: ServerName;
  /** How many times the app is called. */
  calls: number;
  run(port: number): Promise<void>;
}

const SERVER_NAMES = Object.keys(SERVER_ARGS) as ServerName[];

interface Ctx {
  servers: Partial<Record<ServerName, Server>>;
  /** The app's call count each server should report now. */
  expected: Partial<Record<ServerName, number>>;
}

const results = new Map<string, boolean>();

function seen(res: FramedResponse): Seen {
  assert.is(res.status, 200, `app answer expected, got ${show(res.head)}`);
  return JSON.parse(res.body.toString('latin1')) as Seen;
}

/** The app's count moved by exactly `by` since the last check (and re-syncs so one failure does not cascade). */
async function assertCalls(ctx: Ctx, name: ServerName, by: number, context: string): Promise<void> {
  const want = ctx.expected[name]! + by;
  const got = await calls(ctx.servers[name]!.port);
  ctx.expected[name] = got;
  assert.is(got, want, by === 0 ? `the app was not called: ${context}` : `the app was called ${by} time(s): ${context}`);
}

// ------------------------------------------------------------ served edge cases

const req = (s: string) => Buffer.from(s, 'latin1');

const SERVED: ServedCase[] = [
  {
    id: 'absolute-form',
    title: 'absolute-form target: PATH_INFO and QUERY_STRING from the URL',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('GET http://example.com/abs/path?q=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n'));
      const s = seen(splitResponses(r.bytes)[0]!);
      assert.is(s.path, '/abs/path');
      assert.is(s.query, 'q=1');
    },
  },
  {
    id: 'options-asterisk',
    title: 'OPTIONS * reaches the app with PATH_INFO "*"',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      const s = seen(splitResponses(r.bytes)[0]!);
      assert.is(s.method, 'OPTIONS');
      assert.is(s.path, '*');
    },
  },
  {
    id: 'no-host',
    title: 'HTTP/1.1 without Host is served (Gunicorn does not require it)',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('GET /nohost HTTP/1.1\r\nConnection: close\r\n\r\n'));
      assert.is(seen(splitResponses(r.bytes)[0]!).path, '/nohost');
    },
  },
  {
    id: 'http10-close',
    title: 'HTTP/1.0 without keep-alive: answered, then the server closes',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('GET /ten HTTP/1.0\r\n\r\n'), 3000);
      const [res, ...more] = splitResponses(r.bytes);
      assert.is(seen(res!).protocol, 'HTTP/1.0');
      assert.is(res!.headers.get('connection')?.[0]?.toLowerCase(), 'close');
      assert.is(more.length, 0);
      assert.ok(r.closedByServer, 'closed after one response');
    },
  },
  {
    id: 'http10-keepalive',
    title: 'HTTP/1.0 with Connection: keep-alive: the connection serves a second request',
    server: 'main',
    calls: 2,
    async run(port) {
      const s = await connected(port);
      try {
        s.send('GET /ka1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
        await s.until((t) => completeResponses(t) === 1);
        assert.not.ok(await s.closedWithin(300), 'still open after the first response');
        s.send('GET /ka2 HTTP/1.0\r\n\r\n');
        assert.ok(await s.closedWithin(5000), 'closed after the second (no keep-alive)');
        const [one, two, ...more] = splitResponses(s.pending());
        assert.is(one!.headers.get('connection')?.[0]?.toLowerCase(), 'keep-alive');
        assert.is(seen(one!).path, '/ka1');
        assert.is(seen(two!).path, '/ka2');
        assert.is(more.length, 0);
      } finally {
        s.close();
      }
    },
  },
  {
    id: 'expect-continue',
    title: 'Expect: 100-continue gets "HTTP/1.1 100 Continue" before the body is sent',
    server: 'main',
    calls: 1,
    async run(port) {
      const s = await connected(port);
      try {
        s.send('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
        const interim = await s.until(/\r\n\r\n/);
        assert.is(interim, 'HTTP/1.1 100 Continue\r\n\r\n');
        s.send('hello');
        assert.ok(await s.closedWithin(5000));
        const [cont, final, ...more] = splitResponses(s.pending());
        assert.is(cont!.status, 100);
        const got = seen(final!);
        assert.is(got.body_length, 5);
        assert.is(got.body, 'hello');
        assert.is(more.length, 0);
      } finally {
        s.close();
      }
    },
  },
  {
    id: 'underscore-dropped',
    title: 'a header name with "_" is dropped by default (--header-map drop)',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('GET /u HTTP/1.1\r\nHost: x\r\nX_Foo: evil\r\nX-Foo: good\r\nConnection: close\r\n\r\n'));
      const s = seen(splitResponses(r.bytes)[0]!);
      assert.is(s.headers.HTTP_X_FOO, 'good');
    },
  },
  {
    id: 'chunked-trailers',
    title: 'a chunked body with an extension and a trailer is read whole',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(
        port,
        req('POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n'),
      );
      const s = seen(splitResponses(r.bytes)[0]!);
      assert.is(s.body, 'hello world');
      assert.is(s.content_length, null);
    },
  },
  {
    id: 'pipelined',
    title: 'three pipelined requests are answered in order',
    server: 'main',
    calls: 3,
    async run(port) {
      const r = await raw(
        port,
        req('GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /p3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        3000,
      );
      const res = splitResponses(r.bytes);
      assert.equal(res.map((x) => seen(x).path), ['/p1', '/p2', '/p3']);
      assert.is(seen(res[1]!).body, 'abc');
    },
  },
  {
    id: 'bad-after-good',
    title: 'a bad request pipelined after a good one: good answered, then the error page, then close; a third is not served',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(
        port,
        req('GET /good HTTP/1.1\r\nHost: x\r\n\r\nGET /bad HTTP/1.1\r\nHost: x\r\nNo Colon Here\r\n\r\nGET /third HTTP/1.1\r\nHost: x\r\n\r\n'),
        3000,
      );
      const end = r.bytes.indexOf('\r\n\r\n');
      const firstLength = Number(parseResponse(r.bytes).headers.get('content-length')?.[0]);
      const first = r.bytes.subarray(0, end + 4 + firstLength);
      assert.is(seen(splitResponses(first)[0]!).path, '/good');
      const rest: RawResult = { ...r, bytes: r.bytes.subarray(first.length), text: r.text.slice(first.length) };
      assertErrorPage(rest, 400, `after a good response: ${show(r.text, 600)}`);
      assert.not.ok(r.text.includes('/third'));
    },
  },
  {
    id: 'main-line-4094',
    title: 'a request line of exactly 4094 is served',
    server: 'main',
    calls: 1,
    async run(port) {
      const target = `/${'a'.repeat(4080)}`;
      const r = await raw(port, req(`GET ${target} HTTP/1.1\r\nConnection: close\r\n\r\n`));
      assert.is(seen(splitResponses(r.bytes)[0]!).path, target);
    },
  },
  {
    id: 'main-fields-100',
    title: '100 header fields are served',
    server: 'main',
    calls: 1,
    async run(port) {
      const fields = Array.from({ length: 99 }, (_, i) => `h${i}: ${i}\r\n`).join('');
      const r = await raw(port, req(`GET /many HTTP/1.1\r\n${fields}Connection: close\r\n\r\n`));
      const s = seen(splitResponses(r.bytes)[0]!);
      assert.is(s.headers.HTTP_H98, '98');
    },
  },
  {
    id: 'main-field-8190',
    title: 'a header line of exactly 8190 bytes with its CRLF is served',
    server: 'main',
    calls: 1,
    async run(port) {
      const value = 'y'.repeat(8185);
      const r = await raw(port, req(`GET /big HTTP/1.1\r\nX: ${value}\r\nConnection: close\r\n\r\n`));
      assert.is(seen(splitResponses(r.bytes)[0]!).headers.HTTP_X, value);
    },
  },
  {
    id: 'small-line-100',
    title: 'a request line of exactly 100 is served under --limit-request-line 100',
    server: 'small',
    calls: 1,
    async run(port) {
      const target = `/${'a'.repeat(86)}`;
      const r = await raw(port, req(`GET ${target} HTTP/1.1\r\nConnection: close\r\n\r\n`));
      assert.is(seen(splitResponses(r.bytes)[0]!).path, target);
    },
  },
  {
    id: 'small-fields-5',
    title: '5 header fields are served under --limit-request-fields 5',
    server: 'small',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('GET /five HTTP/1.1\r\nh1: 1\r\nh2: 2\r\nh3: 3\r\nh4: 4\r\nConnection: close\r\n\r\n'));
      assert.is(seen(splitResponses(r.bytes)[0]!).headers.HTTP_H4, '4');
    },
  },
  {
    id: 'small-field-50',
    title: 'a header line of exactly 50 with its CRLF is served under --limit-request-field_size 50',
    server: 'small',
    calls: 1,
    async run(port) {
      const value = 'v'.repeat(40);
      const r = await raw(port, req(`GET /fifty HTTP/1.1\r\nX-Long: ${value}\r\nConnection: close\r\n\r\n`));
      assert.is(seen(splitResponses(r.bytes)[0]!).headers.HTTP_X_LONG, value);
    },
  },
  {
    id: 'dangerous-underscore',
    title: 'under --header-map dangerous, X_Foo reaches environ as HTTP_X_FOO',
    server: 'unlimited',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('GET /d HTTP/1.1\r\nHost: x\r\nX_Foo: bar\r\nConnection: close\r\n\r\n'));
      assert.is(seen(splitResponses(r.bytes)[0]!).headers.HTTP_X_FOO, 'bar');
    },
  },
  {
    id: 'unlimited-line',
    title: '--limit-request-line 0 (unlimited): a 6000-byte request line is served',
    server: 'unlimited',
    calls: 1,
    async run(port) {
      const target = `/${'a'.repeat(5985)}`;
      const r = await raw(port, req(`GET ${target} HTTP/1.1\r\nConnection: close\r\n\r\n`));
      assert.is(seen(splitResponses(r.bytes)[0]!).path, target);
    },
  },
  {
    id: 'unlimited-fields',
    title: '--limit-request-fields 0 (32768): 150 header fields are served',
    server: 'unlimited',
    calls: 1,
    async run(port) {
      const fields = Array.from({ length: 149 }, (_, i) => `h${i}: ${i}\r\n`).join('');
      const r = await raw(port, req(`GET /many HTTP/1.1\r\n${fields}Connection: close\r\n\r\n`));
      assert.is(seen(splitResponses(r.bytes)[0]!).headers.HTTP_H148, '148');
    },
  },
  {
    id: 'unlimited-field-size',
    title: '--limit-request-field_size 0 (unlimited): a 9000-byte header line is served',
    server: 'unlimited',
    calls: 1,
    async run(port) {
      const value = 'y'.repeat(8995);
      const r = await raw(port, req(`GET /big HTTP/1.1\r\nX: ${value}\r\nConnection: close\r\n\r\n`));
      assert.is(seen(splitResponses(r.bytes)[0]!).headers.HTTP_X, value);
    },
  },
  // What llhttp refuses and Gunicorn 26 serves: the front door's own parser takes the
  // connection from that request on (h1-fallback.ts), and keeps it.
  {
    id: 'method-unregistered',
    title: 'methods llhttp does not know (FOO, -BLARGH) are served, and the connection goes on with the next request',
    server: 'main',
    calls: 3,
    async run(port) {
      const c = await connected(port);
      c.send(req('FOO / HTTP/1.1\r\nHost: x\r\n\r\n-BLARGH /b HTTP/1.1\r\nHost: x\r\n\r\n'));
      assert.is(seen(splitResponses((await c.response()).raw)[0]!).method, 'FOO');
      assert.is(seen(splitResponses((await c.response()).raw)[0]!).method, '-BLARGH');
      // A later write, on our parser now: keep-alive holds.
      c.send(req('GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      assert.is(seen(splitResponses((await c.response()).raw)[0]!).path, '/third');
      assert.ok(await c.closedWithin(2000), 'closed after Connection: close');
    },
  },
  {
    id: 'target-latin1',
    title: 'a raw byte 0xE9 in the target reaches the app as latin-1, as Gunicorn hands it over',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('GET /caf\xe9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      const s = seen(splitResponses(r.bytes)[0]!);
      assert.is(s.path, '/caf\xe9');
      assert.is(s.raw_uri, '/caf\xe9');
    },
  },
  {
    id: 'te-gzip',
    title: 'Transfer-Encoding gzip without chunked: no body, the connection closes after (Gunicorn\'s framing)',
    server: 'main',
    calls: 1,
    async run(port) {
      const r = await raw(port, req('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nGET /never HTTP/1.1\r\n\r\n'));
      const responses = splitResponses(r.bytes);
      assert.is(responses.length, 1);
      assert.is(seen(responses[0]!).body_length, 0);
      assert.ok(r.closedByServer);
    },
  },
  {
    id: 'fallback-pipelined',
    title: 'pipelined: llhttp serves the first, ours the rest (identity + Content-Length, chunk extensions with BWS), in order',
    server: 'main',
    calls: 4,
    async run(port) {
      const r = await raw(
        port,
        req(
          'GET /one HTTP/1.1\r\nHost: x\r\n\r\n' +
            'POST /two HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nWorld' +
            'POST /three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 ; a = b\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n' +
            'GET /four HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        ),
      );
      const got = splitResponses(r.bytes).map((x) => seen(x));
      assert.equal(got.map((s) => [s.path, s.body]), [['/one', ''], ['/two', 'World'], ['/three', 'hello'], ['/four', '']]);
      assert.ok(r.closedByServer);
    },
  },
  {
    id: 'fallback-chunk-ext-later',
    title: 'a chunk line with BWS in a later read of a body llhttp began: the body goes on on our parser',
    server: 'main',
    calls: 2,
    async run(port) {
      const c = await connected(port);
      c.send(req('POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'));
      await new Promise((r) => setTimeout(r, 100));
      c.send(req('6; some; parameters=stuff\r\n world\r\n0\r\n\r\n'));
      assert.is(seen(splitResponses((await c.response()).raw)[0]!).body, 'hello world');
      c.send(req('GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      assert.is(seen(splitResponses((await c.response()).raw)[0]!).path, '/after');
    },
  },
  {
    id: 'fallback-100-continue',
    title: 'Expect: 100-continue on our parser: "100 Continue" once the head passed, then the body, then the answer',
    server: 'main',
    calls: 1,
    async run(port) {
      const c = await connected(port);
      c.send(req('PURGE2 /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n'));
      await c.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/, 3000);
      c.send(req('hello'));
      const text = await c.until((t) => completeResponses(t.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')) >= 1, 5000);
      const s = seen(splitResponses(Buffer.from(text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''), 'latin1'))[0]!);
      assert.equal([s.method, s.body], ['PURGE2', 'hello']);
    },
  },
  {
    id: 'fallback-half-close',
    title: 'on our parser, a body shorter than its Content-Length then the client\'s FIN: served with the bytes that came, then closed',
    server: 'main',
    calls: 1,
    async run(port) {
      const c = await connected(port);
      c.send(req('-BLARGH /h HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'));
      await new Promise((r) => setTimeout(r, 100));
      c.sock.end();
      const s = seen(splitResponses((await c.response()).raw)[0]!);
      assert.equal([s.method, s.body], ['-BLARGH', 'abc']);
      assert.ok(await c.closedWithin(2000), 'closed after the response');
    },
  },
  {
    id: 'fallback-split-head',
    title: 'a head llhttp refuses whose first bytes came in an earlier read cannot be placed exactly: refused, as before',
    server: 'main',
    calls: 0,
    async run(port) {
      const c = await connected(port);
      c.send(req('POST /split HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n'));
      await new Promise((r) => setTimeout(r, 100));
      c.send(req('Content-Length: 5\r\n\r\nWorld'));
      assert.match(await c.until(/\r\n\r\n[\s\S]*<\/html>\n$/, 3000), /^HTTP\/1\.1 400 Bad Request\r\n/);
    },
  },
];

// ------------------------------------------------------------ the suite

const TOTAL = REFUSED.length + SERVED.length;
const malformed = suite<Ctx>(`malformed requests: corpus of ${TOTAL} cases (${REFUSED.length} refused, ${SERVED.length} served)`, {
  servers: {},
  expected: {},
});

malformed.after(async (ctx) => {
  await Promise.all(Object.values(ctx.servers).map((s) => s.stop()));
  const ok = [...results.values()].filter(Boolean).length;
  const bad = [...results.entries()].filter(([, v]) => !v).map(([k]) => k);
  console.log(`\nmalformed corpus: ${TOTAL} cases; ${results.size} run, ${ok} as expected${bad.length ? `; not as expected: ${bad.join(' ')}` : ''}`);
});

malformed('boots one single-worker counting server per limit set', async (ctx) => {
  const booted = await runLimited(
    Object.fromEntries(
      SERVER_NAMES.map((name) => [
        name,
        () => startServer(['-w', '1', ...SERVER_ARGS[name], ...countingArgs(), '--chdir', path.join(FIXTURES, 'wsgi'), 'counting']),
      ]),
    ),
  );
  for (const name of SERVER_NAMES) {
    ctx.servers[name] = booted[name]!;
    ctx.expected[name] = await calls(booted[name]!.port);
  }
});

async function track(id: string, body: () => Promise<void>): Promise<void> {
  results.set(id, false);
  await body();
  results.set(id, true);
}

for (const c of REFUSED) {
  malformed(`${c.id} (${c.server}) → ${c.status}: ${c.title}`, (ctx) =>
    track(c.id, async () => {
      const srv = ctx.servers[c.server];
      assert.ok(srv, `server ${c.server} is up`);
      const r = await raw(srv!.port, c.bytes, 1000);
      const context = `${c.id} sent ${show(c.bytes)}, got ${show(r.text, 400)}${r.closedByServer ? ' (closed)' : ' (left open)'}`;
      // The count is checked even when the page is wrong, so a failure says
      // whether the app ran and the next case starts from the true count.
      let called: unknown = null;
      await assertCalls(ctx, c.server, 0, context).catch((e: unknown) => (called = e));
      assertErrorPage(r, c.status, called ? `${context} (and the app was called)` : context);
      if (called) throw called;
    }),
  );
}

for (const c of SERVED) {
  malformed(`${c.id} (${c.server}) served: ${c.title}`, (ctx) =>
    track(c.id, async () => {
      const srv = ctx.servers[c.server];
      assert.ok(srv, `server ${c.server} is up`);
      await c.run(srv!.port);
      await assertCalls(ctx, c.server, c.calls, c.id);
    }),
  );
}

malformed('no server logged a traceback', (ctx) => {
  for (const name of SERVER_NAMES) {
    const lines = (ctx.servers[name]?.log() ?? '').split('\n').filter((l) => /Traceback|Error handling request/.test(l));
    assert.equal(lines, [], name);
  }
});

malformed.run();
