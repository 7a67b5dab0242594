// The settings registry against Gunicorn's own table (gunicorn/config.py,
// 26.2.2): every setting by name, section, flags and meta; the hooks' arities;
// what nicorn-py supports; and docs/settings.md generated from it.

import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderSettingsDoc } from '../../src/config/docs.js';
import { SECTIONS, configFileNames, registry, shortDesc, specOf, type SettingName } from '../../src/config/registry.js';
import { ConfigError, resolveSettings, type RawSettings } from '../../src/config/settings.js';
import { servedWorkerClass, workerClassName, workerClassNote } from '../../src/config/worker-classes.js';

type Row = [section: string, flags: string[], meta?: string];

/** Gunicorn 26.2.2's KNOWN_SETTINGS, in its order: name -> section, cli, meta. */
const GUNICORN: Record<string, Row> = {
  config: ['Config File', ['-c', '--config'], 'CONFIG'],
  wsgi_app: ['Config File', [], 'STRING'],
  bind: ['Server Socket', ['-b', '--bind'], 'ADDRESS'],
  backlog: ['Server Socket', ['--backlog'], 'INT'],
  workers: ['Worker Processes', ['-w', '--workers'], 'INT'],
  worker_class: ['Worker Processes', ['-k', '--worker-class'], 'STRING'],
  threads: ['Worker Processes', ['--threads'], 'INT'],
  worker_connections: ['Worker Processes', ['--worker-connections'], 'INT'],
  max_requests: ['Worker Processes', ['--max-requests'], 'INT'],
  max_requests_jitter: ['Worker Processes', ['--max-requests-jitter'], 'INT'],
  timeout: ['Worker Processes', ['-t', '--timeout'], 'INT'],
  graceful_timeout: ['Worker Processes', ['--graceful-timeout'], 'INT'],
  keepalive: ['Worker Processes', ['--keep-alive'], 'INT'],
  limit_request_line: ['Security', ['--limit-request-line'], 'INT'],
  limit_request_fields: ['Security', ['--limit-request-fields'], 'INT'],
  limit_request_field_size: ['Security', ['--limit-request-field_size'], 'INT'],
  reload: ['Debugging', ['--reload']],
  reload_engine: ['Debugging', ['--reload-engine'], 'STRING'],
  reload_extra_files: ['Debugging', ['--reload-extra-file'], 'FILES'],
  spew: ['Debugging', ['--spew']],
  check_config: ['Debugging', ['--check-config']],
  print_config: ['Debugging', ['--print-config']],
  preload_app: ['Server Mechanics', ['--preload']],
  sendfile: ['Server Mechanics', ['--no-sendfile']],
  reuse_port: ['Server Mechanics', ['--reuse-port']],
  chdir: ['Server Mechanics', ['--chdir']],
  daemon: ['Server Mechanics', ['-D', '--daemon']],
  raw_env: ['Server Mechanics', ['-e', '--env'], 'ENV'],
  pidfile: ['Server Mechanics', ['-p', '--pid'], 'FILE'],
  worker_tmp_dir: ['Server Mechanics', ['--worker-tmp-dir'], 'DIR'],
  user: ['Server Mechanics', ['-u', '--user'], 'USER'],
  group: ['Server Mechanics', ['-g', '--group'], 'GROUP'],
  umask: ['Server Mechanics', ['-m', '--umask'], 'INT'],
  initgroups: ['Server Mechanics', ['--initgroups']],
  tmp_upload_dir: ['Server Mechanics', [], 'DIR'],
  secure_scheme_headers: ['Server Mechanics', []],
  forwarded_allow_ips: ['Server Mechanics', ['--forwarded-allow-ips'], 'STRING'],
  accesslog: ['Logging', ['--access-logfile'], 'FILE'],
  disable_redirect_access_to_syslog: ['Logging', ['--disable-redirect-access-to-syslog']],
  access_log_format: ['Logging', ['--access-logformat'], 'STRING'],
  errorlog: ['Logging', ['--error-logfile', '--log-file'], 'FILE'],
  loglevel: ['Logging', ['--log-level'], 'LEVEL'],
  capture_output: ['Logging', ['--capture-output']],
  logger_class: ['Logging', ['--logger-class'], 'STRING'],
  logconfig: ['Logging', ['--log-config'], 'FILE'],
  logconfig_dict: ['Logging', []],
  logconfig_json: ['Logging', ['--log-config-json'], 'FILE'],
  syslog_addr: ['Logging', ['--log-syslog-to'], 'SYSLOG_ADDR'],
  syslog: ['Logging', ['--log-syslog']],
  syslog_prefix: ['Logging', ['--log-syslog-prefix'], 'SYSLOG_PREFIX'],
  syslog_facility: ['Logging', ['--log-syslog-facility'], 'SYSLOG_FACILITY'],
  enable_stdio_inheritance: ['Logging', ['-R', '--enable-stdio-inheritance']],
  statsd_host: ['Logging', ['--statsd-host'], 'STATSD_ADDR'],
  dogstatsd_tags: ['Logging', ['--dogstatsd-tags'], 'DOGSTATSD_TAGS'],
  statsd_prefix: ['Logging', ['--statsd-prefix'], 'STATSD_PREFIX'],
  proc_name: ['Process Naming', ['-n', '--name'], 'STRING'],
  default_proc_name: ['Process Naming', []],
  pythonpath: ['Server Mechanics', ['--pythonpath'], 'STRING'],
  paste: ['Server Mechanics', ['--paste', '--paster'], 'STRING'],
  on_starting: ['Server Hooks', []],
  on_reload: ['Server Hooks', []],
  when_ready: ['Server Hooks', []],
  pre_fork: ['Server Hooks', []],
  post_fork: ['Server Hooks', []],
  post_worker_init: ['Server Hooks', []],
  worker_int: ['Server Hooks', []],
  worker_abort: ['Server Hooks', []],
  pre_exec: ['Server Hooks', []],
  pre_request: ['Server Hooks', []],
  post_request: ['Server Hooks', []],
  child_exit: ['Server Hooks', []],
  worker_exit: ['Server Hooks', []],
  nworkers_changed: ['Server Hooks', []],
  on_exit: ['Server Hooks', []],
  ssl_context: ['Server Hooks', []],
  proxy_protocol: ['Server Mechanics', ['--proxy-protocol'], 'MODE'],
  proxy_allow_ips: ['Server Mechanics', ['--proxy-allow-from']],
  keyfile: ['SSL', ['--keyfile'], 'FILE'],
  certfile: ['SSL', ['--certfile'], 'FILE'],
  ssl_version: ['SSL', ['--ssl-version']],
  cert_reqs: ['SSL', ['--cert-reqs']],
  ca_certs: ['SSL', ['--ca-certs'], 'FILE'],
  suppress_ragged_eofs: ['SSL', ['--suppress-ragged-eofs']],
  do_handshake_on_connect: ['SSL', ['--do-handshake-on-connect']],
  ciphers: ['SSL', ['--ciphers']],
  raw_paste_global_conf: ['Server Mechanics', ['--paste-global'], 'CONF'],
  permit_obsolete_folding: ['Server Mechanics', ['--permit-obsolete-folding']],
  strip_header_spaces: ['Server Mechanics', ['--strip-header-spaces']],
  permit_unconventional_http_method: ['Server Mechanics', ['--permit-unconventional-http-method']],
  permit_unconventional_http_version: ['Server Mechanics', ['--permit-unconventional-http-version']],
  casefold_http_method: ['Server Mechanics', ['--casefold-http-method']],
  forwarder_headers: ['Server Mechanics', ['--forwarder-headers']],
  header_map: ['Server Mechanics', ['--header-map']],
  // Gunicorn 24 to 26.2
  enable_backlog_metric: ['Logging', ['--enable-backlog-metric']],
  protocol: ['Server Mechanics', ['--protocol'], 'STRING'],
  uwsgi_allow_ips: ['Server Mechanics', ['--uwsgi-allow-from']],
  root_path: ['Server Mechanics', ['--root-path'], 'STRING'],
  http_protocols: ['HTTP/2', ['--http-protocols'], 'STRING'],
  http2_cleartext: ['HTTP/2', ['--http2-cleartext'], 'STRING'],
  http2_max_concurrent_streams: ['HTTP/2', ['--http2-max-concurrent-streams'], 'INT'],
  http2_initial_window_size: ['HTTP/2', ['--http2-initial-window-size'], 'INT'],
  http2_max_frame_size: ['HTTP/2', ['--http2-max-frame-size'], 'INT'],
  http2_max_header_list_size: ['HTTP/2', ['--http2-max-header-list-size'], 'INT'],
  asgi_loop: ['Worker Processes', ['--asgi-loop'], 'STRING'],
  asgi_lifespan: ['Worker Processes', ['--asgi-lifespan'], 'STRING'],
  asgi_disconnect_grace_period: ['Worker Processes', ['--asgi-disconnect-grace-period'], 'INT'],
  http_parser: ['Worker Processes', ['--http-parser'], 'STRING'],
  dirty_apps: ['Dirty Arbiters', ['--dirty-app'], 'STRING'],
  dirty_workers: ['Dirty Arbiters', ['--dirty-workers'], 'INT'],
  dirty_timeout: ['Dirty Arbiters', ['--dirty-timeout'], 'INT'],
  dirty_threads: ['Dirty Arbiters', ['--dirty-threads'], 'INT'],
  dirty_graceful_timeout: ['Dirty Arbiters', ['--dirty-graceful-timeout'], 'INT'],
  on_dirty_starting: ['Dirty Arbiter Hooks', []],
  dirty_post_fork: ['Dirty Arbiter Hooks', []],
  dirty_worker_init: ['Dirty Arbiter Hooks', []],
  dirty_worker_exit: ['Dirty Arbiter Hooks', []],
  control_socket: ['Control', ['--control-socket'], 'PATH'],
  control_socket_mode: ['Control', ['--control-socket-mode'], 'INT'],
  control_socket_disable: ['Control', ['--no-control-socket']],
};

