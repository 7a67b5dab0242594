// Timings of a worker's end, as the clients see them (issues 15 and 16):
//   node bench/lifecycle.mjs [seconds]
// 1. --max-requests 200, -w 2, 4 looping clients: requests served, failures,
//    the slowest request and the stalls over 200 ms;
// 2. -w 1: kill -9 of the worker, os._exit(1) in a request: ms until a
//    request is served again;
// 3. --timeout 2: how long a stuck request waits for its 500.
// Figures only; the suite (test/e2e/lifecycle.test.ts) asserts behaviour.

import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const CLI = path.join(ROOT, 'bin/nicorn-py');
const WSGI = path.join(ROOT, 'fixtures/wsgi');
const SECONDS = Number(process.argv[2] ?? 30);

async function start(args) {
  const proc = spawn(process.execPath, [CLI, '-b', '127.0.0.1:0', '--chdir', WSGI, ...args, 'lifecycle:application'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  proc.stdout.on('data', (d) => (log += d));
  let port = 0;
  while (!port) {
    await sleep(50);
    port = Number(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1] ?? 0);
  }
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await get(`${url}/hello`, 2000))?.status === 200);
  return { url, log: () => log, stop: () => { proc.kill('SIGTERM'); return new Promise((r) => proc.once('exit', r)); } };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function get(url, timeoutMs = 60_000) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}
async function until(check, ms = 120_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(20);
  }
  return false;
}

async function rotation() {
  const srv = await start(['-w', '2', '--max-requests', '200']);
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
  await sleep(SECONDS * 1000);
  done = true;
  await Promise.all(clients);
  const rotations = (srv.log().match(/Autorestarting worker/g) ?? []).length;
  await srv.stop();
  const stalls = lat.filter((ms) => ms > 200);
  console.log(
    `max-requests 200, -w 2, 4 clients, ${SECONDS} s: ${lat.length} served, ${failed} failed, ${rotations} rotations, ` +
      `slowest ${Math.round(Math.max(...lat))} ms, stalls over 200 ms: ${stalls.length} [${stalls.map(Math.round).join(', ')}]`,
  );
}

async function backAfter(what, act) {
  const srv = await start(['-w', '1']);
  const old = (await get(`${srv.url}/hello`)).body;
  const t0 = performance.now();
  await act(srv, Number(old.split(' ')[1]));
  await until(async () => {
    const r = await get(`${srv.url}/hello`, 2000);
    return r?.status === 200 && r.body !== old;
  });
  console.log(`${what} -> serving again: ${Math.round(performance.now() - t0)} ms`);
  await srv.stop();
}

async function timeout500() {
  const srv = await start(['-w', '1', '--timeout', '2']);
  const t0 = performance.now();
  const r = await get(`${srv.url}/sleep?s=100`);
  console.log(`--timeout 2, stuck request: status ${r?.status} after ${Math.round(performance.now() - t0)} ms`);
  await srv.stop();
}

await rotation();
await backAfter('kill -9 of the only worker', async (_srv, pid) => process.kill(pid, 'SIGKILL'));
await backAfter('os._exit(1) in a request (-w 1)', async (srv) => void (await get(`${srv.url}/exit?code=1`)));
await timeout500();
