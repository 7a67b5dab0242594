// Bundles the entry points (CLI/arbiter, worker process, Python thread, the
// base snapshot's maker, and the dirty arbiter's and dirty workers' processes)
// into dist/ side by side; python/ is read from beside dist/ at run time.
// Code they share, and what the worker process imports later (io-thread.ts),
// goes into chunks beside them: a worker starts its Python thread before it
// loads the rest of its code.
import fs from 'node:fs';
import { build } from 'esbuild';

// Chunks are named by content: those of an earlier build would pile up.
for (const f of fs.existsSync('dist') ? fs.readdirSync('dist') : []) if (f.startsWith('chunk-')) fs.rmSync(`dist/${f}`);

await build({
  entryPoints: {
    cli: 'src/cli.ts',
    worker: 'src/worker/main.ts',
    'python-thread': 'src/bridge/python-thread.ts',
    'base-maker': 'src/runtime/base-maker-main.ts',
    'dirty-arbiter': 'src/dirty/arbiter-main.ts',
    'dirty-worker': 'src/dirty/worker-main.ts',
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
