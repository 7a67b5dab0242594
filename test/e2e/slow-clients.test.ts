// Slow and idle clients against one sync worker. Gunicorn's sync worker reads a
// request in the worker itself, so one slowloris stalls it; nicorn-py's I/O
// thread holds every connection while Python serves one request at a time:
// connections that send nothing or a header byte now and then are held until
// --timeout (the whole head must arrive within it), keep-alive connections
// until --keep-alive, and at --worker-connections the oldest connection without
// a request in progress makes room for a new one.

import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, connected, exchange, get, type Connection } from '../helpers/http.js';
import { FIXTURES, eventually, sleep, startServer, type Server } from '../helpers/server.js';

const TIMEOUT = 5;
const KEEPALIVE = 3;
const IDLE = 1000;
const SLOWLORIS = 25;
const REQUESTS = 300;
const CONCURRENCY = 4;

const APP = ['--chdir', path.join(FIXTURES, 'wsgi'), 'conformance'];

/** Opens `n` connections, `batch` connects at a time (a burst of SYNs overflows the backlog). */
async function holdMany(port: number, n: number, batch = 100): Promise<Connection[]> {
  const out: Connection[] = [];
  while (out.length < n) {
    const size = Math.min(batch, n - out.length);
    out.push(...(await Promise.all(Array.from({ length: size }, () => connected(port)))));
  }
  return out;
}

