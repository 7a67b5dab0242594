#!/usr/bin/env node
// Side-by-side benchmark of nicorn-py against Gunicorn 26 (Debian forky's
// python3-gunicorn, on the machine's python3) on this machine, reported as
// ratios (nicorn-py / gunicorn). Not part of the tests.
//
//   npm run bench                      # 10 s per wrk run, 1 worker
//   npm run bench -- --quick           # 3 s per wrk run
//   npm run bench -- --workers 2 --duration 5s --rows a,d
//   npm run bench -- --launch-only --rows b --no-doc   # launch times alone
//
// Node built-ins only, but for row (i)'s WebSocket client, the `ws`
// devDependency (loaded by that row alone). Installs what is missing: `wrk` (apt-get), Gunicorn
// 26.2.2 from Debian forky into bench/.gunicorn and the fixtures'
// Flask/Django (both with node fixtures/fetch-packages.mjs).
// Prints one table and writes docs/benchmarks.md.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLK_TCK, GUNICORN_CMD, GUNICORN_DIR, GUNICORN_SITE, NICORN_BIN, PYCACHE, ROOT, deploymentEnv, procStat } from './servers.mjs';

const BENCH = path.join(ROOT, 'bench');
const APPS = path.join(BENCH, 'apps');
const SITE = path.join(ROOT, 'fixtures', '.packages', 'site-packages');
const POST_SCRIPT = path.join(BENCH, 'post64k.lua');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
/** The node that runs nicorn-py (--node); the script itself runs on any. */
let NICORN_NODE = process.execPath;
/** wrk's connections: 10 per worker, so -w 2 is loaded as -w 1 is (-c20 at -w 2). */
let WRK_CONNECTIONS = 10;
/** --threads N for both servers (> 1: Gunicorn's gthread; nicorn-py's N interpreters per worker). */
let THREADS = 1;
const threadArgs = () => (THREADS > 1 ? ['--threads', String(THREADS)] : []);
/**
 * Gunicorn 26 is Debian forky's python3-gunicorn (pure Python), fetched from
 * the archive as the fixtures' packages are (into GUNICORN_DIR, servers.mjs),
 * and run by the machine's python3 with PYTHONPATH: bookworm's
 * /usr/bin/gunicorn is 20.1. Its `packaging` dependency is only for its
 * gevent and testing extras.
 */
const GUNICORN_SOURCE = 'forky:python3-gunicorn';
const PYTHON = GUNICORN_CMD[0];
/**
 * Row (f) serves a copy of fixtures/djangoproject: its database, db.sqlite3 under
 * BASE_DIR, is written by the first launch's gunicorn.conf.py (migrate and
 * createsuperuser) and then shared by every launch of both servers.
 */
const DJANGO_PROJECT = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-bench-djangoproject-'));
process.on('exit', () => fs.rmSync(DJANGO_PROJECT, { recursive: true, force: true }));
const DJANGO_SUPERUSER = { username: 'admin', password: `bench-${process.pid}-${Date.now()}` };
/** nicorn-py's --preload snapshots: a cache of this run's own, so the first launch makes one. */
const SNAPSHOT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-bench-snapshots-'));
process.on('exit', () => fs.rmSync(SNAPSHOT_CACHE, { recursive: true, force: true }));

const BOOT_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
const MiB = 1024 * 1024;

const log = (msg) => console.error(`bench: ${msg}`);

// ---------------------------------------------------------------- options

function usage() {
  return `usage: node bench/run.mjs [options]

  --workers N        worker processes for both servers (default 1)
  --rounds N         measure every row N times, the two servers taking turns, and
                     report the median of each figure (default 3): single runs on
                     a shared machine swing by a quarter
  --duration D       length of each measured wrk run, e.g. 10s, 1m (default 5s)
  --warmup D         unrecorded keep-alive wrk run before measuring (default 2s)
  --quick            --rounds 1 --duration 3s --warmup 1s
  --rows LIST        subset of rows, e.g. a,c (default: all; pg needs PostgreSQL)
  --retry-budget D   total time for re-running wrk runs that other processes on the
                     machine disturbed (>20% of a core), waits included
                     (default 12 x duration; 0: never re-run)
  --launch-only      only the launch figures: no wrk runs, no logins
  --no-doc           do not write docs/benchmarks.md
  --threads N        --threads N for both servers (Gunicorn: gthread)
  --doc FILE         write the report to FILE instead of docs/benchmarks.md
  --node PATH        the node that runs nicorn-py (default: this one), e.g. a
                     Node 26 from \`npx -y node@26 -p process.execPath\`
  -h, --help         this text`;
}

function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(s).trim());
  if (!m) throw new Error(`bad duration: ${s}`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms < 1000) throw new Error(`duration must be at least 1s (wrk's granularity): ${s}`);
  return ms;
}

function parseArgs(argv) {
  const opts = { workers: 1, rounds: 3, durationMs: 5_000, warmupMs: 2_000, rows: null, doc: true, docPath: DOC, threads: 1, node: process.execPath, retryBudgetMs: null, launchOnly: false };
  let quick = false;
  let rounds = null;
  let duration = null;
  let warmup = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '-w':
      case '--workers': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error('--workers must be a positive integer');
        opts.workers = n;
        break;
      }
      case '--rounds': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error('--rounds must be a positive integer');
        rounds = n;
        break;
      }
      case '--duration':
        duration = parseDuration(value());
        break;
      case '--warmup': {
        const v = value();
        warmup = v === '0' || v === '0s' ? 0 : parseDuration(v);
        break;
      }
      case '--retry-budget': {
        const v = value();
        opts.retryBudgetMs = v === '0' || v === '0s' ? 0 : parseDuration(v);
        break;
      }
      case '--quick':
        quick = true;
        break;
      case '--rows':
        opts.rows = value().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--no-doc':
        opts.doc = false;
        break;
      case '--threads': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error('--threads must be a positive integer');
        opts.threads = n;
        break;
      }
      case '--doc':
        opts.docPath = path.resolve(value());
        break;
      case '--node':
        opts.node = value();
        break;
      case '--launch-only':
        opts.launchOnly = true;
        break;
      case '-h':
      case '--help':
        console.log(usage());
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option: ${a}\n${usage()}`);
    }
  }
  if (quick) {
    opts.rounds = 1;
    opts.durationMs = 3_000;
    opts.warmupMs = 1_000;
  }
  if (rounds !== null) opts.rounds = rounds;
  if (duration !== null) opts.durationMs = duration;
  if (warmup !== null) opts.warmupMs = warmup;
  // Re-running runs that other processes disturbed: 12 runs' worth at most.
  opts.retryBudgetMs ??= 12 * opts.durationMs;
  return opts;
}

const wrkSeconds = (ms) => `${Math.max(1, Math.round(ms / 1000))}s`;

// ---------------------------------------------------------------- setup

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  return { ok: r.status === 0, status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}

function onPath(cmd) {
  return run('sh', ['-c', `command -v ${cmd}`]).ok;
}

function aptInstall(pkgs) {
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => {
    log(`apt-get install -y ${pkgs.join(' ')}`);
    const [cmd, ...args] = [...sudo, 'apt-get', 'install', '-y', '--no-install-recommends', ...pkgs];
    return spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0;
  };
  if (install()) return;
  log('install failed; apt-get update, then again');
  const [cmd, ...args] = [...sudo, 'apt-get', 'update'];
  spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (!install()) throw new Error(`could not install ${pkgs.join(' ')} with apt-get`);
}

function ensureTools() {
  if (!onPath('wrk')) aptInstall(['wrk']);
  if (!onPath('wrk')) throw new Error('wrk is still missing after installing it');
  // A no-op when bench/.gunicorn is already up to date.
  const r = spawnSync(process.execPath, [path.join(ROOT, 'fixtures', 'fetch-packages.mjs'), '--into', GUNICORN_DIR, GUNICORN_SOURCE], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`fetching ${GUNICORN_SOURCE} failed`);
  const version = run(GUNICORN_CMD[0], [...GUNICORN_CMD.slice(1), '--version'], { env: gunicornEnv() });
  if (!version.ok) throw new Error(`Gunicorn does not run on ${PYTHON}: ${version.out.trim().slice(0, 300)}`);
}

/** Gunicorn's environment: its package (and nothing else) on PYTHONPATH. */
function gunicornEnv(base = process.env) {
  return { ...base, PYTHONPATH: GUNICORN_SITE };
}

function ensureFixtures() {
  // A no-op when fixtures/.packages is already up to date.
  const r = spawnSync(process.execPath, [path.join(ROOT, 'fixtures', 'fetch-packages.mjs')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error('node fixtures/fetch-packages.mjs failed');
}

/** What the servers import from source: the packages and the apps. */
const SOURCES = [SITE, APPS, path.join(ROOT, 'fixtures', 'flaskapp'), path.join(ROOT, 'fixtures', 'djangolite'), DJANGO_PROJECT];

/** Copies fixtures/djangoproject to DJANGO_PROJECT (row f), without bytecode or a database. */
function copyDjangoProject() {
  fs.cpSync(path.join(ROOT, 'fixtures', 'djangoproject'), DJANGO_PROJECT, {
    recursive: true,
    filter: (src) => !/(__pycache__|\.sqlite3)$/.test(src),
  });
}

/**
 * Byte-compiles what the servers will import (into PYCACHE, not the
 * repository), with each server's own Python, so that their start-up times
 * are those of an installed app rather than of a first import.
 */
async function precompile(python) {
  const r = run(python, ['-m', 'compileall', '-q', '-j', '0', ...SOURCES], { env: childEnv() });
  if (!r.ok) log(`compileall exited ${r.status} (some files did not compile; ignored)`);
  const { loadPyodide } = await import('pyodide');
  const py = await loadPyodide({ env: { PYTHONPYCACHEPREFIX: PYCACHE } });
  for (const dir of [...SOURCES, PYCACHE]) {
    fs.mkdirSync(dir, { recursive: true });
    py.FS.mkdirTree(dir);
    py.FS.mount(py.FS.filesystems.NODEFS, { root: dir }, dir);
  }
  const ok = py.runPython(`
