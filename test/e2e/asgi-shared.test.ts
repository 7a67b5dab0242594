// The shared front-door, access-log and lifecycle rules under -k asgi: the
// sync worker's suites (malformed.test.ts and its corpus, access-log.test.ts,
// lifecycle.test.ts) against the asgi class, whose dispatcher hands a request
// to the event loop as soon as its head arrives (src/bridge/asgi-dispatcher.ts)
// rather than one at a time. fixtures/asgi/app.py counts the HTTP requests it
// is called for (GET /__count), so "the app never saw it" is checked, not assumed.
// Three servers, booted together: Gunicorn's default limits (with an access
// log of every atom), the corpus's small limits, and two workers retired by
// --max-requests while requests are in flight on their loops.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseResponse, raw, splitResponses, startLoad } from '../helpers/http.js';
import { FIXTURES, eventually, runLimited, sleep, startServer, type Server } from '../helpers/server.js';
import { assertErrorPage, calls, show } from '../helpers/error-page.js';
import { REFUSED, SERVER_ARGS } from './corpus/malformed.js';

const ASGI = path.join(FIXTURES, 'asgi');
/** access-log.test.ts's atoms but the environ ones (`{...}e`): an asgi request has no environ. */
const ATOMS = '%(h)s|%(l)s|%(u)s|%(t)s|%(r)s|%(s)s|%(m)s|%(U)s|%(q)s|%(H)s|%(b)s|%(B)s|%(f)s|%(a)s|%(T)s|%(D)s|%(M)s|%(L)s|%(p)s|%({x-test}i)s|%({content-type}o)s';

interface Ctx {
  dir: string;
  accessLog: string;
  main: Server;
  small: Server;
  rotating: Server;
  /** The app's call count each server should report now. */
  expected: { main: number; small: number };
}

const fd = suite<Ctx>('asgi: front door, access log, workers under load', { expected: { main: 0, small: 0 } } as Ctx);

