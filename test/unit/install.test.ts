// The installer's parts: PEP 440 versions and specifiers, PEP 508 markers and
// requirements, requirements files, pyproject.toml, wheel names and tags,
// zip reading; the marker values against the runtime's own answers; and the
// project's .python_packages on the workers' sys.path.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootPyodide, hostLayout } from '../../src/runtime/boot.js';
import { targetPython } from '../../src/install/environment.js';
import { evaluateMarker, parseMarker } from '../../src/install/markers.js';
import { parseToml, readPyproject } from '../../src/install/pyproject.js';
import { parseRequirement, readRequirementsFile } from '../../src/install/requirements.js';
import { contains, parseSpecifiers } from '../../src/install/specifiers.js';
import { compareVersions, normalVersion, parseVersion } from '../../src/install/versions.js';
import { parseWheelName, tagRank } from '../../src/install/wheels.js';
import { readZip } from '../../src/install/zip.js';
import { zip } from '../helpers/pyindex.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-install-unit-')));

test('versions: PEP 440 order (dev < pre < final < post; epochs; locals) and normal forms', () => {
  const order = ['1.0.dev1', '1.0a1', '1.0a2.dev1', '1.0a2', '1.0b1', '1.0rc1', '1.0', '1.0+local.1', '1.0.post1.dev1', '1.0.post1', '1.1', '1.10', '2!0.1'];
  for (let i = 1; i < order.length; i++) {
    assert.is(compareVersions(parseVersion(order[i - 1]!), parseVersion(order[i]!)), -1, `${order[i - 1]} < ${order[i]}`);
  }
  assert.is(compareVersions(parseVersion('1.0'), parseVersion('1.0.0')), 0);
  assert.is(normalVersion(parseVersion('1.0-RC-1')), '1.0rc1');
  assert.is(normalVersion(parseVersion('v1.0-1')), '1.0.post1');
  assert.is(normalVersion(parseVersion('1.0.alpha.2')), '1.0a2');
  assert.throws(() => parseVersion('1.0-foo'), /invalid version: '1.0-foo'/);
});

test('specifiers: the operators as packaging has them, pre-releases only when named', () => {
  const cases: [string, string, boolean][] = [
    ['>=1.0,<2', '1.5', true],
    ['>=1.0,<2', '2.0', false],
    ['<2', '2.0rc1', false],
    ['<2', '2.0rc1', false],
    ['>=2.0rc1', '2.0rc2', true],
    ['~=1.4.2', '1.4.9', true],
    ['~=1.4.2', '1.5', false],
    ['~=1.4', '1.9', true],
    ['==1.4.*', '1.4.7', true],
    ['==1.4.*', '1.40', false],
    ['!=1.4.*', '1.5', true],
    ['==1.0', '1.0+local', true],
    ['==1.0+local', '1.0', false],
    ['>1.0', '1.0.post1', false],
    ['>1.0.post0', '1.0.post1', true],
    ['===1.0', '1.0', true],
    ['===1.0', '1.0.0', false],
    ['', '3.0', true],
  ];
  for (const [spec, v, want] of cases) assert.is(contains(parseSpecifiers(spec), parseVersion(v)), want, `${v} in '${spec}'`);
  assert.throws(() => parseSpecifiers('>=1.*'), /only allowed with == and !=/);
  assert.throws(() => parseSpecifiers('~=1'), /two release segments/);
});

test('markers: evaluated for the workers (emscripten, wasm32, 3.14), versions as versions, extras by normal name', () => {
  const env = targetPython().markers;
  const cases: [string, boolean][] = [
    ['sys_platform == "emscripten"', true],
    ['sys_platform == "linux" or sys_platform == "win32"', false],
    ['platform_machine == "wasm32" and os_name == "posix"', true],
    ['python_version >= "3.10"', true],
    ['python_version < "3.9"', false],
    ['python_version > "3.9"', true],
    ['python_full_version >= "3.14.0"', true],
    ['implementation_name == "cpython" and platform_python_implementation == "CPython"', true],
    ['platform_system == "Emscripten"', true],
    ['"wasm" in platform_machine', true],
    ['"x86" not in platform_machine', true],
    ['(sys_platform == "win32" or os.name == "posix") and python_version != "3.13"', true],
  ];
  for (const [m, want] of cases) assert.is(evaluateMarker(parseMarker(m), env), want, m);
  assert.is(evaluateMarker(parseMarker('extra == "Socks_Proxy"'), env, 'socks-proxy'), true);
  assert.is(evaluateMarker(parseMarker('extra == "socks"'), env, ''), false);
  assert.throws(() => parseMarker('sys_platform = "x"'), /invalid marker/);
  assert.throws(() => parseMarker('os_nme == "posix"'), /unknown variable os_nme/);
});