import compileall, sys
sys.dont_write_bytecode = False
all([compileall.compile_dir(d, quiet=2) for d in ${JSON.stringify(SOURCES)}])`);
  if (!ok) log('compileall in Pyodide: some files did not compile (ignored)');
}

// ---------------------------------------------------------------- environment report

function machineInfo() {
  const cpuinfo = safeRead('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length || os.cpus().length;
  const memKb = Number(/^MemTotal:\s*(\d+)\s*kB/m.exec(safeRead('/proc/meminfo'))?.[1] ?? 0);
  const mem = memKb ? `${(memKb / MiB).toFixed(1)} GiB` : `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`;
  const osName = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(safeRead('/etc/os-release'))?.[1] ?? os.type();
  return { model, cores, mem, os: `${osName}, Linux ${os.release()}` };
}

function versions(python) {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const pyodidePkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'pyodide', 'package.json'), 'utf8'));
  let pyodidePython = null;
  try {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'pyodide', 'pyodide-lock.json'), 'utf8'));
    pyodidePython = lock.info?.python ?? null;
  } catch {
    /* older layout */
  }
  const firstLine = (s) => s.trim().split('\n')[0].trim();
  const fixturePkgs = [];
  try {
    for (const d of fs.readdirSync(SITE)) {
      const m = /^(flask|werkzeug|django|jinja2)-([^-]+)\.dist-info$/i.exec(d);
      if (m) fixturePkgs.push(`${m[1]} ${m[2]}`);
    }
  } catch {
    /* not fetched */
  }
  return {
    node: firstLine(run(NICORN_NODE, ['--version']).out),
    nicorn: pkg.version,
    pyodide: pyodidePkg.version,
    pyodidePython,
    gunicorn: firstLine(run(GUNICORN_CMD[0], [...GUNICORN_CMD.slice(1), '--version'], { env: gunicornEnv() }).out),
    python: `${python}: ${firstLine(run(python, ['--version']).out)}`,
    wrk: firstLine(run('wrk', ['-v']).out),
    fixturePkgs: fixturePkgs.sort(),
  };
}

function safeRead(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- HTTP helpers

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function request(port, { method = 'GET', path: p = '/', body = null, headers: extra = {}, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, ...extra } : extra;
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- rows

const ECHO_BODY = Buffer.alloc(64 * 1024, 'x');
/** Row (h): requests in flight at once, each on its own connection. */
const CONCURRENT = 200;
/** Row (i): messages echoed one after another on one WebSocket, per timed round. */
const WS_MESSAGES = 10_000;

function expectJson(key, value) {
  return (res) => {
    let doc;
    try {
      doc = JSON.parse(res.body.toString('utf8'));
    } catch {
      return `not JSON: ${res.body.subarray(0, 80).toString()}`;
    }
    return doc?.[key] === value ? null : `unexpected JSON: ${res.body.subarray(0, 80).toString()}`;
  };
}

const ROWS = [
  {
    id: 'a',
    name: 'raw WSGI hello',
    dir: APPS,
    app: 'hello:app',
    smoke: { method: 'GET' },
    check: (res) => (res.body.toString() === 'Hello, world!\n' ? null : `unexpected body: ${res.body.subarray(0, 80)}`),
  },
  {
    id: 'b',
    name: 'Flask JSON route',
    dir: path.join(ROOT, 'fixtures', 'flaskapp'),
    app: 'app:app',
    pythonpath: SITE,
    smoke: { method: 'GET' },
    check: expectJson('hello', 'flask'),
  },
  {
    id: 'c',
    name: 'Django view',
    dir: path.join(ROOT, 'fixtures', 'djangolite'),
    app: 'app:application',
    pythonpath: SITE,
    smoke: { method: 'GET' },
    check: expectJson('hello', 'django'),
  },
  {
    id: 'd',
    name: 'POST 64 KiB echo',
    dir: APPS,
    app: 'echo:app',
    script: POST_SCRIPT,
    smoke: { method: 'POST', body: ECHO_BODY },
    check: (res) => (res.body.equals(ECHO_BODY) ? null : `echoed ${res.body.length} bytes, not the 65536 sent`),
  },
  {
    id: 'e',
    name: '1 MiB streamed response',
    dir: APPS,
    app: 'stream:app',
    smoke: { method: 'GET' },
    check: (res) => (res.body.length === MiB ? null : `got ${res.body.length} bytes, not 1 MiB`),
  },
  {
    // Needs PostgreSQL on 127.0.0.1:5432 (trust, user root, database test), as the tests do.
    id: 'pg',
    name: 'Flask + SQLAlchemy + pg8000: one indexed SELECT',
    dir: APPS,
    app: 'pgquery:app',
    pythonpath: SITE,
    smoke: { method: 'GET' },
    check: expectJson('ok', true),
  },
  {
    // The asgi class (-k asgi on both servers): Starlette (Debian trixie), one JSON route.
    id: 'g',
    name: 'Starlette JSON route (-k asgi)',
    dir: path.join(ROOT, 'fixtures', 'starlette'),
    app: 'app:app',
    pythonpath: SITE,
    args: ['-k', 'asgi'],
    smoke: { method: 'GET' },
    check: expectJson('greeting', 'hello from the lifespan'),
  },
  {
    // Not a wrk row: CONCURRENT requests at once, each awaiting asyncio.sleep(1), on one worker (see measureConcurrent).
    id: 'h',
    name: `${CONCURRENT} concurrent requests awaiting asyncio.sleep(1) (-k asgi, one worker)`,
    dir: APPS,
    app: 'asgisleep:app',
    args: ['-k', 'asgi'],
    concurrent: true,
    smoke: { method: 'GET' },
    check: expectJson('slept', 1),
  },
  {
    // Not a wrk row: WS_MESSAGES small text messages on one WebSocket, each sent once
    // the echo of the one before came back (see measureWsEcho). Starlette's /ws endpoint.
    id: 'i',
    name: `WebSocket echo, ${WS_MESSAGES.toLocaleString('en-US')} small messages on one connection (-k asgi, Starlette)`,
    dir: path.join(ROOT, 'fixtures', 'starlette'),
    app: 'app:app',
    pythonpath: SITE,
    args: ['-k', 'asgi'],
    wsEcho: '/ws',
    smoke: { method: 'GET' },
    check: expectJson('greeting', 'hello from the lifespan'),
  },
  {
    // Not a wrk row: logins one after another, each timed (see measureLogins).
    // The default hasher, PBKDF2-SHA256 with 1,000,000 iterations in Django 5.2,
    // is most of a login's time.
    id: 'f',
    name: 'Django admin login (PBKDF2)',
    dir: DJANGO_PROJECT,
    app: 'mysite.wsgi',
    pythonpath: SITE,
    args: ['-c', path.join(DJANGO_PROJECT, 'gunicorn.conf.py')],
    env: {
      DJANGO_SUPERUSER_USERNAME: DJANGO_SUPERUSER.username,
      DJANGO_SUPERUSER_PASSWORD: DJANGO_SUPERUSER.password,
      DJANGO_SUPERUSER_EMAIL: 'admin@example.com',
    },
    readyPath: '/admin/login/', // the project has no view at /
    login: true,
    smoke: { method: 'GET', path: '/admin/login/' },
    check: (res) => (/<title>Log in \| Django site admin<\/title>/.test(res.body.toString()) ? null : `not the admin's login page: ${res.body.subarray(0, 80)}`),
  },
];

// ---------------------------------------------------------------- servers

function childEnv() {
  const env = deploymentEnv();
  // Both servers read these; the command line must be the whole story.
  delete env.GUNICORN_CMD_ARGS;
  delete env.WEB_CONCURRENCY;
  delete env.PYTHONPATH;
  delete env.VIRTUAL_ENV;
  env.XDG_CACHE_HOME = SNAPSHOT_CACHE;
  return env;
}

