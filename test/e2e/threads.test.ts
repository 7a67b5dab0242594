// threading in the app (python/nicorn/host/threads.py): Pyodide cannot start
// OS threads, so starting one raises at the call, naming the thread, the
// call site and what to do instead; the first refusal at each call site is
// also in the error log (a library may swallow the exception). A real Flask
// app (fixtures/threads) starts threads the ways apps do; none may hang.

import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, PACKAGES, eventually, startServer, type Server } from '../helpers/server.js';

const APP = path.join(FIXTURES, 'threads');
const SOURCE = fs.readFileSync(path.join(APP, 'app.py'), 'utf8').split('\n');
/** "app.py:N" of the first line of the fixture holding `text` after the line holding `after`. */
function siteOf(after: string, text: string): string {
  const from = SOURCE.findIndex((l) => l.includes(after));
  const at = SOURCE.findIndex((l, i) => i > from && l.includes(text));
  return `${path.join(APP, 'app.py')}:${at + 1}`;
}

const LIMIT = 'Pyodide cannot start OS threads';

const s = suite<{ srv: Server | null }>('threads', { srv: null });

s.after(async (ctx) => {
  await ctx.srv?.stop();
});

/** GET with a deadline: a hang fails the case instead of the suite. */
async function fetchPath(srv: Server, p: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${srv.url}${p}`, { signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: await res.text() };
}

s('a thread started by the app raises RuntimeError at start(), naming the thread, the call site and the way out', async (ctx) => {
  ctx.srv = await startServer(['--chdir', APP, '--pythonpath', PACKAGES, 'app:app']);
  const { status, body } = await fetchPath(ctx.srv, '/thread');
  assert.is(status, 503);
  const r = JSON.parse(body) as { error: string; message: string; alive: boolean; threads: number; reports: number };
  assert.is(r.error, 'ThreadsUnavailable');
  assert.match(r.message, `threading.Thread(name='reporter', target=send_report).start() at ${siteOf('def start_thread', 't.start()')}`);
  assert.match(r.message, LIMIT);
  assert.match(r.message, 'Do the work in the request itself');
  assert.is(r.alive, false);
  assert.is(r.threads, 1, 'no thread is left registered');
  assert.is(r.reports, 0, 'the target did not run');
  // Logged once per call site: the second request's refusal adds no line.
  await fetchPath(ctx.srv, '/thread');
  const srv = ctx.srv;
  assert.ok(await eventually(() => srv.log().includes(`[WARNING] threading.Thread(name='reporter'`)), srv.log());
  assert.is(srv.log().split(`threading.Thread(name='reporter'`).length - 1, 1, srv.log());
});

s('ThreadPoolExecutor.submit() and QueueListener.start() fail at the call: a 500 with the reason in the error log', async (ctx) => {
  const srv = ctx.srv!;
  const submitted = await fetchPath(srv, '/executor');
  assert.is(submitted.status, 500);
  const listened = await fetchPath(srv, '/queue-listener');
  assert.is(listened.status, 500);
  assert.ok(await eventually(() => (srv.log().match(/ThreadsUnavailable/g) ?? []).length >= 2), srv.log());
  const log = srv.log();
  // Flask catches the exception: its own log line and traceback, then its 500.
  assert.match(log, 'Exception on /executor [GET]', log);
  // The call site named is the app's line, not concurrent.futures' own.
  assert.match(log, `at ${siteOf('def use_executor', 'executor.submit(')}: ${LIMIT}`);
  assert.match(log, 'target=QueueListener._monitor).start()');
  assert.match(log, `at ${siteOf('def queue_listener', 'listener.start()')}: ${LIMIT}`);
});

s('a library that swallows the RuntimeError carries on, and the error log still says what happened', async (ctx) => {
  const srv = ctx.srv!;
  const r = await fetchPath(srv, '/swallowed');
  assert.is(r.status, 200);
  assert.is(r.body, 'carried on');
  const site = siteOf('def swallowed', '.start()');
  assert.ok(await eventually(() => srv.log().includes(`[WARNING] threading.Thread(name='transport', target=send_report).start() at ${site}`)), srv.log());
});

s.run();