test('the marker values are those of the runtime the workers boot', async () => {
  const py = await bootPyodide(hostLayout(tmp, []));
  const got = JSON.parse(
    py.runPython(`
import json, os, platform, sys
json.dumps(dict(os_name=os.name, sys_platform=sys.platform, platform_machine=platform.machine(),
  platform_python_implementation=platform.python_implementation(), platform_release=platform.release(),
  platform_system=platform.system(), platform_version=platform.version(),
  python_version=".".join(platform.python_version_tuple()[:2]), python_full_version=platform.python_version(),
  implementation_name=sys.implementation.name,
  implementation_version="{0.major}.{0.minor}.{0.micro}".format(sys.implementation.version)))
`) as string,
  ) as Record<string, string>;
  assert.equal(targetPython().markers, got);
  // The most specific wheel tag is for the interpreter's own ABI (SOABI cpython-314-wasm32-emscripten).
  const soabi = py.runPython('import sysconfig; sysconfig.get_config_var("SOABI")') as string;
  const [, minor] = /^cpython-3(\d+)-wasm32-emscripten$/.exec(soabi)!;
  assert.match(targetPython().tags[0]!, new RegExp(`^cp3${minor}-cp3${minor}-pyemscripten_\\d+_\\d+_wasm32$`));
});

test('requirements: names, extras, specifiers, markers, URLs; requirements files with -r, options, --hash and comments', () => {
  const r = parseRequirement('Flask_Login[Extra1, extra2] (>=0.6,<1) ; python_version >= "3.8"', 'x');
  assert.is(r.key, 'flask-login');
  assert.equal(r.extras, ['extra1', 'extra2']);
  assert.is(r.specifiers.length, 2);
  assert.ok(r.marker);
  const u = parseRequirement('pkg @ https://example.test/pkg-1.0-py3-none-any.whl ; sys_platform == "emscripten"', 'x');
  assert.is(u.url, 'https://example.test/pkg-1.0-py3-none-any.whl');
  assert.throws(() => parseRequirement('flask >= ', 'requirements.txt line 4'), /requirements.txt line 4: invalid requirement 'flask >='/);
  fs.writeFileSync(path.join(tmp, 'base.txt'), '--extra-index-url https://extra.test/simple\nclick>=8 \\\n  --hash=sha256:' + 'ab'.repeat(32) + '\n');
  fs.writeFileSync(path.join(tmp, 'req.txt'), '# app\n-r base.txt\n-i https://idx.test/simple\n--find-links ./wheels\nflask==3.1.1  # pinned\n\n');
  const file = readRequirementsFile(path.join(tmp, 'req.txt'));
  assert.equal(file.requirements.map((q) => q.key), ['click', 'flask']);
  assert.equal(file.requirements[0]!.hashes, ['ab'.repeat(32)]);
  assert.match(file.requirements[1]!.source, /req.txt line 5$/);
  assert.is(file.sources.indexUrl, 'https://idx.test/simple');
  assert.equal(file.sources.extraIndexUrls, ['https://extra.test/simple']);
  assert.equal(file.sources.findLinks, [path.join(tmp, 'wheels')]);
  fs.writeFileSync(path.join(tmp, 'loop.txt'), '-r loop.txt\n');
  assert.throws(() => readRequirementsFile(path.join(tmp, 'loop.txt')), /included from itself/);
});

