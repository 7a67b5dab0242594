// Bundles every test/**/*.test.ts with esbuild (so suites import src/ as
// TypeScript) and runs them with uvu. Usage: node test/run.mjs [unit|e2e] [pattern]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const [only = '', pattern = ''] = process.argv.slice(2);
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
// Every server starts its control socket (Gunicorn's default) in XDG_RUNTIME_DIR,
// else ~/.gunicorn: one folder per run, not the user's (short: a unix socket's path has 107 bytes).
const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-run-'));
if (only !== 'unit') await warmBaseSnapshot(cache, runtime);
const child = spawn(process.execPath, ['--enable-source-maps', uvu, out, '\\.test\\.js$'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, XDG_CACHE_HOME: cache, XDG_RUNTIME_DIR: runtime },
});
let output = '';
// When each test file's header appeared: the slowest files are listed at the end
// (the suite is meant to stay under 15 minutes on 2 cores).
const fileStarts = [];
child.stdout.on('data', (d) => {
  output += d;
  process.stdout.write(d);
  for (const [, file] of String(d).replace(/\x1b\[[0-9;]*m/g, '').matchAll(/^((?:e2e|unit)\/[\w.-]+\.test\.js)$/gm)) {
    fileStarts.push({ file, at: performance.now() });
  }
});
const status = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
fs.rmSync(out, { recursive: true, force: true });
fs.rmSync(runtime, { recursive: true, force: true });
// uvu's own summary, restated as the plain closing line CI reads.
const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const failed = total - passed - skipped;
// CI shows only the log's tail: each failure uvu printed (its FAIL line and what
// follows, up to 40 lines) is restated here, above the closing line.
const lines = plain.split('\n');
for (let i = 0; i < lines.length; i++) {
  if (!/^\s*FAIL\s/.test(lines[i])) continue;
  const end = lines.findIndex((l, j) => j > i && (/^\s*FAIL\s/.test(l) || j - i >= 40));
  console.log(['', 'Restated failure:', ...lines.slice(i, end < 0 ? i + 40 : end)].join('\n'));
}
const ended = performance.now();
const spans = fileStarts.map((f, i) => ({ file: f.file, s: ((fileStarts[i + 1]?.at ?? ended) - f.at) / 1000 }));
const slowest = spans.sort((a, b) => b.s - a.s).slice(0, 8).map((f) => `${f.file} ${f.s.toFixed(0)} s`);
if (slowest.length > 0) console.log(`\nSlowest files: ${slowest.join(', ')}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
// uvu exits 0 when a suite's before() hook throws; its tests count as not passed.
process.exit(status || (failed > 0 || total === 0 ? 1 : 0));

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
