// resolveSettings (defaults < GUNICORN_CMD_ARGS < command line) and shellSplit.

import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, resolveSettings, shellSplit } from '../../src/config/settings.js';

const APP = { wsgi_app: 'app:app' };

/** Runs fn with WEB_CONCURRENCY set (or removed), restoring it afterwards. */
function withWebConcurrency<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.WEB_CONCURRENCY;
  if (value === undefined) delete process.env.WEB_CONCURRENCY;
  else process.env.WEB_CONCURRENCY = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.WEB_CONCURRENCY;
    else process.env.WEB_CONCURRENCY = saved;
  }
}

function configError(fn: () => unknown): ConfigError {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    assert.instance(e, ConfigError);
    return e as ConfigError;
  }
  const shown = result && typeof result === 'object' && 'workers' in result ? `workers=${(result as { workers: unknown }).workers}` : JSON.stringify(result);
  assert.unreachable(`expected a ConfigError, got ${shown}`);
  throw new Error('unreachable');
}

test('defaults: bind 127.0.0.1:8000, 1 worker, sync, keep-alive 2, cwd, no pythonpath, info', () => {
  const s = withWebConcurrency(undefined, () => resolveSettings(APP));
  assert.equal(s.bind, ['127.0.0.1:8000']);
  assert.is(s.workers, 1);
  assert.is(s.worker_class, 'sync');
  assert.is(s.keepalive, 2);
  assert.is(s.chdir, process.cwd());
  assert.equal(s.pythonpath, []);
  assert.is(s.loglevel, 'info');
  assert.is(s.wsgi_app, 'app:app');
});

test('a later layer overrides an earlier one; unset keys fall through', () => {
  const env = { workers: '3', keepalive: '5', wsgi_app: 'env:app' };
  const cli = { workers: '4', wsgi_app: 'cli:app' };
  const s = resolveSettings(env, cli);
  assert.is(s.workers, 4);
  assert.is(s.keepalive, 5);
  assert.is(s.wsgi_app, 'cli:app');
});

test('the app module may come from an earlier layer alone', () => {
  assert.is(resolveSettings({ wsgi_app: 'env:app' }, { workers: '2' }).wsgi_app, 'env:app');
});

test('numeric settings are parsed from strings', () => {
  const s = resolveSettings({ ...APP, workers: ' 8 ', keepalive: '0' });
  assert.is(s.workers, 8);
  assert.is(s.keepalive, 0);
});

test("a bad workers value is a ConfigError whose message names 'workers'", () => {
  for (const bad of ['two', '-1', '1.5', '0', '']) {
    const e = configError(() => resolveSettings({ ...APP, workers: bad }));
    assert.match(e.message, /workers/, `workers=${JSON.stringify(bad)}`);
  }
});

test("a bad keep-alive value names 'keepalive'", () => {
  assert.match(configError(() => resolveSettings({ ...APP, keepalive: 'x' })).message, /keepalive/);
});

test("no application module → 'No application module specified.'", () => {
  assert.is(configError(() => resolveSettings({})).message, 'No application module specified.');
  assert.is(configError(() => resolveSettings({ wsgi_app: '' })).message, 'No application module specified.');
});

test('WEB_CONCURRENCY is the default number of workers', () => {
  assert.is(withWebConcurrency('3', () => resolveSettings(APP)).workers, 3);
});

test("a WEB_CONCURRENCY that is not a number is a ConfigError naming 'workers'", () => {
  const e = withWebConcurrency('lots', () => configError(() => resolveSettings(APP)));
  assert.match(e.message, /workers/);
});

test('WEB_CONCURRENCY=0 is rejected like --workers 0 (at least 1 worker)', () => {
  assert.match(configError(() => resolveSettings({ ...APP, workers: '0' })).message, /workers/);
  const e = withWebConcurrency('0', () => configError(() => resolveSettings(APP)));
  assert.match(e.message, /workers/);
});

test('an explicit workers value wins over WEB_CONCURRENCY', () => {
  assert.is(withWebConcurrency('3', () => resolveSettings(APP, { workers: '2' })).workers, 2);
});

test("worker_class other than 'sync' is rejected as not supported yet", () => {
  for (const k of ['gevent', 'gthread', 'uvicorn.workers.UvicornWorker']) {
    const e = configError(() => resolveSettings({ ...APP, worker_class: k }));
    assert.match(e.message, 'is not supported by nicorn-py yet');
    assert.match(e.message, k);
  }
  assert.is(resolveSettings({ ...APP, worker_class: 'sync' }).worker_class, 'sync');
});

test('pythonpath is a comma list: split, trimmed, empty items dropped', () => {
  const s = resolveSettings({ ...APP, pythonpath: ' /a, b/c ,,/d ' });
  assert.equal(s.pythonpath, ['/a', 'b/c', '/d']);
});

test('bind is repeatable: a list keeps every address in order; a single string is one address', () => {
  assert.equal(resolveSettings({ ...APP, bind: ['127.0.0.1:9000', '[::1]:9001'] }).bind, ['127.0.0.1:9000', '[::1]:9001']);
  assert.equal(resolveSettings({ ...APP, bind: '0.0.0.0:80' }).bind, ['0.0.0.0:80']);
});

test('log level is case-insensitive and must be a known level', () => {
  assert.is(resolveSettings({ ...APP, loglevel: 'DEBUG' }).loglevel, 'debug');
  assert.match(configError(() => resolveSettings({ ...APP, loglevel: 'verbose' })).message, /loglevel/);
});

test('shellSplit splits plain words on any whitespace run', () => {
  assert.equal(shellSplit('  -w 3\t--bind\n0.0.0.0:80  '), ['-w', '3', '--bind', '0.0.0.0:80']);
  assert.equal(shellSplit(''), []);
  assert.equal(shellSplit('   '), []);
});

test('shellSplit: single quotes keep everything literally, including backslashes', () => {
  assert.equal(shellSplit(`--name 'a b\\c "d"'`), ['--name', 'a b\\c "d"']);
});

test('shellSplit: double quotes keep spaces; backslash escapes only " \\ $ `', () => {
  assert.equal(shellSplit(`"a b" "x\\"y" "p\\q" "\\\\"`), ['a b', 'x"y', 'p\\q', '\\']);
});

test('shellSplit: quotes join with adjacent text into one word', () => {
  assert.equal(shellSplit(`--bind='0.0.0.0:80'x "a"'b'c`), ['--bind=0.0.0.0:80x', 'abc']);
});

test('shellSplit: an unquoted backslash escapes the next character, even a space', () => {
  assert.equal(shellSplit('a\\ b c\\"d'), ['a b', 'c"d']);
});

test("shellSplit keeps an empty quoted argument ('' or \"\") as an empty string", () => {
  assert.equal(shellSplit(`--pythonpath '' -w ""`), ['--pythonpath', '', '-w', '']);
});

test('shellSplit: an unterminated quote is a ConfigError', () => {
  configError(() => shellSplit(`--name 'abc`));
  configError(() => shellSplit(`--name "abc`));
});

test.run();