/** Gunicorn's validate_callable(arity) for each hook (post_request: 4 via validate_post_request). */
const HOOK_ARITY: Record<string, number> = {
  on_starting: 1,
  on_reload: 1,
  when_ready: 1,
  pre_fork: 2,
  post_fork: 2,
  post_worker_init: 1,
  worker_int: 1,
  worker_abort: 1,
  pre_exec: 1,
  pre_request: 2,
  post_request: 4,
  child_exit: 2,
  worker_exit: 2,
  nworkers_changed: 3,
  on_exit: 1,
  on_dirty_starting: 1,
  dirty_post_fork: 2,
  dirty_worker_init: 1,
  dirty_worker_exit: 2,
  ssl_context: 2,
};

/** Gunicorn's flags that are switches (argparse store_true / store_const), not value options. */
const SWITCHES: Record<string, string> = {
  reload: 'store_true',
  spew: 'store_true',
  check_config: 'store_true',
  print_config: 'store_true',
  preload_app: 'store_true',
  sendfile: 'store_const',
  reuse_port: 'store_true',
  daemon: 'store_true',
  initgroups: 'store_true',
  disable_redirect_access_to_syslog: 'store_true',
  capture_output: 'store_true',
  syslog: 'store_true',
  enable_stdio_inheritance: 'store_true',
  enable_backlog_metric: 'store_true',
  control_socket_disable: 'store_true',
  suppress_ragged_eofs: 'store_true',
  do_handshake_on_connect: 'store_true',
  permit_obsolete_folding: 'store_true',
  strip_header_spaces: 'store_true',
  permit_unconventional_http_method: 'store_true',
  permit_unconventional_http_version: 'store_true',
  casefold_http_method: 'store_true',
};
const APPENDS = ['bind', 'reload_extra_files', 'raw_env', 'raw_paste_global_conf', 'dirty_apps'];

