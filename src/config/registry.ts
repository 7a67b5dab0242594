// Every Gunicorn setting is declared once, here, as in Gunicorn's config.py
// (26.2): its name, section, flags, validator, default and description, and
// whether nicorn-py implements it yet. The command line, --help,
// GUNICORN_CMD_ARGS, the names a config file may set, --print-config and
// docs/settings.md are all derived from this table.
//
// A setting that is not supported yet keeps Gunicorn's default; any other
// value, from any source, is an error (settings.ts), never silently ignored.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { DirtyAppSpecError, parseDirtyAppSpec } from '../dirty/app-specs.js';
import { LOG_LEVELS } from '../log/levels.js';
import * as v from './validators.js';
import { servedWorkerClass } from './worker-classes.js';

/** Gunicorn's sections, in the order its settings reference lists them (sorted by name). */
export const SECTIONS = [
  'Config File',
  'Control',
  'Debugging',
  'Dirty Arbiter Hooks',
  'Dirty Arbiters',
  'HTTP/2',
  'Logging',
  'Process Naming',
  'SSL',
  'Security',
  'Server Hooks',
  'Server Mechanics',
  'Server Socket',
  'Worker Processes',
] as const;
export type Section = (typeof SECTIONS)[number];

/** argparse's action for the flag; 'store' (the default) takes a value. */
export type Action = 'store' | 'store_true' | 'store_false' | 'store_const' | 'append';

export interface SettingSpec<T> {
  section: Section;
  /** Command-line flags as Gunicorn spells them; empty for config-file-only settings. */
  flags: readonly string[];
  /** The value's placeholder in Gunicorn's docs (absent: argparse shows the name in capitals). */
  meta?: string;
  /** Absent means 'store'. */
  action?: Action;
  /** argparse's nargs='?': the flag's value may be left out, and then `const` is stored. */
  optionalValue?: boolean;
  /** What a 'store_const' flag stores. */
  const?: T;
  /** Turns a CLI string or a config-file value into the setting's value. */
  validate: (raw: unknown) => T;
  default: () => T;
  /** The default as Gunicorn's settings reference shows it (Python syntax). */
  defaultDoc: string;
  /** One paragraph; its first sentence is the --help line. */
  desc: string;
  /** Whether nicorn-py implements it; an unsupported setting only accepts its default. */
  supported: boolean;
  /** Server hooks: the number of arguments Gunicorn calls the hook with. */
  hookArity?: number;
  /**
   * nicorn-py's own setting, which Gunicorn does not have (--check-wsgi; what
   * fork gives Gunicorn for free and a WebAssembly worker needs a knob for).
   * Named and documented in Gunicorn's style, listed apart in docs/settings.md.
   */
  nicornOnly?: boolean;
  /** How --print-config shows the value, when Python's str() of it is not what Gunicorn prints. */
  show?: (value: T) => string;
}

const spec = <T>(s: SettingSpec<T>): SettingSpec<T> => s;

/** A server hook: set by defining it in the config file; true when the file does. */
function hook(
  name: string,
  params: string[],
  gunicornClass: string,
  supported: boolean,
  desc: string,
  body = 'pass',
): SettingSpec<boolean> {
  return {
    section: 'Server Hooks',
    flags: [],
    validate: v.hookFlag,
    default: () => false,
    defaultDoc: `def ${name}(${params.join(', ')}):\n    ${body}`,
    desc,
    supported,
    hookArity: params.length,
    // Gunicorn prints a callable as <qualname()>: the default is a staticmethod of its Setting class.
    show: (set) => (set ? `<${name}()>` : `<${gunicornClass}.${name}()>`),
  };
}

function atLeastOne(raw: unknown): number {
  const n = v.posInt(raw);
  if (n < 1) throw new v.SettingError('must be at least 1');
  return n;
}

function workersDefault(): number {
  const env = process.env.WEB_CONCURRENCY;
  if (env === undefined) return 1;
  try {
    return atLeastOne(env);
  } catch (e) {
    if (e instanceof v.SettingError) {
      throw new v.ConfigError(`Invalid value for workers: WEB_CONCURRENCY=${v.pyRepr(env)} (${e.message})`);
    }
    throw e;
  }
}

/** worker_class: a name or path from the class map; which of them can run also depends on threads (settings.ts). */
function workerClass(raw: unknown): string {
  const s = v.string(raw);
  servedWorkerClass(s, 1);
  return s;
}

/**
 * validate_list_of_files_or_patterns (Gunicorn 26.1): a path must exist; an
 * entry with `*`, `?` or `[` is a glob pattern, kept as it is to be expanded
 * on every reload check (the reloader warns when one matches nothing).
 */
function filesOrPatterns(raw: unknown): string[] {
  const entries = v.stringList(raw);
  for (const f of entries) if (!/[*?[]/.test(f) && !fs.existsSync(f)) throw new v.SettingError(`File ${f} does not exists.`);
  return entries;
}

function reloadEngine(raw: unknown): string {
  if (raw !== 'auto' && raw !== 'poll' && raw !== 'inotify') throw new v.ConfigError(`Invalid reload_engine: ${v.pyRepr(raw)}`);
  return raw;
}

function headerMap(raw: unknown): string {
  if (typeof raw !== 'string') throw new v.SettingError('Invalid type for casting');
  const s = raw.trim().toLowerCase();
  if (s !== 'drop' && s !== 'refuse' && s !== 'dangerous') throw new v.SettingError('Invalid header map behaviour');
  return s;
}

/** validate_statsd_address: None, unix:PORT (kept for compatibility), unix://PATH or HOST[:PORT]. */
function statsdAddress(raw: unknown): string | null {
  const s = v.optString(raw);
  if (s === null) return null;
  if (!/^unix:(\d+|\/\/.+)$/.test(s) && !/^(\[[^\]]+\]|[^:[\]]+)(:\d+)?$/.test(s)) {
    throw new v.SettingError("Value must be one of ('host:port', 'unix://PATH')");
  }
  return s;
}

function syslogDefault(): string {
  switch (process.platform) {
    case 'darwin':
      return 'unix:///var/run/syslog';
    case 'freebsd':
      return 'unix:///var/run/log';
    case 'openbsd':
      return 'unix:///dev/log';
    default:
      return 'udp://localhost:514';
  }
}

/** A dirty-arbiter hook (Gunicorn 25): as `hook`, in its own section. */
function dirtyHook(name: string, params: string[], gunicornClass: string, desc: string): SettingSpec<boolean> {
  return { ...hook(name, params, gunicornClass, true, desc), section: 'Dirty Arbiter Hooks' };
}

/** dirty_apps: a list of "module:Class" or "module:Class:N", each checked as Gunicorn's parse_dirty_app_spec does. */
function dirtyApps(raw: unknown): string[] {
  const list = v.stringList(raw);
  for (const spec of list) {
    try {
      parseDirtyAppSpec(spec);
    } catch (e) {
      if (e instanceof DirtyAppSpecError) throw new v.SettingError(e.message);
      throw e;
    }
  }
  return list;
}

/** --protocol: the two Gunicorn serves (it takes any other string for http, silently). */
function protocolName(raw: unknown): 'http' | 'uwsgi' {
  const value = v.string(raw);
  if (value !== 'http' && value !== 'uwsgi') throw new v.SettingError("protocol must be 'http' or 'uwsgi'");
  return value;
}

/** validate_proxy_protocol: off, v1, v2 or auto (true, 1: auto; false, 0, none: off). */
function proxyProtocol(raw: unknown): 'off' | 'v1' | 'v2' | 'auto' {
  if (raw === null || raw === undefined) return 'off';
  if (typeof raw === 'boolean') return raw ? 'auto' : 'off';
  if (typeof raw !== 'string') throw new v.SettingError('proxy_protocol must be string or bool');
  const mapping: Record<string, 'off' | 'v1' | 'v2' | 'auto'> = {
    false: 'off', off: 'off', '0': 'off', none: 'off', true: 'auto', auto: 'auto', '1': 'auto', v1: 'v1', v2: 'v2',
  };
  const mode = mapping[raw.trim().toLowerCase()];
  if (!mode) throw new v.SettingError('proxy_protocol must be: off, v1, v2, or auto');
  return mode;
}

/** validate_http_protocols: a comma-separated list of h1, h2, h3, no repeats; empty means ['h1']. */
function httpProtocols(raw: unknown): string[] {
  if (raw === null || raw === undefined) return ['h1'];
  // The validated value (a list) is taken back too, so a resolved default resolves again.
  if (Array.isArray(raw) && raw.every((p) => typeof p === 'string')) return httpProtocols(raw.join(','));
  if (typeof raw !== 'string') throw new v.SettingError('http_protocols must be a string');
  const protocols = raw.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
  if (protocols.length === 0) return ['h1'];
  for (const p of protocols) {
    if (!['h1', 'h2', 'h3'].includes(p)) throw new v.SettingError(`Invalid protocol '${p}'. Valid protocols: h1, h2, h3`);
  }
  if (new Set(protocols).size !== protocols.length) throw new v.SettingError('Duplicate protocols specified');
  return protocols;
}

/** validate_http2_cleartext (Gunicorn 26.2): off, prior-knowledge, upgrade or both; a bool is prior-knowledge or off. */
function http2Cleartext(raw: unknown): string {
  if (raw === null || raw === undefined) return 'off';
  if (typeof raw === 'boolean') return raw ? 'prior-knowledge' : 'off';
  if (typeof raw !== 'string') throw new v.SettingError(`Invalid type for casting: ${v.pyStr(raw)}`);
  const s = raw.trim().toLowerCase();
  if (!['off', 'prior-knowledge', 'upgrade', 'both'].includes(s)) throw new v.SettingError(`Invalid http2_cleartext: ${s}`);
  return s;
}

/** validate_http2_frame_size: an int from 16384 to 16777215 (RFC 9113's bounds). */
function http2FrameSize(raw: unknown): number {
  const n = v.posInt(raw);
  if (n < 16384 || n > 16777215) throw new v.SettingError(`http2_max_frame_size must be between 16384 and 16777215, got ${n}`);
  return n;
}

/** validate_http_parser: auto, fast or python. */
function httpParser(raw: unknown): string {
  if (raw === null || raw === undefined) return 'auto';
  if (typeof raw !== 'string') throw new v.SettingError('http_parser must be a string');
  const s = raw.trim().toLowerCase();
  if (!['auto', 'fast', 'python'].includes(s)) throw new v.SettingError('http_parser must be one of: auto, fast, python');
  return s;
}

