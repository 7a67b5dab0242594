// Timings of a worker's end, as the clients see them (issues 15 and 16),
// nicorn-py next to Gunicorn 26 on the same app (fixtures/wsgi lifecycle.py):
//   node bench/lifecycle.mjs [--seconds N] [--node PATH] [--doc FILE] [--server nicorn|gunicorn]
// 1. --max-requests 200, -w 2, 4 looping clients: requests served, failures,
//    the slowest request and the stalls over 200 ms; and first the same
//    clients without --max-requests, the baseline to read rotation against;
// 2. -w 1: kill -9 of the worker, os._exit(1) in a request: ms until a
//    request is served again (median of 3);
// 3. --timeout 2: how long a stuck request waits, and what it gets.
// Gunicorn is the one bench/run.mjs fetches into bench/.gunicorn (run it once
// first). Figures only; the suite (test/e2e/lifecycle.test.ts) asserts behaviour.

import fs from 'node:fs';
import path from 'node:path';
import { GUNICORN_CMD, GUNICORN_SITE, NICORN_BIN, ROOT, deploymentEnv, launch, median, nodeVersion, requireGunicorn } from './servers.mjs';

const WSGI = path.join(ROOT, 'fixtures/wsgi');

const opts = { seconds: 30, node: process.execPath, doc: null, servers: ['nicorn', 'gunicorn'] };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const value = () => process.argv[++i] ?? (console.error(`${a} needs a value`), process.exit(2));
  if (a === '--seconds') opts.seconds = Number(value());
  else if (a === '--node') opts.node = value();
  else if (a === '--doc') opts.doc = path.resolve(value());
  else if (a === '--server') opts.servers = [value()];
  else if (/^\d+$/.test(a)) opts.seconds = Number(a);
  else {
    console.error(`unknown option ${a}`);
    process.exit(2);
  }
}
if (opts.servers.includes('gunicorn')) requireGunicorn();

const SERVERS = {
  nicorn: { label: 'nicorn-py', cmd: () => [opts.node, NICORN_BIN], env: {} },
  gunicorn: { label: 'gunicorn', cmd: () => GUNICORN_CMD, env: { PYTHONPATH: GUNICORN_SITE } },
};

async function start(server, args) {
  const [cmd, ...pre] = SERVERS[server].cmd();
  const srv = await launch(cmd, [...pre, '--chdir', WSGI, ...args, 'lifecycle:application'], deploymentEnv({ ...process.env, ...SERVERS[server].env }));
  const { port, log } = srv;
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await get(`${url}/hello`, 2000))?.status === 200);
  // A new install's first worker makes the base snapshot once it serves: measured ends start from it, as on a second launch.
  if (/Making the base snapshot/.test(log())) await until(async () => /Base snapshot made/.test(log()));
  return { url, log, stop: srv.stop };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function get(url, timeoutMs = 60_000) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}
async function until(check, ms = 120_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(10);
  }
  return false;
}

/** 4 looping clients for opts.seconds against -w 2 with `extra` settings. */
async function loop(server, extra) {
  const srv = await start(server, ['-w', '2', ...extra]);
  let done = false;
  const lat = [];
  let failed = 0;
  const client = async () => {
    while (!done) {
      const t0 = performance.now();
      const r = await get(`${srv.url}/hello`, 30_000);
      if (r?.status === 200) lat.push(performance.now() - t0);
      else failed++;
    }
  };
  const clients = Array.from({ length: 4 }, client);
  await sleep(opts.seconds * 1000);
  done = true;
  await Promise.all(clients);
  const rotations = (srv.log().match(/Autorestarting worker/g) ?? []).length;
  await srv.stop();
  return { served: lat.length, failed, rotations, slowest: Math.round(Math.max(...lat)), stalls: lat.filter((ms) => ms > 200).length, over1s: lat.filter((ms) => ms > 1000).length };
}