const SUPPORTED = [
  'config', 'wsgi_app', 'bind', 'backlog', 'workers', 'worker_class', 'threads', 'keepalive', 'chdir', 'pythonpath', 'loglevel', 'raw_env',
  'print_config', 'check_config',
  'timeout', 'graceful_timeout', 'max_requests', 'max_requests_jitter', 'pidfile', 'proc_name',
  'user', 'group', 'daemon', 'preload_app', 'umask', 'worker_tmp_dir', 'tmp_upload_dir', 'accesslog', 'access_log_format',
  'errorlog', 'capture_output', 'syslog', 'syslog_addr', 'syslog_prefix', 'syslog_facility',
  'disable_redirect_access_to_syslog', 'statsd_host', 'statsd_prefix', 'dogstatsd_tags', 'enable_stdio_inheritance',
  'on_starting', 'on_reload', 'when_ready', 'pre_fork', 'post_fork', 'post_worker_init', 'worker_int', 'worker_abort',
  'pre_exec', 'pre_request', 'post_request', 'child_exit', 'worker_exit', 'nworkers_changed', 'on_exit',
  'worker_connections', 'limit_request_line', 'limit_request_fields', 'limit_request_field_size', 'header_map',
  'casefold_http_method', 'secure_scheme_headers', 'forwarded_allow_ips', 'forwarder_headers', 'proxy_protocol',
  'proxy_allow_ips', 'certfile', 'keyfile', 'ca_certs', 'cert_reqs', 'ciphers', 'do_handshake_on_connect', 'ssl_version',
  'reuse_port',
  // The front door's own HTTP/1 parser (issues 20, 21).
  'permit_obsolete_folding', 'strip_header_spaces', 'permit_unconventional_http_method', 'permit_unconventional_http_version',
  // Operations (issue 21).
  'reload', 'reload_engine', 'reload_extra_files', 'logconfig', 'logconfig_dict', 'logconfig_json', 'default_proc_name',
  'initgroups', 'spew', 'sendfile', 'enable_backlog_metric', 'paste', 'raw_paste_global_conf',
  // The uwsgi protocol (issue 20).
  'protocol', 'uwsgi_allow_ips',
  // The control socket (issue 21).
  'control_socket', 'control_socket_mode', 'control_socket_disable',
  // HTTP/2 (issue 20).
  'http_protocols', 'http2_cleartext', 'http2_max_concurrent_streams', 'http2_initial_window_size', 'http2_max_frame_size',
  'http2_max_header_list_size',
  // The asgi worker (issue 19).
  'asgi_loop', 'asgi_lifespan', 'asgi_disconnect_grace_period', 'root_path', 'http_parser',
  // Dirty arbiters (issue 21).
  'dirty_apps', 'dirty_workers', 'dirty_timeout', 'dirty_threads', 'dirty_graceful_timeout',
  'on_dirty_starting', 'dirty_post_fork', 'dirty_worker_init', 'dirty_worker_exit',
];

