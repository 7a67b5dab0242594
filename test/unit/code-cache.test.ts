// The V8 code cache of pyodide.asm.mjs (src/runtime/code-cache.ts): an ES
// module run as a script, its cache used when present, made again when it is
// damaged or V8 refuses it, and a file per source (V8 itself only compares
// a source's length).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { codeCacheFile, loadCachedModule } from '../../src/runtime/code-cache.js';
import { PYODIDE_DIR } from '../../src/runtime/layout.js';

const test = suite<{ dir: string; file: string }>('code cache');

const SOURCE = [
  'async function make(arg = {}) {',
  '  const { sep } = await import("node:path");',
  '  return { url: import.meta.url, sep, arg, twice: [1, 2, 3].map((x) => x * 2) };',
  '}',
  'export default make;',
  '',
].join('\n');

test.before.each((ctx) => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-code-cache-'));
  ctx.file = path.join(ctx.dir, 'module.mjs');
  fs.writeFileSync(ctx.file, SOURCE);
});
test.after.each(({ dir }) => fs.rmSync(dir, { recursive: true, force: true }));

type Made = { url: string; sep: string; arg: unknown; twice: number[] };
const run = async (factory: unknown, arg: unknown): Promise<Made> => (factory as (a: unknown) => Promise<Made>)(arg);

test('runs the module as the module would run: import.meta.url and import() work', async ({ dir, file }) => {
  const loaded = loadCachedModule(file, SOURCE, codeCacheFile(dir, SOURCE));
  assert.ok(loaded);
  const made = await run(loaded.factory, 7);
  assert.equal(made, { url: pathToFileURL(file).href, sep: path.sep, arg: 7, twice: [2, 4, 6] });
});

test('no cache at first; once saved, the next load uses it', async ({ dir, file }) => {
  const cacheFile = codeCacheFile(dir, SOURCE);
  const first = loadCachedModule(file, SOURCE, cacheFile)!;
  assert.is(first.cache, 'missing');
  await run(first.factory, 1);
  assert.ok(first.save());
  assert.is(fs.statSync(cacheFile).mode & 0o777, 0o600);
  const second = loadCachedModule(file, SOURCE, cacheFile)!;
  assert.is(second.cache, 'used');
  assert.is((await run(second.factory, 2)).arg, 2);
});

test('a damaged cache is not given to V8, and is written again', async ({ dir, file }) => {
  const cacheFile = codeCacheFile(dir, SOURCE);
  loadCachedModule(file, SOURCE, cacheFile)!.save();
  const bytes = fs.readFileSync(cacheFile);
  bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
  fs.writeFileSync(cacheFile, bytes);
  const damaged = loadCachedModule(file, SOURCE, cacheFile)!;
  assert.is(damaged.cache, 'damaged');
  assert.is((await run(damaged.factory, 3)).arg, 3);
  damaged.save();
  assert.is(loadCachedModule(file, SOURCE, cacheFile)!.cache, 'used');
  fs.writeFileSync(cacheFile, bytes.subarray(0, 10));
  assert.is(loadCachedModule(file, SOURCE, cacheFile)!.cache, 'damaged', 'truncated');
});

test('each source has its own cache file; a cache V8 refuses is reported', async ({ dir, file }) => {
  const other = SOURCE.replace('x * 2', 'x * 3');
  assert.is(other.length, SOURCE.length);
  assert.is.not(codeCacheFile(dir, other), codeCacheFile(dir, SOURCE));
  assert.is(codeCacheFile(dir, SOURCE), codeCacheFile(dir, SOURCE));
  // A cache of another script, under this one's name: V8 refuses it (the length differs).
  const longer = '// more\n' + SOURCE;
  const made = loadCachedModule(file, longer, codeCacheFile(dir, SOURCE))!;
  made.save();
  const refused = loadCachedModule(file, SOURCE, codeCacheFile(dir, SOURCE))!;
  assert.is(refused.cache, 'rejected');
  assert.equal((await run(refused.factory, 4)).twice, [2, 4, 6]);
});

test('a module of another shape is left to import()', ({ dir, file }) => {
  assert.is(loadCachedModule(file, 'export const x = 1;\n', codeCacheFile(dir, 'x')), null);
  assert.is(loadCachedModule(file, 'const u = import.meta.dirname;\nexport default u;\n', codeCacheFile(dir, 'y')), null);
});

test("pyodide.asm.mjs is of the shape it knows", ({ dir }) => {
  const file = `${PYODIDE_DIR}pyodide.asm.mjs`;
  const loaded = loadCachedModule(file, fs.readFileSync(file, 'utf8'), codeCacheFile(dir, 'asm'));
  assert.ok(loaded);
  assert.type(loaded.factory, 'function');
});

test.run();
