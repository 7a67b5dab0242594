// Bundles every test/**/*.test.ts with esbuild (so suites import src/ as
// TypeScript) and runs them with uvu. Usage: node test/run.mjs [unit|e2e] [pattern]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const [only = '', pattern = ''] = process.argv.slice(2);
const suiteStart = performance.now();
const root = path.resolve('test');
// One folder per run, so concurrent runs don't delete each other's bundles.
const out = path.resolve('.test-build', String(process.pid));
const entries = fs
  .readdirSync(root, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts') && f.startsWith(only) && f.includes(pattern))
  .map((f) => path.join(root, f));
if (entries.length === 0) {
  console.error(`no test files match '${only}' '${pattern}'`);
  process.exit(1);
}
fs.rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir: out,
  outbase: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
const uvu = path.resolve('node_modules/uvu/bin.js');
// --preload snapshots are cached under XDG_CACHE_HOME: one fresh cache per run, not the user's.
const cache = path.join(out, 'cache');
fs.mkdirSync(cache, { recursive: true });
const runtimes = [];
/**
 * Every server starts its control socket (Gunicorn's default) in XDG_RUNTIME_DIR,
 * else ~/.gunicorn: one folder per lane, not the user's (short: a unix socket's
 * path has 107 bytes), so that two lanes' servers never share one.
 */
const runtimeDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-run-'));
  runtimes.push(dir);
  return dir;
};
if (only !== 'unit') await warmBaseSnapshot(cache, runtimeDir());

// The suite is meant to stay under 15 minutes on 2 cores. One file at a time,
// it used 1.1 cores on average (954 s wall, 828 s user + 252 s system, Node
// 20): most files wait on worker boots, timers and their clients. Two files
// at a time fill both cores: 561 s, all passing. Each e2e file is a uvu
// process of its own, taken by the next free lane; the unit files are one
// process. The slowest files go first, so that no lane is left with a long
// one at the end (seconds in a two-lane run; the order only balances lanes).
const SLOWEST_FIRST = [
  'e2e/lifecycle', // 110 s
  'e2e/preload', // 73 s
  'e2e/arbiter', // 63 s
  'e2e/abuse', // 55 s
  'e2e/dirty', // 54 s
  'e2e/asgi', // 51 s
  'e2e/apps', // 42 s
  'e2e/base-snapshot', // 40 s
];
const lanes = Math.max(1, Number(process.env.NICORN_TEST_LANES) || Math.min(2, os.availableParallelism()));
const relative = (f) => path.relative(root, f).replace(/\.test\.ts$/, '');
const rank = (name) => {
  const i = SLOWEST_FIRST.indexOf(name);
  return i < 0 ? SLOWEST_FIRST.length : i;
};
const files = entries.map(relative);
const jobs = [
  ...files
    .filter((f) => f.startsWith('e2e/'))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((f) => ({ label: f, pattern: `^${f.replace(/[.\\/]/g, (c) => `\\${c}`)}\\.test\\.js$` })),
  ...(files.some((f) => f.startsWith('unit/')) ? [{ label: 'unit', pattern: '^unit/.*\\.test\\.js$' }] : []),
];
const live = jobs.length === 1 || lanes === 1;
const results = [];
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(lanes, jobs.length) }, async () => {
    const runtime = runtimeDir();
    while (next < jobs.length) results.push(await runJob(jobs[next++], runtime));
  }),
);
fs.rmSync(out, { recursive: true, force: true });
for (const dir of runtimes) fs.rmSync(dir, { recursive: true, force: true });

// uvu's own summaries, restated as the plain closing line CI reads.
let [total, passed, skipped] = [0, 0, 0];
for (const r of results) {
  total += Number(/Total:\s+(\d+)/.exec(r.plain)?.[1] ?? 0);
  passed += Number(/Passed:\s+(\d+)/.exec(r.plain)?.[1] ?? 0);
  skipped += Number(/Skipped:\s+(\d+)/.exec(r.plain)?.[1] ?? 0);
}
const failed = total - passed - skipped;
// CI shows only the log's tail: each failure uvu printed (its FAIL line and what
// follows, up to 40 lines) is restated here, above the closing line.
for (const r of results) {
  const lines = r.plain.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*FAIL\s/.test(lines[i])) continue;
    const end = lines.findIndex((l, j) => j > i && (/^\s*FAIL\s/.test(l) || j - i >= 40));
    console.log(['', `Restated failure (${r.label}):`, ...lines.slice(i, end < 0 ? i + 40 : end)].join('\n'));
  }
}
const crashed = results.filter((r) => r.status !== 0 && !/FAIL/.test(r.plain)).map((r) => `${r.label} (exit ${r.status})`);
if (crashed.length > 0) console.log(`\nExited non-zero without a failed test: ${crashed.join(', ')}`);
const slowest = [...results].sort((a, b) => b.s - a.s).slice(0, 8).map((r) => `${r.label} ${r.s.toFixed(0)} s`);
console.log(`\nSlowest files: ${slowest.join(', ')}`);
console.log(`${Math.min(lanes, jobs.length)} lanes, ${((performance.now() - suiteStart) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
// uvu exits 0 when a suite's before() hook throws; its tests count as not passed.
process.exit(results.some((r) => r.status !== 0) || failed > 0 || total === 0 ? 1 : 0);

/**
 * One uvu process over the files `job.pattern` matches. Its output is printed
 * as it comes when it is the only job or lane, else whole once it ends, so
 * that two lanes' files do not interleave.
 */
async function runJob(job, runtime) {
  const started = performance.now();
  const child = spawn(process.execPath, ['--enable-source-maps', uvu, out, job.pattern], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_CACHE_HOME: cache, XDG_RUNTIME_DIR: runtime },
  });
  let output = '';
  const take = (stream, into) =>
    child[stream].on('data', (d) => {
      output += d;
      if (live) into.write(d);
    });
  take('stdout', process.stdout);
  take('stderr', process.stderr);
  const status = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  if (!live) process.stdout.write(`\n${job.label}.test.js (${((performance.now() - started) / 1000).toFixed(0)} s)\n${output}`);
  return { label: job.label, status, plain: output.replace(/\x1b\[[0-9;]*m/g, ''), s: (performance.now() - started) / 1000 };
}

/**
 * Starts the hello fixture once so the run's cache holds the base snapshot
 * (src/runtime/base-image.ts) before any suite runs: every server then starts
 * as a second launch does. Otherwise the first worker of the run makes it in
 * the background while a suite measures it (a 1 s time.sleep measured 0.6-1 s
 * of the worker's CPU, the pipelining case's RSS 65 MiB).
 */
async function warmBaseSnapshot(cacheHome, runtimeDir) {
  const started = performance.now();
  const server = spawn(process.execPath, ['bin/nicorn-py', '--chdir', 'fixtures/hello', '-b', '127.0.0.1:0', 'app:app'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, XDG_CACHE_HOME: cacheHome, XDG_RUNTIME_DIR: runtimeDir },
  });
  let log = '';
  const outcome = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('not made within 180 s'), 180_000);
    server.stderr.on('data', (d) => {
      log += d;
      const m = /Base snapshot made in|Cannot (?:make|cache) the base snapshot[^\n]*/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    server.on('exit', (code) => {
      clearTimeout(timer);
      resolve(`the server exited (${code})`);
    });
  });
  for (const [, pid] of log.matchAll(/Booting worker with pid: (\d+)/g)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  server.kill('SIGKILL');
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`test/run.mjs: base snapshot for this run: ${outcome} (${secs} s)`);
}
