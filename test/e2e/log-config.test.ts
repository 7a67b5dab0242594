// logconfig_dict (from a real gunicorn.conf.py), logconfig (ini) and
// logconfig_json: the user's handlers and formatters — a JSON formatter from
// the project's own code — get every line of gunicorn.error and
// gunicorn.access, the arbiter's, the workers' and the app's, each with the
// pid of its process; HUP applies the configuration again, and one that
// fails keeps the previous one with the error on stderr.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, eventually, runCli, startServer, type Server } from '../helpers/server.js';

const FIXTURE = path.join(FIXTURES, 'logconfig');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-logconfig-')));

interface JsonLine {
  logger: string;
  level: string;
  pid: number;
  message: string;
  status?: string;
  path?: string;
  duration_us?: number;
  exc?: string;
}

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
/** Every line of the file, parsed: a line that is not JSON fails the case. */
const lines = (f: string): JsonLine[] =>
  read(f)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JsonLine);
const get = async (url: string) => {
  const res = await fetch(url);
  await res.text();
  return res.status;
};

const dict = suite<{ srv: Server; dir: string; log: string }>('logconfig_dict from gunicorn.conf.py');

dict.after(async (ctx) => {
  await ctx.srv?.stop();
});

dict('every line is a record the JSON formatter of the project formats, with its process id', async (ctx) => {
  // A copy: the HUP case edits its config file.
  ctx.dir = path.join(tmp, 'dict');
  fs.cpSync(FIXTURE, ctx.dir, { recursive: true });
  ctx.log = path.join(tmp, 'json.log');
  const { dir, log } = ctx;
  // A cache of its own: the worker has the base snapshot made, and says so.
  const cache = path.join(tmp, 'cache');
  ctx.srv = await startServer(['-c', path.join(dir, 'gunicorn.conf.py'), '--chdir', dir, 'app'], {
    env: { NICORN_TEST_JSON_LOG: log, XDG_CACHE_HOME: cache },
    logFile: log,
  });
  const { srv } = ctx;
  const worker = srv.workerPids()[0]!;
  assert.is(await get(`${srv.url}/hello`), 200);
  assert.is(await get(`${srv.url}/fail`), 500);
  assert.is(await get(`${srv.url}/wal`), 200);
  assert.ok(await eventually(() => lines(log).some((l) => l.logger === 'gunicorn.access' && l.path === '/fail'), 10_000), read(log));
  const all = lines(log);
  const find = (pred: (l: JsonLine) => boolean) => all.find(pred);
  assert.equal(find((l) => l.message.startsWith('Starting nicorn-py')), { logger: 'gunicorn.error', level: 'INFO', pid: srv.pid, message: find((l) => l.message.startsWith('Starting nicorn-py'))!.message });
  assert.ok(find((l) => l.message === `Booting worker with pid: ${worker}` && l.pid === worker), 'the worker I/O thread line, with its pid');
  assert.ok(find((l) => l.message === 'app says /hello' && l.pid === worker && l.level === 'WARNING'), "the app's own record");
  const failed = find((l) => l.message === 'Error handling request GET /fail');
  assert.ok(failed && failed.pid === worker && failed.exc?.includes('ValueError: deliberate failure'), JSON.stringify(failed));
  const access = find((l) => l.logger === 'gunicorn.access' && l.path === '/hello')!;
  assert.is(access.status, '200');
  assert.is(access.pid, worker);
  assert.ok(Number.isInteger(access.duration_us));
  // Gunicorn's default access_log_format, formatted from the atoms.
  assert.match(access.message, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello HTTP\/1\.1" 200 2 "-" "[^"]*"$/);
  assert.ok(find((l) => l.message.startsWith('Making the base snapshot') && l.pid === worker), "the worker's base snapshot line");
  assert.ok(await eventually(() => lines(log).some((l) => l.message.startsWith('SQLite WAL mode on')), 10_000), read(log));
  const wal = lines(log).find((l) => l.message.startsWith('SQLite WAL mode on') && l.pid === worker);
  assert.is(wal?.level, 'ERROR', "the Python thread's own line, routed too");
  assert.not.match(srv.stdio(), /Starting nicorn-py|Booting worker|app says|Making the base snapshot|SQLite WAL mode/);
});

dict('HUP with a configuration that fails: the error on stderr, the previous configuration stays, in new workers too', async ({ srv, dir, log }) => {
  const conf = path.join(dir, 'gunicorn.conf.py');
  fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace('jsonlog.JsonFormatter', 'jsonlog.NoSuchFormatter'));
  const before = srv.workerPids();
  process.kill(srv.pid, 'SIGHUP');
  assert.ok(await eventually(() => srv.workerPids().length > before.length, 60_000), srv.log());
  const fresh = srv.workerPids().at(-1)!;
  assert.ok(await eventually(() => before.every((pid) => lines(log).some((l) => l.message === `Worker exiting (pid: ${pid})`)), 60_000), read(log));
  assert.match(srv.stdio(), /\nError: reloading the logger configuration failed, keeping the previous one\nTraceback \(most recent call last\):[\s\S]*NoSuchFormatter/);
  assert.ok(lines(log).some((l) => l.level === 'ERROR' && l.message === 'reloading the logger configuration failed, keeping the previous one' && l.pid === srv.pid));
  assert.is(await get(`${srv.url}/after-hup`), 200);
  assert.ok(await eventually(() => lines(log).some((l) => l.logger === 'gunicorn.access' && l.path === '/after-hup' && l.pid === fresh), 10_000), read(log));
  assert.ok(lines(log).some((l) => l.message === 'app says /after-hup' && l.pid === fresh));
  assert.is(srv.proc.exitCode, null);
});

