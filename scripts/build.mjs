// Bundles the three entry points (CLI/arbiter, worker process, Python thread)
// into dist/ side by side; python/ is read from beside dist/ at run time.
import { build } from 'esbuild';

await build({
  entryPoints: {
    cli: 'src/cli.ts',
    worker: 'src/worker/main.ts',
    'python-thread': 'src/bridge/python-thread.ts',
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