/** validate_asgi_loop and validate_asgi_lifespan: one of the choices, in any case; None is 'auto'. */
function choice(what: string, choices: readonly string[]) {
  return (raw: unknown): string => {
    if (raw === null || raw === undefined) return 'auto';
    if (typeof raw !== 'string') throw new v.SettingError(`Invalid type for casting: ${v.pyStr(raw)}`);
    const s = raw.trim().toLowerCase();
    if (!choices.includes(s)) throw new v.SettingError(`${what}: ${s}`);
    return s;
  };
}

/**
 * asgi_loop: Gunicorn's choices; uvloop is a C extension (libuv) that
 * Pyodide cannot load, so asking for it stops the start (Gunicorn would fall
 * back to asyncio with a warning when it is not installed: here it can never be).
 */
function asgiLoop(raw: unknown): string {
  const s = choice('Invalid ASGI loop', ['auto', 'asyncio', 'uvloop'])(raw);
  if (s === 'uvloop') {
    throw new v.SettingError(
      "uvloop is a C extension built on libuv, which Pyodide cannot load; nicorn-py's asgi worker runs asyncio's own loop " +
        '(use auto or asyncio)',
    );
  }
  return s;
}

/** _get_default_control_socket: $XDG_RUNTIME_DIR/gunicorn.ctl when that directory exists, else ~/.gunicorn/gunicorn.ctl. */
/** Gunicorn's _get_default_control_socket (also `nicorn-py ctl`'s default -s). */
export function controlSocketDefault(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && fs.existsSync(xdg) && fs.statSync(xdg).isDirectory()) return path.join(xdg, 'gunicorn.ctl');
  return path.join(os.homedir(), '.gunicorn', 'gunicorn.ctl');
}

/** ssl.PROTOCOL_TLS and ssl.CERT_NONE, as the ints Python's str() shows. */
const PROTOCOL_TLS = 2;
const CERT_NONE = 0;

const SECURE_SCHEME_HEADERS = { 'X-FORWARDED-PROTOCOL': 'ssl', 'X-FORWARDED-PROTO': 'https', 'X-FORWARDED-SSL': 'on' };