const SERVERS = {
  nicorn: {
    label: 'nicorn-py',
    command(row, port, workers, extra) {
      const args = [NICORN_BIN, '-b', `127.0.0.1:${port}`, '-w', String(workers), ...threadArgs(), '--chdir', row.dir, ...(row.args ?? []), ...extra];
      if (row.pythonpath) args.push('--pythonpath', row.pythonpath);
      args.push(row.app);
      return { cmd: NICORN_NODE, args, env: { ...childEnv(), ...row.env } };
    },
  },
  gunicorn: {
    label: 'gunicorn',
    command(row, port, workers, extra) {
      const args = ['-b', `127.0.0.1:${port}`, '-w', String(workers), ...threadArgs(), '--chdir', row.dir, ...(row.args ?? []), ...extra];
      if (row.pythonpath) args.push('--pythonpath', row.pythonpath);
      args.push(row.app);
      return { cmd: GUNICORN_CMD[0], args: [...GUNICORN_CMD.slice(1), ...args], env: gunicornEnv({ ...childEnv(), ...row.env }) };
    },
  },
};

/** The one server running right now, so that an interrupt can stop it. */
let current = null;

class Server {
  constructor(kind, row, port, workers, logDir, attempt = 1, extra = []) {
    this.kind = kind;
    this.row = row;
    this.port = port;
    this.workers = workers;
    const tag = extra.length ? `-${extra.join('').replace(/\W/g, '')}` : '';
    this.logFile = path.join(logDir, `${row.id}-${kind}${tag}${attempt > 1 ? `-${attempt}` : ''}.log`);
    const { cmd, args, env } = SERVERS[kind].command(row, port, workers, extra);
    this.cmd = cmd;
    this.args = args;
    this.env = env;
    this.exited = null;
  }

  start() {
    const fd = fs.openSync(this.logFile, 'w');
    // Its own process group, so that whatever is left of it can be ended at once.
    this.t0 = performance.now();
    this.child = spawn(this.cmd, this.args, { cwd: ROOT, env: this.env, stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    this.pid = this.child.pid;
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
      this.child.once('error', (err) => {
        this.exited = { code: null, signal: null, error: err };
        resolve(this.exited);
      });
    });
    current = this;
  }

  /** Spawn -> first 200 to GET / (or the row's readyPath), in ms. Throws if the server dies or never answers. */
  async waitReady() {
    const deadline = this.t0 + BOOT_TIMEOUT_MS;
    let last = 'no answer';
    while (performance.now() < deadline) {
      if (this.exited) throw new Error(`exited (${this.exited.error?.message ?? this.exited.signal ?? `code ${this.exited.code}`}) before answering`);
      try {
        // nicorn-py's arbiter listens before any worker is up: a connection then
        // waits in the backlog, so the request may take as long as a boot.
        const res = await request(this.port, { path: this.row.readyPath ?? '/', timeoutMs: Math.max(1, deadline - performance.now()) });
        if (res.status === 200) return performance.now() - this.t0;
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = e.code ?? e.message;
      }
      await sleep(10);
    }
    throw new Error(`no 200 within ${BOOT_TIMEOUT_MS / 1000}s (last: ${last})`);
  }

  /** Worker pids: the master's children. */
  workerPids() {
    const pids = new Set();
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return [];
    }
    for (const t of tasks) {
      for (const p of safeRead(`/proc/${this.pid}/task/${t}/children`).split(/\s+/)) if (p) pids.add(Number(p));
    }
    return [...pids];
  }

  /**
   * After the first 200, other workers may still be booting: waits until all N
   * exist and together used under 20 ms of CPU in the last 250 ms (idle).
   */
  async waitWorkersIdle(timeoutMs = BOOT_TIMEOUT_MS) {
    const sample = () => {
      const pids = this.workerPids();
      return { pids, total: pids.reduce((s, p) => s + (procTicks(p) || 0), 0) };
    };
    const deadline = performance.now() + timeoutMs;
    let prev = sample();
    while (performance.now() < deadline) {
      await sleep(250);
      if (this.exited) throw new Error(`exited (${this.exited.signal ?? `code ${this.exited.code}`}) while workers booted`);
      const next = sample();
      const same = next.pids.length === prev.pids.length && next.pids.every((p) => prev.pids.includes(p));
      // Clock ticks are 10 ms on Linux: at most 2 of them in 250 ms.
      if (same && next.pids.length >= this.workers && next.total - prev.total <= 2) return;
      prev = next;
    }
    throw new Error(`workers still busy or missing ${timeoutMs / 1000}s after the first 200`);
  }

  /** utime + stime of every thread of the master and its current workers, keyed `pid/tid`, in clock ticks. */
  threadTicks() {
    const out = new Map();
    for (const pid of [this.pid, ...this.workerPids()]) {
      let tasks = [];
      try {
        tasks = fs.readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tasks) {
        const v = procTicks(`${pid}/task/${tid}`);
        if (Number.isFinite(v)) out.set(`${pid}/${tid}`, v);
      }
    }
    return out;
  }

  /** CPU ticks used so far by the master and its current workers. */
  ticks() {
    return [this.pid, ...this.workerPids()].reduce((s, p) => s + (procTicks(p) || 0), 0);
  }

  /** {perWorkerMiB, perWorkerPssMiB, workers, masterMiB}; waits (briefly) for all N workers to exist. */
  async rss() {
    let pids = this.workerPids();
    for (let i = 0; i < 100 && pids.length < this.workers; i++) {
      await sleep(50);
      pids = this.workerPids();
    }
    const kb = (pid) => Number(/^VmRSS:\s*(\d+)\s*kB/m.exec(safeRead(`/proc/${pid}/status`))?.[1] ?? NaN);
    // PSS: each shared page (the node or python binary, copy-on-write pages) counted once among its sharers.
    const pss = (pid) => Number(/^Pss:\s*(\d+)\s*kB/m.exec(safeRead(`/proc/${pid}/smaps_rollup`))?.[1] ?? NaN);
    const total = pids.reduce((s, p) => s + kb(p), 0);
    const totalPss = pids.reduce((s, p) => s + pss(p), 0);
    return {
      perWorkerMiB: pids.length ? total / 1024 / this.workers : NaN,
      perWorkerPssMiB: pids.length ? totalPss / 1024 / this.workers : NaN,
      workers: pids.length,
      masterMiB: kb(this.pid) / 1024,
    };
  }

  async stop() {
    if (!this.child) return;
    // nicorn-py: a base snapshot being made is let finish (its maker is in this
    // process group, ended below), so that the next launch finds it cached:
    // --launch-only stopped every first launch at its first 200, and each
    // launch after it booted without the image (Flask -w 1: 5.8 s, 2.7 s with it).
    if (this.kind === 'nicorn' && !this.exited) await this.baseSnapshotSettled();
    if (!this.exited) {
      try {
        process.kill(this.pid, 'SIGTERM'); // graceful shutdown, as in Gunicorn
      } catch {
        /* gone */
      }
      let timer;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout')));
      const how = await Promise.race([this.exitPromise, timeout]);
      clearTimeout(timer);
      if (how === 'timeout') log(`${SERVERS[this.kind].label} (pid ${this.pid}) did not stop on SIGTERM; SIGKILL`);
    }
    this.killGroup();
    if (!this.exited) await this.exitPromise;
    if (current === this) current = null;
  }

  /** Whether a worker of this server made the base snapshot (so booted without it). */
  madeBaseSnapshot() {
    return /Making the base snapshot/.test(safeRead(this.logFile));
  }

  /** Until every "Making the base snapshot" in the log has its outcome (120 s at most). */
  async baseSnapshotSettled() {
    const count = (re) => (safeRead(this.logFile).match(re) ?? []).length;
    const deadline = performance.now() + 120_000;
    while (count(/Making the base snapshot/g) > count(/Base snapshot made in|Cannot (?:make|cache) the base snapshot/g) && performance.now() < deadline && !this.exited) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ends whatever is left of the process group this server was started in. */
  killGroup() {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      /* nothing left */
    }
  }

  /** Lines of the server's log that look like trouble. */
  troubleLines() {
    return safeRead(this.logFile)
      .split('\n')
      .filter((l) => /\[(ERROR|CRITICAL)\]|Traceback/.test(l));
  }
}

function interrupted(signal) {
  if (current) current.killGroup();
  log(`interrupted (${signal})`);
  process.exit(130);
}
process.on('SIGINT', () => interrupted('SIGINT'));
process.on('SIGTERM', () => interrupted('SIGTERM'));
process.on('exit', () => current?.killGroup());

// ---------------------------------------------------------------- wrk