dict.run();

const files = suite('logconfig (ini) and logconfig_json from the command line; a bad one at start');

files('--log-config FILE.ini and --log-config-json FILE.json format the arbiter, worker and access lines', async () => {
  for (const [flag, file, tag] of [['--log-config', 'logging.ini', 'INI'], ['--log-config-json', 'logging.json', 'JSONCFG']] as const) {
    const srv = await startServer([flag, path.join(FIXTURE, file), '--chdir', FIXTURE, 'app']);
    try {
      assert.is(await get(`${srv.url}/x`), 200);
      const worker = srv.workerPids()[0]!;
      assert.ok(await eventually(() => srv.stdio().includes(`${tag} gunicorn.access INFO pid=${worker} 127.0.0.1 - - [`), 10_000), srv.stdio());
      const out = srv.stdio();
      assert.match(out, new RegExp(`^${tag} gunicorn\\.error INFO pid=${srv.pid} Starting nicorn-py `, 'm'));
      assert.match(out, new RegExp(`^${tag} gunicorn\\.error INFO pid=${worker} Booting worker with pid: ${worker}$`, 'm'));
      assert.match(out, new RegExp(`^${tag} gunicorn\\.error WARNING pid=${worker} app says /x$`, 'm'));
      assert.not.match(out, /\[INFO\] Starting nicorn-py/);
    } finally {
      await srv.stop();
    }
  }
});

files('a configuration that cannot be applied at start: Gunicorn\'s "Error: ..." and exit 1', async () => {
  const bad = path.join(tmp, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ version: 1, handlers: { h: { class: 'logging.NoSuchHandler' } } }));
  const run = await runCli(['--log-config-json', bad, '--chdir', FIXTURE, '-b', '127.0.0.1:0', 'app']);
  assert.is(run.code, 1, run.stderr);
  assert.match(run.stderr, /\nError: Unable to configure handler 'h'\n/);
  assert.not.match(run.stderr, /Listening at/);
  const missing = await runCli(['--log-config', path.join(tmp, 'missing.ini'), '--chdir', FIXTURE, '-b', '127.0.0.1:0', 'app']);
  assert.is(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, new RegExp(`Error: Error: log config '${tmp}/missing\\.ini' not found`));
});

files.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

files.run();
