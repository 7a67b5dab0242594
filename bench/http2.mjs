#!/usr/bin/env node
// HTTP/2 beside HTTP/1.1 on one nicorn-py TLS listener (--http-protocols
// h2,h1), Flask fixture's JSON route (GET /), issue 20 item 6:
//   h1: wrk with 100 connections (wrk offers no ALPN: the listener's HTTP/1.1);
//   h2: node's http2 client, one connection carrying 100 concurrent streams,
//       each finished stream replaced at once (closed loop).
// Both load generators run on this machine beside the server, so the figures
// are the pair's, not the server's alone. Not part of the tests.
//
//   npm run build && node bench/http2.mjs [--duration 10s] [--workers 1] [--rounds 1] [--doc FILE | --no-doc]
//
// Node built-ins, openssl and wrk (bench/run.mjs installs wrk); the fixtures'
// Flask from `npm run fixtures`. Writes docs/benchmarks-http2.md.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SITE = path.join(ROOT, 'fixtures', '.packages', 'site-packages');
const FLASK = path.join(ROOT, 'fixtures', 'flaskapp');
const DOC = path.join(ROOT, 'docs', 'benchmarks-http2.md');
const CONNECTIONS = 100;
const STREAMS = 100;
const log = (m) => console.error(`bench/http2: ${m}`);

function parseArgs(argv) {
  const o = { durationS: 10, workers: 1, rounds: 1, doc: DOC };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--duration') o.durationS = Number(String(argv[++i]).replace(/s$/, ''));
    else if (a === '--workers' || a === '-w') o.workers = Number(argv[++i]);
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--doc') o.doc = path.resolve(argv[++i]);
    else if (a === '--no-doc') o.doc = null;
    else throw new Error(`unknown option: ${a}`);
  }
  if (!(o.durationS >= 1) || !(o.workers >= 1) || !(o.rounds >= 1)) throw new Error('--duration, --workers and --rounds must be positive');
  return o;
}

/** A self-signed certificate for 127.0.0.1 in `dir`. */
function makeCert(dir) {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'pipe' });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function httpsGet(port, ca) {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', ca, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
  });
}

/** The h2 row: `streams` requests always in flight on one connection for `durationS`. */
function h2Load(port, ca, streams, durationS) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
    session.on('error', reject);
    const latencies = [];
    let ok = 0;
    let bad = 0;
    let first = null;
    let stopAt = 0;
    let inFlight = 0;
    let t0 = 0;
    const one = () => {
      inFlight++;
      const start = performance.now();
      const req = session.request({ ':path': '/' });
      let status = 0;
      let body = '';
      req.setEncoding('utf8');
      req.on('response', (h) => (status = h[':status']));
      req.on('data', (d) => (body += d));
      const done = (good) => {
        inFlight--;
        latencies.push(performance.now() - start);
        if (good) ok++;
        else bad++;
        if (performance.now() < stopAt) one();
        else if (inFlight === 0) {
          const elapsed = (performance.now() - t0) / 1000;
          session.close();
          latencies.sort((a, b) => a - b);
          resolve({ rps: ok / elapsed, requests: ok, errors: bad, p50: latencies[Math.floor(latencies.length / 2)], p99: latencies[Math.floor(latencies.length * 0.99)], first });
        }
      };
      req.on('end', () => {
        first ??= body;
        done(status === 200 && body.includes('"hello"'));
      });
      req.on('error', () => done(false));
    };
    session.once('remoteSettings', (s) => {
      if (s.maxConcurrentStreams < streams) return reject(new Error(`the server allows ${s.maxConcurrentStreams} streams`));
      t0 = performance.now();
      stopAt = t0 + durationS * 1000;
      for (let i = 0; i < streams; i++) one();
    });
  });
}

