// The access log of a real server: Gunicorn's default line, every atom of a
// custom format, and rotation (mv + USR1) under load without losing a line.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startLoad } from '../helpers/http.js';
import { FIXTURES, eventually, sleep, startServer, type Server } from '../helpers/server.js';

const WSGI = path.join(FIXTURES, 'wsgi');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-access-'));
const ALL_ATOMS = '%(h)s|%(l)s|%(u)s|%(t)s|%(r)s|%(s)s|%(m)s|%(U)s|%(q)s|%(H)s|%(b)s|%(B)s|%(f)s|%(a)s|%(T)s|%(D)s|%(M)s|%(L)s|%(p)s|%({x-test}i)s|%({content-type}o)s|%({wsgi.url_scheme}e)s|%({REQUEST_METHOD}e)s';

const access = suite<{ stdoutSrv: Server; fileSrv: Server; file: string }>('access log');

access.before(async (ctx) => {
  ctx.file = path.join(tmp, 'access.log');
  [ctx.stdoutSrv, ctx.fileSrv] = await Promise.all([
    startServer(['--access-logfile', '-', '--chdir', WSGI, 'conformance']),
    startServer(['--access-logfile', ctx.file, '--access-logformat', ALL_ATOMS, '--chdir', WSGI, 'conformance']),
  ]);
});

access.after(async (ctx) => {
  await Promise.all([ctx.stdoutSrv?.stop(), ctx.fileSrv?.stop()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

access("'-' writes Gunicorn's default format to stdout, one line per request", async ({ stdoutSrv: srv }) => {
  await (await fetch(`${srv.url}/hello?x=1`, { headers: { 'User-Agent': 'uvu-agent', Referer: 'http://ref.example/' } })).text();
  const re = /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/hello\?x=1 HTTP\/1\.1" 200 14 "http:\/\/ref\.example\/" "uvu-agent"$/m;
  assert.ok(await eventually(() => re.test(srv.log())), srv.log().split('\n').slice(-3).join('\n'));
});

access('a 500 from the app is logged with its status', async ({ stdoutSrv: srv }) => {
  await (await fetch(`${srv.url}/fail-before`)).text();
  assert.ok(await eventually(() => /"GET \/fail-before HTTP\/1\.1" 500 141 /.test(srv.log())));
});

access('every atom of a custom --access-logformat', async ({ fileSrv: srv, file }) => {
  const auth = 'Basic ' + Buffer.from('alice:pw').toString('base64');
  await (await fetch(`${srv.url}/environ/a%20b?q=1`, { headers: { 'X-Test': 'probe', Authorization: auth, 'User-Agent': 'ua' } })).text();
  assert.ok(await eventually(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('/environ/')));
  const line = fs.readFileSync(file, 'utf8').trim().split('\n').at(-1)!;
  const f = line.split('|');
  assert.is(f.length, 23, line);
  const [h, l, u, t, r, s, m, U, q, H, b, B, ref, a, T, D, M, L, p, xi, cto, scheme, methodE] = f;
  assert.is(h, '127.0.0.1');
  assert.is(l, '-');
  assert.is(u, 'alice');
  assert.match(t!, /^\[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]$/);
  assert.is(r, 'GET /environ/a%20b?q=1 HTTP/1.1');
  assert.is(s, '200');
  assert.is(m, 'GET');
  assert.is(U, '/environ/a b');
  assert.is(q, 'q=1');
  assert.is(H, 'HTTP/1.1');
  assert.ok(Number(b) > 100 && b === B, `b=${b} B=${B}`);
  assert.is(ref, '-');
  assert.is(a, 'ua');
  assert.is(T, '0');
  assert.ok(Number(D) > 0 && Number(D) < 5e6, `D=${D}`);
  assert.is(M, String(Math.floor(Number(D) / 1000)));
  assert.match(L!, /^0\.\d{6}$/);
  assert.is(p, `<${srv.workerPids()[0]}>`);
  assert.is(xi, 'probe');
  assert.is(cto, 'application/json');
  assert.is(scheme, 'http');
  assert.is(methodE, 'GET');
});

access('mv + USR1 under load: every request is logged in the old or the new file', async ({ fileSrv: srv, file }) => {
  const before = fs.readFileSync(file, 'utf8').trim().split('\n').length;
  const load = startLoad(`${srv.url}/hello`, 3);
  await sleep(400);
  fs.renameSync(file, `${file}.1`);
  process.kill(srv.pid, 'SIGUSR1');
  assert.ok(await eventually(() => fs.existsSync(file), 5000), 'a new file was opened');
  await sleep(400);
  const sent = (await load.stop()).ok;
  await sleep(300);
  const lines = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean);
  const old = lines(`${file}.1`).length - before;
  const fresh = lines(file).length;
  assert.ok(fresh > 0, 'lines went to the new file');
  assert.is(old + fresh, sent, `${old} + ${fresh} lines for ${sent} requests`);
});

access.run();