/** A slowloris: the request line, then one header byte every 1-2 s, never the end of the head. */
function slowloris(c: Connection): () => void {
  c.send('GET /hello HTTP/1.1\r\nHost: localhost\r\n');
  const header = 'X-Slow: ' + 'a'.repeat(1000);
  let i = 0;
  let timer: NodeJS.Timeout;
  const drip = () => {
    if (c.closedAt !== null || c.sock.destroyed) return;
    c.send(header[i++ % header.length]!);
    timer = setTimeout(drip, 1000 + Math.random() * 1000);
  };
  timer = setTimeout(drip, 1000 + Math.random() * 1000);
  return () => clearTimeout(timer);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const stillOpen = (conns: Connection[]) => conns.filter((c) => c.closedAt === null).length;

// ---------------------------------------------------------------- a thousand idle clients and a slowloris

const flood = suite<{ srv?: Server; conns: Connection[]; stops: (() => void)[] }>(
  'slow clients: one sync worker, 1000 idle connections and a slowloris',
  { conns: [], stops: [] },
);

flood.after(async (ctx) => {
  for (const stop of ctx.stops) stop();
  for (const c of ctx.conns) c.close();
  await ctx.srv?.stop();
});

flood('normal requests are all answered while 1000 idle and 25 slowloris connections are held', async (ctx) => {
  ctx.srv = await startServer([
    '-w', '1', '--timeout', String(TIMEOUT), '--keep-alive', String(KEEPALIVE), '--worker-connections', '1100', ...APP,
  ]);
  const srv = ctx.srv;
  const idle = await holdMany(srv.port, IDLE);
  const slow = await holdMany(srv.port, SLOWLORIS);
  ctx.conns.push(...idle, ...slow);
  // They keep dripping until the server closes them (next test).
  ctx.stops.push(...slow.map(slowloris));
  const latencies: number[] = [];
  const statuses: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const client = async () => {
    while (next < REQUESTS) {
      next++;
      const t0 = performance.now();
      try {
        const res = await fetch(`${srv.url}/hello`);
        await res.text();
        latencies.push(performance.now() - t0);
        statuses.push(res.status);
      } catch (e) {
        statuses.push(0);
        errors.push(String((e as Error).cause ?? e));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const heldIdle = stillOpen(idle);
  const heldSlow = stillOpen(slow);
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `slow clients: ${REQUESTS} requests (${CONCURRENCY} at a time) while holding ${heldIdle}/${IDLE} idle + ${heldSlow}/${SLOWLORIS} slowloris ` +
      `connections: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
  );
  assert.equal(
    statuses.filter((s) => s !== 200),
    [],
    `every normal request answered 200 (${errors.slice(0, 3).join('; ')})`,
  );
  assert.is(statuses.length, REQUESTS);
  assert.is(heldIdle + heldSlow, IDLE + SLOWLORIS, 'no held connection was dropped while the requests ran');
});

flood(`idle and slowloris connections are closed by the server once the header timeout (--timeout ${TIMEOUT}) passes`, async (ctx) => {
  const conns = ctx.conns;
  assert.ok(conns.length === IDLE + SLOWLORIS, 'the connections of the previous test');
  const lastOpened = Math.max(...conns.map((c) => c.openedAt));
  const allClosed = await eventually(() => stillOpen(conns) === 0, lastOpened + (TIMEOUT + 6) * 1000 - Date.now());
  const open = stillOpen(conns);
  const lifetimes = conns.filter((c) => c.closedAt !== null).map((c) => c.closedAt! - c.openedAt);
  const sorted = [...lifetimes].sort((a, b) => a - b);
  const answers = new Map<string, number>();
  for (const c of conns) {
    const line = c.text().split('\r\n')[0] || '(nothing)';
    answers.set(line, (answers.get(line) ?? 0) + 1);
  }
  console.log(
    `slow clients: closed by the server after ${sorted[0]} .. ${sorted.at(-1)} ms (p50 ${sorted.length ? percentile(sorted, 50) : '-'}); ` +
      `${open} still open; answers: ${JSON.stringify(Object.fromEntries(answers))}`,
  );
  assert.ok(allClosed, `${open} of ${conns.length} connections still open ${TIMEOUT + 6} s after they were opened`);
  assert.ok(sorted[0]! >= (TIMEOUT - 1) * 1000, `none closed well before the timeout: the shortest lived ${sorted[0]} ms`);
  assert.ok(sorted.at(-1)! <= (TIMEOUT + 4) * 1000, `all closed within the timeout and a few seconds: the longest lived ${sorted.at(-1)} ms`);
});

flood(`an idle keep-alive connection is closed after --keep-alive ${KEEPALIVE} s; until then it is reused`, async (ctx) => {
  const srv = ctx.srv!;
  const c = connect(srv.port);
  try {
    await c.ready;
    c.send(get('/hello'));
    assert.is((await c.response()).status, 200);
    await sleep(500);
    c.send(get('/hello'));
    assert.is((await c.response()).status, 200, 'the connection was kept alive');
    const idleFrom = Date.now();
    await Promise.race([c.closed, sleep((KEEPALIVE + 5) * 1000)]);
    const after = Date.now() - idleFrom;
    console.log(`slow clients: a keep-alive connection idle for ${after} ms was closed: ${c.closedByServer()}`);
    assert.ok(c.closedByServer(), `closed by the server within ${KEEPALIVE + 5} s`);
    assert.ok(after >= (KEEPALIVE - 0.5) * 1000, `not before --keep-alive: after ${after} ms`);
    assert.ok(after <= (KEEPALIVE + 3) * 1000, `soon after --keep-alive: after ${after} ms`);
  } finally {
    c.close();
  }
});

flood('the worker still serves after all that', async (ctx) => {
  const res = await fetch(`${ctx.srv!.url}/hello`);
  assert.is(res.status, 200);
  assert.is(ctx.srv!.workerPids().length, 1, 'the same single worker, never restarted');
});

flood.run();

// ---------------------------------------------------------------- --worker-connections 10

const capped = suite<{ srv?: Server; conns: Connection[] }>('slow clients: --worker-connections 10', { conns: [] });

capped.after(async (ctx) => {
  for (const c of ctx.conns) c.close();
  await ctx.srv?.stop();
});

const closedIndexes = (conns: Connection[]) => conns.flatMap((c, i) => (c.closedAt === null ? [] : [i]));

/** Opens connections one after another, so the server accepts them in this order. */
async function holdInOrder(port: number, n: number): Promise<Connection[]> {
  const out: Connection[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await connected(port));
    await sleep(50);
  }
  return out;
}

capped('at the cap, each new connection closes the oldest idle one: never more than 10 held', async (ctx) => {
  ctx.srv = await startServer(['-w', '1', '--worker-connections', '10', ...APP]);
  const idle = await holdInOrder(ctx.srv.port, 12);
  ctx.conns.push(...idle);
  assert.ok(await eventually(() => stillOpen(idle) <= 10), `${stillOpen(idle)} of 12 idle connections held`);
  await sleep(300);
  assert.equal(closedIndexes(idle), [0, 1], 'the two oldest made room');
  assert.is(stillOpen(idle), 10);
});

capped('an 11th client with a request is served; the oldest idle connection makes room for it', async (ctx) => {
  const srv = ctx.srv!;
  const res = await exchange(srv.port, get('/hello', 'Connection: close\r\n'));
  assert.is(res.status, 200);
  assert.is(res.body.toString(), 'Hello, World!\n');
  assert.ok(await eventually(() => closedIndexes(ctx.conns).length === 3));
  assert.equal(closedIndexes(ctx.conns), [0, 1, 2]);
  assert.is(stillOpen(ctx.conns), 9);
});

capped('a connection with a request in progress is never the one closed to make room', async (ctx) => {
  const srv = ctx.srv!;
  // 9 idle held + this one = 10.
  const busy = connect(srv.port);
  try {
    await busy.ready;
    busy.send(get('/sleep?s=3'));
    await sleep(500);
    const more = await holdInOrder(srv.port, 3);
    ctx.conns.push(...more);
    // 3..11 idle were held; 3, 4 and 5 were the oldest without a request in progress.
    assert.ok(await eventually(() => closedIndexes(ctx.conns).length === 6), `closed: ${closedIndexes(ctx.conns)}`);
    assert.equal(closedIndexes(ctx.conns), [0, 1, 2, 3, 4, 5]);
    assert.not.ok(busy.closedByServer(), 'the busy connection is still open');
    const res = await busy.response();
    assert.is(res.status, 200);
    assert.is(res.body.toString(), 'slept');
    assert.is(stillOpen(ctx.conns), 9);
  } finally {
    busy.close();
  }
});

capped.run();
