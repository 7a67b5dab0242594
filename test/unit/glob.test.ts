// reload_extra_files' patterns are expanded as Python's glob.glob(pattern,
// recursive=True) expands them (Gunicorn 26.1): checked against the host's
// python3 on one tree, pattern by pattern.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { globSync, isGlobPattern } from '../../src/arbiter/glob.js';

const tree = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-glob-')));
for (const f of ['a.txt', 'b.txt', '.hidden.txt', 'c.html', 'x1.py', 'x2.py', 'xa.py', 'sub/d.txt', 'sub/deep/e.txt', 'sub/.dot/f.txt', '.env', 'br[k].txt']) {
  fs.mkdirSync(path.dirname(path.join(tree, f)), { recursive: true });
  fs.writeFileSync(path.join(tree, f), f);
}

const PATTERNS = ['*.txt', '.*', '*', 'x[0-9].py', 'x[!0-9].py', 'x?.py', '**/*.txt', 'sub/**', '**', 'sub/*/e.txt', 'nothing*', 'br[[]k].txt', 'sub/**/*.txt', `${tree}/sub/*.txt`];

function pythonGlob(patterns: string[]): string[][] | null {
  const code = 'import glob, json, os, sys\nos.chdir(sys.argv[1])\nprint(json.dumps([sorted(os.path.abspath(p) for p in glob.glob(x, recursive=True)) for x in json.loads(sys.argv[2])]))';
  const r = spawnSync('python3', ['-c', code, tree, JSON.stringify(patterns)], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return JSON.parse(r.stdout) as string[][];
}

test('isGlobPattern: *, ? or [ makes a pattern, as util.is_glob_pattern', () => {
  assert.ok(isGlobPattern('templates/*.html'));
  assert.ok(isGlobPattern('a?.txt'));
  assert.ok(isGlobPattern('x[0-9]'));
  assert.not.ok(isGlobPattern('/etc/app.conf'));
});

test("globSync matches python3's glob.glob(recursive=True) on the same tree", () => {
  const expected = pythonGlob(PATTERNS);
  if (expected === null) {
    console.warn('  (skipped: no python3 on this host)');
    return;
  }
  PATTERNS.forEach((p, i) => {
    // Python keeps a trailing slash for the directory a final ** matches itself; the path is the same.
    const want = [...new Set(expected[i]!.map((f) => f.replace(/\/$/, '')))].sort();
    assert.equal(globSync(p, tree), want, p);
  });
});

test.after(() => fs.rmSync(tree, { recursive: true, force: true }));

test.run();