const TIME_UNITS = { us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseWrk(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const p99 = /^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/^Requests\/sec:\s+([\d.]+)/m),
    p99Ms: p99 ? Number(p99[1]) * TIME_UNITS[p99[2]] : NaN,
    requests: num(/^\s*(\d+) requests in /m),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
    socket: sock
      ? { connect: +sock[1], read: +sock[2], write: +sock[3], timeout: +sock[4] }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

function wrkArgs(port, durationMs, { close = false, script = null } = {}) {
  const args = ['-t1', `-c${WRK_CONNECTIONS}`, `-d${wrkSeconds(durationMs)}`, '--latency'];
  if (close) args.push('-H', 'Connection: close');
  if (script) args.push('-s', script);
  args.push(`http://127.0.0.1:${port}/`);
  return args;
}

// ---------------------------------------------------------------- CPU accounting
// Other work on the machine (a test suite, a build) skews the numbers. Each wrk
// run reports how much CPU went to processes other than the server, wrk and
// this script: the machine's busy time from /proc/stat minus theirs.

const OTHER_CPU_WARN_PCT = 10;
const OTHER_CPU_RETRY_PCT = 20;
const MAX_ATTEMPTS = 3;
const QUIET_WAIT_MS = 20_000;
/** Time left for re-running disturbed runs (waits included), over the whole benchmark. */
let retryBudgetMs = 0;

/** utime + stime of a process (all its threads), in clock ticks; NaN if gone. */
function procTicks(pid) {
  return procStat(pid)?.ticks ?? NaN;
}

/**
 * Where a wrk run's CPU went, in µs per request: the server's threads between
 * two threadTicks() samples, and wrk. A nicorn-py worker's main thread is its
 * I/O thread; its busiest other threads (one per interpreter) are the Python
 * threads; the rest are V8's and libuv's helper threads. Node names them all
 * "node", so they are told apart by CPU. A Gunicorn worker is one thread.
 */
function cpuSplit(server, before, after, wrkTicks, requests) {
  const us = (ticks) => (ticks * (1e6 / CLK_TCK)) / requests;
  const split = { master: 0, io: 0, python: 0, helpers: 0, wrk: us(wrkTicks) };
  const perWorker = new Map();
  for (const [key, v] of after) {
    const d = v - (before.get(key) ?? 0);
    const [pid, tid] = key.split('/');
    if (Number(pid) === server.pid) split.master += us(d);
    else if (server.kind !== 'nicorn') split.python += us(d);
    else if (pid === tid) split.io += us(d);
    else perWorker.set(pid, [...(perWorker.get(pid) ?? []), d]);
  }
  for (const others of perWorker.values()) {
    others.sort((a, b) => b - a);
    const interpreters = server.row.args?.includes('asgi') ? 1 : THREADS;
    split.python += us(others.slice(0, interpreters).reduce((a, b) => a + b, 0));
    split.helpers += us(others.slice(interpreters).reduce((a, b) => a + b, 0));
  }
  split.server = split.master + split.io + split.python + split.helpers;
  return split;
}

/** Busy clock ticks of all CPUs together. */
function machineBusyTicks() {
  const f = safeRead('/proc/stat').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0);
}

const selfTicks = () => {
  const u = process.cpuUsage();
  return ((u.user + u.system) / 1e6) * CLK_TCK;
};

function wrk(args, server = null) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const busy0 = machineBusyTicks();
    const server0 = server ? server.ticks() : 0;
    const threads0 = server ? server.threadTicks() : null;
    const self0 = selfTicks();
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let wrkTicks = 0;
    const sampler = setInterval(() => {
      const t = procTicks(child.pid);
      if (Number.isFinite(t)) wrkTicks = t;
    }, 100);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', (e) => {
      clearInterval(sampler);
      reject(e);
    });
    child.on('exit', (code) => {
      clearInterval(sampler);
      const seconds = (performance.now() - t0) / 1000;
      const ours = (server ? server.ticks() - server0 : 0) + wrkTicks + (selfTicks() - self0);
      const otherPct = Math.max(0, ((machineBusyTicks() - busy0 - ours) / CLK_TCK / seconds) * 100);
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out.trim().slice(0, 300)}`));
      const r = parseWrk(out);
      if (!Number.isFinite(r.rps)) return reject(new Error(`could not parse wrk's output:\n${out}`));
      const cpu = server && r.requests > 0 ? cpuSplit(server, threads0, server.threadTicks(), wrkTicks, r.requests) : null;
      resolve({ ...r, otherPct, cpu, raw: out });
    });
  });
}

/**
 * Helper threads' share of the server's CPU above which a warm-up run is
 * repeated. V8 compiles Pyodide's hot wasm functions again (TurboFan) on its
 * helper threads in a worker's first seconds of load: measured on the Flask row
 * at -w 1, helper threads used 23% and 24% of a core in the first two 2 s
 * windows, then under 1.5%. A server that has run for a while is past that.
 */
const WARM_HELPER_SHARE = 0.05;
const MAX_WARMUPS = 6;

/** Unrecorded keep-alive wrk runs: the first, and more while the server is still compiling (WARM_HELPER_SHARE). */
async function warmUp(port, warmupMs, script, server) {
  for (let i = 0; i < MAX_WARMUPS; i++) {
    const r = await wrk(wrkArgs(port, warmupMs, { script }), server);
    if (!r.cpu || r.cpu.helpers <= WARM_HELPER_SHARE * r.cpu.server) return;
  }
}

/**
 * A measured wrk run. When other processes took more than OTHER_CPU_RETRY_PCT of
 * a core during it (another test suite on the machine, say), waits for a quiet
 * machine and runs it again, up to MAX_ATTEMPTS in all; keeps the least
 * disturbed run.
 */
async function measuredWrk(args, server, what, durationMs) {
  return leastDisturbed(() => wrk(args, server), server, what, durationMs);
}

/** Runs `once` (resolving to {otherPct, ...}) again while other processes disturbed it, as measuredWrk describes. */
async function leastDisturbed(once, server, what, durationMs) {
  let best = null;
  let attempts = 0;
  let retryStarted = null;
  for (;;) {
    attempts++;
    const r = await once();
    if (retryStarted !== null) retryBudgetMs -= performance.now() - retryStarted;
    if (!best || r.otherPct < best.otherPct) best = r;
    if (r.otherPct <= OTHER_CPU_RETRY_PCT || attempts === MAX_ATTEMPTS) break;
    if (retryBudgetMs < durationMs) {
      log(`${what}: other processes used ${r.otherPct.toFixed(0)}% of a core; no time left to run it again`);
      break;
    }
    log(`${what}: other processes used ${r.otherPct.toFixed(0)}% of a core; waiting for a quiet machine to run it again`);
    retryStarted = performance.now();
    await waitQuiet(server, Math.min(QUIET_WAIT_MS, retryBudgetMs - durationMs));
  }
  return { ...best, attempts };
}

/** Waits (at most maxMs) until others use under OTHER_CPU_RETRY_PCT / 2 of a core for a second. */
async function waitQuiet(server, maxMs) {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const busy0 = machineBusyTicks();
    const server0 = server ? server.ticks() : 0;
    const self0 = selfTicks();
    await sleep(1000);
    const other = machineBusyTicks() - busy0 - (server ? server.ticks() - server0 : 0) - (selfTicks() - self0);
    if (other <= OTHER_CPU_RETRY_PCT / 2) return true; // ticks in 1 s = % of one core
  }
  log(`the machine did not get quiet within ${(maxMs / 1000).toFixed(0)}s; going on`);
  return false;
}

// ---------------------------------------------------------------- logins (row f)

const LOGIN_WARMUP = 2;
const LOGIN_MIN = 5;

/** The cookies a response sets, as one Cookie header value (attributes dropped). */
function cookiesOf(res) {
  return (res.headers['set-cookie'] ?? []).map((c) => c.split(';', 1)[0]).join('; ');
}

/**
 * Admin logins one after another, as a person logs in: GET /admin/login/ once
 * for the CSRF cookie and the form's token (a masked token stays valid for its
 * cookie), then POST the superuser's credentials, each on a new connection,
 * and check the answer is the 302 to /admin/ with a session. LOGIN_WARMUP
 * unrecorded logins, then as many as the wrk duration allows (at least
 * LOGIN_MIN); reports the median time per login.
 */
async function measureLogins(port, server, opts) {
  const page = await request(port, { path: '/admin/login/', timeoutMs: 30_000 });
  const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(page.body.toString())?.[1];
  const cookie = cookiesOf(page);
  if (!token || !/csrftoken=/.test(cookie)) throw new Error('the login page gave no CSRF cookie and token');
  const body = Buffer.from(
    new URLSearchParams({ csrfmiddlewaretoken: token, username: DJANGO_SUPERUSER.username, password: DJANGO_SUPERUSER.password, next: '/admin/' }).toString(),
  );
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: `http://127.0.0.1:${port}` };
  const login = async () => {
    const t = performance.now();
    const res = await request(port, { method: 'POST', path: '/admin/login/?next=/admin/', body, headers, timeoutMs: 60_000 });
    const ms = performance.now() - t;
    if (res.status !== 302 || res.headers.location !== '/admin/' || !/sessionid=/.test(cookiesOf(res))) {
      throw new Error(`login answered HTTP ${res.status} (location ${res.headers.location}), not a 302 to /admin/ with a session`);
    }
    return ms;
  };
  for (let i = 0; i < LOGIN_WARMUP; i++) await login();
  const busy0 = machineBusyTicks();
  const server0 = server.ticks();
  const self0 = selfTicks();
  const t0 = performance.now();
  const times = [];
  while (times.length < LOGIN_MIN || performance.now() - t0 < opts.durationMs) times.push(await login());
  const seconds = (performance.now() - t0) / 1000;
  const other = machineBusyTicks() - busy0 - (server.ticks() - server0) - (selfTicks() - self0);
  const sorted = [...times].sort((a, b) => a - b);
  return {
    count: times.length,
    medianMs: sorted[Math.floor((sorted.length - 1) / 2)],
    minMs: sorted[0],
    otherPct: Math.max(0, (other / CLK_TCK / seconds) * 100),
  };
}

