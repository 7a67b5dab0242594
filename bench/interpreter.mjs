// The interpreter's own speed, nicorn-py next to CPython (issues 14 and 17):
// how much longer the same Python code runs in a worker's Python thread
// (CPython compiled to WebAssembly, Pyodide) than in Gunicorn's worker (the
// machine's native python3), with no socket or file in the loop. It bounds
// what any front door can reach on rows whose CPU goes to the app: at
// -w = cores, a request's CPU decides the ratio.
//   node bench/interpreter.mjs [--rounds N] [--warmup N] [--node PATH] [--doc FILE]
// Both servers serve bench/apps/interp.py with -w 1 (Flask and SQLAlchemy
// from fixtures/.packages, the same files for both); each round is one
// request per workload, after warm-up rounds (V8 tiers the wasm up while
// they run). The figure is the median round's µs per run. Figures only.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GUNICORN_CMD, ROOT, appServers, deploymentEnv, launch, median, nodeVersion, requireGunicorn } from './servers.mjs';

const WORKLOADS = {
  flask: { n: 2000, what: "Flask's test client, one GET of a JSON route" },
  sqlalchemy: { n: 1000, what: "a SELECT built and compiled for pg8000's dialect, no statement cache" },
  python: { n: 5000, what: 'plain Python: recursion, a dict, string formatting' },
};
const opts = { rounds: 9, warmup: 30, node: process.execPath, doc: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--rounds') opts.rounds = Number(process.argv[++i]);
  else if (a === '--warmup') opts.warmup = Number(process.argv[++i]);
  else if (a === '--node') opts.node = process.argv[++i];
  else if (a === '--doc') opts.doc = path.resolve(process.argv[++i]);
  else throw new Error(`unknown option ${a}`);
}
requireGunicorn();

const SITE = path.join(ROOT, 'fixtures/.packages/site-packages');
if (!fs.existsSync(path.join(SITE, 'sqlalchemy'))) throw new Error('fixtures/.packages has no SQLAlchemy: run npm run fixtures');
const SERVERS = appServers(opts.node);

/** results[server][workload]: µs per run, one per round */
const results = {};
for (const [name, server] of Object.entries(SERVERS)) {
  const [cmd, ...pre] = server.cmd;
  const args = [...pre, '-w', '1', '--timeout', '300', '--chdir', path.join(ROOT, 'bench/apps'), '--pythonpath', SITE, 'interp:app'];
  const srv = await launch(cmd, args, deploymentEnv({ ...process.env, ...server.env }));
  try {
    const once = async (work) => {
      const url = `http://127.0.0.1:${srv.port}/?work=${work}&n=${WORKLOADS[work].n}`;
      const res = await fetch(url, { signal: AbortSignal.timeout(300_000) });
      if (res.status !== 200) throw new Error(`${name} answered ${res.status}: ${(await res.text()).slice(0, 2000)}`);
      return (await res.json()).us;
    };
    results[name] = Object.fromEntries(Object.keys(WORKLOADS).map((w) => [w, []]));
    for (let i = 0; i < opts.warmup + opts.rounds; i++) {
      for (const work of Object.keys(WORKLOADS)) {
        const us = await once(work);
        if (i >= opts.warmup) results[name][work].push(us);
      }
    }
    for (const work of Object.keys(WORKLOADS)) console.error(`interpreter: ${name} ${work}: ${results[name][work].map((us) => us.toFixed(1)).join(', ')} µs`);
  } finally {
    await srv.stop();
  }
}

const [nicorn, cpython] = Object.keys(SERVERS);
const table = [
  `| workload | nicorn-py, µs | CPython (Gunicorn 26), µs | nicorn/CPython |`,
  '| --- | ---: | ---: | ---: |',
  ...Object.entries(WORKLOADS).map(([work, { what }]) => {
    const [a, b] = [median(results[nicorn][work]), median(results[cpython][work])];
    return `| ${work}: ${what} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)}x |`;
  }),
].join('\n');
console.log(table);
if (opts.doc) {
  const native = spawnSync(GUNICORN_CMD[0], ['--version'], { encoding: 'utf8' }).stdout.trim();
  fs.writeFileSync(
    opts.doc,
    `# The interpreter's own speed: CPython in WebAssembly (nicorn-py) vs native CPython (Gunicorn 26)

Produced by \`node bench/interpreter.mjs --rounds ${opts.rounds} --warmup ${opts.warmup}${opts.node === process.execPath ? '' : ' --node NODE'} --doc ${path.relative(ROOT, opts.doc)}\` on ${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC, nicorn-py on node ${nodeVersion(opts.node)} (Pyodide's CPython 3.14), Gunicorn on ${GUNICORN_CMD[0]} (${native}), ${os.cpus().length} cores. bench/apps/interp.py under each server (-w 1) runs each workload in a loop inside one request, with no socket or file in the loop; the figure is the median of ${opts.rounds} rounds (one request per workload), after ${opts.warmup} unrecorded rounds.

${table}
`,
  );
  console.error(`wrote ${path.relative(ROOT, opts.doc)}`);
}
