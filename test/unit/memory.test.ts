// What a worker process is started with, and serves under, to keep its memory down (src/runtime/memory.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { libc } from '../../src/runtime/host/libc.js';
import { settleMalloc, workerExecArgv } from '../../src/runtime/memory.js';

test('workers get the I/O thread young-generation cap after the arbiter\'s own node flags', () => {
  assert.equal(workerExecArgv([]), ['--max-semi-space-size=1']);
  assert.equal(workerExecArgv(['--enable-source-maps']), ['--enable-source-maps', '--max-semi-space-size=1']);
});

test('a semi-space size the user gave node is kept, not overridden', () => {
  assert.equal(workerExecArgv(['--max-semi-space-size=16']), ['--max-semi-space-size=16']);
});

/** The main arena's heap (brk), from /proc/self/maps. */
function brkHeap(): { start: bigint; end: bigint } {
  const line = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => l.endsWith('[heap]'))!;
  const [start, end] = line.split(' ')[0]!.split('-').map((h) => BigInt(`0x${h}`));
  return { start: start!, end: end! };
}

/** Set in the probe process of the test below. */
const PROBE_ENV = 'NICORN_MALLOC_PROBE';

/** Where a fresh 64 KiB block comes from: under glibc's default mmap threshold (128 KiB), the heap. */
function blockSource(): 'heap' | 'own mapping' {
  const lib = libc();
  const malloc = lib.func('void *malloc(size_t)');
  const free = lib.func('void free(void *)');
  const p = malloc(64 * 1024);
  const at = koffi.address(p) as bigint;
  free(p);
  const heap = brkHeap();
  return at >= heap.start && at < heap.end ? 'heap' : 'own mapping';
}

if (process.env[PROBE_ENV]) {
  const before = blockSource();
  const settled = settleMalloc({}).kind;
  process.stdout.write(JSON.stringify({ before, settled, after: blockSource() }));
  process.exit(0);
}

test("settleMalloc leaves a user's GLIBC_TUNABLES (even empty) alone", () => {
  assert.equal(settleMalloc({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }), { kind: 'kept' });
  assert.equal(settleMalloc({ GLIBC_TUNABLES: '' }), { kind: 'kept' });
});

test('settleMalloc: blocks of 32 KiB and more are then mapped apart from the heap, and so go back to the kernel when freed', () => {
  // In a fresh process (this file again, as a probe): this one's heap holds what earlier tests freed, which malloc reuses first.
  const probe = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, [PROBE_ENV]: '1' }, encoding: 'utf8' });
  assert.is(probe.status, 0, probe.stderr);
  assert.equal(JSON.parse(probe.stdout), { before: 'heap', settled: 'settled', after: 'own mapping' });
});

test.run();
