// One socket round trip from the app, nicorn-py next to CPython (issue 14:
// at most 30 µs more than CPython). Both servers serve bench/apps/roundtrip.py
// with -w 1; its route connects to a TCP echo server in this process and
// times 2,000 round trips of a 16-byte send + recv, one at a time.
//   node bench/roundtrip.mjs [--rounds N] [--node PATH] [--doc FILE]
// The figure is the median round's µs per round trip. Gunicorn is the one
// bench/run.mjs fetches into bench/.gunicorn. Figures only; the network
// suite (test/e2e/network.test.ts) asserts behaviour.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, appServers, deploymentEnv, launch, median, nodeVersion, requireGunicorn } from './servers.mjs';

const ROUND_TRIPS = 2000;
const WARMUP_ROUNDS = 15;

const opts = { rounds: 9, node: process.execPath, doc: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--rounds') opts.rounds = Number(process.argv[++i]);
  else if (a === '--node') opts.node = process.argv[++i];
  else if (a === '--doc') opts.doc = path.resolve(process.argv[++i]);
  else throw new Error(`unknown option ${a}`);
}
requireGunicorn();

const SERVERS = appServers(opts.node);

const echo = net.createServer((s) => {
  s.setNoDelay(true);
  s.pipe(s);
  s.on('error', () => {});
});
await new Promise((resolve) => echo.listen(0, '127.0.0.1', resolve));
const echoPort = echo.address().port;

const results = {};
for (const [name, server] of Object.entries(SERVERS)) {
  const [cmd, ...pre] = server.cmd;
  const srv = await launch(cmd, [...pre, '-w', '1', '--chdir', path.join(ROOT, 'bench/apps'), 'roundtrip:app'], deploymentEnv({ ...process.env, ...server.env }));
  try {
    const url = `http://127.0.0.1:${srv.port}/?port=${echoPort}&n=${ROUND_TRIPS}`;
    // The port queues connections from "Listening at" on, in both servers: the first one waits for the worker.
    const once = async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
      if (res.status !== 200) throw new Error(`${name} answered ${res.status}: ${(await res.text()).slice(0, 2000)}`);
      return (await res.json()).us;
    };
    // Warm-up: a new nicorn-py worker's first rounds run while V8 still compiles (Node 20: 117 µs, then 42-45; Node 26 swings between 46 and 108 for longer).
    for (let i = 0; i < WARMUP_ROUNDS; i++) await once();
    const rounds = [];
    for (let i = 0; i < opts.rounds; i++) rounds.push(await once());
    results[name] = rounds;
    console.error(`roundtrip: ${name}: ${rounds.map((us) => us.toFixed(1)).join(', ')} µs`);
  } finally {
    await srv.stop();
  }
}
echo.close();

const [nicorn, cpython] = Object.values(results).map(median);
const table = [
  '| | nicorn-py | CPython (Gunicorn 26) | difference |',
  '| --- | ---: | ---: | ---: |',
  `| one round trip (16-byte send + recv), µs, median of ${opts.rounds} rounds of ${ROUND_TRIPS.toLocaleString('en-US')} | ${nicorn.toFixed(1)} | ${cpython.toFixed(1)} | ${(nicorn - cpython).toFixed(1)} |`,
  ...Object.entries(results).map(([name, r]) => `| ${name}: each round, µs | ${r.map((us) => us.toFixed(1)).join(', ')} | | |`),
].join('\n');
console.log(table);
if (opts.doc) {
  fs.writeFileSync(
    opts.doc,
    `# One socket round trip from the app: nicorn-py vs CPython

Produced by \`node bench/roundtrip.mjs --rounds ${opts.rounds}${opts.node === process.execPath ? '' : ' --node NODE'} --doc ${path.relative(ROOT, opts.doc)}\` on ${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC, nicorn-py on node ${nodeVersion(opts.node)}, ${os.cpus().length} cores. bench/apps/roundtrip.py under each server (-w 1) times ${ROUND_TRIPS.toLocaleString('en-US')} round trips to a TCP echo server (node, in the bench's process) on one connection, after 200 unrecorded ones; one request is a round, after ${WARMUP_ROUNDS} unrecorded rounds.

${table}
`,
  );
  console.error(`wrote ${path.relative(ROOT, opts.doc)}`);
}
