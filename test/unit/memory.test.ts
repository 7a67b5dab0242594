// What a worker process is started with to keep its memory down (src/runtime/memory.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MALLOC_TUNABLES, addedTunables, workerEnv, workerExecArgv } from '../../src/runtime/memory.js';

test('workers get the I/O thread young-generation cap after the arbiter\'s own node flags', () => {
  assert.equal(workerExecArgv([]), ['--max-semi-space-size=1']);
  assert.equal(workerExecArgv(['--enable-source-maps']), ['--enable-source-maps', '--max-semi-space-size=1']);
});

test('a semi-space size the user gave node is kept, not overridden', () => {
  assert.equal(workerExecArgv(['--max-semi-space-size=16']), ['--max-semi-space-size=16']);
});

test('workers get the malloc tunables unless GLIBC_TUNABLES is set (even to empty)', () => {
  assert.is(workerEnv({ PATH: '/bin' }).GLIBC_TUNABLES, MALLOC_TUNABLES);
  assert.is(workerEnv({ PATH: '/bin' }).PATH, '/bin');
  assert.is(workerEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES, 'glibc.malloc.arena_max=2');
  assert.is(workerEnv({ GLIBC_TUNABLES: '' }).GLIBC_TUNABLES, '');
});

test('addedTunables tells ours (hidden from the app) from the user\'s', () => {
  assert.ok(addedTunables(workerEnv({})));
  assert.not.ok(addedTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }));
  assert.not.ok(addedTunables({}));
});

test.run();
