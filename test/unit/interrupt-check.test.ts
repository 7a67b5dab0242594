// src/runtime/host/wait.ts's patchInterruptCheck: CPython's look at the
// interrupt buffer takes a flag raised from another thread exactly once, never
// overwrites one unread. The e2e side (--timeout's ABRT in `while True: pass`
// runs worker_abort): test/e2e/arbiter.test.ts and hooks.test.ts.

import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { patchInterruptCheck, watchInterrupts } from '../../src/runtime/host/wait.js';

const RAISES = 200_000;

// The I/O thread's part: raise the flag (6, ABRT), wait until it is taken,
// raise it again; slot 1 counts the raises, slot 2 says it is done.
const RAISER = `
const { workerData } = require('node:worker_threads');
const flags = new Int32Array(workerData);
for (let i = 0; i < ${RAISES}; i++) {
  Atomics.store(flags, 0, 6);
  Atomics.add(flags, 1, 1);
  while (Atomics.load(flags, 0) !== 0) {}
}
Atomics.store(flags, 2, 1);
`;

test('a flag raised from another thread is taken once per raise, none overwritten unread', async () => {
  const imports: Record<string, unknown> = {};
  patchInterruptCheck(imports);
  const check = imports._Py_CheckEmscriptenSignals_Helper as () => number;
  const sab = new SharedArrayBuffer(12);
  const flags = new Int32Array(sab);
  // Before the buffer is watched (pyodide.setInterruptBuffer not called yet): nothing to take.
  assert.is(check(), 0);
  watchInterrupts(flags.subarray(0, 1));
  const raiser = new Worker(RAISER, { eval: true, workerData: sab });
  let taken = 0;
  // The eval loop's part: look, as CPython does every 50 checks, until the raiser is done
  // (or, with a check that never takes the flag, until the deadline: the raiser would wait for ever).
  const deadline = performance.now() + 30_000;
  while (Atomics.load(flags, 2) === 0 && performance.now() < deadline) {
    const signal = check();
    if (signal !== 0) {
      assert.is(signal, 6);
      taken++;
    }
  }
  await raiser.terminate();
  // Pyodide's own helper (read, then write 0) took 142,820 of the 200,000 raises here.
  assert.is(Atomics.load(flags, 1), RAISES);
  assert.is(taken, RAISES);
  assert.is(check(), 0);
});

test.run();