/** ms from `act` until a new worker serves, the median of `reps`. */
async function backAfter(server, act, reps = 3) {
  const srv = await start(server, ['-w', '1']);
  const times = [];
  for (let i = 0; i < reps; i++) {
    const old = (await get(`${srv.url}/hello`)).body;
    const t0 = performance.now();
    await act(srv, Number(old.split(' ')[1]));
    await until(async () => {
      const r = await get(`${srv.url}/hello`, 2000);
      return r?.status === 200 && r.body !== old;
    });
    times.push(performance.now() - t0);
    await sleep(1500);
  }
  await srv.stop();
  return Math.round(median(times));
}

async function timeout500(server) {
  const srv = await start(server, ['-w', '1', '--timeout', '2']);
  const t0 = performance.now();
  const r = await get(`${srv.url}/sleep?s=100`);
  const ms = Math.round(performance.now() - t0);
  await srv.stop();
  return `${r ? r.status : 'connection closed'} after ${ms} ms`;
}

const results = {};
for (const server of opts.servers) {
  const r = (results[server] = {});
  console.error(`lifecycle: ${server} ...`);
  // The same clients without rotation: what the rotation figure is to be read against
  // (every request opens a connection, so this is Connection: close at 4 clients).
  r.steady = await loop(server, []);
  r.rotation = await loop(server, ['--max-requests', '200']);
  r.kill9 = await backAfter(server, async (_srv, pid) => process.kill(pid, 'SIGKILL'));
  r.exit = await backAfter(server, async (srv) => void (await get(`${srv.url}/exit?code=1`)));
  r.timeout = await timeout500(server);
  console.error(`lifecycle: ${server}: ${JSON.stringify(r)}`);
}

const cell = (server, f) => (results[server] ? String(f(results[server])) : 'n/a');
const ratio = (f) => {
  if (!results.nicorn || !results.gunicorn) return '';
  const [a, b] = [f(results.nicorn), f(results.gunicorn)];
  return b ? `${(a / b).toFixed(2)}x` : '';
};
const rows = [
  ['-w 2, 4 clients, no --max-requests: requests served', (r) => r.steady.served, true],
  ['  slowest request, ms', (r) => r.steady.slowest, true],
  ['--max-requests 200, -w 2, 4 clients: requests served', (r) => r.rotation.served, true],
  ['  failed requests', (r) => r.rotation.failed, false],
  ['  worker rotations', (r) => r.rotation.rotations, false],
  ['  slowest request, ms', (r) => r.rotation.slowest, true],
  ['  requests over 200 ms', (r) => r.rotation.stalls, false],
  ['  requests over 1 s', (r) => r.rotation.over1s, false],
  ['kill -9 of the only worker -> serving again, ms (median of 3)', (r) => r.kill9, true],
  ['os._exit(1) in a request -> serving again, ms (median of 3)', (r) => r.exit, true],
  ['--timeout 2, a request stuck for 100 s gets', (r) => r.timeout, false],
];
const table = [
  `| | nicorn-py | gunicorn | nicorn/gunicorn |`,
  `| --- | ---: | ---: | ---: |`,
  ...rows.map(([name, f, withRatio]) => `| ${name} | ${cell('nicorn', f)} | ${cell('gunicorn', f)} | ${withRatio ? ratio(f) : ''} |`),
].join('\n');
console.log(table);
if (opts.doc) {
  fs.writeFileSync(
    opts.doc,
    `# Worker ends as clients see them: nicorn-py vs Gunicorn 26

Produced by \`node bench/lifecycle.mjs --seconds ${opts.seconds}${opts.node === process.execPath ? '' : ' --node NODE'} --doc ${path.relative(ROOT, opts.doc)}\` on ${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC, nicorn-py on node ${nodeVersion(opts.node)}; the app is fixtures/wsgi lifecycle.py, every request on a new connection. Each 4-client run lasts ${opts.seconds} s.

${table}
`,
  );
  console.error(`wrote ${path.relative(ROOT, opts.doc)}`);
}
