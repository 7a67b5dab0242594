// `nicorn-py install` against a real package index on 127.0.0.1 (PEP 503
// HTML and PEP 691 JSON) holding wheels built here: resolution (pins, ranges,
// markers, extras, backtracking, a conflict named), downloads checked against
// the published and the locked hashes (a tampered wheel is refused), a pip-style
// install, the lock, and a Flask app served from what was installed.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGES, runCli, startServer, type Run } from '../helpers/server.js';
import { buildWheel, serveIndex, wheelFromSite, type IndexServer } from '../helpers/pyindex.js';
import { pyodideLock } from '../../src/install/environment.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-install-')));
const wheels = path.join(tmp, 'wheels');
fs.mkdirSync(wheels);
let index: IndexServer;
let projectCount = 0;

/** A fresh project folder with these files. */
function project(files: Record<string, string> = {}): string {
  const dir = path.join(tmp, `project${++projectCount}`);
  fs.mkdirSync(dir);
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
  return dir;
}

/** Runs `nicorn-py install ARGS` in `cwd` against the test index (no other index, no Pyodide CDN). */
function install(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runCli(['install', '--no-pyodide-index', ...args], {
    cwd,
    env: { PIP_INDEX_URL: index.url, PIP_EXTRA_INDEX_URL: undefined, PIP_FIND_LINKS: undefined, ...env },
    timeoutMs: 60_000,
  });
}