export const registry = {
  // ------------------------------------------------------------ Config File
  config: spec({
    section: 'Config File',
    flags: ['-c', '--config'],
    meta: 'CONFIG',
    validate: v.string,
    default: () => './gunicorn.conf.py',
    defaultDoc: "'./gunicorn.conf.py'",
    desc:
      'The Gunicorn config file. A string of the form `PATH`, `file:PATH`, or `python:MODULE_NAME`: a Python file (or module) ' +
      'whose module-level names that are settings set them, and whose functions named after server hooks become those hooks. ' +
      'Only has an effect when given on the command line or in `GUNICORN_CMD_ARGS` (the command line wins). By default, a file ' +
      'named `gunicorn.conf.py` is read from the directory nicorn-py is started in, when there is one. The file runs in ' +
      'Pyodide, with `--chdir`, `--pythonpath` and the `-e` variables in effect; its values rank above the defaults and below ' +
      '`GUNICORN_CMD_ARGS` and the command line.',
    supported: true,
  }),
  wsgi_app: spec({
    section: 'Config File',
    flags: [],
    meta: 'STRING',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'A WSGI application path in pattern `$(MODULE_NAME):$(VARIABLE_NAME)`. Set in the config file, it lets the command line ' +
      'omit `APP_MODULE`; an `APP_MODULE` on the command line wins over it. It takes every form `APP_MODULE` does: `module`, ' +
      '`module:variable`, a dotted package path, or a factory call such as `module:create_app()`.',
    supported: true,
  }),

  // ------------------------------------------------------------ Server Socket
  bind: spec({
    section: 'Server Socket',
    flags: ['-b', '--bind'],
    meta: 'ADDRESS',
    action: 'append',
    validate: v.stringList,
    default: () => (process.env.PORT !== undefined ? [`0.0.0.0:${process.env.PORT}`] : ['127.0.0.1:8000']),
    defaultDoc: "['127.0.0.1:8000']",
    desc:
      'The socket to bind. A string of the form `HOST`, `HOST:PORT`, `[IPv6]:PORT`, `unix:PATH` or `fd://FD`; an IP is a ' +
      'valid `HOST`. A unix socket file left at `PATH` by a server that is gone is replaced, and the file is removed when ' +
      'nicorn-py exits. `fd://FD` serves on a socket nicorn-py inherited already bound as descriptor `FD`; as in Gunicorn, ' +
      'when any address is `fd://FD` (or systemd handed sockets over with `LISTEN_FDS` and `LISTEN_PID`), only those ' +
      'sockets are served and the other addresses are not bound. An address that cannot be bound (a port another ' +
      'process holds, an address this host does not have) is tried five times, a second apart, as in Gunicorn; then ' +
      'nicorn-py exits with status 1. Multiple addresses can be bound: ' +
      '`-b 127.0.0.1:8000 -b [::1]:8000` binds the app on localhost on both IPv4 and IPv6, and a config file may give a ' +
      "list. If the `PORT` environment variable is defined, the default is `['0.0.0.0:$PORT']`; otherwise it is " +
      "`['127.0.0.1:8000']`.",
    supported: true,
  }),
  backlog: spec({
    section: 'Server Socket',
    flags: ['--backlog'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 2048,
    defaultDoc: '2048',
    desc:
      'The maximum number of pending connections. This refers to the number of clients that can be waiting to be served; ' +
      'exceeding it results in the client getting an error when attempting to connect. It should only affect servers ' +
      'under significant load. Must be a positive integer, generally set in the 64-2048 range. Each worker passes it to ' +
      "`listen()`; the kernel caps it at `net.core.somaxconn`, and 0 is taken as Node's default, 511.",
    supported: true,
  }),

  // ------------------------------------------------------------ Worker Processes
  workers: spec({
    section: 'Worker Processes',
    flags: ['-w', '--workers'],
    meta: 'INT',
    validate: atLeastOne,
    default: workersDefault,
    defaultDoc: '1',
    desc:
      "The number of worker processes for handling requests. A positive integer generally in the `2-4 x $(NUM_CORES)` range; " +
      "you'll want to vary it a bit to find the best for your application's workload. By default, the value of the " +
      '`WEB_CONCURRENCY` environment variable, which is set by some Platform-as-a-Service providers such as Heroku; if it is ' +
      'not defined, the default is `1`. nicorn-py needs at least one worker; each runs its own Pyodide interpreter.',
    supported: true,
  }),
  worker_class: spec({
    section: 'Worker Processes',
    flags: ['-k', '--worker-class'],
    meta: 'STRING',
    validate: workerClass,
    default: () => 'sync',
    defaultDoc: "'sync'",
    desc:
      "The type of workers to use. Gunicorn's class names and their paths are accepted (`sync` or " +
      '`gunicorn.workers.sync.SyncWorker`, `egg:gunicorn#sync`). nicorn-py runs `sync` (one request at a time in Python ' +
      'while the Node I/O thread holds idle and slow connections) and `gthread` (see threads). `gevent`, `eventlet` and ' +
      '`tornado` cannot exist in Pyodide, and custom classes (Python paths) cannot be loaded: each stops the start with ' +
      'the reason and the class to use instead. `asgi` serves ASGI 3.0 apps (Starlette, Django\'s asgi.py) on an ' +
      'asyncio loop in the worker\'s interpreter, many requests at once; `uvicorn.workers.UvicornWorker` and ' +
      '`uvicorn_worker.UvicornWorker` are served by it (an info line at start says so).',
    supported: true,
  }),
  threads: spec({
    section: 'Worker Processes',
    flags: ['--threads'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 1,
    defaultDoc: '1',
    desc:
      'The number of worker threads for handling requests. Runs each worker with the specified number of threads, a ' +
      'positive integer generally in the `2-4 x $(NUM_CORES)` range. It only affects the gthread worker type; as in ' +
      'Gunicorn, the `sync` worker type with more than one thread becomes `gthread`. Pyodide cannot start threads, so a ' +
      'nicorn-py gthread worker runs this many Python interpreters (one per thread, each serving one request at a time, ' +
      'sharing one compiled WebAssembly module): module globals are per interpreter, not shared between threads as in ' +
      "Gunicorn, and each interpreter imports the app and runs the worker hooks. An interpreter stuck in a request past " +
      '--timeout is aborted (worker_abort runs in it) and the worker replaced while the others serve on.',
    supported: true,
  }),
  worker_connections: spec({
    section: 'Worker Processes',
    flags: ['--worker-connections'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 1000,
    defaultDoc: '1000',
    desc:
      'The maximum number of simultaneous clients. In Gunicorn this only affects the `gthread`, `eventlet` and `gevent` ' +
      'worker types; a nicorn-py worker holds at most this many connections, and at the limit closes its oldest idle one ' +
      '(no request in progress) to make room for a new client.',
    supported: true,
  }),
  max_requests: spec({
    section: 'Worker Processes',
    flags: ['--max-requests'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 0,
    defaultDoc: '0',
    desc:
      'The maximum number of requests a worker will process before restarting. Any value greater than zero limits the ' +
      'number of requests a worker will process before automatically restarting, a simple method to help limit the damage ' +
      'of memory leaks. If this is set to zero (the default), automatic worker restarts are disabled.',
    supported: true,
  }),
  max_requests_jitter: spec({
    section: 'Worker Processes',
    flags: ['--max-requests-jitter'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 0,
    defaultDoc: '0',
    desc:
      'The maximum jitter to add to the *max_requests* setting. The jitter causes the restart per worker to be randomized ' +
      'by `randint(0, max_requests_jitter)`, to stagger worker restarts and avoid all workers restarting at the same time.',
    supported: true,
  }),
  max_worker_memory: spec({
    section: 'Worker Processes',
    flags: ['--max-worker-memory'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 512,
    defaultDoc: '512',
    desc:
      "The size in MiB past which a worker's WebAssembly memory gets it replaced. Memory a Gunicorn worker frees goes " +
      "back to the system; a WebAssembly memory only grows, so one request that builds a large object leaves the worker " +
      'that large for the rest of its life. A worker whose memory has grown past this many MiB asks to be replaced after ' +
      'the request that grew it, as with *max_requests*: it keeps serving until its replacement does, then leaves ' +
      'gracefully, and the error log says why. 0 disables the limit.',
    supported: true,
    nicornOnly: true,
  }),
  timeout: spec({
    section: 'Worker Processes',
    flags: ['-t', '--timeout'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 30,
    defaultDoc: '30',
    desc:
      'Workers silent for more than this many seconds are killed and restarted. Value is a positive number or 0; 0 ' +
      'disables timeouts for all workers entirely. Generally the default of thirty seconds should suffice; only set this ' +
      "noticeably higher if you're sure of the repercussions for sync workers.",
    supported: true,
  }),
  graceful_timeout: spec({
    section: 'Worker Processes',
    flags: ['--graceful-timeout'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 30,
    defaultDoc: '30',
    desc:
      'Timeout for graceful workers restart. After receiving a restart signal, workers have this much time to finish ' +
      'serving requests; workers still alive after the timeout (starting from the receipt of the restart signal) are ' +
      'force killed.',
    supported: true,
  }),
  keepalive: spec({
    section: 'Worker Processes',
    flags: ['--keep-alive'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 2,
    defaultDoc: '2',
    desc:
      'The number of seconds to wait for requests on a Keep-Alive connection. Generally set in the 1-5 seconds range for ' +
      "servers with direct connection to the client, and higher behind a load balancer. Gunicorn's `sync` worker ignores " +
      "this setting; nicorn-py's does keep connections alive (its I/O thread holds them while Python serves one request " +
      'at a time), and 0 turns keep-alive off.',
    supported: true,
  }),

  // ------------------------------------------------------------ Security
  limit_request_line: spec({
    section: 'Security',
    flags: ['--limit-request-line'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 4094,
    defaultDoc: '4094',
    desc:
      "The maximum size of HTTP request line in bytes. Since the request line consists of the HTTP method, URI and " +
      'protocol version, this restricts the length of a request-URI, query string included; a server needs it large ' +
      'enough to hold any of its resource names. Value is a number from 0 (unlimited) to 8190. This parameter can be used ' +
      'to prevent any DDOS attack.',
    supported: true,
  }),
  limit_request_fields: spec({
    section: 'Security',
    flags: ['--limit-request-fields'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 100,
    defaultDoc: '100',
    desc:
      'Limit the number of HTTP headers fields in a request. This is used to limit the number of headers in a request to ' +
      "prevent DDOS attack; used with *limit_request_field_size* it allows more safety. By default this value is 100 and " +
      "can't be larger than 32768.",
    supported: true,
  }),
  limit_request_field_size: spec({
    section: 'Security',
    flags: ['--limit-request-field_size'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 8190,
    defaultDoc: '8190',
    desc:
      'Limit the allowed size of an HTTP request header field. Value is a positive number or 0; 0 allows unlimited header ' +
      'field sizes, which can open up for DDOS attacks.',
    supported: true,
  }),

  // ------------------------------------------------------------ Debugging
  reload: spec({
    section: 'Debugging',
    flags: ['--reload'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Restart workers when code changes. This setting is intended for development: it causes workers to be restarted ' +
      'whenever application code changes. What is watched is what Gunicorn watches: the source file of every module the ' +
      "workers' Python has imported (the app, its packages, modules a request imported later), and *reload_extra_files*. " +
      'nicorn-py watches from the arbiter, which boots new workers with the changed code and stops the old ones gracefully ' +
      'once the new ones serve, so no request is dropped; when the changed code fails to import, the traceback is logged ' +
      'and the old workers keep serving (Gunicorn restarts the worker, which then fails). A worker whose app has a ' +
      'syntax error serves the traceback as a 500 until it is fixed, as under Gunicorn (clients can see it: development ' +
      'only). With *preload_app*, which ' +
      "Gunicorn's reloader cannot follow, the app is imported again into a new snapshot first.",
    supported: true,
  }),
  reload_engine: spec({
    section: 'Debugging',
    flags: ['--reload-engine'],
    meta: 'STRING',
    validate: reloadEngine,
    default: () => 'auto',
    defaultDoc: "'auto'",
    desc:
      "The implementation that should be used to power *reload*. Valid engines are `'auto'`, `'poll'` and `'inotify'` " +
      "(requires inotify). nicorn-py maps them to what Node offers: `'poll'` looks at every file's modification time " +
      "once a second, as Gunicorn's poll reloader; `'inotify'` uses Node's `fs.watch` on the files' directories, which " +
      "is inotify on Linux (elsewhere it is an error); `'auto'` uses `fs.watch` on any system (inotify, FSEvents or " +
      'kqueue). A directory that cannot be watched (the inotify watch limit) is polled.',
    supported: true,
  }),
  reload_extra_files: spec({
    section: 'Debugging',
    flags: ['--reload-extra-file'],
    meta: 'FILES',
    action: 'append',
    validate: filesOrPatterns,
    default: () => [],
    defaultDoc: '[]',
    desc:
      'Extends *reload* to also watch and reload on additional files (templates, configurations, specifications, ' +
      'etc.). Repeat the flag for several files; a plain path must exist. Entries containing `*`, `?` or `[` are glob ' +
      'patterns (relative ones from *chdir*), expanded again on every reload check, so a file created after startup ' +
      'starts being watched without a restart: it is the first edit to that file that triggers a reload, not its ' +
      'creation. Use `**` to recurse, and keep patterns narrow: a recursive pattern over a large tree is walked once ' +
      'per check. As in glob, `*` does not match dotfiles (list `.env` literally), and a pattern matching nothing is ' +
      'a warning, not an error.',
    supported: true,
  }),
  spew: spec({
    section: 'Debugging',
    flags: ['--spew'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Install a trace function that spews every line executed by the server. This is the nuclear option. In nicorn-py ' +
      "the server's Python is each worker's: from the app's import on, every line of the app and of nicorn-py's Python " +
      'half is printed to stdout as `module:line: source`.',
    supported: true,
  }),
  check_config: spec({
    section: 'Debugging',
    flags: ['--check-config'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Check the configuration and exit. The exit status is 0 if the configuration is correct, and 1 if the ' +
      'configuration is incorrect. As in Gunicorn, checking includes importing the application (in a Pyodide ' +
      'interpreter, without binding a socket or forking a worker).',
    supported: true,
  }),
  check_wsgi: spec({
    section: 'Debugging',
    flags: ['--check-wsgi'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      "Check every request against PEP 3333 and the HTTP rules a WSGI app answers for, and report what the app does wrong. " +
      "nicorn-py's own setting (Gunicorn has none). Each violation is logged once per rule and route with the app's " +
      'file:line; the arbiter prints a summary table at shutdown and on SIGPWR, writes *check_wsgi_report* if set, and ' +
      'exits 1 when any violation was seen. Responses are what they are without the mode. See README.md, "Checking an app".',
    supported: true,
    nicornOnly: true,
  }),
  check_wsgi_report: spec({
    section: 'Debugging',
    flags: ['--check-wsgi-report'],
    meta: 'FILE',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'With *check_wsgi*, write the violations as JSON to FILE at shutdown (and on SIGPWR): per rule its count, the first ' +
      "request, where in the app it happened and the routes. nicorn-py's own setting. An empty list means a clean run.",
    supported: true,
    nicornOnly: true,
  }),
  print_config: spec({
    section: 'Debugging',
    flags: ['--print-config'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      "Print the configuration settings as fully resolved. The output is Gunicorn's: one `name = value` line per setting, " +
      'sorted by name, each value as Python prints it. Gunicorn then also checks the configuration (*check_config*); ' +
      'nicorn-py exits 0 after printing without loading the app, so add `--check-config` to check it too.',
    supported: true,
  }),

  // ------------------------------------------------------------ Server Mechanics
  preload_app: spec({
    section: 'Server Mechanics',
    flags: ['--preload'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Load application code before the worker processes are forked. By preloading an application you can save some RAM ' +
      'resources as well as speed up server boot times; if you defer application loading to each worker process, you can ' +
      'reload your application code easily by restarting workers.',
    supported: true,
  }),
  sendfile: spec({
    section: 'Server Mechanics',
    flags: ['--no-sendfile'],
    action: 'store_const',
    const: false,
    validate: v.optBool,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'Disables the use of `sendfile()`. If not set, the value of the `SENDFILE` environment variable is used to enable or ' +
      "disable its usage. nicorn-py's counterpart of `sendfile()`: a `wsgi.file_wrapper` response of a host file is " +
      "streamed from the file by the worker's I/O thread, never read by Python; disabled, Python reads it through the " +
      "file's `read()`, block by block, as Gunicorn then does.",
    supported: true,
  }),
  reuse_port: spec({
    section: 'Server Mechanics',
    flags: ['--reuse-port'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Set the `SO_REUSEPORT` flag on the listening socket. nicorn-py sets it on TCP listeners through the bind flag ' +
      "Node uses for `reusePort` (Node 22.12 and later); on Node 20, whose libuv has no such flag, the arbiter exits " +
      'naming the Node version instead of binding without it.',
    supported: true,
  }),
  chdir: spec({
    section: 'Server Mechanics',
    flags: ['--chdir'],
    validate: v.chdir,
    default: () => process.cwd(),
    defaultDoc: "'.'",
    desc:
      'Change directory to specified directory before loading apps. A relative path is taken from the directory ' +
      'nicorn-py is started in, and the directory must exist. It becomes the interpreter\'s working directory and is put ' +
      'on `sys.path`, mounted at its real path.',
    supported: true,
  }),
  daemon: spec({
    section: 'Server Mechanics',
    flags: ['-D', '--daemon'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc: 'Daemonize the Gunicorn process. Detaches the server from the controlling terminal and enters the background.',
    supported: true,
  }),
  raw_env: spec({
    section: 'Server Mechanics',
    flags: ['-e', '--env'],
    meta: 'ENV',
    action: 'append',
    validate: v.envList,
    default: () => [],
    defaultDoc: '[]',
    desc:
      'Set environment variables in the execution environment. A list of strings in the `key=value` format: ' +
      '`--env FOO=1` on the command line (repeat it for more), or `raw_env = ["FOO=1"]` in the configuration file. ' +
      'nicorn-py sets them in the arbiter before any worker is forked, so the app sees them in `os.environ`; the config ' +
      'file already sees the ones given on the command line while it runs.',
    supported: true,
  }),
  pidfile: spec({
    section: 'Server Mechanics',
    flags: ['-p', '--pid'],
    meta: 'FILE',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc: 'A filename to use for the PID file. If not set, no PID file will be written.',
    supported: true,
  }),
  worker_tmp_dir: spec({
    section: 'Server Mechanics',
    flags: ['--worker-tmp-dir'],
    meta: 'DIR',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'A directory to use for the worker heartbeat temporary file. If not set, the default temporary directory will be used.',
    supported: true,
  }),
  user: spec({
    section: 'Server Mechanics',
    flags: ['-u', '--user'],
    meta: 'USER',
    validate: v.user,
    default: v.euid,
    defaultDoc: 'os.geteuid()',
    desc:
      'Switch worker processes to run as this user. A valid user id (as an integer) or the name of a user that can be ' +
      'retrieved with a call to `pwd.getpwnam(value)`, or `None` to not change the worker process user.',
    supported: true,
  }),
  group: spec({
    section: 'Server Mechanics',
    flags: ['-g', '--group'],
    meta: 'GROUP',
    validate: v.group,
    default: v.egid,
    defaultDoc: 'os.getegid()',
    desc:
      'Switch worker process to run as this group. A valid group id (as an integer) or the name of a group that can be ' +
      'retrieved with a call to `grp.getgrnam(value)`, or `None` to not change the worker processes group.',
    supported: true,
  }),
  umask: spec({
    section: 'Server Mechanics',
    flags: ['-m', '--umask'],
    meta: 'INT',
    validate: v.umask,
    default: () => 0,
    defaultDoc: '0',
    desc:
      'A bit mask for the file mode on files written by Gunicorn. Note that this affects unix socket permissions. A valid ' +
      'value for the `os.umask(mode)` call or a string compatible with `int(value, 0)` (`0` means Python guesses the ' +
      'base, so values like `0`, `0xFF`, `0022` are valid for decimal, hex, and octal representations).',
    supported: true,
  }),
  initgroups: spec({
    section: 'Server Mechanics',
    flags: ['--initgroups'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      "If true, set the worker process's group access list with all of the groups of which the specified username is a " +
      'member, plus the specified group id. Without it a worker started as root keeps root\'s supplementary groups, as ' +
      "in Gunicorn. nicorn-py also sets the group (*group*) as the worker's group, as it does without *initgroups*.",
    supported: true,
  }),
  tmp_upload_dir: spec({
    section: 'Server Mechanics',
    flags: [],
    meta: 'DIR',
    validate: v.optDirectory,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'Directory to store temporary request data as they are read. This path should be writable by the process ' +
      'permissions set for the workers; if not specified, a system generated temporary directory is chosen. ' +
      'nicorn-py reads a request body before the app is called: up to 64 KiB in memory, the rest (up to 64 MiB) ' +
      'in an unlinked file in this directory; a larger body is streamed to the app as it arrives.',
    supported: true,
  }),
  secure_scheme_headers: spec({
    section: 'Server Mechanics',
    flags: [],
    validate: v.dict,
    default: () => ({ ...SECURE_SCHEME_HEADERS }),
    defaultDoc: "{'X-FORWARDED-PROTOCOL': 'ssl', 'X-FORWARDED-PROTO': 'https', 'X-FORWARDED-SSL': 'on'}",
    desc:
      'A dictionary containing headers and values that the front-end proxy uses to indicate HTTPS requests. If the source ' +
      'IP is permitted by *forwarded_allow_ips*, and at least one request header matches a key-value pair listed in this ' +
      'dictionary, `wsgi.url_scheme` is set to `https`. Listed headers that are present but do not match make the request ' +
      'fail to parse. The dictionary maps upper-case header names to exact, case-sensitive string values; your front-end ' +
      'proxy must ensure these headers cannot be passed directly from the client.',
    supported: true,
  }),
  forwarded_allow_ips: spec({
    section: 'Server Mechanics',
    flags: ['--forwarded-allow-ips'],
    meta: 'STRING',
    validate: v.addrList,
    default: () => v.addrList(process.env.FORWARDED_ALLOW_IPS ?? '127.0.0.1,::1'),
    defaultDoc: "'127.0.0.1,::1'",
    desc:
      "Front-end's IPs or networks (such as `10.0.0.0/8`) from which allowed to handle set secure headers (comma " +
      'separated). Set to `*` to disable checking ' +
      "of front-end IPs, when you don't know them in advance but have ensured by other means that only your authorized " +
      'front-ends can reach the server. By default, the value of the `FORWARDED_ALLOW_IPS` environment variable; if it is ' +
      'not defined, the default is `"127.0.0.1,::1"`. It does not affect UNIX socket connections.',
    supported: true,
  }),
  pythonpath: spec({
    section: 'Server Mechanics',
    flags: ['--pythonpath'],
    meta: 'STRING',
    validate: v.commaList,
    default: (): string[] => [],
    defaultDoc: 'None',
    desc:
      "A comma-separated list of directories to add to the Python path. For example, `'/home/djangoprojects/myproject," +
      "/home/python/mylibrary'`. Each directory is made absolute, mounted into the interpreter at its real path and put " +
      'in front of `sys.path`.',
    supported: true,
    // Gunicorn keeps the string as given.
    show: (dirs) => (dirs.length ? dirs.join(',') : 'None'),
  }),
  paste: spec({
    section: 'Server Mechanics',
    flags: ['--paste', '--paster'],
    meta: 'STRING',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'Load a PasteDeploy config file. The argument may contain a `#` symbol followed by the name of an app section from ' +
      'the config file, as in `production.ini#admin`.',
    supported: true,
  }),
  proxy_protocol: spec<'off' | 'v1' | 'v2' | 'auto'>({
    section: 'Server Mechanics',
    flags: ['--proxy-protocol'],
    meta: 'MODE',
    optionalValue: true,
    const: 'auto',
    validate: proxyProtocol,
    default: () => 'off',
    defaultDoc: "'off'",
    desc:
      'Enable PROXY protocol support. Allow using HTTP and PROXY protocol together. It may be useful for work with ' +
      'stunnel as HTTPS frontend and Gunicorn as HTTP server, or with HAProxy. Accepted values: `off` - Disabled ' +
      '(default); `v1` - PROXY protocol v1 only (text format); `v2` - PROXY protocol v2 only (binary format); ' +
      '`auto` - Auto-detect v1 or v2; Using `--proxy-protocol` without a value is equivalent to `auto`. PROXY ' +
      'protocol v1: http://haproxy.1wt.eu/download/1.5/doc/proxy-protocol.txt PROXY protocol v2: ' +
      'https://www.haproxy.org/download/1.8/doc/proxy-protocol.txt Example for stunnel config: `[https] protocol = ' +
      'proxy accept = 443 connect = 80 cert = /etc/ssl/certs/stunnel.pem key = /etc/ssl/certs/stunnel.key`. ' +
      '(Changed in Gunicorn 24.1.0: Extended to support version selection (v1, v2, auto).)',
    supported: true,
  }),
  proxy_allow_ips: spec({
    section: 'Server Mechanics',
    flags: ['--proxy-allow-from'],
    validate: v.addrList,
    default: () => v.addrList('127.0.0.1,::1'),
    defaultDoc: "'127.0.0.1,::1'",
    desc:
      "Front-end's IPs or networks (such as `10.0.0.0/8`) from which allowed accept proxy requests (comma separated). " +
      'Set to `*` to disable checking of ' +
      'front-end IPs. It does not affect UNIX socket connections.',
    supported: true,
  }),
  raw_paste_global_conf: spec({
    section: 'Server Mechanics',
    flags: ['--paste-global'],
    meta: 'CONF',
    action: 'append',
    validate: v.stringList,
    default: () => [],
    defaultDoc: '[]',
    desc:
      'Set a PasteDeploy global config variable in `key=value` form. The option can be specified multiple times; the ' +
      'variables are passed to the PasteDeploy entrypoint.',
    supported: true,
  }),
  permit_obsolete_folding: spec({
    section: 'Server Mechanics',
    flags: ['--permit-obsolete-folding'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Permit requests employing obsolete HTTP line folding mechanism. The folding mechanism was deprecated by RFC 7230 ' +
      'Section 3.2.4 and is not employed by standards-compliant HTTP clients. This option is provided to diagnose ' +
      'backwards-incompatible changes; use with care and only if necessary. ' +
      "In nicorn-py the front door's own parser (Gunicorn's rules) reads the requests this allows that llhttp, its fast path, refuses.",
    supported: true,
  }),
  strip_header_spaces: spec({
    section: 'Server Mechanics',
    flags: ['--strip-header-spaces'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Strip spaces present between the header name and the `:`. This is known to induce vulnerabilities and is not ' +
      'compliant with the HTTP/1.1 standard. Deprecated in Gunicorn; scheduled for removal in 25.0.0. ' +
      "In nicorn-py the front door's own parser (Gunicorn's rules) reads the requests this allows that llhttp, its fast path, refuses.",
    supported: true,
  }),
  permit_unconventional_http_method: spec({
    section: 'Server Mechanics',
    flags: ['--permit-unconventional-http-method'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Permit HTTP methods not matching conventions, such as IANA registration guidelines. This permits request methods ' +
      'of length less than 3 or more than 20, methods with lowercase characters or methods containing the `#` character. ' +
      'Temporary in Gunicorn; scheduled for removal in 24.0.0. ' +
      "In nicorn-py the front door's own parser (Gunicorn's rules) reads the requests this allows that llhttp, its fast path, refuses.",
    supported: true,
  }),
  permit_unconventional_http_version: spec({
    section: 'Server Mechanics',
    flags: ['--permit-unconventional-http-version'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Permit HTTP version not matching conventions of 2023. This disables the refusal of likely malformed request lines; ' +
      'it is unusual to specify HTTP 1 versions other than 1.0 and 1.1. Provided to diagnose backwards-incompatible ' +
      'changes; use with care and only if necessary. ' +
      "In nicorn-py the front door's own parser (Gunicorn's rules) reads the requests this allows that llhttp, its fast path, refuses.",
    supported: true,
  }),
  casefold_http_method: spec({
    section: 'Server Mechanics',
    flags: ['--casefold-http-method'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Transform received HTTP methods to uppercase. HTTP methods are case sensitive by definition, and merely uppercase ' +
      'by convention; previous versions of Gunicorn uppercased them. Deprecated in Gunicorn; scheduled for removal in 24.0.0. ' +
      'In nicorn-py it takes effect on the methods permit_unconventional_http_method lets through (llhttp, the fast path, ' +
      'only accepts uppercase ones).',
    supported: true,
  }),
  forwarder_headers: spec({
    section: 'Server Mechanics',
    flags: ['--forwarder-headers'],
    validate: v.stringToList,
    default: () => ['SCRIPT_NAME', 'PATH_INFO'],
    defaultDoc: "'SCRIPT_NAME,PATH_INFO'",
    desc:
      'A list containing upper-case header field names that the front-end proxy (see *forwarded_allow_ips*) sets, to be ' +
      'used in WSGI environment. This option has no effect for headers not present in the request, and can be used to ' +
      'transfer `SCRIPT_NAME`, `PATH_INFO` and `REMOTE_USER`. Your front-end proxy must ensure these headers cannot be ' +
      'passed directly from the client.',
    supported: true,
  }),
  header_map: spec({
    section: 'Server Mechanics',
    flags: ['--header-map'],
    validate: headerMap,
    default: () => 'drop',
    defaultDoc: "'drop'",
    desc:
      'Configure how header field names are mapped into environ. Headers containing underscores are permitted by RFC 9110, ' +
      'but joining headers of different names into the same environ key confuses applications as to which is which. ' +
      '`drop` silently drops headers that cannot be unambiguously mapped, `refuse` returns an error if a request contains ' +
      'any such header, and `dangerous` maps them anyway, as Gunicorn did before 22.0. A header from a permitted ' +
      'forwarder that is listed in *forwarder_headers* is mapped regardless of this setting.',
    supported: true,
  }),

  // ------------------------------------------------------------ Logging
  accesslog: spec({
    section: 'Logging',
    flags: ['--access-logfile'],
    meta: 'FILE',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc: "The Access log file to write to. `'-'` means log to stdout.",
    supported: true,
  }),
  disable_redirect_access_to_syslog: spec({
    section: 'Logging',
    flags: ['--disable-redirect-access-to-syslog'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc: 'Disable redirect access logs to syslog.',
    supported: true,
  }),
  access_log_format: spec({
    section: 'Logging',
    flags: ['--access-logformat'],
    meta: 'STRING',
    validate: v.string,
    default: () => '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
    defaultDoc: `'%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'`,
    desc:
      "The access log format. Identifiers: `h` remote address, `l` `'-'`, `u` user name (if HTTP Basic auth used), " +
      '`t` date of the request, `r` status line (such as `GET / HTTP/1.1`), `m` request method, `U` URL path without ' +
      'query string, `q` query string, `H` protocol, `s` status, `B` response length, `b` response length or `\'-\'` ' +
      '(CLF format), `f` referrer (the `referer` header), `a` user agent, `T` request time in seconds, `M` in ' +
      'milliseconds, `D` in microseconds, `L` in decimal seconds, `p` process ID, `{header}i` request header, ' +
      '`{header}o` response header, `{variable}e` environment variable. Use lowercase for header and environment ' +
      'variable names, and put `{...}x` names inside `%(...)s`, as in `%({x-forwarded-for}i)s`.',
    supported: true,
  }),
  errorlog: spec({
    section: 'Logging',
    flags: ['--error-logfile', '--log-file'],
    meta: 'FILE',
    validate: v.string,
    default: () => '-',
    defaultDoc: "'-'",
    desc:
      "The Error log file to write to. Using `'-'` for FILE makes the server log to stderr, the default and, for now, the " +
      'only destination nicorn-py supports.',
    supported: true,
  }),
  loglevel: spec({
    section: 'Logging',
    flags: ['--log-level'],
    meta: 'LEVEL',
    validate: v.oneOf(LOG_LEVELS),
    default: () => 'info' as const,
    defaultDoc: "'info'",
    desc:
      "The granularity of Error log outputs. Valid level names are `'debug'`, `'info'`, `'warning'`, `'error'` and " +
      "`'critical'`, in any case. Gunicorn quietly treats an unknown name as `'info'`; nicorn-py rejects it.",
    supported: true,
  }),
  capture_output: spec({
    section: 'Logging',
    flags: ['--capture-output'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc: 'Redirect stdout/stderr to specified file in *errorlog*.',
    supported: true,
  }),
  logger_class: spec({
    section: 'Logging',
    flags: ['--logger-class'],
    meta: 'STRING',
    validate: v.string,
    default: () => 'gunicorn.glogging.Logger',
    defaultDoc: "'gunicorn.glogging.Logger'",
    desc:
      'The logger you want to use to log events in Gunicorn. The default class (`gunicorn.glogging.Logger`) handles most ' +
      'normal usages in logging: it provides error and access logging. You can provide your own logger by giving a Python ' +
      'path to a class that quacks like `gunicorn.glogging.Logger`. Not supported by nicorn-py: such a class subclasses ' +
      "Gunicorn's own Python package, which nicorn-py does not run (its logging is its own, in Node and in " +
      "`python/nicorn`); what subclasses usually change, handlers and formats, *logconfig_dict* and the access and " +
      'error log settings do.',
    supported: false,
  }),
  logconfig: spec({
    section: 'Logging',
    flags: ['--log-config'],
    meta: 'FILE',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      "The log config file to use. Gunicorn uses the standard Python logging module's Configuration file format " +
      '(`logging.config.fileConfig`, with `__file__` and `here` among its defaults). ' +
      "nicorn-py applies it as Gunicorn does (over `gunicorn.error`'s own handler) in each worker's Python, where the " +
      "app's records meet it, and in the arbiter's interpreter, which emits every line nicorn-py writes from Node (the " +
      "arbiter's, each worker's, the access lines, with the pid of the process that wrote them) as records of " +
      '`gunicorn.error` and `gunicorn.access`. With a log configuration access lines are logged even without ' +
      '*accesslog*, as in Gunicorn. On HUP it is applied again; one that fails keeps the previous one, with the error on stderr.',
    supported: true,
  }),
  logconfig_dict: spec({
    section: 'Logging',
    flags: [],
    validate: v.dict,
    default: () => ({}),
    defaultDoc: '{}',
    desc:
      "The log config dictionary to use, using the standard Python logging module's dictionary configuration format. " +
      'This option takes precedence over *logconfig* and *logconfig_json*, which use the older file configuration format ' +
      'and JSON respectively. Format: https://docs.python.org/3/library/logging.config.html#logging.config.dictConfig. ' +
      "Gunicorn's defaults (a `console` handler on stdout, `error_console` on stderr, the `generic` formatter) are updated " +
      'with the dictionary, key by key. ' +
      "nicorn-py applies it as Gunicorn does (over `gunicorn.error`'s own handler) in each worker's Python, where the " +
      "app's records meet it, and in the arbiter's interpreter, which emits every line nicorn-py writes from Node (the " +
      "arbiter's, each worker's, the access lines, with the pid of the process that wrote them) as records of " +
      '`gunicorn.error` and `gunicorn.access`. With a log configuration access lines are logged even without ' +
      '*accesslog*, as in Gunicorn. On HUP it is applied again; one that fails keeps the previous one, with the error on stderr.',
    supported: true,
  }),
  logconfig_json: spec({
    section: 'Logging',
    flags: ['--log-config-json'],
    meta: 'FILE',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'The log config to read config from a JSON file. Format: ' +
      'https://docs.python.org/3/library/logging.config.html#logging.config.jsonConfig. ' +
      "nicorn-py applies it as Gunicorn does (over `gunicorn.error`'s own handler) in each worker's Python, where the " +
      "app's records meet it, and in the arbiter's interpreter, which emits every line nicorn-py writes from Node (the " +
      "arbiter's, each worker's, the access lines, with the pid of the process that wrote them) as records of " +
      '`gunicorn.error` and `gunicorn.access`. With a log configuration access lines are logged even without ' +
      '*accesslog*, as in Gunicorn. On HUP it is applied again; one that fails keeps the previous one, with the error on stderr.',
    supported: true,
  }),
  syslog_addr: spec({
    section: 'Logging',
    flags: ['--log-syslog-to'],
    meta: 'SYSLOG_ADDR',
    validate: v.string,
    default: syslogDefault,
    defaultDoc: "'udp://localhost:514'",
    desc:
      'Address to send syslog messages. A string of the form `unix://PATH#TYPE` for a unix domain socket (`TYPE` is ' +
      '`stream`, the default, or `dgram`), `udp://HOST:PORT` for UDP sockets or `tcp://HOST:PORT` for TCP sockets. The ' +
      'default depends on the platform: `unix:///var/run/syslog` on macOS, `unix:///var/run/log` on FreeBSD, ' +
      '`unix:///dev/log` on OpenBSD and `udp://localhost:514` elsewhere.',
    supported: true,
  }),
  syslog: spec({
    section: 'Logging',
    flags: ['--log-syslog'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Send *Gunicorn* logs to syslog. Access logs can be kept out of syslog with *disable_redirect_access_to_syslog*.',
    supported: true,
  }),
  syslog_prefix: spec({
    section: 'Logging',
    flags: ['--log-syslog-prefix'],
    meta: 'SYSLOG_PREFIX',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'Makes Gunicorn use the parameter as program-name in the syslog entries. All entries will be prefixed by ' +
      '`gunicorn.<prefix>`; by default the program name is the name of the process.',
    supported: true,
  }),
  syslog_facility: spec({
    section: 'Logging',
    flags: ['--log-syslog-facility'],
    meta: 'SYSLOG_FACILITY',
    validate: v.string,
    default: () => 'user',
    defaultDoc: "'user'",
    desc: 'Syslog facility name.',
    supported: true,
  }),
  enable_stdio_inheritance: spec({
    section: 'Logging',
    flags: ['-R', '--enable-stdio-inheritance'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc:
      'Enable stdio inheritance. Enable inheritance for stdio file descriptors in daemon mode. To disable the Python ' +
      'stdout buffering, set the environment variable `PYTHONUNBUFFERED`.',
    supported: true,
  }),
  statsd_host: spec({
    section: 'Logging',
    flags: ['--statsd-host'],
    meta: 'STATSD_ADDR',
    validate: statsdAddress,
    default: () => null,
    defaultDoc: 'None',
    desc:
      'The address of the StatsD server to log to. A string of the form `unix://PATH` for a unix domain socket, or ' +
      '`HOST:PORT` for a network address.',
    supported: true,
  }),
  dogstatsd_tags: spec({
    section: 'Logging',
    flags: ['--dogstatsd-tags'],
    meta: 'DOGSTATSD_TAGS',
    validate: v.string,
    default: () => '',
    defaultDoc: "''",
    desc: 'A comma-delimited list of datadog statsd (dogstatsd) tags to append to statsd metrics.',
    supported: true,
  }),
  statsd_prefix: spec({
    section: 'Logging',
    flags: ['--statsd-prefix'],
    meta: 'STATSD_PREFIX',
    validate: v.string,
    default: () => '',
    defaultDoc: "''",
    desc: 'Prefix to use when emitting statsd metrics (a trailing `.` is added, if not provided).',
    supported: true,
  }),

  // ------------------------------------------------------------ Process Naming
  proc_name: spec({
    section: 'Process Naming',
    flags: ['-n', '--name'],
    meta: 'STRING',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      "A base to use with setproctitle for process naming. This affects things like `ps` and `top`; if you're going to " +
      "be running more than one instance you'll probably want to set a name to tell them apart. If not set, the " +
      '*default_proc_name* setting will be used.',
    supported: true,
  }),
  default_proc_name: spec({
    section: 'Process Naming',
    flags: [],
    validate: v.string,
    default: () => 'gunicorn',
    defaultDoc: "'gunicorn'",
    desc:
      'Internal setting that is adjusted for each type of application: the `APP_MODULE` given on the command line, ' +
      'unless the config file sets it (an app named only by the config file\'s *wsgi_app* leaves it `gunicorn`, as in ' +
      'Gunicorn). It names the processes when *proc_name* is not set.',
    supported: true,
  }),

  // ------------------------------------------------------------ Server Hooks
  on_starting: hook('on_starting', ['server'], 'OnStarting', true,
    'Called just before the master process is initialized. The callable needs to accept a single instance variable for the Arbiter.'),
  on_reload: hook('on_reload', ['server'], 'OnReload', true,
    'Called to recycle workers during a reload via SIGHUP. The callable needs to accept a single instance variable for the Arbiter.'),
  when_ready: hook('when_ready', ['server'], 'WhenReady', true,
    'Called just after the server is started. The callable needs to accept a single instance variable for the Arbiter.'),
  pre_fork: hook('pre_fork', ['server', 'worker'], 'Prefork', true,
    'Called just before a worker is forked. The callable needs to accept two instance variables for the Arbiter and new Worker.'),
  post_fork: hook('post_fork', ['server', 'worker'], 'Postfork', true,
    'Called just after a worker has been forked. The callable needs to accept two instance variables for the Arbiter and ' +
      'new Worker.'),
  post_worker_init: hook('post_worker_init', ['worker'], 'PostWorkerInit', true,
    'Called just after a worker has initialized the application. The callable needs to accept one instance variable for ' +
      'the initialized Worker.'),
  worker_int: hook('worker_int', ['worker'], 'WorkerInt', true,
    'Called just after a worker exited on SIGINT or SIGQUIT. The callable needs to accept one instance variable for the ' +
      'initialized Worker.'),
  worker_abort: hook('worker_abort', ['worker'], 'WorkerAbort', true,
    'Called when a worker received the SIGABRT signal. This call generally happens on timeout. The callable needs to ' +
      'accept one instance variable for the initialized Worker.'),
  pre_exec: hook('pre_exec', ['server'], 'PreExec', true,
    'Called just before a new master process is forked. The callable needs to accept a single instance variable for the Arbiter.'),
  pre_request: hook('pre_request', ['worker', 'req'], 'PreRequest', true,
    'Called just before a worker processes the request. The callable needs to accept two instance variables for the ' +
      'Worker and the Request.',
    'worker.log.debug("%s %s", req.method, req.path)'),
  post_request: hook('post_request', ['worker', 'req', 'environ', 'resp'], 'PostRequest', true,
    'Called after a worker processes the request. The callable needs to accept the Worker, the Request, the WSGI ' +
      'environ and the Response (Gunicorn also takes a callable of two or three arguments, and passes the first ones).'),
  child_exit: hook('child_exit', ['server', 'worker'], 'ChildExit', true,
    'Called just after a worker has been exited, in the master process. The callable needs to accept two instance ' +
      'variables for the Arbiter and the just-exited Worker.'),
  worker_exit: hook('worker_exit', ['server', 'worker'], 'WorkerExit', true,
    'Called just after a worker has been exited, in the worker process. The callable needs to accept two instance ' +
      'variables for the Arbiter and the just-exited Worker.'),
  nworkers_changed: hook('nworkers_changed', ['server', 'new_value', 'old_value'], 'NumWorkersChanged', true,
    'Called just after *num_workers* has been changed. The callable needs to accept an instance variable of the Arbiter ' +
      'and two integers of number of workers after and before change. If the number of workers is set for the first ' +
      'time, *old_value* would be `None`.'),
  on_exit: hook('on_exit', ['server'], 'OnExit', true,
    'Called just before exiting Gunicorn. The callable needs to accept a single instance variable for the Arbiter.'),
  ssl_context: hook('ssl_context', ['config', 'default_ssl_context_factory'], 'NewSSLContext', false,
    'Called when SSLContext is needed. Allows customizing the SSL context: the callable needs to accept an instance ' +
      'variable for the Config and a factory function that returns the default SSLContext (initialized with ' +
      'certificates, private key, cert_reqs and ciphers according to the config), and to return an SSLContext object. ' +
      "Not supported by nicorn-py: the listeners' TLS is node's (node:tls in each worker's I/O thread), which a Python " +
      'SSLContext cannot configure; what the default factory sets (certfile, keyfile, ca_certs, cert_reqs, ciphers) ' +
      'nicorn-py applies from those settings.',
    'return default_ssl_context_factory()'),

  // ------------------------------------------------------------ SSL
  keyfile: spec({
    section: 'SSL',
    flags: ['--keyfile'],
    meta: 'FILE',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc: 'SSL key file.',
    supported: true,
  }),
  certfile: spec({
    section: 'SSL',
    flags: ['--certfile'],
    meta: 'FILE',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc: 'SSL certificate file.',
    supported: true,
  }),
  ssl_version: spec<unknown>({
    section: 'SSL',
    flags: ['--ssl-version'],
    validate: (raw) => raw,
    default: () => PROTOCOL_TLS,
    defaultDoc: '<_SSLMethod.PROTOCOL_TLS: 2>',
    desc:
      "SSL version to use (see stdlib ssl module's). Deprecated since Gunicorn 21.0, where it is ignored: use " +
      '*ssl_context* instead.',
    supported: true,
  }),
  cert_reqs: spec({
    section: 'SSL',
    flags: ['--cert-reqs'],
    validate: v.posInt,
    default: () => CERT_NONE,
    defaultDoc: '<VerifyMode.CERT_NONE: 0>',
    desc:
      "Whether client certificate is required (see stdlib ssl module's). `0`: no client verification, `1`: " +
      '`ssl.CERT_OPTIONAL`, `2`: `ssl.CERT_REQUIRED`.',
    supported: true,
  }),
  ca_certs: spec({
    section: 'SSL',
    flags: ['--ca-certs'],
    meta: 'FILE',
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc: 'CA certificates file.',
    supported: true,
  }),
  suppress_ragged_eofs: spec({
    section: 'SSL',
    flags: ['--suppress-ragged-eofs'],
    action: 'store_true',
    validate: v.bool,
    default: () => true,
    defaultDoc: 'True',
    desc:
      "Suppress ragged EOFs (see stdlib ssl module's). Not supported by nicorn-py: TLS is node's (OpenSSL through " +
      'node:tls), which always takes a peer that closes without close_notify as the end of the stream, what the ' +
      'default True means; False (report it as an error) has no counterpart there, as node does not tell the two apart.',
    supported: false,
  }),
  do_handshake_on_connect: spec({
    section: 'SSL',
    flags: ['--do-handshake-on-connect'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: 'False',
    desc: "Whether to perform SSL handshake on socket connect (see stdlib ssl module's).",
    supported: true,
  }),
  ciphers: spec({
    section: 'SSL',
    flags: ['--ciphers'],
    validate: v.optString,
    default: () => null,
    defaultDoc: 'None',
    desc:
      "SSL Cipher suite to use, in the format of an OpenSSL cipher list. By default the cipher list of Python's `ssl` " +
      'module is used, which contains ciphers considered strong at the time of each Python release.',
    supported: true,
  }),

  // ------------------------------------------------------------ Logging (Gunicorn 24-26)
  enable_backlog_metric: spec({
    section: 'Logging',
    flags: ['--enable-backlog-metric'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: "False",
    desc:
      'Enable socket backlog metric (only supported on Linux). When enabled, gunicorn will emit a ' +
      '`gunicorn.backlog` histogram metric showing the number of connections waiting in the socket backlog.',
    supported: true,
  }),

  // ------------------------------------------------------------ Server Mechanics (Gunicorn 24-26)
  protocol: spec({
    section: 'Server Mechanics',
    flags: ['--protocol'],
    meta: 'STRING',
    validate: protocolName,
    default: () => 'http' as 'http' | 'uwsgi',
    defaultDoc: "'http'",
    desc:
      'The protocol for incoming connections. `http` - Standard HTTP/1.x (default); `uwsgi` - uWSGI binary protocol ' +
      '(for nginx uwsgi_pass); When using the uWSGI protocol, Gunicorn can receive requests from nginx using the ' +
      'uwsgi_pass directive: `upstream gunicorn { server 127.0.0.1:8000; } location / { uwsgi_pass gunicorn; ' +
      'include uwsgi_params; }`. nicorn-py: `http` and `uwsgi` only (Gunicorn serves any other string as `http`; here it is an error). Under ' +
      '`uwsgi` the environ is what Gunicorn 26.2.2 builds from the vars (REQUEST_METHOD, PATH_INFO, QUERY_STRING, ' +
      'HTTP_*, CONTENT_TYPE/LENGTH, HTTPS or wsgi.url_scheme; REMOTE_ADDR is the peer, SERVER_NAME/PORT the ' +
      'listener), responses are never chunked (without Content-Length they end with the connection), no 103 Early ' +
      'Hints are sent (nginx would take one for the response), and plain sockets only: with --certfile it is an error, ' +
      'as with --proxy-protocol (which Gunicorn ignores under uwsgi).',
    supported: true,
  }),
  uwsgi_allow_ips: spec({
    section: 'Server Mechanics',
    flags: ['--uwsgi-allow-from'],
    validate: v.addrList,
    default: () => v.addrList('127.0.0.1,::1'),
    defaultDoc: "'127.0.0.1,::1'",
    desc:
      'IPs allowed to send uWSGI protocol requests (comma separated). Set to `*` to allow all IPs. This is useful ' +
      "for setups where you don't know in advance the IP address of front-end, but instead have ensured via other " +
      'means that only your authorized front-ends can access Gunicorn. Note: This option does not affect UNIX ' +
      'socket connections. Connections not associated with an IP address are treated as allowed, unconditionally. ' +
      "nicorn-py: as Gunicorn 26.2.2's uwsgi check, the peer's address is compared as a string with each entry " +
      '(`10.0.0.0/8` passes the validator but allows no peer); a refused peer gets the 500 page and the error log ' +
      "`Error handling request (no URI read)` with `ForbiddenUWSGIRequest: uWSGI request from '...' not allowed`.",
    supported: true,
  }),
  root_path: spec({
    section: 'Server Mechanics',
    flags: ['--root-path'],
    meta: 'STRING',
    validate: v.string,
    default: () => '',
    defaultDoc: "''",
    desc:
      'The root path for ASGI applications. This is used to set the `root_path` in the ASGI scope, which allows ' +
      'applications to know their mount point when behind a reverse proxy. For example, if your application is ' +
      'mounted at `/api`, set this to `/api`. (New in Gunicorn 24.0.0.)',
    supported: true,
  }),

  // ------------------------------------------------------------ HTTP/2 (Gunicorn 24-26)
  http_protocols: spec({
    section: 'HTTP/2',
    flags: ['--http-protocols'],
    meta: 'STRING',
    validate: httpProtocols,
    default: () => ['h1'],
    defaultDoc: "'h1'",
    desc:
      'HTTP protocol versions to support (comma-separated, order = preference). Valid protocols: `h1` - HTTP/1.1 ' +
      '(default); `h2` - HTTP/2 (requires TLS with ALPN); `h3` - HTTP/3 (future, not yet implemented); Examples: `# ' +
      'HTTP/1.1 only (default, backward compatible) --http-protocols=h1 # Prefer HTTP/2, fallback to HTTP/1.1 ' +
      '--http-protocols=h2,h1 # HTTP/2 only (reject HTTP/1.1 clients) --http-protocols=h2`. HTTP/2 requires: TLS ' +
      '(--certfile and --keyfile); The h2 library: `pip install gunicorn[http2]`; ALPN-capable TLS client; Note: ' +
      'HTTP/2 cleartext (h2c) is disabled by default. Deployments behind a TLS-terminating proxy can enable ' +
      'prior-knowledge h2c with `http2_cleartext`. (New in Gunicorn 25.0.0.)' +
      ' nicorn-py: served by node\'s http2 (nghttp2) in every worker class, sync included (Gunicorn\'s sync worker warns and falls back to HTTP/1.1; nicorn-py\'s front door is an event loop, so it multiplexes streams and hands each to the interpreter as one request). Over TLS the listener offers these protocols by ALPN in this order; `h2` alone refuses connections that do not choose h2. `h3` is refused at start (no QUIC in node\'s http2).',
    supported: true,
  }),
  http2_cleartext: spec({
    section: 'HTTP/2',
    flags: ['--http2-cleartext'],
    meta: 'STRING',
    validate: http2Cleartext,
    default: () => 'off',
    defaultDoc: "'off'",
    desc:
      'Accept HTTP/2 over cleartext TCP (h2c), and by which mechanism. Valid values are: `off` (default) - no ' +
      'cleartext HTTP/2; `prior-knowledge` - serve connections that open with the HTTP/2 connection preface (`PRI * ' +
      'HTTP/2.0`), RFC 9113 section 3.4; `upgrade` - honour an HTTP/1.1 `Upgrade: h2c` request; `both` - accept ' +
      'either; The mechanisms are listed separately on purpose: enabling one does not enable the other. Only peers ' +
      'in `forwarded_allow_ips` are considered. Everyone else is served HTTP/1.x exactly as if this were `off`. ' +
      'Anything else from a trusted peer on a prior-knowledge port (an HTTP/1.x request, a malformed or stalled ' +
      'preface) is rejected with a 400: such a peer is expected to speak HTTP/2, and a silent downgrade would only ' +
      'hide a misconfiguration. This is meant for deployments where TLS is terminated by a trusted proxy that ' +
      'speaks HTTP/2 upstream (Cloud Run, fly.io, a service-mesh sidecar). Do not expose a cleartext HTTP/2 port to ' +
      'the internet. Requires `h2` in `http_protocols` and the h2 library (`pip install gunicorn[http2]`). Ignored ' +
      'when TLS is configured; there HTTP/2 is negotiated by ALPN. (New in Gunicorn 26.2.0.)' +
      ' nicorn-py: `prior-knowledge` is served; `upgrade` and `both` are refused at start (node\'s http2 has no HTTP/1.1 `Upgrade: h2c`).',
    supported: true,
  }),
  http2_max_concurrent_streams: spec({
    section: 'HTTP/2',
    flags: ['--http2-max-concurrent-streams'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 100,
    defaultDoc: "100",
    desc:
      'Maximum number of concurrent HTTP/2 streams per connection. This limits how many requests can be processed ' +
      'simultaneously on a single HTTP/2 connection. Higher values allow more parallelism but use more memory. ' +
      'Default is 100, which matches common server configurations. The HTTP/2 specification allows up to 2^31-1. ' +
      '(New in Gunicorn 25.0.0.)' +
      ' nicorn-py: node\'s SETTINGS_MAX_CONCURRENT_STREAMS; nghttp2 refuses a stream past it with RST_STREAM (REFUSED_STREAM), the connection\'s other streams go on.',
    supported: true,
  }),
  http2_initial_window_size: spec({
    section: 'HTTP/2',
    flags: ['--http2-initial-window-size'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 65535,
    defaultDoc: "65535",
    desc:
      'Initial HTTP/2 flow control window size in bytes. This controls how much data can be in-flight before the ' +
      'receiver sends WINDOW_UPDATE frames. Larger values can improve throughput for large transfers but use more ' +
      'memory. Default is 65535 (64KB - 1), the HTTP/2 specification default. Maximum is 2^31-1 (2147483647). (New ' +
      'in Gunicorn 25.0.0.)' +
      ' nicorn-py: node\'s SETTINGS_INITIAL_WINDOW_SIZE; a request body is read (and its window reopened) as the front door takes it, so a client sends no faster than the worker keeps up.',
    supported: true,
  }),
  http2_max_frame_size: spec({
    section: 'HTTP/2',
    flags: ['--http2-max-frame-size'],
    meta: 'INT',
    validate: http2FrameSize,
    default: () => 16384,
    defaultDoc: "16384",
    desc:
      'Maximum HTTP/2 frame payload size in bytes. This is the largest frame payload the server will accept. Larger ' +
      'frames reduce framing overhead but may increase latency for small messages. Default is 16384 (16KB), the ' +
      'HTTP/2 specification minimum. Range is 16384 to 16777215 (16MB - 1). (New in Gunicorn 25.0.0.)' +
      ' nicorn-py: node\'s SETTINGS_MAX_FRAME_SIZE.',
    supported: true,
  }),
  http2_max_header_list_size: spec({
    section: 'HTTP/2',
    flags: ['--http2-max-header-list-size'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 65536,
    defaultDoc: "65536",
    desc:
      'Maximum size of HTTP/2 header list in bytes (HPACK protection). This limits the total size of headers after ' +
      'HPACK decompression. Protects against compression bombs and excessive memory use. Default is 65536 (64KB). ' +
      'Set to 0 for unlimited (not recommended). (New in Gunicorn 25.0.0.)' +
      ' nicorn-py: node\'s SETTINGS_MAX_HEADER_LIST_SIZE; a stream whose header list is larger (RFC 7541 sizes) is reset by node (RST_STREAM ENHANCE_YOUR_CALM), the connection\'s other streams go on.',
    supported: true,
  }),

  // ------------------------------------------------------------ Worker Processes (Gunicorn 24-26)
  asgi_loop: spec({
    section: 'Worker Processes',
    flags: ['--asgi-loop'],
    meta: 'STRING',
    validate: asgiLoop,
    default: () => 'auto',
    defaultDoc: "'auto'",
    desc:
      'Event loop implementation for ASGI workers. auto: Use uvloop if available, otherwise asyncio; asyncio: Use ' +
      "Python's built-in asyncio event loop; uvloop: Use uvloop (must be installed separately); This setting only " +
      'affects the `asgi` worker type. uvloop typically provides better performance but requires installing the ' +
      'uvloop package. (New in Gunicorn 24.0.0.) nicorn-py: `auto` and `asyncio` run asyncio\'s selector loop, ' +
      "whose wait covers the bridge's frames, the app's host sockets and timers; `uvloop` cannot load in Pyodide and " +
      'stops the start.',
    supported: true,
  }),
  asgi_lifespan: spec({
    section: 'Worker Processes',
    flags: ['--asgi-lifespan'],
    meta: 'STRING',
    validate: choice('Invalid ASGI lifespan', ['auto', 'on', 'off']),
    default: () => 'auto',
    defaultDoc: "'auto'",
    desc:
      'Control ASGI lifespan protocol handling. auto: Detect if app supports lifespan, enable if so; on: Always run ' +
      'lifespan protocol (fail if unsupported); off: Never run lifespan protocol; The lifespan protocol allows ASGI ' +
      'applications to run code at startup and shutdown. This is essential for frameworks like FastAPI that need to ' +
      'initialize database connections, caches, or other resources. This setting only affects the `asgi` worker ' +
      'type. (New in Gunicorn 24.0.0.)',
    supported: true,
  }),
  asgi_disconnect_grace_period: spec({
    section: 'Worker Processes',
    flags: ['--asgi-disconnect-grace-period'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 3,
    defaultDoc: "3",
    desc:
      'Grace period (seconds) for ASGI apps to handle client disconnects. When a client disconnects, the ASGI app ' +
      'receives an http.disconnect message and has this many seconds to clean up resources (like database ' +
      'connections) before the request task is cancelled. Set to 0 to cancel immediately (not recommended for apps ' +
      'with async database connections). Apps with long-running database operations may need to increase this ' +
      'value. This setting only affects the `asgi` worker type. (New in Gunicorn 25.0.0.)',
    supported: true,
  }),
  http_parser: spec({
    section: 'Worker Processes',
    flags: ['--http-parser'],
    meta: 'STRING',
    validate: httpParser,
    default: () => 'auto',
    defaultDoc: "'auto'",
    desc:
      'HTTP parser implementation for ASGI workers. auto: Use H1CProtocol if gunicorn_h1c is available, else ' +
      'PythonProtocol (default); fast: Require H1CProtocol from gunicorn_h1c (fail if unavailable); python: Force ' +
      'pure Python PythonProtocol parser; ASGI workers use callback-based parsing in data_received() for efficient ' +
      'incremental parsing. The gunicorn_h1c C extension provides significantly faster HTTP parsing using ' +
      'picohttpparser with SIMD optimizations. Install it with: pip install gunicorn[fast] (New in Gunicorn ' +
      '25.0.0.) In nicorn-py every worker class parses HTTP/1 in the front door with node\'s llhttp, a C parser (and the ' +
      'requests llhttp refuses with its own parser of Gunicorn\'s rules), before Python sees a request: each value is accepted and the parser is the same (gunicorn_h1c is not needed for `fast`).',
    supported: true,
  }),

  // ------------------------------------------------------------ Dirty Arbiters (Gunicorn 24-26)
  dirty_apps: spec({
    section: 'Dirty Arbiters',
    flags: ['--dirty-app'],
    meta: 'STRING',
    action: 'append',
    validate: dirtyApps,
    default: () => [],
    defaultDoc: "[]",
    desc:
      'Dirty applications to load in the dirty worker pool. A list of application paths in one of these formats: ' +
      '`$(MODULE_NAME):$(CLASS_NAME)` - all workers load this app; `$(MODULE_NAME):$(CLASS_NAME):$(N)` - only N ' +
      'workers load this app; Each dirty app must be a class that inherits from `DirtyApp` base class and ' +
      'implements the `init()`, `__call__()`, and `close()` methods. Example: `dirty_apps = [ "myapp.ml:MLApp", # ' +
      'All workers load this "myapp.images:ImageApp", # All workers load this "myapp.heavy:HugeModel:2", # Only 2 ' +
      'workers load this ]`. The per-app worker limit is useful for memory-intensive applications like large ML ' +
      'models. Instead of all 8 workers loading a 10GB model (80GB total), you can limit it to 2 workers (20GB ' +
      'total). Alternatively, you can set the `workers` class attribute on your DirtyApp subclass: `class ' +
      'HugeModelApp(DirtyApp): workers = 2 # Only 2 workers load this app def init(self): self.model = ' +
      'load_10gb_model()`. Note: The config format (`module:Class:N`) takes precedence over the class attribute if ' +
      'both are specified. Dirty apps are loaded once when the dirty worker starts and persist in memory for the ' +
      'lifetime of the worker. This is ideal for loading ML models, database connection pools, or other stateful ' +
      'resources that are expensive to initialize. (New in Gunicorn 25.0.0.) (Changed in Gunicorn 25.1.0: Added ' +
      'per-app worker allocation via `:N` format suffix.)' +
      ' nicorn-py: each dirty worker is a process with its own Pyodide interpreter that imports its apps once; ' +
      'apps and the HTTP workers\' code import `gunicorn.dirty` (nicorn-py provides it when Gunicorn is not ' +
      'installed). The `workers` class attribute is read by the first dirty worker (the dirty arbiter is a Node ' +
      'process and imports nothing), which loads every app, as Gunicorn\'s first one does; the others start once it ' +
      'has, with the apps short of their limit.',
    supported: true,
  }),
  dirty_workers: spec({
    section: 'Dirty Arbiters',
    flags: ['--dirty-workers'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 0,
    defaultDoc: "0",
    desc:
      'The number of dirty worker processes. A positive integer. Set to 0 (default) to disable the dirty arbiter. ' +
      'When set to a positive value, a dirty arbiter process will be spawned to manage the dirty worker pool. Dirty ' +
      'workers are separate from HTTP workers and are designed for long-running, blocking operations like ML model ' +
      'inference or heavy computation. (New in Gunicorn 25.0.0.)' +
      ' nicorn-py: the dirty arbiter is a Node child process of the arbiter listening on a Unix socket whose ' +
      'path HTTP workers find in GUNICORN_DIRTY_SOCKET; it speaks Gunicorn\'s dirty protocol, so Gunicorn\'s ' +
      'own client works against it.',
    supported: true,
  }),
  dirty_timeout: spec({
    section: 'Dirty Arbiters',
    flags: ['--dirty-timeout'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 300,
    defaultDoc: "300",
    desc:
      'Timeout for dirty task execution in seconds. Workers silent for more than this many seconds are considered ' +
      'stuck and will be killed. Set to a high value for operations like model loading that may take a long time. ' +
      'Value is a positive number. Setting it to 0 disables timeout checking. (New in Gunicorn 25.0.0.)' +
      ' nicorn-py: a request whose answer (or next chunk) does not come within it gets Gunicorn\'s ' +
      'DirtyTimeoutError ("Worker timeout"); the dirty worker, whose Python is still in the action, is then ' +
      'aborted (DIRTY WORKER TIMEOUT) and replaced, as Python in Pyodide cannot be left running in a thread.',
    supported: true,
  }),
  dirty_threads: spec({
    section: 'Dirty Arbiters',
    flags: ['--dirty-threads'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 1,
    defaultDoc: "1",
    desc:
      'The number of threads per dirty worker. Each dirty worker can use threads to handle concurrent operations ' +
      'within the same process, useful for async-safe applications. (New in Gunicorn 25.0.0.)' +
      ' nicorn-py: a dirty worker runs one action at a time whatever the value (Pyodide has no OS threads). ' +
      'Gunicorn 26.2.2\'s dirty arbiter also sends each dirty worker one request at a time (a queue per ' +
      'worker), so more threads change what a client sees only after a timed-out action, which keeps running ' +
      'in Gunicorn and is stopped with its worker here. Scale with dirty_workers instead.',
    supported: true,
  }),
  dirty_graceful_timeout: spec({
    section: 'Dirty Arbiters',
    flags: ['--dirty-graceful-timeout'],
    meta: 'INT',
    validate: v.posInt,
    default: () => 30,
    defaultDoc: "30",
    desc:
      'Timeout for graceful dirty worker shutdown in seconds. After receiving a shutdown signal, dirty workers have ' +
      'this much time to finish their current tasks. Workers still alive after the timeout are force killed. (New ' +
      'in Gunicorn 25.0.0.)' +
      ' nicorn-py: a dirty worker in the middle of an action stops once the action returns; TERM\'s wait for ' +
      'the dirty arbiter is the longer of graceful_timeout and this plus one second, so no dirty worker outlives the server.',
    supported: true,
  }),

  // ------------------------------------------------------------ Control (Gunicorn 24-26)
  control_socket: spec({
    section: 'Control',
    flags: ['--control-socket'],
    meta: 'PATH',
    validate: v.string,
    default: () => controlSocketDefault(),
    defaultDoc: '$XDG_RUNTIME_DIR/gunicorn.ctl or $HOME/.gunicorn/gunicorn.ctl',
    desc:
      'Unix socket path for control interface. The control socket allows runtime management of Gunicorn via the ' +
      '`gunicornc` command-line tool. Commands include viewing worker status, adjusting worker count, and graceful ' +
      'reload/shutdown. Default: `$XDG_RUNTIME_DIR/gunicorn.ctl` if XDG_RUNTIME_DIR is set, otherwise ' +
      '`$HOME/.gunicorn/gunicorn.ctl`. The parent directory is created automatically if needed. Use ' +
      '`--no-control-socket` to disable. (New in Gunicorn 25.1.0.) nicorn-py: the arbiter serves it with ' +
      "Gunicorn 26.2.2's protocol and commands, so `gunicornc -s PATH` and `nicorn-py ctl -s PATH` both work; a " +
      'relative path is taken from --chdir; `booted` in `show workers` says whether the worker serves (Gunicorn\'s ' +
      'master always says no).',
    supported: true,
  }),
  control_socket_mode: spec({
    section: 'Control',
    flags: ['--control-socket-mode'],
    meta: 'INT',
    validate: v.umask,
    default: () => 0o600,
    defaultDoc: "384",
    desc:
      'Permission mode for control socket. Restricts who can connect to the control socket. Default `0600` allows ' +
      'only the socket owner. Set to `0660` to allow group access. (New in Gunicorn 25.1.0.)',
    supported: true,
  }),
  control_socket_disable: spec({
    section: 'Control',
    flags: ['--no-control-socket'],
    action: 'store_true',
    validate: v.bool,
    default: () => false,
    defaultDoc: "False",
    desc:
      'Disable control socket. When set, no control socket is created and `gunicornc` cannot connect to this ' +
      'Gunicorn instance. (New in Gunicorn 25.1.0.)',
    supported: true,
  }),

  // ------------------------------------------------------------ Dirty Arbiter Hooks (Gunicorn 25)
  on_dirty_starting: dirtyHook(
    'on_dirty_starting',
    ['arbiter'],
    'OnDirtyStarting',
    'Called just before the dirty arbiter process is initialized. The callable needs to accept a single instance variable for the DirtyArbiter. (New in Gunicorn 25.0.0.) nicorn-py: runs in the arbiter\'s config interpreter (the dirty arbiter is a Node process), before the dirty arbiter listens; `arbiter` has pid, ppid, socket_path, num_workers, workers, cfg and log. One that raises ends the dirty arbiter (exit 255), as in Gunicorn; it is started again a second later.',
  ),
  dirty_post_fork: dirtyHook(
    'dirty_post_fork',
    ['arbiter', 'worker'],
    'DirtyPostFork',
    'Called just after a dirty worker has been forked. The callable needs to accept two instance variables for the DirtyArbiter and new DirtyWorker. (New in Gunicorn 25.0.0.) nicorn-py: runs in the arbiter\'s config interpreter; `worker` has pid, age, app_paths, booted, cfg and log.',
  ),
  dirty_worker_init: dirtyHook(
    'dirty_worker_init',
    ['worker'],
    'DirtyWorkerInit',
    'Called just after a dirty worker has initialized all applications. The callable needs to accept one instance variable for the DirtyWorker. (New in Gunicorn 25.0.0.) nicorn-py: runs in the dirty worker\'s interpreter, where `worker.apps` maps each "module:Class" to its instance.',
  ),
  dirty_worker_exit: dirtyHook(
    'dirty_worker_exit',
    ['arbiter', 'worker'],
    'DirtyWorkerExit',
    'Called when a dirty worker has exited. The callable needs to accept two instance variables for the DirtyArbiter and the exiting DirtyWorker. (New in Gunicorn 25.0.0.) nicorn-py: runs in the arbiter\'s config interpreter.',
  ),
};

export type SettingName = keyof typeof registry;

type Values = { -readonly [K in SettingName]: ReturnType<(typeof registry)[K]['validate']> };

export type Settings = Omit<Values, 'wsgi_app'> & {
  /** The WSGI application, MODULE[:VARIABLE] or MODULE:factory(...): from the command line or the config file. */
  wsgi_app: string;
};

/** A setting's entry, typed loosely enough to be iterated over. */
export type AnySpec = SettingSpec<unknown>;

export function specOf(name: SettingName): AnySpec {
  return registry[name] as AnySpec;
}

export const settingNames = (): SettingName[] => Object.keys(registry) as SettingName[];

/** The names a config file may set: every setting, hooks included (wsgi_app is one). */
export function configFileNames(): string[] {
  return settingNames();
}

/** Every setting by section, in the order of Gunicorn's settings reference. */
export function bySection(): [Section, SettingName[]][] {
  return SECTIONS.map((section) => [section, settingNames().filter((n) => specOf(n).section === section)]);
}

/** Whether the flag takes a value (argparse's store and append actions). */
export function takesValue(s: AnySpec): boolean {
  return !s.action || s.action === 'store' || s.action === 'append';
}

/** The value placeholder: Gunicorn's meta, else argparse's default (the name in capitals). */
export function metaOf(name: SettingName): string {
  return specOf(name).meta ?? name.toUpperCase();
}

/** The first sentence of a description: Gunicorn's `short`, used by --help. */
export function shortDesc(desc: string): string {
  const m = /^.*?[.!?](?=\s|$)/.exec(desc);
  return m ? m[0] : desc;
}
