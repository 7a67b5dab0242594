// Writes docs/settings.md from the settings registry: bundles
// src/config/docs.ts with esbuild (as test/run.mjs bundles the suites), then
// calls its renderSettingsDoc(). Usage: npm run docs
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

// One folder per run, so concurrent runs don't delete each other's bundles.
const out = path.resolve('.docs-build', String(process.pid));
const bundle = path.join(out, 'docs.mjs');
try {
  await build({
    entryPoints: ['src/config/docs.ts'],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const { renderSettingsDoc } = await import(pathToFileURL(bundle).href);
  const target = path.resolve('docs/settings.md');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, renderSettingsDoc());
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
} finally {
  fs.rmSync(out, { recursive: true, force: true });
  if (fs.existsSync('.docs-build') && fs.readdirSync('.docs-build').length === 0) fs.rmdirSync('.docs-build');
}
