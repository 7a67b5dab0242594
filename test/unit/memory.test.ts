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

/**
 * Of 8 blocks of 96 KiB held at once (under glibc's default mmap threshold,
 * 128 KiB), how many are mappings of their own rather than heap. Some may
 * still come from chunks the heap has free (malloc reuses those first): the
 * rest show the threshold.
 */
function ownMappings(): number {
  const lib = libc();
  const malloc = lib.func('void *malloc(size_t)');
  const free = lib.func('void free(void *)');
  const blocks = Array.from({ length: 8 }, () => malloc(96 * 1024));
  const heap = brkHeap();
  const own = blocks.filter((p) => {
    const at = koffi.address(p) as bigint;
    return at < heap.start || at >= heap.end;
  }).length;
  for (const p of blocks) free(p);
  return own;
}

if (process.env[PROBE_ENV]) {
  const before = ownMappings();
  const settled = settleMalloc({}).kind;
  process.stdout.write(JSON.stringify({ before, settled, after: ownMappings() }));
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
  const { before, settled, after } = JSON.parse(probe.stdout) as { before: number; settled: string; after: number };
  assert.is(settled, 'settled');
  assert.is(before, 0, 'before: every block from the heap');
  assert.ok(after >= 4, `after: ${after} of 8 blocks mapped apart`);
});

test.run();
