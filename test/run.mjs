// Bundles every test/**/*.test.ts with esbuild (so suites import src/ as
// TypeScript) and runs them with uvu. Usage: node test/run.mjs [unit|e2e] [pattern]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
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
const run = spawnSync(process.execPath, ['--enable-source-maps', uvu, out, '\\.test\\.js$'], { stdio: 'inherit' });
fs.rmSync(out, { recursive: true, force: true });
process.exit(run.status ?? 1);
