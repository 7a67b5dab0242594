// `nicorn-py install`: the app's Python dependencies onto a host with Node
// only. Reads requirements (files, pyproject.toml, the command line),
// resolves them for the workers' Python, downloads every wheel and checks its
// hashes before anything is written, installs into the project's
// site-packages folder (which workers put on sys.path by default) and writes
// the lock. Flags follow pip's where pip has one.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { PROJECT_SITE } from '../runtime/layout.js';
import { pyodideLock, targetPython } from './environment.js';
import { HashMismatch, IndexClient, IndexError, PYODIDE_ORIGIN, defaultPyodideIndexUrl } from './index-client.js';
import { lockEntries, readLock, renderLock } from './lock.js';
import { InvalidMarker } from './markers.js';
import { readPyproject, TomlError } from './pyproject.js';
import { RequirementError, mergeSources, parseRequirement, readRequirementsFile, type Requirement, type Sources } from './requirements.js';
import { ResolutionError, Resolver, type Locked, type Pin } from './resolver.js';
import { InstallError, INSTALLER_NAME, installWheel, installedIn, uninstall } from './site-install.js';
import { InvalidSpecifier } from './specifiers.js';
import { InvalidVersion, normalVersion } from './versions.js';
import { ZipError } from './zip.js';

/** The project-local site-packages folder: `nicorn-py install` fills it, workers mount it. */
const SITE_FOLDER = PROJECT_SITE;
export const DEFAULT_LOCK = 'requirements.lock';
export const DEFAULT_INDEX = 'https://pypi.org/simple/';

interface InstallOptions {
  requirement: string[];
  extra: string[];
  target: string;
  indexUrl?: string;
  extraIndexUrl: string[];
  index: boolean;
  findLinks: string[];
  pyodideIndexUrl?: string;
  pyodideIndex: boolean;
  lock: string | false;
  upgrade: boolean;
  requireHashes: boolean;
  quiet: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function program(): Command {
  const target = targetPython();
  return new Command('nicorn-py install')
    .usage('[OPTIONS] [PACKAGE ...]')
    .description(
      `Install the app's Python packages (wheels) for the workers' Python ${target.pythonFullVersion} on Emscripten/wasm32 ` +
        `(Pyodide ${target.pyodideVersion}) into ${SITE_FOLDER}/, which workers put on sys.path. ` +
        `With no PACKAGE and no -r: ./requirements.txt, else ./pyproject.toml. ` +
        `(To serve an app module named "install", write install:application.)`,
    )
    .argument('[PACKAGE...]', 'requirements, as pip takes them (flask>=3, "requests[socks]")')
    .option('-r, --requirement <FILE>', 'install from this requirements file, or the [project] dependencies of a pyproject.toml (repeatable)', collect, [])
    .option('--extra <NAME>', 'also the optional-dependencies NAME of pyproject.toml (repeatable)', collect, [])
    .option('-t, --target <DIR>', 'the site-packages folder to install into', SITE_FOLDER)
    .option('-i, --index-url <URL>', `base URL of the package index (PEP 503/691) [$PIP_INDEX_URL, else ${DEFAULT_INDEX}]`)
    .option('--extra-index-url <URL>', 'another index to look in as well (repeatable) [$PIP_EXTRA_INDEX_URL]', collect, [])
    .option('--no-index', 'look in no index (only --find-links)')
    .option('-f, --find-links <PATH|URL>', 'a folder of wheels, or a page linking to them (repeatable) [$PIP_FIND_LINKS]', collect, [])
    .option('--pyodide-index-url <URL>', `where Pyodide's WebAssembly builds are downloaded from [$NICORN_PYODIDE_INDEX_URL, else ${defaultPyodideIndexUrl(target.pyodideVersion)}]`)
    .option('--no-pyodide-index', "do not consult Pyodide's package index")
    .addOption(new Option('--lock <FILE>', 'the lock file to read and write').default(DEFAULT_LOCK))
    .option('--no-lock', 'neither read nor write a lock file')
    .option('-U, --upgrade', 'resolve again, ignoring the versions in the lock', false)
    .option('--require-hashes', 'refuse any file whose sha256 is not given by the lock or a --hash option', false)
    .option('-q, --quiet', 'print only errors', false)
    .helpOption('-h, --help', 'show this help message and exit')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`usage: nicorn-py install [OPTIONS] [PACKAGE ...]\nnicorn-py install: ${str.replace(/^error: /, 'error: ')}`) });
}

