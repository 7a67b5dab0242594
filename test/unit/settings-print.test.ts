// --print-config's rendering (Gunicorn's Config.__str__) and the Python
// str()/repr() of values it relies on.

import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderConfig } from '../../src/config/print-config.js';
import { registry } from '../../src/config/registry.js';
import { resolveSettings } from '../../src/config/settings.js';
import { pyRepr, pyStr } from '../../src/config/validators.js';

const APP = { wsgi_app: 'app:app' };

function lines(text: string): Map<string, string> {
  return new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l] as const));
}

test("pyRepr: None, True/False, ints, str quoting as Python's repr()", () => {
  assert.is(pyRepr(null), 'None');
  assert.is(pyRepr(true), 'True');
  assert.is(pyRepr(false), 'False');
  assert.is(pyRepr(42), '42');
  assert.is(pyRepr('abc'), "'abc'");
  assert.is(pyRepr("it's"), `"it's"`);
  assert.is(pyRepr(`it's "x"`), `'it\\'s "x"'`);
  assert.is(pyRepr('a\\b\nc\t'), "'a\\\\b\\nc\\t'");
  assert.is(pyRepr(''), "''");
});

test('pyRepr: lists and dicts as Python prints them', () => {
  assert.is(pyRepr([]), '[]');
  assert.is(pyRepr(['127.0.0.1:8000']), "['127.0.0.1:8000']");
  assert.is(pyRepr(['a', 1, null, true]), "['a', 1, None, True]");
  assert.is(pyRepr({}), '{}');
  assert.is(pyRepr({ 'X-A': 'on', n: [1] }), "{'X-A': 'on', 'n': [1]}");
});

test('pyStr: a str is itself; anything else is its repr', () => {
  assert.is(pyStr('sync'), 'sync');
  assert.is(pyStr(''), '');
  assert.is(pyStr(['a']), "['a']");
  assert.is(pyStr(null), 'None');
});

test("every setting, one line each, sorted by name, '{k:{kmax}} = {v}'", () => {
  const text = renderConfig(resolveSettings(APP));
  const rows = text.split('\n');
  const names = Object.keys(registry);
  assert.is(rows.length, names.length);
  const kmax = Math.max(...names.map((n) => n.length));
  const keys = rows.map((r) => r.slice(0, kmax).trimEnd());
  assert.equal(keys, [...names].sort());
  for (const r of rows) assert.is(r.slice(kmax, kmax + 3), ' = ', r);
  assert.is(rows[0], `access_log_format${' '.repeat(kmax - 'access_log_format'.length)} = %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`);
});

test('values print as Python str() prints them', () => {
  const s = resolveSettings({ ...APP, workers: '3', bind: ['127.0.0.1:9000', '[::1]:9001'], raw_env: ['A=1'], pythonpath: '/a,/b' });
  const row = lines(renderConfig(s));
  const value = (name: string) => row.get(name)!.replace(/^\S+\s+= /, '');
  assert.is(value('workers'), '3');
  assert.is(value('worker_class'), 'sync');
  assert.is(value('bind'), "['127.0.0.1:9000', '[::1]:9001']");
  assert.is(value('raw_env'), "['A=1']");
  assert.is(value('pythonpath'), '/a,/b', "Gunicorn keeps --pythonpath's string");
  assert.is(value('proc_name'), 'None');
  assert.is(value('reload'), 'False');
  assert.is(value('suppress_ragged_eofs'), 'True');
  assert.is(value('chdir'), process.cwd());
  assert.is(value('secure_scheme_headers'), "{'X-FORWARDED-PROTOCOL': 'ssl', 'X-FORWARDED-PROTO': 'https', 'X-FORWARDED-SSL': 'on'}");
  assert.is(value('forwarder_headers'), "['SCRIPT_NAME', 'PATH_INFO']");
  assert.is(value('wsgi_app'), 'app:app');
  assert.is(row.get('dogstatsd_tags')!.endsWith('= '), true, "an empty str prints as nothing after '= '");
  assert.is(value('ssl_version'), '2', 'str(ssl.PROTOCOL_TLS) on Python 3.11+');
  assert.is(value('cert_reqs'), '0');
  assert.is(lines(renderConfig(resolveSettings(APP))).get('pythonpath')!.endsWith('= None'), true);
});

test("hooks print as Gunicorn prints callables: the file's function, else Gunicorn's default", () => {
  const row = lines(renderConfig(resolveSettings({ ...APP, on_starting: true, post_request: true })));
  assert.match(row.get('on_starting')!, / = <on_starting\(\)>$/);
  assert.match(row.get('post_request')!, / = <post_request\(\)>$/);
  assert.match(row.get('when_ready')!, / = <WhenReady\.when_ready\(\)>$/);
  assert.match(row.get('pre_fork')!, / = <Prefork\.pre_fork\(\)>$/);
  assert.match(row.get('nworkers_changed')!, / = <NumWorkersChanged\.nworkers_changed\(\)>$/);
  assert.match(row.get('ssl_context')!, / = <NewSSLContext\.ssl_context\(\)>$/);
});

test.run();