// ---------------------------------------------------------------- concurrency (row h)

/**
 * CONCURRENT requests sent at once, each on its own connection, to an app
 * whose every request awaits asyncio.sleep(1): the time from the first send
 * to the last answer (1 s is the floor; the rest is the server's). Every
 * answer must be a 200. Measured CONCURRENT_ROUNDS times (after one unrecorded
 * round); the median is reported.
 */
const CONCURRENT_ROUNDS = 3;

async function measureConcurrent(port, server) {
  const once = async () => {
    const t = performance.now();
    const all = await Promise.all(Array.from({ length: CONCURRENT }, () => request(port, { timeoutMs: 60_000 })));
    const ms = performance.now() - t;
    const bad = all.filter((r) => r.status !== 200).length;
    if (bad) throw new Error(`${bad} of ${CONCURRENT} concurrent requests were not answered 200`);
    return ms;
  };
  await once();
  const busy0 = machineBusyTicks();
  const server0 = server.ticks();
  const self0 = selfTicks();
  const t0 = performance.now();
  const times = [];
  for (let i = 0; i < CONCURRENT_ROUNDS; i++) times.push(await once());
  const seconds = (performance.now() - t0) / 1000;
  const other = machineBusyTicks() - busy0 - (server.ticks() - server0) - (selfTicks() - self0);
  const sorted = [...times].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor((sorted.length - 1) / 2)], minMs: sorted[0], otherPct: Math.max(0, (other / CLK_TCK / seconds) * 100) };
}

// ---------------------------------------------------------------- WebSocket echo (row i)

/**
 * One WebSocket (node's `ws` client) to the row's endpoint: WS_WARMUP
 * unrecorded echoes, then WS_ROUNDS rounds of WS_MESSAGES small text messages,
 * each sent once the echo of the one before came back (and checked to be
 * it). The figure is messages per second over a round, the median round.
 */
const WS_WARMUP = 1_000;
const WS_ROUNDS = 3;

async function measureWsEcho(port, server, wsPath) {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${port}${wsPath}`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let waiting = null;
  ws.on('message', (data) => waiting?.(data.toString()));
  const closedEarly = new Promise((_, reject) => ws.once('close', (code) => reject(new Error(`the WebSocket closed (${code}) during the run`))));
  closedEarly.catch(() => {});
  const echo = async (text) => {
    const got = await Promise.race([new Promise((resolve) => ((waiting = resolve), ws.send(text))), closedEarly]);
    if (got !== text) throw new Error(`echo of ${JSON.stringify(text)} came back as ${JSON.stringify(String(got).slice(0, 80))}`);
  };
  try {
    for (let i = 0; i < WS_WARMUP; i++) await echo(`warm-up ${i}`);
    const busy0 = machineBusyTicks();
    const server0 = server.ticks();
    const self0 = selfTicks();
    const t0 = performance.now();
    const rates = [];
    for (let round = 0; round < WS_ROUNDS; round++) {
      const t = performance.now();
      for (let i = 0; i < WS_MESSAGES; i++) await echo(`message ${i}`);
      rates.push(WS_MESSAGES / ((performance.now() - t) / 1000));
    }
    const seconds = (performance.now() - t0) / 1000;
    const other = machineBusyTicks() - busy0 - (server.ticks() - server0) - (selfTicks() - self0);
    const sorted = [...rates].sort((a, b) => a - b);
    return { perSecond: sorted[Math.floor((sorted.length - 1) / 2)], otherPct: Math.max(0, (other / CLK_TCK / seconds) * 100) };
  } finally {
    ws.close(1000);
  }
}

// ---------------------------------------------------------------- one measurement

async function measure(kind, row, opts, logDir) {
  const label = SERVERS[kind].label;
  const result = { kind, row: row.id, error: null, startupMs: NaN, keepAlive: null, close: null, rss: null, trouble: [] };
  const port = await freePort();
  let server = null;
  const trouble = [];
  try {
    // Launch; when other processes took more than OTHER_CPU_RETRY_PCT of a core
    // meanwhile, stop it and launch again on a quiet machine, as measuredWrk does.
    // The least disturbed launch time is kept.
    result.startAttempts = 0;
    for (;;) {
      const t = performance.now();
      result.startAttempts++;
      server = new Server(kind, row, port, opts.workers, logDir, result.startAttempts);
      const busy0 = machineBusyTicks();
      const self0 = selfTicks();
      server.start();
      const ms = await server.waitReady();
      const other = machineBusyTicks() - busy0 - server.ticks() - (selfTicks() - self0);
      const otherPct = Math.max(0, (other / CLK_TCK / (ms / 1000)) * 100);
      log(`(${row.id}) ${label}: first 200 after ${Math.round(ms)} ms, other CPU ${otherPct.toFixed(0)}%`);
      if (!(result.startOtherPct <= otherPct)) {
        result.startupMs = ms;
        result.startOtherPct = otherPct;
      }
      if (result.startAttempts > 1) retryBudgetMs -= performance.now() - t;
      if (otherPct <= OTHER_CPU_RETRY_PCT || result.startAttempts === MAX_ATTEMPTS) break;
      const bootMs = performance.now() - t;
      if (retryBudgetMs < bootMs) break;
      log(`(${row.id}) ${label}: launch disturbed by other processes; launching it again on a quiet machine`);
      const t1 = performance.now();
      await server.stop();
      trouble.push(...server.troubleLines());
      await waitQuiet(null, Math.min(QUIET_WAIT_MS, retryBudgetMs - bootMs));
      retryBudgetMs -= performance.now() - t1;
    }
    // A nicorn-py launch that found no base snapshot booted its workers and made
    // one. Users' workers start from it (every launch after the first, every
    // replacement), and their CPU per request is what a row should show: the
    // serving loop of a restored worker once ran CPython's eval loop in V8's
    // baseline code (hello: 79-85 us of the Python thread per request against
    // 60 booted), which no row showed because it measured booted workers.
    if (kind === 'nicorn' && server.madeBaseSnapshot() && !opts.launchOnly) {
      log(`(${row.id}) ${label}: its workers booted and made the base snapshot; launching again, so that the workers measured start from it as users' do`);
      await server.stop();
      trouble.push(...server.troubleLines());
      server = new Server(kind, row, port, opts.workers, logDir, result.startAttempts + 1);
      server.start();
      await server.waitReady();
    }
    const smoke = await request(port, { method: row.smoke.method, path: row.smoke.path, body: row.smoke.body ?? null, timeoutMs: 30_000 });
    if (smoke.status !== 200) throw new Error(`smoke request answered HTTP ${smoke.status}`);
    const bad = row.check(smoke);
    if (bad) throw new Error(`smoke request: ${bad}`);
    await server.waitWorkersIdle();
    if (opts.launchOnly) {
      // Launch figures alone (below).
    } else if (row.concurrent) {
      result.concurrent = await leastDisturbed(() => measureConcurrent(port, server), server, `(${row.id}) ${label} concurrent`, 5_000);
      log(`(${row.id}) ${label}: ${CONCURRENT} concurrent sleeps answered in ${result.concurrent.medianMs.toFixed(0)} ms (median), other CPU ${result.concurrent.otherPct.toFixed(0)}%`);
    } else if (row.wsEcho) {
      result.wsEcho = await leastDisturbed(() => measureWsEcho(port, server, row.wsEcho), server, `(${row.id}) ${label} WebSocket echo`, 5_000);
      log(`(${row.id}) ${label}: ${result.wsEcho.perSecond.toFixed(0)} WebSocket echoes/s (median round), other CPU ${result.wsEcho.otherPct.toFixed(0)}%`);
    } else if (row.login) {
      result.login = await leastDisturbed(() => measureLogins(port, server, opts), server, `(${row.id}) ${label} logins`, opts.durationMs);
      log(`(${row.id}) ${label}: ${result.login.count} logins, median ${result.login.medianMs.toFixed(0)} ms, other CPU ${result.login.otherPct.toFixed(0)}%`);
    } else {
      const script = row.script ?? null;
      if (opts.warmupMs > 0) await warmUp(port, opts.warmupMs, script, server);
      result.keepAlive = await measuredWrk(wrkArgs(port, opts.durationMs, { script }), server, `(${row.id}) ${label} keep-alive`, opts.durationMs);
      log(`(${row.id}) ${label} keep-alive: ${result.keepAlive.rps.toFixed(0)} req/s, p99 ${result.keepAlive.p99Ms.toFixed(2)} ms, other CPU ${result.keepAlive.otherPct.toFixed(0)}%`);
      result.close = await measuredWrk(wrkArgs(port, opts.durationMs, { script, close: true }), server, `(${row.id}) ${label} Connection: close`, opts.durationMs);
      log(`(${row.id}) ${label} Connection: close: ${result.close.rps.toFixed(0)} req/s, p99 ${result.close.p99Ms.toFixed(2)} ms, other CPU ${result.close.otherPct.toFixed(0)}%`);
    }
    result.rss = await server.rss();
    if (server.exited) throw new Error(`server exited during the run (${server.exited.signal ?? server.exited.code})`);
  } catch (e) {
    result.error = e.message;
    log(`(${row.id}) ${label} FAILED: ${e.message}`);
    const tail = server ? safeRead(server.logFile).trim().split('\n').slice(-15).join('\n') : '';
    if (tail) log(`last lines of ${label}'s log:\n${tail}`);
  } finally {
    await server?.stop();
  }
  result.trouble = [...trouble, ...(server?.troubleLines() ?? [])];
  if (!result.error) {
    result.startW1Ms = await secondLaunch(kind, row, 1, [], logDir);
    result.startW2Ms = await secondLaunch(kind, row, 2, [], logDir);
    result.startPreloadMs = await secondLaunch(kind, row, 1, ['--preload'], logDir);
  }
  return result;
}