const KNOWN = [RequirementError, ResolutionError, IndexError, HashMismatch, InstallError, ZipError, InvalidVersion, InvalidSpecifier, InvalidMarker, TomlError];

export async function installMain(argv: string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' ? 0 : 2;
    throw e;
  }
  try {
    return await install(cmd.opts<InstallOptions>(), cmd.args);
  } catch (e) {
    if (KNOWN.some((k) => e instanceof k)) {
      process.stderr.write(`Error: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}

/** Requirements and sources from the inputs, in pip's order: files, then the command line. */
function gather(opts: InstallOptions, packages: string[]): { reqs: Requirement[]; sources: Sources; inputs: string[] } {
  const sources: Sources = { indexUrl: null, extraIndexUrls: [], findLinks: [], noIndex: false };
  const reqs: Requirement[] = [];
  let files = opts.requirement;
  if (files.length === 0 && packages.length === 0) {
    const found = ['requirements.txt', 'pyproject.toml'].find((f) => fs.existsSync(f));
    if (!found) {
      throw new RequirementError(
        'nothing to install: give -r requirements.txt (or pyproject.toml) or package names, or run it in a folder with a requirements.txt or pyproject.toml ' +
          '(to serve an app module named install, write install:application)',
      );
    }
    files = [found];
  }
  for (const file of files) {
    if (file.endsWith('.toml')) reqs.push(...readPyproject(file, opts.extra));
    else {
      const r = readRequirementsFile(file);
      reqs.push(...r.requirements);
      mergeSources(sources, r.sources);
    }
  }
  if (opts.extra.length && !files.some((f) => f.endsWith('.toml'))) throw new RequirementError('--extra needs a pyproject.toml (-r pyproject.toml)');
  reqs.push(...packages.map((p, n) => parseRequirement(p, `command line argument ${n + 1}`)));
  return { reqs, sources, inputs: [...files, ...(packages.length ? ['the command line'] : [])] };
}

async function inBatches<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

async function install(opts: InstallOptions, packages: string[]): Promise<number> {
  const started = process.hrtime.bigint();
  const say = (line: string) => {
    if (!opts.quiet) process.stdout.write(`${line}\n`);
  };
  const target = targetPython();
  const { reqs, sources, inputs } = gather(opts, packages);
  const env = process.env;
  const splitEnv = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
  const noIndex = !opts.index || sources.noIndex;
  const indexUrl = opts.indexUrl ?? sources.indexUrl ?? env.PIP_INDEX_URL ?? DEFAULT_INDEX;
  const extraIndexUrls = [...opts.extraIndexUrl, ...sources.extraIndexUrls, ...splitEnv(env.PIP_EXTRA_INDEX_URL)];
  const findLinks = [...opts.findLinks, ...sources.findLinks, ...splitEnv(env.PIP_FIND_LINKS)];
  const pyodideIndexUrl = opts.pyodideIndex ? (opts.pyodideIndexUrl ?? env.NICORN_PYODIDE_INDEX_URL ?? defaultPyodideIndexUrl(target.pyodideVersion)) : null;
  const client = new IndexClient({ indexUrls: noIndex ? [] : [indexUrl, ...extraIndexUrls], findLinks, pyodideIndexUrl });

  const lockFile = opts.lock === false ? null : path.resolve(opts.lock);
  const locked: Map<string, Locked> = lockFile && !opts.upgrade ? readLock(lockFile) : new Map();
  say(`Resolving ${reqs.length} requirement${reqs.length === 1 ? '' : 's'} for Python ${target.pythonFullVersion} on Emscripten/wasm32 (Pyodide ${target.pyodideVersion})`);
  const pins = await new Resolver(client, target, locked).resolve(reqs);

  // Pyodide's loader also loads the shared libraries (libgeos, libopenblas, ...) some of its builds link to; the workers do not.
  const lock = pyodideLock().packages;
  for (const pin of pins.values()) {
    if (pin.dist.origin !== PYODIDE_ORIGIN) continue;
    const entry = Object.values(lock).find((e) => e.file_name === pin.dist.filename);
    const libs = (entry?.depends ?? []).filter((d) => lock[d]?.package_type === 'shared_library');
    if (libs.length) throw new InstallError(`${pin.name} ${pin.version.text} (Pyodide's build) needs Pyodide's shared librar${libs.length > 1 ? 'ies' : 'y'} ${libs.join(', ')}, which nicorn-py workers do not load`);
  }

  // Hashes each file must have: the lock's for a locked version, and --hash options of the requirements.
  const required = new Map<string, string[]>();
  for (const pin of pins.values()) {
    const lockedPin = locked.get(pin.key);
    const hashes = [...(lockedPin?.version === normalVersion(pin.version) ? lockedPin.hashes : [])];
    for (const r of reqs) if (r.key === pin.key) hashes.push(...r.hashes);
    if (opts.requireHashes && hashes.length === 0) {
      throw new HashMismatch(`--require-hashes: ${pin.name} ${pin.version.text} has no hash in ${lockFile ? path.basename(lockFile) : 'the lock'} or a --hash option`);
    }
    required.set(pin.key, hashes);
  }

  const dir = path.resolve(opts.target);
  const before = installedIn(dir);
  const todo = [...pins.values()].filter((p) => {
    const have = before.get(p.key);
    return !(have && have.installer === INSTALLER_NAME && have.version === p.meta.version);
  });
  // Everything is downloaded and checked before the folder is touched.
  const files = await inBatches(todo, 4, async (p) => ({ pin: p, data: await client.fetchFile(p.dist, required.get(p.key)) }));
  // The lock's hash of each file: of the bytes just checked, else (installed before) the lock's or the index's.
  const hashes = new Map<string, string>();
  for (const { pin, data } of files) hashes.set(pin.key, crypto.createHash('sha256').update(data).digest('hex'));
  for (const pin of pins.values()) {
    if (hashes.has(pin.key)) continue;
    const lockedPin = locked.get(pin.key);
    const known = lockedPin?.version === normalVersion(pin.version) ? lockedPin.hashes[0] : pin.dist.sha256;
    hashes.set(pin.key, known ?? crypto.createHash('sha256').update(await client.fetchFile(pin.dist)).digest('hex'));
  }

  fs.mkdirSync(dir, { recursive: true });
  const requested = new Set(reqs.map((r) => r.key));
  let removed = 0;
  for (const [key, have] of before) {
    const pin = pins.get(key);
    if (pin && files.every((f) => f.pin !== pin)) continue;
    if (!pin && have.installer !== INSTALLER_NAME) continue;
    uninstall(dir, have);
    if (!pin) {
      removed++;
      say(`Removed ${key} ${have.version} (no longer required)`);
    }
  }
  for (const { pin, data } of files) {
    installWheel(dir, data, pin.dist.filename, requested.has(pin.key));
    say(`Installed ${pin.name} ${pin.version.text} (${pin.dist.filename} from ${pin.dist.origin})`);
  }
  if (lockFile) {
    const text = renderLock(lockEntries(pins, hashes), target, inputs.map((i) => (path.isAbsolute(i) ? path.relative(path.dirname(lockFile), i) || i : i)));
    if (!fs.existsSync(lockFile) || fs.readFileSync(lockFile, 'utf8') !== text) fs.writeFileSync(lockFile, text);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const unchanged = pins.size - files.length;
  say(
    `${files.length} installed, ${unchanged} unchanged, ${removed} removed in ${dir} (${seconds.toFixed(2)} s, ${(client.downloaded / 1024).toFixed(0)} KiB downloaded)` +
      (lockFile ? `; lock: ${path.relative(process.cwd(), lockFile) || lockFile}` : ''),
  );
  return 0;
}

export type { Pin };
