// pyodide.asm.mjs (1.2 MB of JavaScript) compiled from a V8 code cache.
// Node's ES module loader has no code cache, so a worker would parse and
// compile the module, then the functions its start-up calls, every time
// (about 50 ms of a restored worker's start). Here the module's source is
// run as a classic script — its three `import.meta.url` and its dynamic
// `import()`s handed in as arguments — whose cache V8 can take.
//
// A cache is bound to the exact source, V8's version and V8's flags (V8
// refuses it otherwise): its file name carries all three. V8 does not check
// a cache's content in release builds, so the file starts with our own
// checksum of it; a damaged cache is ignored and written again.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import type { loadPyodide } from 'pyodide';
import { identityKey } from './snapshot-cache.js';

type PyodideConfig = NonNullable<Parameters<typeof loadPyodide>[0]>;
export type CreateModule = NonNullable<PyodideConfig['createPyodideModule']>;

/** What happened to the cache when the module was loaded; all but 'used' mean a new one is worth writing. */
export type CacheState = 'used' | 'missing' | 'rejected' | 'damaged';

export interface CachedModule {
  factory: CreateModule;
  cache: CacheState;
  /** Writes the cache of the script as it is now (with the functions run so far compiled); false when it cannot. */
  save(): boolean;
}

const EXPORT = /export default (\w+);\s*$/;
/** A dynamic import(): not a method or property named import. */
const DYNAMIC_IMPORT = /(?<![\w$.])import\(/g;
const DIGEST = 32;

/** The cache file for the module `source` in `dir`, for this V8 and these flags. */
export function codeCacheFile(dir: string, source: string): string {
  const key = identityKey({ source: crypto.createHash('sha256').update(source).digest('hex'), v8: process.versions.v8, flags: process.execArgv });
  return path.join(dir, `${key}.jscache`);
}

/**
 * The module factory of the ES module `file` (whose source is `source`),
 * compiled with the cache in `cacheFile`; null when the module is not of the
 * shape this knows how to run as a script (the caller imports it instead).
 */
export function loadCachedModule(file: string, source: string, cacheFile: string): CachedModule | null {
  const exported = EXPORT.exec(source);
  if (!exported) return null;
  const body = source.slice(0, exported.index).replace(DYNAMIC_IMPORT, '__nicorn_import(').replaceAll('import.meta.url', '__nicorn_url');
  if (/\bimport\.meta\b/.test(body)) return null;
  const wrapped = `(function (__nicorn_url, __nicorn_import) {${body}\nreturn ${exported[1]};\n})`;
  let cache: CacheState = 'missing';
  let cachedData: Buffer | undefined;
  try {
    const bytes = fs.readFileSync(cacheFile);
    const payload = bytes.subarray(DIGEST);
    if (bytes.length > DIGEST && crypto.createHash('sha256').update(payload).digest().equals(bytes.subarray(0, DIGEST))) cachedData = payload;
    else cache = 'damaged';
  } catch {
    // no cache yet
  }
  const script = new vm.Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (cachedData) cache = script.cachedDataRejected ? 'rejected' : 'used';
  const make = script.runInThisContext() as (url: string, load: (specifier: string) => Promise<unknown>) => CreateModule;
  const factory = make(pathToFileURL(file).href, (specifier) => import(specifier));
  return { factory, cache, save: () => writeCache(cacheFile, script.createCachedData()) };
}

/** Written to a temporary name, then renamed: a reader never sees half a file. */
function writeCache(file: string, data: Buffer): boolean {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, Buffer.concat([crypto.createHash('sha256').update(data).digest(), data]), { mode: 0o600 });
    fs.renameSync(tmp, file);
    return true;
  } catch {
    fs.rmSync(tmp, { force: true });
    return false;
  }
}