test('pyproject.toml: [project] dependencies and optional-dependencies through a TOML reader', () => {
  const doc = parseToml(
    'title = "x" # c\n[a.b]\nc = 1\nd = [1, [2, 3], {e = "f"}]\n"q.k" = \'lit\\n\'\nm = """\nline1\nline2"""\n[[arr]]\nx = true\n[[arr]]\nx = false\n',
  );
  assert.equal(doc, { title: 'x', a: { b: { c: 1, d: [1, [2, 3], { e: 'f' }], 'q.k': 'lit\\n', m: 'line1\nline2' } }, arr: [{ x: true }, { x: false }] });
  const file = path.join(tmp, 'pyproject.toml');
  fs.writeFileSync(file, '[project]\nname = "app"\ndependencies = ["flask>=3", "redis; sys_platform != \'win32\'"]\n[project.optional-dependencies]\nDB = ["pg8000"]\n');
  assert.equal(readPyproject(file, ['db']).map((r) => r.key), ['flask', 'redis', 'pg8000']);
  assert.throws(() => readPyproject(file, ['nope']), /no optional-dependencies named 'nope' \(has: db\)/);
  fs.writeFileSync(file, '[project]\nname = "app"\ndynamic = ["dependencies"]\n');
  assert.throws(() => readPyproject(file), /dependencies are dynamic/);
});

test("wheel names and tags: pure and Pyodide builds load, CPython's native builds do not", () => {
  const tags = targetPython().tags;
  const ok = ['a-1-py3-none-any.whl', 'a-1-py2.py3-none-any.whl', 'a-1-cp314-none-any.whl', 'a-1-cp314-cp314-pyemscripten_2026_0_wasm32.whl', 'a-1-cp312-abi3-pyemscripten_2026_0_wasm32.whl'];
  const no = ['a-1-cp314-cp314-manylinux_2_17_x86_64.whl', 'a-1-cp313-cp313-pyemscripten_2026_0_wasm32.whl', 'a-1-py2-none-any.whl', 'a-1-cp314-cp314-pyemscripten_2025_0_wasm32.whl'];
  for (const f of ok) assert.ok(tagRank(parseWheelName(f)!.tags, tags) >= 0, f);
  for (const f of no) assert.is(tagRank(parseWheelName(f)!.tags, tags), -1, f);
  // A build for this platform is preferred to a pure one.
  assert.ok(tagRank(parseWheelName(ok[3]!)!.tags, tags) < tagRank(parseWheelName(ok[0]!)!.tags, tags));
  assert.equal(parseWheelName('Foo_Bar-1.0-1build-py3-none-any.whl'), { key: 'foo-bar', version: '1.0', build: '1build', tags: ['py3-none-any'] });
});

test('zip: entries read back; a damaged entry fails its CRC check', () => {
  const buf = zip([['a/b.py', Buffer.from('print(1)\n')], ['c.txt', Buffer.from('x'.repeat(1000))]]);
  const entries = readZip(buf, 'w.whl');
  assert.equal(entries.map((e) => [e.name, e.read().toString().length]), [['a/b.py', 9], ['c.txt', 1000]]);
  const stored = zip([['m', Buffer.from('hello hello hello hello')]]);
  const bad = Buffer.from(stored);
  bad[35] = bad[35]! ^ 1;
  assert.throws(() => readZip(bad, 'w.whl')[0]!.read(), /^w\.whl is not a valid wheel \(zip\): m is damaged/);
});

test("hostLayout: the project's .python_packages is a site dir, ahead of a .venv's", () => {
  const root = path.join(tmp, 'proj');
  const venvSite = path.join(root, '.venv/lib/python3.12/site-packages');
  fs.mkdirSync(venvSite, { recursive: true });
  fs.writeFileSync(path.join(root, '.venv/pyvenv.cfg'), 'home = /usr/bin\n');
  const saved = process.env.VIRTUAL_ENV;
  delete process.env.VIRTUAL_ENV;
  try {
    assert.equal(hostLayout(root, []).siteDirs, [venvSite]);
    fs.mkdirSync(path.join(root, '.python_packages'));
    assert.equal(hostLayout(root, []).siteDirs, [path.join(root, '.python_packages'), venvSite]);
  } finally {
    if (saved !== undefined) process.env.VIRTUAL_ENV = saved;
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