const UNITS = { us: 0.001, ms: 1, s: 1000 };
function h1Load(port, connections, durationS) {
  const r = spawnSync('wrk', ['-t2', `-c${connections}`, `-d${durationS}s`, '--latency', `https://127.0.0.1:${port}/`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.error}`);
  const out = r.stdout;
  const pct = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    return m ? Number(m[1]) * UNITS[m[2]] : NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return {
    rps: Number(/^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1]),
    requests: Number(/^\s*(\d+) requests in /m.exec(out)?.[1]),
    errors: non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
    p50: pct(50),
    p99: pct(99),
  };
}

function loadAverage() {
  return os.loadavg().map((l) => l.toFixed(2)).join(', ');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-bench-h2-'));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  makeCert(tmp);
  const ca = fs.readFileSync(path.join(tmp, 'cert.pem'));
  const port = await freePort();
  const args = [
    path.join(ROOT, 'bin', 'nicorn-py'), '-b', `127.0.0.1:${port}`, '-w', String(o.workers),
    '--certfile', path.join(tmp, 'cert.pem'), '--keyfile', path.join(tmp, 'key.pem'),
    '--http-protocols', 'h2,h1', '--worker-connections', '1000',
    '--chdir', FLASK, '--pythonpath', SITE, 'app:app',
  ];
  const logFile = path.join(tmp, 'server.log');
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // gone
    }
  };
  process.on('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    const deadline = performance.now() + 180_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nicorn-py exited:\n${fs.readFileSync(logFile, 'utf8')}`);
      if ((await httpsGet(port, ca)).status === 200) break;
      if (performance.now() > deadline) throw new Error('nicorn-py did not answer within 180 s');
      await sleep(200);
    }
    log('warming up (3 s of each)');
    h1Load(port, CONNECTIONS, 3);
    await h2Load(port, ca, STREAMS, 3);
    const loadBefore = loadAverage();
    const rounds = [];
    for (let r = 0; r < o.rounds; r++) {
      log(`round ${r + 1}: h1, ${CONNECTIONS} connections, ${o.durationS} s`);
      const h1 = h1Load(port, CONNECTIONS, o.durationS);
      log(`round ${r + 1}: h2, ${STREAMS} streams on one connection, ${o.durationS} s`);
      const h2 = await h2Load(port, ca, STREAMS, o.durationS);
      rounds.push({ h1, h2 });
    }
    const loadAfter = loadAverage();
    const median = (k, m) => {
      const v = rounds.map((x) => x[k][m]).sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)];
    };
    const row = (k) => ({ rps: median(k, 'rps'), p50: median(k, 'p50'), p99: median(k, 'p99'), errors: rounds.reduce((a, x) => a + x[k].errors, 0) });
    const h1 = row('h1');
    const h2 = row('h2');
    const f = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
    const table = [
      '| row | load | req/s | p50 ms | p99 ms | errors |',
      '|---|---|---:|---:|---:|---:|',
      `| h1 over TLS | wrk, ${CONNECTIONS} connections | ${f(h1.rps)} | ${f(h1.p50, 1)} | ${f(h1.p99, 1)} | ${h1.errors} |`,
      `| h2 over TLS | node http2, ${STREAMS} concurrent streams on 1 connection | ${f(h2.rps)} | ${f(h2.p50, 1)} | ${f(h2.p99, 1)} | ${h2.errors} |`,
      `| h2 / h1 | | ${f(h2.rps / h1.rps, 2)} | | | |`,
    ].join('\n');
    console.log(table);
    if (o.doc) {
      const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
      const doc = `# HTTP/2 beside HTTP/1.1 (nicorn-py, Flask)

Generated by \`${['node bench/http2.mjs', ...process.argv.slice(2)].join(' ')}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.

One nicorn-py listener over TLS with \`--http-protocols h2,h1\`, \`-w ${o.workers}\` (sync worker), serving
\`fixtures/flaskapp\`'s JSON route (\`GET /\`, \`{"hello": "flask"}\`), ${o.durationS} s per row, ${o.rounds} round(s)
(median), after 3 s of each load unrecorded:

${table}

- **h1**: \`wrk -t2 -c${CONNECTIONS}\` over TLS (wrk offers no ALPN, so the listener speaks HTTP/1.1), keep-alive.
- **h2**: node's http2 client (\`bench/http2.mjs\`), one TLS connection, ${STREAMS} streams always in flight
  (each finished stream is replaced at once). Every answer is checked (status 200, the JSON body).
- Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB; node ${process.version}.
  **Shared machine**: other sessions were building and testing on it during the run (load average
  ${loadBefore} before the measured rows, ${loadAfter} after). Both load generators also run on it,
  beside the server. Read the figures as one round on a busy machine: the ratio h2 / h1 says more than
  either figure alone.
- Gunicorn 26 has no column here: its HTTP/2 needs the gthread worker and the \`h2\` library (its sync
  worker falls back to HTTP/1.1), which bench/.gunicorn does not have.
`;
      fs.writeFileSync(o.doc, doc);
      log(`wrote ${path.relative(ROOT, o.doc)}`);
    }
  } finally {
    stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
