// The pure parts of the host's file layer: which of the host's root the
// interpreter shows, sys.prefix from a venv, open(2) flags by name, and
// nanosecond times split as struct timespec holds them.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { INTERPRETER_ROOT, SYSTEM_PREFIX, hostLayout, hostRoot, pythonPrefix, venvBasePrefix } from '../../src/runtime/layout.js';
import { hostOpenFlags } from '../../src/runtime/host/permissions.js';
import { splitNs } from '../../src/runtime/host/stat.js';

const test = suite('host files');

test('hostRoot: directories to mount and links to make, the interpreter\'s own entries left out', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-root-'));
  try {
    for (const d of ['usr', 'etc', 'lib', 'dev', 'proc', 'home']) fs.mkdirSync(path.join(root, d));
    fs.symlinkSync('usr/bin', path.join(root, 'bin'));
    fs.symlinkSync('usr/lib', path.join(root, 'lib64'));
    fs.writeFileSync(path.join(root, '.dockerenv'), '');
    const got = hostRoot(root);
    assert.equal(got.dirs.sort(), ['etc', 'home', 'usr'].map((d) => path.join(root, d)));
    assert.equal(
      got.links.sort((a, b) => a.path.localeCompare(b.path)),
      [
        { path: path.join(root, 'bin'), target: 'usr/bin' },
        { path: path.join(root, 'lib64'), target: 'usr/lib' },
      ],
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('hostLayout: every host directory of / is mounted, none of INTERPRETER_ROOT, nothing nested twice', () => {
  const layout = hostLayout(process.cwd(), []);
  for (const e of fs.readdirSync('/', { withFileTypes: true })) {
    if (e.isDirectory() && !INTERPRETER_ROOT.has(e.name)) assert.ok(layout.mounts.includes(`/${e.name}`), `/${e.name}`);
  }
  for (const name of INTERPRETER_ROOT) assert.not.ok(layout.mounts.includes(`/${name}`), `/${name}`);
  assert.not.ok(layout.mounts.includes('/'));
  for (const m of layout.mounts) assert.not.ok(layout.mounts.some((o) => o !== m && m.startsWith(o + '/')), `${m} is nested`);
  if (fs.existsSync('/dev/shm')) assert.ok(layout.mounts.includes('/dev/shm'));
});

test('sys.prefix: the venv, with its home\'s prefix as base; /usr without one', () => {
  assert.is(venvBasePrefix('home = /usr/bin\ninclude-system-site-packages = false\n'), '/usr');
  assert.is(venvBasePrefix('home=/opt/python/3.13/bin\n'), '/opt/python/3.13');
  assert.is(venvBasePrefix('version = 3.13\n'), SYSTEM_PREFIX);
  assert.equal(pythonPrefix(null), { prefix: '/usr', basePrefix: '/usr' });
  const venv = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-venv-'));
  try {
    fs.writeFileSync(path.join(venv, 'pyvenv.cfg'), 'home = /usr/local/bin\n');
    assert.equal(pythonPrefix(venv), { prefix: venv, basePrefix: '/usr/local' });
  } finally {
    fs.rmSync(venv, { recursive: true, force: true });
  }
});

test('open(2) flags are mapped by name; O_CLOEXEC and O_LARGEFILE are implied; O_PATH is left to Emscripten', () => {
  const c = fs.constants;
  assert.is(hostOpenFlags(0o1 | 0o100 | 0o200 | 0o2000000 | 0o100000), c.O_WRONLY | c.O_CREAT | c.O_EXCL);
  assert.is(hostOpenFlags(0o2 | 0o1000 | 0o2000), c.O_RDWR | c.O_TRUNC | c.O_APPEND);
  assert.is(hostOpenFlags(0o4010000), c.O_SYNC);
  assert.is(hostOpenFlags(0o10000), c.O_DSYNC);
  assert.is(hostOpenFlags(0o200000 | 0o400000), c.O_DIRECTORY | c.O_NOFOLLOW);
  // Another host's numbering (arm64's O_DIRECTORY and O_NOFOLLOW) is used by name.
  assert.is(hostOpenFlags(0o200000 | 0o400000, { ...c, O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000 } as never), 0o40000 | 0o100000);
  assert.is(hostOpenFlags(0o10000000), null);
});

test('nanoseconds split into seconds and 0..999999999, before 1970 too', () => {
  assert.equal(splitNs(1_700_000_000_123_456_789n), [1_700_000_000n, 123_456_789]);
  assert.equal(splitNs(0n), [0n, 0]);
  assert.equal(splitNs(-1n), [-1n, 999_999_999]);
  assert.equal(splitNs(-1_500_000_000n), [-2n, 500_000_000]);
});

test.run();
