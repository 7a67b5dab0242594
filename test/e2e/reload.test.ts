// --reload with a real app edited on disk while a client keeps requesting:
// a changed module brings new workers without a dropped request; an edit
// that does not import (an exception, a syntax error) is logged and the old
// workers keep serving; an app that starts with a syntax error serves its
// traceback until it is fixed, as under Gunicorn; a module
// a request imported, and a new file matching reload_extra_files, are
// watched too. The settings come from the fixture's gunicorn.conf.py.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, eventually, startServer, type Server } from '../helpers/server.js';

/** A copy of fixtures/reload to edit. */
function appCopy(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-reload-app-')));
  fs.cpSync(path.join(FIXTURES, 'reload'), dir, { recursive: true });
  return dir;
}

interface Client {
  /** Bodies seen, in order; every request that did not get a 200 is in `failures`. */
  bodies: string[];
  failures: string[];
  stop(): Promise<void>;
}

/** Two clients requesting `url` back to back until stopped. */
function keepRequesting(url: string): Client {
  const c = { bodies: [] as string[], failures: [] as string[] };
  let done = false;
  const one = async () => {
    while (!done) {
      try {
        const res = await fetch(url);
        const text = await res.text();
        if (res.status === 200) c.bodies.push(text);
        else c.failures.push(`status ${res.status}: ${text.slice(0, 200)}`);
      } catch (e) {
        c.failures.push(String((e as Error).cause ?? e));
      }
    }
  };
  const all = Promise.all([one(), one()]);
  return {
    ...c,
    async stop() {
      done = true;
      await all;
    },
  };
}

const body = async (url: string) => (await fetch(url)).text();
const watching = (srv: Server) => Math.max(0, ...[...srv.log().matchAll(/Reloader: watching (\d+) files/g)].map((m) => Number(m[1])));

const auto = suite<{ srv: Server; dir: string }>('--reload (auto engine, from the config file)');