/** For every unsupported setting, a valid value other than its default (as a CLI string or a config-file value). */
const NOT_DEFAULT: Record<string, unknown> = {
  logger_class: 'myapp.Logger',
  ssl_context: true,
  suppress_ragged_eofs: false,
};

/** nicorn-py's own settings (nicornOnly), which Gunicorn does not have. */
const OWN = ['max_worker_memory', 'check_wsgi', 'check_wsgi_report'];
const everything = Object.keys(registry) as SettingName[];
const names = everything.filter((n) => !OWN.includes(n));
const APP = { wsgi_app: 'app:app' };

test("every Gunicorn 26.2.2 setting is in the registry, and nothing else", () => {
  assert.equal([...names].sort(), Object.keys(GUNICORN).sort());
  assert.is(names.length, 119);
});

test("nicorn-py's own settings are marked nicornOnly, documented apart, and supported", () => {
  assert.equal(everything.filter((n) => specOf(n).nicornOnly).sort(), [...OWN].sort());
  const doc = renderSettingsDoc();
  for (const name of OWN) {
    assert.ok(specOf(name as SettingName).supported, name);
    assert.ok(doc.includes(`### \`${name}\``), name);
    assert.match(doc, `[\`${name}\`](#${name})`);
  }
  assert.match(doc, "**nicorn-py:** nicorn-py's own setting (Gunicorn has none)");
});

test("each setting is in Gunicorn's section", () => {
  for (const name of names) assert.is(specOf(name).section, GUNICORN[name]![0], name);
  assert.equal([...SECTIONS], [...SECTIONS].sort(), 'sections in the order of Gunicorn\'s reference (sorted)');
});

test("each setting has Gunicorn's flags, spelled and ordered as Gunicorn spells them, and its meta", () => {
  for (const name of names) {
    const [, flags, meta] = GUNICORN[name]!;
    assert.equal([...specOf(name).flags], flags, `${name} flags`);
    assert.is(specOf(name).meta, meta, `${name} meta`);
  }
});

test("switches and repeatable flags have Gunicorn's argparse action", () => {
  for (const name of names) {
    const action = specOf(name).action ?? 'store';
    const expected = SWITCHES[name] ?? (APPENDS.includes(name) ? 'append' : 'store');
    assert.is(action, expected, name);
  }
  assert.is(specOf('sendfile').const, false, '--no-sendfile stores False');
});