fd.after(async (ctx) => {
  await Promise.all([ctx.main?.stop(), ctx.small?.stop(), ctx.rotating?.stop()]);
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

fd('boots three asgi servers: Gunicorn\'s default limits (access log of every atom), the corpus\'s small limits, --max-requests', async (ctx) => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-asgi-fd-'));
  ctx.accessLog = path.join(ctx.dir, 'access.log');
  const app = ['-k', 'asgi', '--chdir', ASGI, 'app:app'];
  const booted = await runLimited({
    // One worker each: the app's call count is exact.
    main: () => startServer(['-w', '1', '--access-logfile', ctx.accessLog, '--access-logformat', ATOMS, ...app]),
    small: () => startServer(['-w', '1', ...SERVER_ARGS.small, ...app]),
    rotating: () => startServer(['-w', '2', '--max-requests', '40', '--max-requests-jitter', '10', '--graceful-timeout', '10', ...app]),
  });
  ctx.main = booted.main!;
  ctx.small = booted.small!;
  ctx.rotating = booted.rotating!;
  ctx.expected = { main: await calls(ctx.main.port), small: await calls(ctx.small.port) };
});

fd(`the malformed-request corpus (${REFUSED.filter((c) => c.server !== 'unlimited').length} cases): Gunicorn's status and error page, the connection closed, the app never called`, async (ctx) => {
  const failures: string[] = [];
  for (const c of REFUSED) {
    if (c.server === 'unlimited') continue;
    const srv = c.server === 'main' ? ctx.main : ctx.small;
    const r = await raw(srv.port, c.bytes, 1000);
    const context = `${c.id} sent ${show(c.bytes, 120)}, got ${show(r.text, 300)}${r.closedByServer ? ' (closed)' : ' (left open)'}`;
    try {
      assertErrorPage(r, c.status, context);
    } catch (e) {
      failures.push((e as Error).message);
    }
    const now = await calls(srv.port);
    const key = c.server as 'main' | 'small';
    if (now !== ctx.expected[key]) failures.push(`the app was called ${now - ctx.expected[key]} time(s): ${context}`);
    ctx.expected[key] = now;
  }
  assert.equal(failures, []);
});

fd('served edge cases: pipelined requests answered in order, HEAD without a body, Expect: 100-continue, HTTP/1.0 closed', async ({ main }) => {
  const piped = await raw(main.port, 'GET /pid HTTP/1.1\r\nHost: x\r\n\r\nGET /scope/two HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000);
  const answers = splitResponses(piped.bytes);
  assert.is(answers.length, 3, show(piped.text, 600));
  assert.ok(answers.every((a) => a.status === 200));
  assert.is((JSON.parse(answers[1]!.body.toString()) as { path: string }).path, '/scope/two', 'in order');
  assert.is(answers[2]!.body.toString(), 'Hello, ASGI!\n');
  assert.ok(piped.closedByServer, 'Connection: close honoured');
  const head = await raw(main.port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000);
  assert.match(head.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head.text, 'content-length: 13\r\n', 'the app\'s header, as it named it (as Gunicorn\'s asgi worker)');
  assert.ok(head.text.endsWith('\r\n\r\n'), `no body after a HEAD: ${show(head.text)}`);
  const body = 'x'.repeat(1000);
  const cont = await raw(main.port, `POST /count HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 3000);
  assert.match(cont.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  assert.ok(cont.text.endsWith('{"bytes": 1000}'), show(cont.text));
  const ten = await raw(main.port, 'GET / HTTP/1.0\r\n\r\n', 3000);
  assert.match(ten.text, /^HTTP\/1\.0 200 OK\r\n/);
  assert.ok(ten.closedByServer, 'HTTP/1.0 without keep-alive: closed after the answer');
});

fd('response headers: Server and Date added, hop-by-hop ones from the app dropped', async ({ main }) => {
  const r = await raw(main.port, 'GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000);
  const res = parseResponse(r.bytes);
  assert.is(res.status, 200);
  assert.match(r.text, /\r\nServer: [^\r]+\r\n/);
  assert.match(r.text, /\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
});

fd('every atom of a custom --access-logformat, from an asgi request', async ({ main, accessLog }) => {
  const auth = 'Basic ' + Buffer.from('alice:pw').toString('base64');
  const res = await fetch(`${main.url}/scope/a%20b?q=1`, { headers: { 'X-Test': 'probe', Authorization: auth, 'User-Agent': 'ua' }, signal: AbortSignal.timeout(30_000) });
  const size = (await res.arrayBuffer()).byteLength;
  let line = '';
  assert.ok(await eventually(() => (line = (fs.existsSync(accessLog) ? fs.readFileSync(accessLog, 'utf8') : '').split('\n').find((l) => l.includes('/scope/a%20b')) ?? '') !== ''), 'a line for the request');
  const f = line.split('|');
  assert.is(f.length, 21, line);
  const [h, l, u, t, r, s, m, U, q, H, b, B, ref, a, T, D, M, L, p, xi, cto] = f;
  assert.is(h, '127.0.0.1');
  assert.is(l, '-');
  assert.is(u, 'alice');
  assert.match(t!, /^\[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]$/);
  assert.is(r, 'GET /scope/a%20b?q=1 HTTP/1.1');
  assert.is(s, '200');
  assert.is(m, 'GET');
  assert.is(U, '/scope/a b');
  assert.is(q, 'q=1');
  assert.is(H, 'HTTP/1.1');
  assert.is(b, String(size));
  assert.is(B, String(size));
  assert.is(ref, '-');
  assert.is(a, 'ua');
  assert.is(T, '0');
  assert.ok(Number(D) > 0 && Number(D) < 5e6, `D=${D}`);
  assert.is(M, String(Math.floor(Number(D) / 1000)));
  assert.match(L!, /^0\.\d{6}$/);
  assert.is(p, `<${main.workerPids()[0]}>`);
  assert.is(xi, 'probe');
  assert.is(cto, 'application/json');
});

// Looping clients whose requests sleep 0.1 to 0.3 s on the loop: a worker retired by
// --max-requests has several in flight, which finish before it leaves.
const sleepers = (srv: Server) => (i: number) => `${srv.url}/sleep?s=${(0.1 + (i % 3) / 10).toFixed(1)}`;

fd('--max-requests under load with requests in flight on the loop: workers replaced, no request fails', async ({ rotating: srv }) => {
  const running = startLoad(sleepers(srv), 12);
  // Successors boot one at a time (each old worker serves until its successor does): two boots in a row.
  const rotated = await eventually(() => srv.workerPids().length >= 4, 120_000);
  const r = await running.stop();
  assert.ok(rotated, `workers rotated: ${srv.workerPids().length} pids seen`);
  assert.match(srv.log(), /Autorestarting worker after current request\./);
  assert.is(r.failed, 0, `failures: ${r.errors.slice(0, 5)}`);
  assert.ok(r.ok >= 80, `${r.ok} answered`);
});

fd('HUP under load: new workers, the old ones finish their in-flight requests and retire, no request fails', async ({ rotating: srv }) => {
  const running = startLoad(sleepers(srv), 12);
  await sleep(500);
  const before = srv.workerPids().length;
  process.kill(srv.pid, 'SIGHUP');
  assert.ok(await eventually(() => srv.workerPids().length >= before + 2, 60_000), 'two new workers');
  await sleep(1500);
  const r = await running.stop();
  assert.match(srv.log(), /Hang up: Master/);
  assert.is(r.failed, 0, `failures: ${r.errors.slice(0, 5)}`);
});

fd('no server logged a traceback', ({ main, small, rotating }) => {
  for (const [name, srv] of [['main', main], ['small', small], ['rotating', rotating]] as const) {
    const lines = srv.log().split('\n').filter((l) => /Traceback|Error handling request/.test(l));
    assert.equal(lines, [], name);
  }
});

fd.run();