/**
 * Launch to first 200, the second of two launches with `workers` and
 * `extra`: for nicorn-py the first one makes what the second finds cached
 * (the base snapshot, pyodide.asm.mjs's code cache, with --preload the
 * app's snapshot), as on a server that has run once since its install.
 */
async function secondLaunch(kind, row, workers, extra, logDir) {
  const what = `(${row.id}) ${SERVERS[kind].label} -w ${workers}${extra.length ? ` ${extra.join(' ')}` : ''}`;
  let ms = NaN;
  for (const attempt of [1, 2]) {
    const server = new Server(kind, row, await freePort(), workers, logDir, attempt, [`-w${workers}`, ...extra]);
    try {
      server.start();
      ms = await server.waitReady();
      log(`${what} launch ${attempt}: first 200 after ${Math.round(ms)} ms`);
    } catch (e) {
      log(`${what} launch failed: ${e.message}`);
      return NaN;
    } finally {
      await server.stop();
    }
  }
  return ms;
}

// ---------------------------------------------------------------- rounds

/** The run whose `value` is the median of those that have one (the lower middle one for an even count). */
function medianBy(items, value) {
  const ok = items.filter((x) => x && Number.isFinite(value(x))).sort((a, b) => value(a) - value(b));
  return ok.length ? ok[Math.floor((ok.length - 1) / 2)] : null;
}

/**
 * One server's result for a row across rounds: each figure is its median;
 * a wrk run keeps its own p99 and error counts with the req/s it is the
 * median of. A failed round fails the row.
 */
function medianResult(rs) {
  const failed = rs.find((r) => r.error);
  const pick = (value) => value(medianBy(rs, value) ?? {});
  return {
    ...rs[0],
    error: failed ? failed.error : null,
    rounds: rs.length,
    startupMs: pick((r) => r.startupMs),
    startOtherPct: pick((r) => r.startOtherPct),
    startAttempts: Math.max(...rs.map((r) => r.startAttempts ?? 0)),
    startPreloadMs: pick((r) => r.startPreloadMs),
    startW1Ms: pick((r) => r.startW1Ms),
    startW2Ms: pick((r) => r.startW2Ms),
    keepAlive: medianBy(rs.map((r) => r.keepAlive), (w) => w.rps),
    close: medianBy(rs.map((r) => r.close), (w) => w.rps),
    rss: medianBy(rs.map((r) => r.rss), (m) => m.perWorkerMiB),
    login: medianBy(rs.map((r) => r.login), (l) => l.medianMs),
    concurrent: medianBy(rs.map((r) => r.concurrent), (c) => c.medianMs),
    wsEcho: medianBy(rs.map((r) => r.wsEcho), (w) => w.perSecond),
    trouble: rs.flatMap((r) => r.trouble),
  };
}

// ---------------------------------------------------------------- table

const METRICS = [
  { key: 'login', label: 'ms per admin login (POST /admin/login/), median', better: 'lower', get: (r) => r.login?.medianMs, fmt: fmtInt },
  { key: 'ws', label: `WebSocket messages echoed per second (${WS_MESSAGES.toLocaleString('en-US')} one at a time), median round`, better: 'higher', get: (r) => r.wsEcho?.perSecond, fmt: fmtInt },
  { key: 'conc', label: `ms until all ${CONCURRENT} answered (1,000 is the floor), median`, better: 'lower', get: (r) => r.concurrent?.medianMs, fmt: fmtInt },
  { key: 'ka.rps', label: 'req/s, keep-alive', better: 'higher', get: (r) => r.keepAlive?.rps, fmt: fmtInt },
  { key: 'ka.p99', label: 'p99 latency ms, keep-alive', better: 'lower', get: (r) => r.keepAlive?.p99Ms, fmt: fmtMs },
  { key: 'ka.cpu', label: 'server CPU per request, keep-alive, µs', better: 'lower', get: (r) => r.keepAlive?.cpu?.server, fmt: fmtInt },
  { key: 'cl.rps', label: 'req/s, Connection: close', better: 'higher', get: (r) => r.close?.rps, fmt: fmtInt },
  { key: 'cl.p99', label: 'p99 latency ms, Connection: close', better: 'lower', get: (r) => r.close?.p99Ms, fmt: fmtMs },
  { key: 'cl.cpu', label: 'server CPU per request, Connection: close, µs', better: 'lower', get: (r) => r.close?.cpu?.server, fmt: fmtInt },
  { key: 'start', label: "launch to first 200 (the row's first launch), ms", better: 'lower', get: (r) => r.startupMs, fmt: fmtInt },
  { key: 'startW1', label: 'launch to first 200, -w 1 (second launch), ms', better: 'lower', get: (r) => r.startW1Ms, fmt: fmtInt },
  { key: 'startW2', label: 'launch to first 200, -w 2 (second launch), ms', better: 'lower', get: (r) => r.startW2Ms, fmt: fmtInt },
  { key: 'startPreload', label: 'launch to first 200 with --preload, -w 1 (second launch), ms', better: 'lower', get: (r) => r.startPreloadMs, fmt: fmtInt },
  { key: 'rss', label: 'RSS per worker, MiB', better: 'lower', get: (r) => r.rss?.perWorkerMiB, fmt: (v) => v.toFixed(1) },
  { key: 'pss', label: 'PSS per worker, MiB', better: 'lower', get: (r) => r.rss?.perWorkerPssMiB, fmt: (v) => v.toFixed(1) },
];

