// The npm package as a user gets it: a clean copy of the repository (its
// tracked files, no dist/) is packed, which must build first (prepack); the
// tarball holds exactly what runs; installed into a fresh project outside the
// repository, `npx nicorn-py` serves an app that lives outside it too.
// Its own `nicorn-py install` installs the app's package. No registry is asked: the production dependencies are packed from this
// checkout's node_modules and installed with --offline beside the tarball.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, eventually } from '../helpers/server.js';
import { buildWheel } from '../helpers/pyindex.js';

const test = suite('npm package');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-pack-')));
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, env: NPM_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
}

interface PackResult {
  filename: string;
  size: number;
  files: { path: string }[];
}

/** The production dependency closure, as package-lock.json records it, that is installed here (koffi's build for this platform only). */
function installedProductionDeps(): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([key, entry]) => key.startsWith('node_modules/') && !entry.dev && fs.existsSync(path.join(ROOT, key)))
    .map(([key]) => key);
}

let packed: PackResult;
const clone = path.join(tmp, 'clone');
const project = path.join(tmp, 'project');
const appDir = path.join(tmp, 'elsewhere');

test('npm pack on a clean copy builds dist/ first and packs exactly bin/, dist/*.js, python/, README and package.json', () => {
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const rel of tracked) {
    if (!fs.existsSync(path.join(ROOT, rel))) continue;
    fs.mkdirSync(path.dirname(path.join(clone, rel)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, rel), path.join(clone, rel));
  }
  assert.not.ok(fs.existsSync(path.join(clone, 'dist')), 'a clean copy has no dist/');
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
  packed = (JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], clone)) as PackResult[])[0]!;
  const files = packed.files.map((f) => f.path).sort();
  for (const f of files) {
    assert.ok(
      /^(bin\/nicorn-py|dist\/[\w-]+\.js|python\/nicorn\/[\w/]+\.py|README\.md|package\.json)$/.test(f),
      `${f} does not belong in the package`,
    );
  }
  for (const need of ['bin/nicorn-py', 'dist/cli.js', 'dist/worker.js', 'dist/python-thread.js', 'dist/base-maker.js', 'python/nicorn/__init__.py']) {
    assert.ok(files.includes(need), `${need} is missing from the package`);
  }
  // Every chunk the entry points import is in the package.
  for (const entry of files.filter((f) => f.startsWith('dist/'))) {
    const code = fs.readFileSync(path.join(clone, entry), 'utf8');
    for (const m of code.matchAll(/(?:from |import\()"\.\/(chunk-[\w-]+\.js)"/g)) assert.ok(files.includes(`dist/${m[1]}`), `${entry} imports ${m[1]}`);
  }
  console.log(`  tarball ${packed.filename}: ${packed.size} bytes, ${files.length} files`);
});

test('the tarball installs into a fresh project and `npx nicorn-py` serves an app outside the repository', async () => {
  const deps = path.join(tmp, 'deps');
  fs.mkdirSync(deps);
  for (const dep of installedProductionDeps()) npm(['pack', path.join(ROOT, dep), '--pack-destination', deps], tmp);
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'fresh-project', private: true }));
  const tarballs = fs.readdirSync(deps).map((f) => path.join(deps, f));
  npm(['install', '--offline', '--no-package-lock', ...tarballs, path.join(tmp, packed.filename)], project);
  assert.ok(fs.existsSync(path.join(project, 'node_modules/.bin/nicorn-py')));

  const version = execFileSync('npx', ['nicorn-py', '--version'], { cwd: project, env: NPM_ENV, encoding: 'utf8', timeout: 60_000 });
  const pkgVersion = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const pyodideVersion = (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/pyodide/package.json'), 'utf8')) as { version: string }).version;
  assert.is(version.trim().split(', ')[0], `nicorn-py (version ${pkgVersion})`);
  assert.match(version, `Pyodide ${pyodideVersion}, Python 3.14.`);

  fs.mkdirSync(appDir);
  fs.writeFileSync(
    path.join(appDir, 'outside.py'),
    'import sys, greeting\n\ndef app(environ, start_response):\n' +
      '    start_response("200 OK", [("Content-Type", "text/plain")])\n' +
      '    return [(greeting.WORD + " from outside " + sys.version.split()[0] + " by " + sys.modules["nicorn"].__file__).encode()]\n',
  );
  // The installed copy's `install` subcommand puts the app's package into the app's .python_packages.
  const wheels = path.join(tmp, 'wheels');
  fs.mkdirSync(wheels);
  buildWheel(wheels, { name: 'greeting', version: '1.0', files: { 'greeting.py': 'WORD = "served"\n' } });
  const installedBin = path.join(project, 'node_modules/.bin/nicorn-py');
  execFileSync(installedBin, ['install', '--no-index', '--no-pyodide-index', '-f', wheels, 'greeting'], { cwd: appDir, encoding: 'utf8', timeout: 60_000 });
  assert.ok(fs.existsSync(path.join(appDir, '.python_packages/greeting-1.0.dist-info/RECORD')));
  const proc = spawn('npx', ['nicorn-py', '-b', '127.0.0.1:0', '--chdir', appDir, 'outside:app'], {
    cwd: project,
    env: NPM_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const arbiterPid = () => Number(/Listening at: \S+ \((\d+)\)/.exec(log)?.[1] ?? 0);
  const workerPids = () => [...log.matchAll(/Booting worker with pid: (\d+)/g)].map((m) => Number(m[1]));
  try {
    assert.ok(await eventually(() => /Booting worker/.test(log) || proc.exitCode !== null, 60_000), log);
    const port = Number(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
    let body = '';
    await eventually(async () => {
      try {
        body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
        return true;
      } catch {
        return false;
      }
    }, 60_000);
    // Served by the installed copy, not this checkout's.
    assert.is(body, `served from outside 3.14.${/3\.14\.(\d+)/.exec(body)?.[1]} by ${path.join(project, 'node_modules/nicorn-py/python/nicorn/__init__.py')}`);
  } finally {
    for (const pid of [arbiterPid(), ...workerPids(), proc.pid!]) {
      try {
        if (pid) process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await eventually(() => proc.exitCode !== null || proc.signalCode !== null, 15_000);
    for (const pid of [arbiterPid(), ...workerPids(), proc.pid!]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