test('every server hook has its Gunicorn arity, no flags, and defaults to not set', () => {
  const hooks = names.filter((n) => specOf(n).section.endsWith('Hooks'));
  assert.equal(hooks.sort(), Object.keys(HOOK_ARITY).sort());
  for (const name of hooks) {
    const s = specOf(name);
    assert.is(s.hookArity, HOOK_ARITY[name], name);
    assert.equal(s.flags, [], name);
    assert.is(s.default(), false, name);
    assert.ok(s.defaultDoc.startsWith(`def ${name}(`), `${name}: Gunicorn's default shown as its source`);
  }
  for (const name of names.filter((n) => !specOf(n).section.endsWith('Hooks'))) assert.is(specOf(name).hookArity, undefined, name);
});

test('supported: the settings this issue implements, and only those', () => {
  assert.equal(names.filter((n) => specOf(n).supported).sort(), [...SUPPORTED].sort());
});

test('every entry documents itself: a one-paragraph description with a first sentence, and a default', () => {
  for (const name of everything) {
    const s = specOf(name);
    assert.ok(s.desc.length > 0 && !s.desc.includes('\n'), `${name}: one paragraph`);
    assert.ok(shortDesc(s.desc).length < s.desc.length || /[.)]$/.test(s.desc), `${name}: a first sentence`);
    assert.ok(s.defaultDoc.length > 0, `${name}: defaultDoc`);
  }
});

test('a config file may set every setting, wsgi_app and the hooks included', () => {
  const allowed = configFileNames();
  for (const name of Object.keys(GUNICORN)) assert.ok(allowed.includes(name), name);
  assert.ok(allowed.includes('wsgi_app'));
});

test('every unsupported setting accepts its own default, from any layer', () => {
  for (const name of names.filter((n) => !specOf(n).supported)) {
    const value = specOf(name).default();
    for (const at of [0, 1, 2]) {
      const layers: Record<string, unknown>[] = [{ ...APP }, {}, {}];
      layers[at]![name] = value;
      resolveSettings(...layers);
    }
  }
});

test("every unsupported setting given another value is rejected: 'NAME is not supported by nicorn-py yet'", () => {
  const unsupported = names.filter((n) => !specOf(n).supported);
  assert.equal(Object.keys(NOT_DEFAULT).sort(), [...unsupported].sort(), 'a sample value for each unsupported setting');
  for (const name of unsupported) {
    let error: unknown;
    try {
      resolveSettings({ ...APP, [name]: NOT_DEFAULT[name] });
    } catch (e) {
      error = e;
    }
    assert.instance(error, ConfigError, name);
    assert.is((error as Error).message, `${name} is not supported by nicorn-py yet`);
  }
});

/** The message resolveSettings stops with, or '' when it resolves. */
function refusal(raw: RawSettings): string {
  try {
    resolveSettings({ ...APP, ...raw });
    return '';
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as Error).message;
  }
}

test("worker_class: Gunicorn's names and paths for sync are accepted as given", () => {
  for (const k of ['sync', 'gunicorn.workers.sync.SyncWorker', 'egg:gunicorn#sync', '#sync']) {
    assert.is(resolveSettings({ ...APP, worker_class: k }).worker_class, k);
    assert.is(servedWorkerClass(k, 1), 'sync');
  }
});

test('worker_class: gevent, eventlet, tornado (names and paths) stop the start with the reason and the class that works', () => {
  for (const k of ['gevent', 'gunicorn.workers.ggevent.GeventWorker', 'gevent_pywsgi', 'eventlet']) {
    const m = refusal({ worker_class: k });
    assert.match(m, `worker_class '${k}' cannot run on nicorn-py: it runs the app on green threads`);
    assert.match(m, 'Pyodide cannot load those C extensions');
    assert.ok(m.endsWith('Instead, use -k gthread.'), m);
  }
  const tornado = refusal({ worker_class: 'gunicorn.workers.gtornado.TornadoWorker' });
  assert.match(tornado, "it runs Tornado's IOLoop as the server");
  assert.ok(tornado.endsWith('Instead, use -k sync.'), tornado);
});