function fmtInt(v) {
  return Math.round(v).toLocaleString('en-US');
}
function fmtMs(v) {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function wrkErrors(w) {
  if (!w) return 0;
  const s = w.socket;
  return w.non2xx + s.connect + s.read + s.write + s.timeout;
}

function cell(res, metric) {
  if (!res) return 'not run';
  const v = metric.get(res);
  if (v === undefined || v === null || !Number.isFinite(v)) return res.error ? 'FAILED' : 'n/a';
  let text = metric.fmt(v);
  const w = metric.key.startsWith('ka.') ? res.keepAlive : metric.key.startsWith('cl.') ? res.close : null;
  if (wrkErrors(w)) text += ' *';
  return text;
}

function ratio(n, g, metric) {
  const a = n && metric.get(n);
  const b = g && metric.get(g);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  const r = a / b;
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

function renderTable(rows, results, launchOnly = false) {
  const header = ['row', 'metric', 'better', 'nicorn-py', 'gunicorn', 'nicorn/gunicorn'];
  const lines = [];
  for (const row of rows) {
    const n = results.get(`${row.id}:nicorn`);
    const g = results.get(`${row.id}:gunicorn`);
    // A login row has no wrk runs; the others have no logins.
    // A login row has logins, a concurrency row its one figure, the others wrk runs.
    const special = (m) => m.key === 'login' || m.key === 'conc' || m.key === 'ws';
    const own = row.login ? 'login' : row.concurrent ? 'conc' : row.wsEcho ? 'ws' : null;
    const metrics = METRICS.filter((m) =>
      launchOnly ? !/^(ka|cl)\./.test(m.key) && !special(m) : own ? !/^(ka|cl)\./.test(m.key) && (!special(m) || m.key === own) : !special(m),
    );
    metrics.forEach((m, i) => {
      lines.push([i === 0 ? `(${row.id}) ${row.name}` : '', m.label, m.better, cell(n, m), cell(g, m), ratio(n, g, m)]);
    });
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const right = new Set([3, 4, 5]);
  const fmt = (cells) =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [fmt(header), sep, ...lines.map(fmt)].join('\n');
}

function notes(rows, results) {
  const out = [];
  for (const row of rows) {
    for (const kind of ['nicorn', 'gunicorn']) {
      const r = results.get(`${row.id}:${kind}`);
      if (!r) continue;
      const who = `(${row.id}) ${SERVERS[kind].label}`;
      if (r.error) out.push(`${who} failed: ${r.error}`);
      for (const [name, w] of [
        ['keep-alive', r.keepAlive],
        ['Connection: close', r.close],
      ]) {
        if (w && w.otherPct > OTHER_CPU_WARN_PCT) {
          const tries = w.attempts > 1 ? ` (the least disturbed of ${w.attempts} attempts)` : '';
          out.push(`${who}, ${name}: other processes on the machine used ${w.otherPct.toFixed(0)}% of a core during the run${tries}`);
        } else if (w && w.attempts > 1) {
          out.push(`${who}, ${name}: run ${w.attempts} times, the first ones disturbed by other processes on the machine`);
        }
        if (!wrkErrors(w)) continue;
        const s = w.socket;
        const parts = [];
        if (w.non2xx) parts.push(`${w.non2xx} non-2xx/3xx responses`);
        for (const k of ['connect', 'read', 'write', 'timeout']) if (s[k]) parts.push(`${s[k]} socket ${k} errors`);
        out.push(`${who}, ${name}: wrk counted ${parts.join(', ')} (of ${w.requests.toLocaleString('en-US')} requests)`);
      }
      if (r.wsEcho && r.wsEcho.otherPct > OTHER_CPU_WARN_PCT) {
        const tries = r.wsEcho.attempts > 1 ? ` (the least disturbed of ${r.wsEcho.attempts} attempts)` : '';
        out.push(`${who}, WebSocket echo: other processes on the machine used ${r.wsEcho.otherPct.toFixed(0)}% of a core meanwhile${tries}`);
      }
      if (r.login && r.login.otherPct > OTHER_CPU_WARN_PCT) {
        const tries = r.login.attempts > 1 ? ` (the least disturbed of ${r.login.attempts} attempts)` : '';
        out.push(`${who}, logins: other processes on the machine used ${r.login.otherPct.toFixed(0)}% of a core meanwhile${tries}`);
      }
      if (r.startOtherPct > OTHER_CPU_WARN_PCT) {
        const tries = r.startAttempts > 1 ? ` (the least disturbed of ${r.startAttempts} launches)` : '';
        out.push(`${who}, launch: other processes on the machine used ${r.startOtherPct.toFixed(0)}% of a core while it booted${tries}`);
      } else if (r.startAttempts > 1) {
        out.push(`${who}, launch: launched ${r.startAttempts} times, the first ones disturbed by other processes on the machine`);
      }
      if (r.rss && r.rss.workers !== r.workersWanted) {
        out.push(`${who}: found ${r.rss.workers} worker processes, expected ${r.workersWanted}`);
      }
      if (r.trouble.length) {
        out.push(`${who}: ${r.trouble.length} error line(s) in the server log, first: ${r.trouble[0].trim().slice(0, 200)}`);
      }
    }
  }
  return out;
}

/** The CPU split per request of each row's wrk runs (cpuSplit), as a markdown table. */
function cpuTable(rows, results) {
  const f = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
  const lines = [
    '| row | run | nicorn-py: I/O thread | Python thread(s) | helper threads | arbiter | wrk | Gunicorn: workers | arbiter | wrk |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const n = results.get(`${row.id}:nicorn`);
    const g = results.get(`${row.id}:gunicorn`);
    for (const [run, pick] of [['keep-alive', (r) => r?.keepAlive?.cpu], ['Connection: close', (r) => r?.close?.cpu]]) {
      const a = pick(n);
      const b = pick(g);
      if (!a && !b) continue;
      lines.push(`| (${row.id}) | ${run} | ${f(a?.io)} | ${f(a?.python)} | ${f(a?.helpers)} | ${f(a?.master)} | ${f(a?.wrk)} | ${f(b?.python)} | ${f(b?.master)} | ${f(b?.wrk)} |`);
    }
  }
  return lines.length > 2 ? lines.join('\n') : '';
}

/** CPU used by other processes during the measured wrk runs, in % of one core. */
function otherCpu(results) {
  const v = [...results.values()].flatMap((r) => [r.keepAlive?.otherPct, r.close?.otherPct, r.login?.otherPct, r.wsEcho?.otherPct]).filter(Number.isFinite);
  if (!v.length) return 'n/a';
  const avg = v.reduce((a, b) => a + b, 0) / v.length;
  return `average ${avg.toFixed(0)}%, max ${Math.max(...v).toFixed(0)}% of one core`;
}

function masterRss(rows, results) {
  const parts = [];
  for (const kind of ['nicorn', 'gunicorn']) {
    const v = rows.map((row) => results.get(`${row.id}:${kind}`)?.rss?.masterMiB).filter(Number.isFinite);
    if (v.length) parts.push(`${SERVERS[kind].label} ${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)} MiB`);
  }
  return parts.join(', ');
}

// ---------------------------------------------------------------- doc

function commandLine(argv) {
  const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  const extra = argv.map(quote).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${extra ? ` -- ${extra}` : ''}`;
  return `node bench/run.mjs${extra ? ` ${extra}` : ''}`;
}

function writeDoc({ when, elapsedS, machine, ver, opts, command, rows, results, table, cpu, noteLines, busyBeforePct }) {
  const rel = (p) => path.relative(ROOT, p) || '.';
  const d = wrkSeconds(opts.durationMs);
  const w = opts.workers;
  const md = `# Benchmarks: nicorn-py vs Gunicorn

Side by side on one machine, same app files, same worker count, one server at
a time. Produced by \`bench/run.mjs\`; re-run with \`npm run bench\`. ${
    opts.rounds > 1
      ? `Every figure is the median of ${opts.rounds} rounds in which the two servers took turns (single runs on a shared machine swing by a quarter).`
      : 'Numbers from a single round on a shared machine (they swing by a quarter): read the ratios, not the digits.'
  }

- Date: ${when}
- Machine: ${machine.model}, ${machine.cores} cores, ${machine.mem} RAM; ${machine.os}
- Run time of the whole benchmark: ${elapsedS.toFixed(0)} s

## Versions

| | |
| --- | --- |
| node | ${ver.node} |
| nicorn-py (package.json) | ${ver.nicorn} |
| pyodide (node_modules/pyodide) | ${ver.pyodide}${ver.pyodidePython ? ` (CPython ${ver.pyodidePython})` : ''} |
| gunicorn --version | ${ver.gunicorn} |
| Gunicorn's python3 --version | ${ver.python} |
| wrk -v | ${ver.wrk} |
| fixture packages | ${ver.fixturePkgs.join(', ') || 'n/a'} |

## Command

    ${command}

Workers: ${w}${THREADS > 1 ? `, --threads ${THREADS} (Gunicorn: gthread)` : ''}. For each row and each server, on a free loopback port:

    node bin/nicorn-py -b 127.0.0.1:PORT -w ${w} --chdir DIR [--pythonpath ${rel(SITE)}] APP
    PYTHONPATH=${rel(GUNICORN_SITE)} ${GUNICORN_CMD.join(' ')} -b 127.0.0.1:PORT -w ${w} --chdir DIR [--pythonpath ${rel(SITE)}] APP
    wrk -t1 -c${WRK_CONNECTIONS} -d${d} --latency [-s bench/post64k.lua] http://127.0.0.1:PORT/
    wrk -t1 -c${WRK_CONNECTIONS} -d${d} --latency -H 'Connection: close' [-s bench/post64k.lua] http://127.0.0.1:PORT/

Row (f) adds \`-c gunicorn.conf.py\` (its on_starting runs migrate and
createsuperuser) and, instead of wrk, times admin logins one after another (below).
Rows (g), (h) and (i) add \`-k asgi\` to both servers (Gunicorn 26's ASGI worker,
nicorn-py's asgi class); (h), instead of wrk, sends ${CONCURRENT} requests at once, and (i)
echoes WebSocket messages (below).

| row | --chdir DIR | APP |
| --- | --- | --- |
${rows.map((r) => `| (${r.id}) ${r.name} | ${r.dir === DJANGO_PROJECT ? 'a copy of fixtures/djangoproject' : rel(r.dir)} | ${r.app}${r.pythonpath ? ` (+ --pythonpath)` : ''} |`).join('\n')}

## Results

nicorn/gunicorn is nicorn-py's value divided by Gunicorn's. For req/s higher
is better (a ratio above 1 favours nicorn-py); for p99 latency, launch time and
RSS lower is better (a ratio below 1 favours nicorn-py). A \`*\` marks a wrk
run that counted errors (see the notes).

${table}
${cpu ? `
## Where the CPU goes

CPU time per request of each measured wrk run, in µs, from every thread's
utime + stime in /proc before and after the run, divided by wrk's request
count. A nicorn-py worker's main thread is its I/O thread (node:http, the
front door, the bridge's JavaScript side); its busiest other thread (one per
interpreter) runs Python, the bridge's Python side included; the helper
threads are V8's (garbage collection, compilation) and libuv's. With every
core busy, req/s follows the sum of these: the server's and wrk's.

${cpu}
` : ''}
## How it is measured

- Each server is started, then polled with \`GET /\` until it answers 200: that
  is "launch to first 200" (from spawning the process; for nicorn-py this
  includes booting Pyodide and importing the app in the worker). A nicorn-py
  launch whose workers made the base snapshot (none was cached) is stopped
  and launched again, so that the workers measured start from it, as users'
  workers do. Then one request checks the response body (e.g. the echo returns the 64 KiB it was
  sent), then an unrecorded ${opts.warmupMs ? `${wrkSeconds(opts.warmupMs)} ` : ''}wrk warm-up${opts.warmupMs ? '' : ' (disabled)'}, then the two measured wrk runs.
- ${CONCURRENT} concurrent sleeps (row h): ${CONCURRENT} GET / sent at once, each on its own
  connection, to an app whose every request awaits \`asyncio.sleep(1)\`; the
  figure is the time from the first send to the last answer (1 s is the
  floor), the median of ${CONCURRENT_ROUNDS} rounds after one unrecorded round.
- WebSocket echo (row i): one WebSocket (node's \`ws\` client) to Starlette's
  \`/ws\` endpoint, ${WS_WARMUP.toLocaleString('en-US')} unrecorded echoes, then ${WS_ROUNDS} rounds of ${WS_MESSAGES.toLocaleString('en-US')} small text
  messages, each sent once the echo of the one before came back; the figure
  is messages per second of the median round.
- Django admin login (row f): a copy of fixtures/djangoproject (Django 5.2 as
  \`startproject\` makes it: PBKDF2-SHA256 with 1,000,000 iterations, sessions in
  SQLite). One GET /admin/login/ gives the CSRF cookie and token; then
  ${LOGIN_WARMUP} unrecorded logins, then POST /admin/login/ with the superuser's
  credentials, one after another on new connections, for ${wrkSeconds(opts.durationMs)} (at least
  ${LOGIN_MIN}); every answer must be the 302 to /admin/ with a session cookie. The
  figure is the median time of one login.
- Rounds: ${opts.rounds}. A round measures every row with both servers (each
  started afresh), the first server of a row alternating from round to round;
  the table holds each figure's median over the rounds (a wrk run's p99 is the
  one of the run whose req/s is the median).
- Keep-alive: wrk's default. Gunicorn's sync worker does not keep connections
  alive (it answers \`Connection: close\` and closes), so its "keep-alive" run
  reconnects for every request too; nicorn-py keeps connections open. This is
  part of the comparison, reported as wrk measures it. When Gunicorn closes a
  connection that wrk meant to reuse, wrk may count socket read/write errors
  (listed in the notes): those are closed connections, not failed requests.
- RSS per worker: the sum of VmRSS of the master's child processes (read from
  /proc/<master>/task/*/children) divided by the worker count, taken after the
  wrk runs. VmRSS counts pages shared with other processes (Gunicorn's workers
  share copy-on-write pages with their master; every nicorn-py process maps
  the same node binary, about 43 MiB of it resident). PSS per worker, from
  /proc/<pid>/smaps_rollup, counts each shared page once among the processes
  sharing it. Masters' own RSS: ${masterRss(rows, results) || 'n/a'}.
- Both servers start with their bytecode precompiled, as for an installed app
  (\`compileall\` run by Gunicorn's python3 and, in Pyodide, by nicorn-py's
  CPython, into a PYTHONPYCACHEPREFIX outside the repository).
- wrk, the servers and the Python threads share the machine's ${machine.cores} cores.
  Anything else running disturbs the numbers, so the script measures it: the
  machine's busy time (/proc/stat) minus that of the server, wrk and the
  script. In the second before the benchmark started: ${busyBeforePct}% of one core;
  during the measured wrk runs: ${otherCpu(results)}.
  A launch or a measured run during which other processes used more than
  ${OTHER_CPU_RETRY_PCT}% of a core is done again once the machine is quiet (at most
  ${MAX_ATTEMPTS} attempts, within ${wrkSeconds(opts.retryBudgetMs)} of retries for the whole benchmark) and the
  least disturbed attempt is kept; the notes name those that stayed disturbed.

## Notes from this run

${noteLines.length ? noteLines.map((l) => `- ${l}`).join('\n') : '- wrk counted no errors and no non-2xx responses; every server served every row.'}
`;
  fs.mkdirSync(path.dirname(opts.docPath), { recursive: true });
  fs.writeFileSync(opts.docPath, md);
}

// ---------------------------------------------------------------- main

async function main() {
  const argv = process.argv.slice(2);
  const opts = parseArgs(argv);
  NICORN_NODE = opts.node;
  THREADS = opts.threads;
  WRK_CONNECTIONS = 10 * opts.workers;
  const started = performance.now();
  const rows = opts.rows ? ROWS.filter((r) => opts.rows.includes(r.id)) : ROWS;
  if (!rows.length) throw new Error(`no such rows: ${opts.rows.join(',')} (have ${ROWS.map((r) => r.id).join(',')})`);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');

  retryBudgetMs = opts.retryBudgetMs;
  ensureTools();
  ensureFixtures();
  copyDjangoProject();
  const python = PYTHON;
  await precompile(python);
  const machine = machineInfo();
  const ver = versions(python);
  // Busy time of the machine before starting: a test suite running alongside shows here.
  const busy0 = machineBusyTicks();
  await sleep(1000);
  const busyBeforePct = machineBusyTicks() - busy0; // ticks in 1 s = % of one core
  if (busyBeforePct > 25) log(`warning: the machine was already busy (${busyBeforePct}% of one core) before the benchmark`);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-bench-'));
  log(
    `${rows.length} rows x 2 servers, ${opts.workers} worker(s), wrk ${wrkSeconds(opts.durationMs)} per run` +
      `${opts.warmupMs ? ` after a ${wrkSeconds(opts.warmupMs)} warm-up` : ''}; server logs in ${logDir}`,
  );

  const runs = new Map();
  for (let round = 0; round < opts.rounds; round++) {
    for (const row of rows) {
      // The servers take turns, and the first of a row alternates: drift over a round falls on both.
      const kinds = round % 2 === 0 ? ['nicorn', 'gunicorn'] : ['gunicorn', 'nicorn'];
      for (const kind of kinds) {
        if (opts.rounds > 1) log(`(${row.id}) ${SERVERS[kind].label}: round ${round + 1} of ${opts.rounds}`);
        const r = await measure(kind, row, opts, logDir);
        r.workersWanted = opts.workers;
        const key = `${row.id}:${kind}`;
        runs.set(key, [...(runs.get(key) ?? []), r]);
      }
    }
  }
  const results = new Map([...runs].map(([key, rs]) => [key, medianResult(rs)]));

  const elapsedS = (performance.now() - started) / 1000;
  const table = renderTable(rows, results, opts.launchOnly);
  const noteLines = notes(rows, results);
  const when = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const command = commandLine(argv);

  console.log(
    `\nnicorn-py vs Gunicorn, ${opts.workers} worker(s), wrk -t1 -c${WRK_CONNECTIONS} -d${wrkSeconds(opts.durationMs)}; ` +
      'ratio = nicorn-py / gunicorn: req/s higher is better, p99 latency, launch time and RSS lower is better\n',
  );
  console.log(table);
  const cpu = opts.launchOnly ? '' : cpuTable(rows, results);
  if (cpu) console.log(`\nserver and wrk CPU per request, µs (per-thread /proc times over each measured wrk run):\n${cpu}`);
  console.log(`\nmasters' RSS: ${masterRss(rows, results) || 'n/a'}`);
  console.log(`CPU busy before starting: ${busyBeforePct}% of one core; used by other processes during the measured wrk runs: ${otherCpu(results)}`);
  if (noteLines.length) console.log(`\nnotes (* in the table):\n${noteLines.map((l) => `  - ${l}`).join('\n')}`);
  console.log(`\ntotal run time: ${elapsedS.toFixed(0)} s`);

  const failed = [...results.values()].some((r) => r.error);
  if (!failed) fs.rmSync(logDir, { recursive: true, force: true });
  else console.log(`server logs kept in ${logDir}`);

  if (opts.doc) {
    writeDoc({ when, elapsedS, machine, ver, opts, command, rows, results, table, cpu, noteLines, busyBeforePct });
    console.log(`wrote ${path.relative(process.cwd(), opts.docPath) || opts.docPath}`);
  }
}

main().catch((e) => {
  current?.killGroup();
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
