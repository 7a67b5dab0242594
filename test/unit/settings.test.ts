// resolveSettings (defaults < config file < GUNICORN_CMD_ARGS < command line,
// each a layer of raw values), validation as Gunicorn's validators do it, the
// not-supported-yet rule, and shellSplit.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registry, type SettingName } from '../../src/config/registry.js';
import { ConfigError, knownSettings, resolveOne, resolveSettings, shellSplit, type RawSettings } from '../../src/config/settings.js';

const APP = { wsgi_app: 'app:app' };

/** Runs fn with the environment variables set (undefined: removed), restoring them afterwards. */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (vs: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vs)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return fn();
  } finally {
    apply(saved);
  }
}

/** Runs fn with WEB_CONCURRENCY set (or removed), restoring it afterwards. */
function withWebConcurrency<T>(value: string | undefined, fn: () => T): T {
  return withEnv({ WEB_CONCURRENCY: value }, fn);
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
  const s = withEnv({ WEB_CONCURRENCY: undefined, PORT: undefined }, () => resolveSettings(APP));
  assert.equal(s.bind, ['127.0.0.1:8000']);
  assert.is(s.workers, 1);
  assert.is(s.worker_class, 'sync');
  assert.is(s.keepalive, 2);
  assert.is(s.chdir, process.cwd());
  assert.equal(s.pythonpath, []);
  assert.is(s.loglevel, 'info');
  assert.is(s.wsgi_app, 'app:app');
  assert.equal(s.raw_env, []);
  assert.is(s.config, './gunicorn.conf.py');
  assert.is(s.print_config, false);
  assert.is(s.check_config, false);
  assert.is(s.on_starting, false);
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

test('a worker class nicorn-py cannot run is rejected, naming it (the class map: config/worker-classes.ts)', () => {
  for (const k of ['gevent', 'tornado', 'myapp.workers.MyWorker']) {
    const e = configError(() => resolveSettings({ ...APP, worker_class: k }));
    assert.match(e.message, `worker_class '${k}'`);
    assert.match(e.message, /use -k (sync|gthread)/i);
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

// ---------------------------------------------------------------- precedence

/** Every combination of the three layers: the highest one that sets the value wins, else the default. */
function precedenceMatrix<K extends SettingName>(
  name: K,
  values: { file: unknown; env: unknown; argv: unknown },
  expected: { default: unknown; file: unknown; env: unknown; argv: unknown },
): void {
  const order = ['file', 'env', 'argv'] as const;
  for (let mask = 0; mask < 8; mask++) {
    const present = order.filter((_, i) => mask & (1 << i));
    const layers: RawSettings[] = order.map((l) => (present.includes(l) ? { [name]: values[l] } : {}));
    layers[0] = { ...APP, ...layers[0] };
    const got = withEnv({ WEB_CONCURRENCY: undefined, PORT: undefined }, () => resolveSettings(...layers)[name]);
    const winner = present.at(-1) ?? 'default';
    assert.equal(got, expected[winner], `${name} with ${present.join('+') || 'no layer'}: ${winner} wins`);
  }
}

test('precedence matrix, workers: default < config file < GUNICORN_CMD_ARGS < command line', () => {
  precedenceMatrix('workers', { file: 2, env: '3', argv: '4' }, { default: 1, file: 2, env: 3, argv: 4 });
});

test('precedence matrix, keepalive', () => {
  precedenceMatrix('keepalive', { file: 0, env: '5', argv: '7' }, { default: 2, file: 0, env: 5, argv: 7 });
});

test('precedence matrix, loglevel', () => {
  precedenceMatrix('loglevel', { file: 'debug', env: 'WARNING', argv: 'error' }, { default: 'info', file: 'debug', env: 'warning', argv: 'error' });
});

test('precedence matrix, bind: the winning layer\'s whole list, never a merge', () => {
  precedenceMatrix(
    'bind',
    { file: ['127.0.0.1:1', '127.0.0.1:2'], env: ['127.0.0.1:3'], argv: ['[::1]:4'] },
    { default: ['127.0.0.1:8000'], file: ['127.0.0.1:1', '127.0.0.1:2'], env: ['127.0.0.1:3'], argv: ['[::1]:4'] },
  );
});

test('precedence matrix, raw_env and the hooks', () => {
  precedenceMatrix('raw_env', { file: ['A=1'], env: ['B=2'], argv: ['C=3', 'D=4'] }, { default: [], file: ['A=1'], env: ['B=2'], argv: ['C=3', 'D=4'] });
  precedenceMatrix('check_config', { file: true, env: false, argv: true }, { default: false, file: true, env: false, argv: true });
});

test('precedence matrix, wsgi_app: the config file names the app when the command line does not', () => {
  for (const [layers, app] of [
    [[{ wsgi_app: 'file:app' }, {}, {}], 'file:app'],
    [[{ wsgi_app: 'file:app' }, { wsgi_app: 'env:app' }, {}], 'env:app'],
    [[{ wsgi_app: 'file:app' }, { wsgi_app: 'env:app' }, { wsgi_app: 'cli:app' }], 'cli:app'],
    [[{ wsgi_app: 'file:app' }, {}, { wsgi_app: 'cli:app' }], 'cli:app'],
  ] as [RawSettings[], string][]) {
    assert.is(resolveSettings(...layers).wsgi_app, app);
  }
});

test('resolveOne resolves one setting from the layers given (chdir and pythonpath before the config file)', () => {
  assert.equal(resolveOne('pythonpath', [{ pythonpath: '/a' }, { pythonpath: '/b,/c' }]), ['/b', '/c']);
  assert.is(resolveOne('chdir', []), process.cwd());
  assert.equal(resolveOne('raw_env', [{ raw_env: ['X=1'] }]), ['X=1']);
});

// ---------------------------------------------------------------- config-file values

test('config-file values: numbers, booleans, lists and dicts are taken as they are', () => {
  const s = resolveSettings({
    ...APP,
    workers: 3,
    keepalive: 0,
    bind: ['127.0.0.1:9000', '[::1]:9001'],
    raw_env: ['A=1', 'B=x=y'],
    print_config: true,
    check_config: 'False',
    secure_scheme_headers: { 'X-FORWARDED-SSL': 'on', 'X-FORWARDED-PROTO': 'https', 'X-FORWARDED-PROTOCOL': 'ssl' },
    pythonpath: '/x,/y',
  });
  assert.is(s.workers, 3);
  assert.is(s.keepalive, 0);
  assert.equal(s.bind, ['127.0.0.1:9000', '[::1]:9001']);
  assert.equal(s.raw_env, ['A=1', 'B=x=y']);
  assert.is(s.print_config, true);
  assert.is(s.check_config, false);
  assert.equal(s.pythonpath, ['/x', '/y']);
});

test('integers are read as Python int(value, 0) does; True counts as 1; floats and bad literals are errors', () => {
  assert.is(resolveSettings({ ...APP, keepalive: '0x10' }).keepalive, 16);
  assert.is(resolveSettings({ ...APP, keepalive: '0o17' }).keepalive, 15);
  assert.is(resolveSettings({ ...APP, keepalive: '1_000' }).keepalive, 1000);
  assert.is(resolveSettings({ ...APP, workers: true }).workers, 1);
  for (const bad of [1.5, '010', '1e3', 'x', null, [], {}]) {
    assert.match(configError(() => resolveSettings({ ...APP, keepalive: bad })).message, /^Invalid value for keepalive: /);
  }
  assert.is(configError(() => resolveSettings({ ...APP, keepalive: -3 })).message, 'Invalid value for keepalive: -3 (Value must be positive)');
});

test("a bad value's message is one line naming the setting and the value as Python shows it", () => {
  assert.is(configError(() => resolveSettings({ ...APP, workers: 'abc' })).message, "Invalid value for workers: 'abc' (not an integer)");
  assert.is(configError(() => resolveSettings({ ...APP, workers: 0 })).message, 'Invalid value for workers: 0 (must be at least 1)');
  assert.is(configError(() => resolveSettings({ ...APP, check_config: 'maybe' })).message, "Invalid value for check_config: 'maybe' (Invalid boolean)");
  assert.is(configError(() => resolveSettings({ ...APP, bind: 8000 })).message, 'Invalid value for bind: 8000 (Not a list of strings)');
  for (const bad of ['abc', 0, 'maybe']) {
    const msg = configError(() => resolveSettings({ ...APP, workers: bad, check_config: bad })).message;
    assert.not.match(msg, '\n');
  }
});

test("raw_env entries must be KEY=VALUE: Gunicorn's message otherwise", () => {
  assert.is(configError(() => resolveSettings({ ...APP, raw_env: ['FOO'] })).message, "environment setting 'FOO' invalid");
  assert.is(configError(() => resolveSettings({ ...APP, raw_env: ['=x'] })).message, "environment setting '=x' invalid");
  assert.equal(resolveSettings({ ...APP, raw_env: 'FOO=' }).raw_env, ['FOO=']);
});

test("chdir is made absolute against the current directory and must exist (\"can't chdir to\")", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-chdir-'));
  try {
    assert.is(resolveSettings({ ...APP, chdir: tmp }).chdir, tmp);
    assert.is(resolveSettings({ ...APP, chdir: '.' }).chdir, process.cwd());
    assert.is(configError(() => resolveSettings({ ...APP, chdir: path.join(tmp, 'nope') })).message, `can't chdir to '${path.join(tmp, 'nope')}'`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('PORT makes the default bind 0.0.0.0:$PORT, as in Gunicorn', () => {
  assert.equal(withEnv({ PORT: '5000' }, () => resolveSettings(APP).bind), ['0.0.0.0:5000']);
  assert.equal(withEnv({ PORT: '5000' }, () => resolveSettings(APP, { bind: '127.0.0.1:1' }).bind), ['127.0.0.1:1']);
});

test("bind: Gunicorn's unix:PATH and fd://FD addresses are accepted, alone or in a list", () => {
  assert.equal(resolveSettings({ ...APP, bind: 'unix:/tmp/s.sock' }).bind, ['unix:/tmp/s.sock']);
  assert.equal(resolveSettings({ ...APP, bind: ['127.0.0.1:1', 'fd://3'] }).bind, ['127.0.0.1:1', 'fd://3']);
});

test('backlog: a positive integer (supported), 2048 by default', () => {
  assert.is(resolveSettings(APP).backlog, 2048);
  assert.is(resolveSettings({ ...APP, backlog: '64' }).backlog, 64);
  assert.match(configError(() => resolveSettings({ ...APP, backlog: 'many' })).message, /Invalid value for backlog/);
});

test('FORWARDED_ALLOW_IPS is the default of forwarded_allow_ips (accepted: it is the default)', () => {
  assert.equal(resolveSettings(APP).forwarded_allow_ips, ['127.0.0.1', '::1']);
  assert.equal(withEnv({ FORWARDED_ALLOW_IPS: '10.0.0.1, 10.0.0.2' }, () => resolveSettings(APP).forwarded_allow_ips), ['10.0.0.1', '10.0.0.2']);
  assert.equal(withEnv({ FORWARDED_ALLOW_IPS: '*' }, () => resolveSettings(APP, { forwarded_allow_ips: '*' }).forwarded_allow_ips), ['*']);
  assert.match(configError(() => resolveSettings({ ...APP, forwarded_allow_ips: 'not-an-ip' })).message, /forwarded_allow_ips: 'not-an-ip'/);
});

// ---------------------------------------------------------------- not supported yet

test('an unsupported setting at its default is accepted, from any layer', () => {
  const s = resolveSettings({ ...APP, threads: 1, timeout: '30', reload: false }, { strip_header_spaces: 'false' }, { daemon: 'false', umask: '0' });
  assert.is(s.threads, 1);
  assert.is(s.timeout, 30);
  assert.is(s.strip_header_spaces, false);
});

test("an unsupported setting at another value is rejected: '<name> is not supported by nicorn-py yet'", () => {
  const cases: [SettingName, unknown][] = [
    ['logger_class', 'myapp.Logger'],
    ['suppress_ragged_eofs', false],
  ];
  for (const [name, value] of cases) {
    for (const at of [0, 1, 2]) {
      const layers: RawSettings[] = [{ ...APP }, {}, {}];
      layers[at] = { ...layers[at], [name]: value };
      assert.is(configError(() => resolveSettings(...layers)).message, `${name} is not supported by nicorn-py yet`, `${name} in layer ${at}`);
    }
  }
});

test("a value is validated before the not-supported check: a bad one is 'Invalid value'", () => {
  assert.is(configError(() => resolveSettings({ ...APP, threads: 'many' })).message, "Invalid value for threads: 'many' (not an integer)");
});

test('hooks: true when the config file defines them, false otherwise; nothing else is a hook value', () => {
  const s = resolveSettings({ ...APP, on_starting: true, post_request: true, pre_fork: false });
  assert.is(s.on_starting, true);
  assert.is(s.post_request, true);
  assert.is(s.pre_fork, false);
  assert.is(s.when_ready, false);
  for (const bad of ['yes', 'true', 1, null]) {
    assert.match(configError(() => resolveSettings({ ...APP, on_exit: bad })).message, /^Invalid value for on_exit: /);
  }
});

test('the ssl_context hook is not supported yet: defining it is rejected', () => {
  assert.is(resolveSettings({ ...APP, ssl_context: false }).ssl_context, false);
  assert.is(configError(() => resolveSettings({ ...APP, ssl_context: true })).message, 'ssl_context is not supported by nicorn-py yet');
});

test("knownSettings keeps a config file's setting names and drops the rest, as Gunicorn ignores them", () => {
  assert.equal(knownSettings({ workers: 2, not_a_setting: 1, os: 'module', on_starting: true }), { workers: 2, on_starting: true });
  assert.ok(Object.keys(registry).every((n) => n in knownSettings(Object.fromEntries(Object.keys(registry).map((k) => [k, 1])))));
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