test('gthread by name or path, and sync with threads > 1, run the gthread class (as Gunicorn)', () => {
  for (const k of ['gthread', 'gunicorn.workers.gthread.ThreadWorker', 'egg:gunicorn#gthread']) {
    assert.is(refusal({ worker_class: k, threads: '4' }), '');
    assert.is(servedWorkerClass(k, 1), 'gthread');
  }
  assert.is(refusal({ threads: '4' }), '');
  assert.is(servedWorkerClass('sync', 4), 'gthread');
  assert.is(servedWorkerClass('sync', 1), 'sync');
  assert.is(resolveSettings({ ...APP, threads: '4' }).threads, 4);
  assert.match(refusal({ worker_class: 'gevent', threads: '4' }), "worker_class 'gevent' cannot run", 'an explicit other class is named, not gthread');
});

test('asgi by name or path, and uvicorn\'s worker classes, run the asgi class (with a note saying so)', () => {
  for (const k of ['asgi', 'gunicorn.workers.gasgi.ASGIWorker', 'egg:gunicorn#asgi', 'uvicorn.workers.UvicornWorker', 'uvicorn_worker.UvicornWorker']) {
    assert.is(refusal({ worker_class: k }), '');
    assert.is(servedWorkerClass(k, 1), 'asgi');
  }
  assert.is(workerClassNote('asgi'), null);
  assert.is(workerClassNote('uvicorn_worker.UvicornWorker'), "Worker class uvicorn_worker.UvicornWorker is served by nicorn-py's asgi worker class (-k asgi)");
});

test('--asgi-loop uvloop is refused naming the limit; auto and asyncio are accepted', () => {
  assert.match(refusal({ asgi_loop: 'uvloop' }), 'uvloop is a C extension built on libuv, which Pyodide cannot load');
  assert.is(refusal({ asgi_loop: 'asyncio' }), '');
  assert.is(refusal({ asgi_loop: 'AUTO' }), '');
});

test('a custom worker class (a Python path) is refused by name, with the known classes listed', () => {
  const m = refusal({ worker_class: 'myapp.workers.MyWorker' });
  assert.match(m, "worker_class 'myapp.workers.MyWorker': nicorn-py cannot load a custom worker class");
  assert.match(m, 'sync, gthread, gevent');
  assert.ok(m.endsWith('Use -k sync.'), m);
  assert.is(workerClassName('egg:gunicorn#gthread'), 'gthread');
  assert.is(workerClassName('gunicorn.workers.gthread.ThreadWorker'), 'gthread');
  assert.is(workerClassName('myapp.Worker'), null);
});

test('docs/settings.md is generated from the registry and up to date', () => {
  const file = path.resolve('docs/settings.md');
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (current !== renderSettingsDoc()) assert.unreachable('docs/settings.md is stale: run `npm run docs` and commit the result');
});

test('docs/settings.md lists every setting under its section, with flags, default and support', () => {
  const doc = renderSettingsDoc();
  for (const name of names) {
    const at = doc.indexOf(`### \`${name}\``);
    assert.ok(at > 0, name);
    const section = doc.lastIndexOf('\n## ', at);
    assert.ok(doc.startsWith(`\n## ${specOf(name).section}\n`, section), `${name} under ${specOf(name).section}`);
    const end = doc.indexOf('\n### ', at + 1);
    const block = doc.slice(at, end < 0 ? undefined : end);
    for (const flag of specOf(name).flags) assert.ok(block.includes(`\`${flag}`), `${name}: ${flag}`);
    assert.match(block, specOf(name).supported ? '**nicorn-py:** supported' : '**nicorn-py:** not supported yet');
  }
  assert.match(doc, '`-w INT` or `--workers INT`');
  assert.match(doc, `nicorn-py supports ${SUPPORTED.length} of Gunicorn's 119 settings`);
});

test('HTTP/2: what node serves is taken; HTTP/3 and h2c by Upgrade are refused, naming the setting', () => {
  assert.is(refusal({ http_protocols: 'h2,h1', http2_cleartext: 'prior-knowledge', http2_max_frame_size: '32768' }), '');
  assert.match(refusal({ http_protocols: 'h3,h1' }), /^http_protocols: h3 \(HTTP\/3 over QUIC\) is not supported by nicorn-py/);
  assert.match(refusal({ http2_cleartext: 'upgrade' }), /^http2_cleartext: upgrade is not supported by nicorn-py/);
  assert.match(refusal({ http2_cleartext: 'both' }), /^http2_cleartext: both is not supported by nicorn-py/);
  assert.match(refusal({ http2_max_frame_size: '1024' }), /http2_max_frame_size must be between 16384 and 16777215, got 1024/);
});

test.run();