auto.after(async (ctx) => {
  await ctx.srv?.stop();
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

auto('a changed module: new workers serve it, the old ones leave, no request is dropped', async (ctx) => {
  ctx.dir = appCopy();
  const { dir } = ctx;
  ctx.srv = await startServer(['-c', path.join(dir, 'gunicorn.conf.py'), '--chdir', dir, '-w', '2', '--log-level', 'debug', 'app']);
  const { srv } = ctx;
  assert.is(await body(srv.url), 'hello');
  assert.match(srv.log(), /\[WARNING\] Reloader is on\. Use in development only!/);
  // Both workers' lists are read (app.py, greeting.py, nicorn's own modules) before the edit.
  assert.ok(await eventually(() => srv.workerPids().length === 2 && watching(srv) > 2, 60_000), srv.log());
  const before = srv.workerPids();
  const client = keepRequesting(srv.url);
  fs.writeFileSync(path.join(dir, 'greeting.py'), 'WORD = "bonjour"\n');
  const switched = await eventually(() => client.bodies.at(-1) === 'bonjour', 60_000);
  // The old workers go once the new ones serve.
  const gone = await eventually(() => before.every((pid) => srv.log().includes(`Worker exiting (pid: ${pid})`)), 30_000);
  await client.stop();
  assert.ok(switched, srv.log());
  assert.ok(gone, srv.log());
  assert.equal(client.failures, []);
  assert.ok(client.bodies.length > 0);
  assert.match(srv.log(), new RegExp(`\\[INFO\\] Worker reloading: ${dir}/greeting\\.py modified`));
  assert.is(srv.workerPids().length, 4);
});

auto('an edit that fails to import: its traceback is logged and the old workers keep serving; the fix is served', async ({ srv, dir }) => {
  const client = keepRequesting(srv.url);
  const failedBefore = (srv.log().match(/Reload failed/g) ?? []).length;
  fs.writeFileSync(path.join(dir, 'greeting.py'), 'WORD = "broken"\nraise RuntimeError("deliberately broken greeting")\n');
  const failed = await eventually(() => (srv.log().match(/Reload failed/g) ?? []).length > failedBefore, 60_000);
  const served = client.bodies.length;
  // Served well after the failure too.
  await eventually(() => client.bodies.length > served + 20, 10_000);
  const before = srv.workerPids();
  fs.writeFileSync(path.join(dir, 'greeting.py'), 'WORD = "fixed again"\n');
  const fixed = await eventually(() => client.bodies.at(-1) === 'fixed again', 60_000);
  // The round is over: every worker from before the fix has left (the next case starts from settled workers).
  const settled = await eventually(() => before.every((pid) => srv.log().includes(`Worker exiting (pid: ${pid})`)), 30_000);
  await client.stop();
  assert.ok(failed, srv.log());
  assert.ok(fixed, srv.log());
  assert.ok(settled, srv.log());
  assert.equal(client.failures, []);
  assert.ok(client.bodies.every((b) => b === 'bonjour' || b === 'fixed again'), [...new Set(client.bodies)].join(', '));
  assert.ok(client.bodies.slice(0, served).includes('bonjour'));
  const log = srv.log();
  assert.match(log, /Traceback \(most recent call last\):[\s\S]*greeting\.py", line 2, in <module>[\s\S]*RuntimeError: deliberately broken greeting/);
  assert.match(log, /\[ERROR\] Reload failed: the changed application did not load \(traceback above\); the old workers keep serving/);
  // The arbiter did not stop: it serves the fix.
  assert.is(srv.proc.exitCode, null);
});

auto('a module first imported by a request is watched, and a new file matching a reload_extra_files pattern from its first edit', async ({ srv, dir }) => {
  const count = watching(srv);
  assert.is(await body(`${srv.url}/lazy`), 'lazy');
  // Each worker lists lazy.py once a request imported it; the arbiter reads the lists each second.
  assert.ok(await eventually(() => watching(srv) > count, 10_000), srv.log());
  fs.writeFileSync(path.join(dir, 'lazy.py'), 'WORD = "lazy, edited"\n');
  assert.ok(await eventually(async () => (await body(`${srv.url}/lazy`)) === 'lazy, edited', 60_000), srv.log());
  // The other worker had not imported lazy.py: it may serve the edit before the reload is even logged.
  assert.ok(await eventually(() => srv.log().includes(`Worker reloading: ${dir}/lazy.py modified`), 10_000), srv.log());

  const seen = watching(srv);
  const page = path.join(dir, 'templates', 'new.txt');
  fs.writeFileSync(page, 'created\n');
  assert.ok(await eventually(() => watching(srv) > seen, 10_000), srv.log());
  // Its creation was only noted.
  assert.not.match(srv.log(), /Worker reloading: .*new\.txt/);
  fs.writeFileSync(page, 'created, then edited\n');
  assert.ok(await eventually(() => srv.log().includes(`Worker reloading: ${page} modified`), 10_000), srv.log());
});

auto('an edit with a syntax error: not put in place of the working workers', async ({ srv, dir }) => {
  const client = keepRequesting(srv.url);
  const failedBefore = (srv.log().match(/Reload failed/g) ?? []).length;
  fs.writeFileSync(path.join(dir, 'greeting.py'), 'WORD = ("unclosed"\n');
  const failed = await eventually(() => (srv.log().match(/Reload failed/g) ?? []).length > failedBefore, 60_000);
  const served = client.bodies.length;
  await eventually(() => client.bodies.length > served + 20, 10_000);
  await client.stop();
  assert.ok(failed, srv.log());
  assert.equal(client.failures, []);
  assert.equal([...new Set(client.bodies)], ['fixed again']);
  assert.match(srv.log(), /SyntaxError: '\(' was never closed/);
});

auto.run();

const poll = suite<{ srv: Server; dir: string }>('--reload-engine poll');

poll.after(async (ctx) => {
  await ctx.srv?.stop();
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

poll('started with a syntax error, the worker serves the traceback (500); the fix is noticed by polling, and served', async (ctx) => {
  ctx.dir = appCopy();
  const { dir } = ctx;
  fs.writeFileSync(path.join(dir, 'greeting.py'), 'WORD = "broken\n');
  ctx.srv = await startServer(['-c', path.join(dir, 'gunicorn.conf.py'), '--chdir', dir, '--reload-engine', 'poll', '--log-level', 'debug', 'app']);
  const { srv } = ctx;
  // Gunicorn's load_wsgi under --reload: make_fail_app's 500, the traceback as text.
  const res = await fetch(srv.url);
  assert.is(res.status, 500);
  assert.match(await res.text(), new RegExp(`File "${dir}/greeting\\.py", line 1[\\s\\S]*SyntaxError: unterminated string literal`));
  assert.ok(await eventually(() => watching(srv) > 2, 60_000), srv.log());
  const first = srv.workerPids()[0]!;
  fs.writeFileSync(path.join(dir, 'greeting.py'), 'WORD = "polled"\n');
  // The broken file was watched (from the SyntaxError): its fix brings a worker that serves it.
  assert.ok(await eventually(async () => (await body(srv.url)) === 'polled', 60_000), srv.log());
  assert.ok(await eventually(() => srv.log().includes(`Worker exiting (pid: ${first})`), 30_000), srv.log());
  const client = keepRequesting(srv.url);
  await eventually(() => client.bodies.length >= 20, 10_000);
  await client.stop();
  assert.equal(client.failures, []);
  assert.equal([...new Set(client.bodies)], ['polled']);
});

poll.run();