/** name -> version of what .python_packages holds, from its .dist-info folders. */
function installed(dir: string): Record<string, string> {
  const site = path.join(dir, '.python_packages');
  const out: Record<string, string> = {};
  if (!fs.existsSync(site)) return out;
  for (const e of fs.readdirSync(site)) {
    const m = /^(.+)-([^-]+)\.dist-info$/.exec(e);
    if (m) out[m[1]!.toLowerCase().replace(/_/g, '-')] = m[2]!;
  }
  return out;
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const test = suite('nicorn-py install');

test.before(async () => {
  const w = (spec: Parameters<typeof buildWheel>[1]) => buildWheel(wheels, spec);
  w({ name: 'alpha', version: '1.0' });
  w({ name: 'alpha', version: '1.1' });
  w({ name: 'alpha', version: '2.0' });
  w({ name: 'alpha', version: '2.1rc1' });
  w({ name: 'beta', version: '1.0', requires: ['alpha<2'] });
  w({
    name: 'gamma',
    version: '1.0',
    extras: ['fancy'],
    requires: [
      'delta>=1; extra == "fancy"',
      'winonly; sys_platform == "win32"',
      'oldpy; python_version < "3.10"',
      'wasmdep; platform_machine == "wasm32" and sys_platform == "emscripten" and platform_system == "Emscripten"',
    ],
  });
  w({ name: 'delta', version: '1.2' });
  w({ name: 'wasmdep', version: '0.1' });
  w({ name: 'winonly', version: '1.0' });
  w({ name: 'oldpy', version: '1.0' });
  w({ name: 'shared', version: '1.0' });
  w({ name: 'shared', version: '2.0' });
  w({ name: 'needs-new-shared', version: '1.0', requires: ['shared>=2'] });
  // Only CPython-native builds, and a newer pure version that needs a future Python.
  w({ name: 'native', version: '1.0', tag: 'cp314-cp314-manylinux_2_17_x86_64' });
  w({ name: 'native', version: '1.0', tag: 'cp313-cp313-win_amd64' });
  w({ name: 'futurepy', version: '1.0' });
  w({ name: 'futurepy', version: '2.0', requiresPython: '>=3.15' });
  // Pyodide publishes a WebAssembly build of regex; the index has only a native one.
  w({ name: 'regex', version: '2026.3.32', tag: 'cp314-cp314-manylinux_2_17_x86_64' });
  index = await serveIndex(wheels, { requiresPython: { 'futurepy-2.0-py3-none-any.whl': '>=3.15' } });
});

test.after(async () => {
  await index?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('pins, ranges, newest final release, and backtracking past alpha 2.0 for beta', async () => {
  const cases: [string[], Record<string, string>][] = [
    [['alpha==1.0'], { alpha: '1.0' }],
    [['alpha>=1.0,<2'], { alpha: '1.1' }],
    [['alpha'], { alpha: '2.0' }],
    [['alpha>=2.1rc1'], { alpha: '2.1rc1' }],
    [['alpha~=1.0'], { alpha: '1.1' }],
    [['alpha!=2.0,!=1.1'], { alpha: '1.0' }],
    [['alpha', 'beta'], { alpha: '1.1', beta: '1.0' }],
    [['futurepy'], { futurepy: '1.0' }],
  ];
  for (const [args, want] of cases) {
    const dir = project();
    const r = await install(dir, ['--no-lock', ...args]);
    assert.is(r.code, 0, `${args.join(' ')}:\n${r.stdout}${r.stderr}`);
    assert.equal(installed(dir), want, args.join(' '));
  }
});

test('markers are evaluated for Python 3.14 on Emscripten/wasm32, and extras bring their dependencies', async () => {
  const plain = project();
  let r = await install(plain, ['--no-lock', 'gamma']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(installed(plain), { gamma: '1.0', wasmdep: '0.1' });
  const fancy = project();
  r = await install(fancy, ['--no-lock', 'gamma[fancy]', 'alpha; sys_platform == "linux"']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(installed(fancy), { gamma: '1.0', wasmdep: '0.1', delta: '1.2' });
});

test('a conflict names the package, each requirement on it and who made it, and the versions there are', async () => {
  const dir = project({ 'requirements.txt': 'shared==1.0\nneeds-new-shared\n' });
  const r = await install(dir, []);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^Error: cannot install shared: /);
  assert.match(r.stderr, 'shared==1.0 (requirements.txt line 1)');
  assert.match(r.stderr, 'shared>=2 (needs-new-shared 1.0)');
  assert.match(r.stderr, /Versions of shared with wheels for Python 3\.14 on Emscripten\/wasm32 \(Pyodide 314\.[\d.]+\): (2\.0, 1\.0|1\.0, 2\.0)/);
  assert.not.ok(fs.existsSync(path.join(dir, '.python_packages')), 'nothing is installed');
  const missing = await install(project(), ['--no-lock', 'alpha>=3']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, 'no version of alpha matches >=3 (versions found: 2.1rc1, 2.0, 1.1, 1.0)');
  const future = await install(project(), ['--no-lock', 'futurepy>=2']);
  assert.match(future.stderr, /futurepy 2\.0 requires Python >=3\.15 \(the workers run 3\.14\.\d+\)/);
  const unknown = await install(project(), ['--no-lock', 'no-such-thing']);
  assert.match(unknown.stderr, 'no package named no-such-thing was found');
});

test('a package with only CPython-native wheels fails naming it and its files', async () => {
  const r = await install(project(), ['--no-lock', 'native']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'native 1.0 has no wheel that Python 3.14 on Emscripten/wasm32');
  assert.match(r.stderr, 'native-1.0-cp314-cp314-manylinux_2_17_x86_64.whl');
  assert.match(r.stderr, "Pyodide's package index has no build of native");
});

test("Pyodide's package index is consulted for a WebAssembly build, with the file name and sha256 of pyodide-lock.json", async () => {
  const entry = pyodideLock().packages.regex!;
  // A local "Pyodide index" holding a file of that name that is not Pyodide's build: its bytes cannot have the locked hash.
  const fakeIndex = path.join(tmp, 'pyodide-index');
  fs.mkdirSync(fakeIndex);
  const built = buildWheel(fakeIndex, { name: 'regex', version: entry.version, tag: 'cp314-cp314-pyemscripten_2026_0_wasm32' });
  assert.is(built, entry.file_name);
  const dir = project();
  const r = await runCli(['install', '--no-lock', '--pyodide-index-url', fakeIndex, 'regex'], {
    cwd: dir,
    env: { PIP_INDEX_URL: index.url },
    timeoutMs: 60_000,
  });
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, `${entry.file_name} from Pyodide's package index: sha256 ${sha256(path.join(fakeIndex, built))} does not match the hash the index published (${entry.sha256}); the file was refused`);
  assert.equal(installed(dir), {});
});

test('a tampered wheel is refused and nothing is installed', async () => {
  const file = fs.readdirSync(wheels).find((f) => f.startsWith('delta-'))!;
  const good = fs.readFileSync(path.join(wheels, file));
  const bad = Buffer.from(good);
  bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0xff;
  index.tamper.set(file, bad);
  try {
    const dir = project();
    const r = await install(dir, ['--no-lock', 'alpha', 'delta']);
    assert.is(r.code, 1);
    assert.match(r.stderr, `Error: ${file} from ${index.url}: sha256 ${crypto.createHash('sha256').update(bad).digest('hex')} does not match the hash the index published (${sha256(path.join(wheels, file))}); the file was refused`);
    assert.equal(installed(dir), {});
  } finally {
    index.tamper.delete(file);
  }
});

test('installs as pip does: RECORD, INSTALLER, REQUESTED; the lock pins versions and hashes, which are checked', async () => {
  const dir = project({ 'requirements.txt': '# the app\nbeta  # needs alpha<2\n' });
  let r = await install(dir, []);
  assert.is(r.code, 0, r.stderr);
  assert.equal(installed(dir), { alpha: '1.1', beta: '1.0' });
  const site = path.join(dir, '.python_packages');
  const info = path.join(site, 'beta-1.0.dist-info');
  assert.is(fs.readFileSync(path.join(info, 'INSTALLER'), 'utf8'), 'nicorn-py\n');
  assert.ok(fs.existsSync(path.join(info, 'REQUESTED')), 'beta was asked for');
  assert.not.ok(fs.existsSync(path.join(site, 'alpha-1.1.dist-info/REQUESTED')), 'alpha came as a dependency');
  const record = fs.readFileSync(path.join(info, 'RECORD'), 'utf8').trim().split('\n');
  const betaPy = fs.readFileSync(path.join(site, 'beta.py'));
  assert.ok(record.includes(`beta.py,sha256=${crypto.createHash('sha256').update(betaPy).digest('base64url')},${betaPy.length}`), record.join('\n'));
  assert.ok(record.includes('beta-1.0.dist-info/RECORD,,'));
  const lock = fs.readFileSync(path.join(dir, 'requirements.lock'), 'utf8');
  for (const [name, v] of [['alpha', '1.1'], ['beta', '1.0']]) {
    assert.match(lock, `${name}==${v} \\\n    --hash=sha256:${sha256(path.join(wheels, `${name}-${v}-py3-none-any.whl`))}`);
  }

  // A newer alpha 1.2 appears: the lock keeps 1.1; --upgrade takes 1.2.
  const newer = buildWheel(wheels, { name: 'alpha', version: '1.2' });
  try {
    r = await install(dir, []);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, '0 installed, 2 unchanged');
    assert.equal(installed(dir), { alpha: '1.1', beta: '1.0' });
    // A locked file whose bytes changed (republished with a new hash on the index) is refused in a fresh folder.
    const fresh = project({ 'requirements.txt': 'beta\n', 'requirements.lock': fs.readFileSync(path.join(dir, 'requirements.lock'), 'utf8') });
    const alpha11 = path.join(wheels, 'alpha-1.1-py3-none-any.whl');
    const original = fs.readFileSync(alpha11);
    buildWheel(wheels, { name: 'alpha', version: '1.1', files: { 'alpha.py': 'print("not what was locked")\n' } });
    try {
      r = await install(fresh, []);
      assert.is(r.code, 1);
      assert.match(r.stderr, /alpha-1\.1-py3-none-any\.whl: sha256 [0-9a-f]{64} matches none of the required hashes/);
      assert.equal(installed(fresh), {});
    } finally {
      fs.writeFileSync(alpha11, original);
    }
    r = await install(dir, ['--upgrade']);
    assert.is(r.code, 0, r.stderr);
    assert.equal(installed(dir), { alpha: '1.2', beta: '1.0' });
    assert.match(fs.readFileSync(path.join(dir, 'requirements.lock'), 'utf8'), `alpha==1.2 \\\n    --hash=sha256:${sha256(path.join(wheels, newer))}`);
    // A requirement dropped: what only it needed leaves the folder, by its RECORD.
    fs.writeFileSync(path.join(dir, 'requirements.txt'), 'alpha<2\n');
    r = await install(dir, []);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, 'Removed beta 1.0 (no longer required)');
    assert.equal(installed(dir), { alpha: '1.2' });
    assert.not.ok(fs.existsSync(path.join(site, 'beta.py')));
    assert.not.ok(fs.readFileSync(path.join(dir, 'requirements.lock'), 'utf8').includes('beta=='));
  } finally {
    fs.rmSync(path.join(wheels, newer));
  }
});

test('PEP 691 JSON and PEP 503 HTML answer alike; --find-links, --index-url, --extra-index-url and pyproject.toml are read', async () => {
  const viaJson = project();
  let r = await install(viaJson, ['--no-lock', 'beta']);
  assert.is(r.code, 0, r.stderr);
  index.htmlOnly = true;
  const viaHtml = project();
  try {
    r = await install(viaHtml, ['--no-lock', 'beta']);
    assert.is(r.code, 0, r.stderr);
  } finally {
    index.htmlOnly = false;
  }
  assert.equal(installed(viaHtml), installed(viaJson));
  // A folder of wheels, no index at all.
  const links = path.join(tmp, 'links');
  fs.mkdirSync(links);
  buildWheel(links, { name: 'localonly', version: '0.3' });
  const local = project({ 'requirements.txt': `--find-links ${links}\nlocalonly\n` });
  r = await install(local, ['--no-index']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(installed(local), { localonly: '0.3' });
  // -i on the command line wins over PIP_INDEX_URL; an extra index adds to it.
  const flags = project();
  r = await install(flags, ['--no-lock', '-i', 'http://127.0.0.1:9/nothing/', '--extra-index-url', index.url, 'delta'], { PIP_INDEX_URL: 'http://127.0.0.1:9/x/' });
  assert.is(r.code, 1, 'an index that cannot be reached is an error, not an empty answer');
  assert.match(r.stderr, 'cannot reach http://127.0.0.1:9/nothing/delta/');
  // PIP_EXTRA_INDEX_URL adds to PIP_INDEX_URL (here a local folder index without the project).
  const viaEnv = project();
  r = await install(viaEnv, ['--no-lock', 'delta'], { PIP_INDEX_URL: `file://${path.join(tmp, 'no-index')}/`, PIP_EXTRA_INDEX_URL: index.url });
  assert.is(r.code, 0, r.stderr);
  assert.equal(installed(viaEnv), { delta: '1.2' });
  r = await install(flags, ['--no-lock', '--find-links', links, '-i', index.url, 'delta', 'localonly']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(installed(flags), { delta: '1.2', localonly: '0.3' });
  // pyproject.toml's [project] dependencies, and an extra.
  const pp = project({
    'pyproject.toml':
      '[build-system]\nrequires = ["setuptools"]\n\n[project]\nname = "myapp"\nversion = "0.1"\n' +
      "dependencies = [\n  'alpha>=1,<2',  # a comment\n  \"gamma\",\n]\n\n[project.optional-dependencies]\nfancy = [\"gamma[fancy]\"]\n",
  });
  r = await install(pp, ['--no-lock']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(installed(pp), { alpha: '1.1', gamma: '1.0', wasmdep: '0.1' });
  r = await install(pp, ['--no-lock', '-r', 'pyproject.toml', '--extra', 'fancy']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(installed(pp), { alpha: '1.1', gamma: '1.0', wasmdep: '0.1', delta: '1.2' });
});

test('usage: unknown flags exit 2; nothing to install says how to serve a module named install', async () => {
  const dir = project();
  let r = await runCli(['install', '--bogus'], { cwd: dir });
  assert.is(r.code, 2);
  assert.match(r.stderr, "unknown option '--bogus'");
  r = await runCli(['install'], { cwd: dir });
  assert.is(r.code, 1);
  assert.match(r.stderr, 'write install:application');
  r = await runCli(['install', '--no-lock', '-r', 'requirements.txt'], { cwd: project({ 'requirements.txt': '-e .\n' }) });
  assert.is(r.code, 1);
  assert.match(r.stderr, "requirements.txt line 1: '-e' is not supported by nicorn-py install");
  // Only the first word is the subcommand: after an option, `install` is an app module as in Gunicorn.
  const app = project({ 'install.py': 'def application(environ, start_response):\n    start_response("200 OK", [])\n    return [b""]\n' });
  r = await runCli(['--check-config', 'install'], { cwd: app, timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(fs.existsSync(path.join(app, '.python_packages')));
});

test("Flask's requirements install from the local index and the app serves with them (no --pythonpath)", async () => {
  const flaskWheels = path.join(tmp, 'flask-wheels');
  fs.mkdirSync(flaskWheels);
  for (const name of ['flask', 'werkzeug', 'jinja2', 'markupsafe', 'itsdangerous', 'click', 'blinker']) wheelFromSite(PACKAGES, name, flaskWheels);
  const flaskIndex = await serveIndex(flaskWheels);
  const app = project({
    'requirements.txt': 'flask>=3.1\n',
    'app.py':
      'import importlib.metadata, flask\napp = flask.Flask(__name__)\n\n@app.get("/")\ndef index():\n' +
      '    return {"flask": importlib.metadata.version("flask"), "file": flask.__file__, "werkzeug": importlib.metadata.version("werkzeug")}\n',
  });
  let server;
  try {
    const started = process.hrtime.bigint();
    const r = await runCli(['install', '--no-pyodide-index'], { cwd: app, env: { PIP_INDEX_URL: flaskIndex.url }, timeoutMs: 120_000 });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.is(r.code, 0, r.stdout + r.stderr);
    console.log(`  Flask's requirements installed from the local index in ${ms.toFixed(0)} ms (CLI start included): ${r.stdout.trim().split('\n').pop()}`);
    assert.equal(Object.keys(installed(app)).sort(), ['blinker', 'click', 'flask', 'itsdangerous', 'jinja2', 'markupsafe', 'werkzeug']);
    server = await startServer(['--chdir', app, 'app:app'], { cwd: app });
    const body = (await (await fetch(`${server.url}/`)).json()) as { flask: string; file: string; werkzeug: string };
    assert.is(body.flask, installed(app).flask);
    assert.is(body.werkzeug, installed(app).werkzeug);
    assert.is(body.file, path.join(app, '.python_packages/flask/__init__.py'));
  } finally {
    await server?.stop();
    await flaskIndex.close();
  }
});

test.run();
