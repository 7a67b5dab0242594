// Ring: the single-producer single-consumer byte ring over a SharedArrayBuffer.

import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../../src/bridge/ring.js';

const W = 0;
const R = 1;
/** A spare ctl slot the tests use as a "go" signal to the other thread. */
const GO = 4;
const CTL_SLOTS = 8;

function makeRing(capacity: number, start = 0): { ring: Ring; sab: SharedArrayBuffer; ctl: Int32Array } {
  const sab = new SharedArrayBuffer(CTL_SLOTS * 4 + capacity);
  const ctl = new Int32Array(sab, 0, CTL_SLOTS);
  ctl[W] = start;
  ctl[R] = start;
  const ring = new Ring(ctl, W, R, new Uint8Array(sab, CTL_SLOTS * 4, capacity));
  return { ring, sab, ctl };
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Reads everything currently in the ring. */
function drain(ring: Ring, max = 1 << 20): Uint8Array {
  const dst = new Uint8Array(max);
  const n = ring.read(dst);
  return dst.subarray(0, n);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `body` in a worker thread with the Ring class (the real compiled
 * source, not a copy) and the shared buffer. The worker waits for ctl[GO] to
 * become 1 before it acts, so the test can check that nothing happened early.
 */
function ringWorker(sab: SharedArrayBuffer, capacity: number, body: string): Worker {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const Ring = eval('(' + workerData.ringSrc + ')');
    const ctl = new Int32Array(workerData.sab, 0, ${CTL_SLOTS});
    const ring = new Ring(ctl, ${W}, ${R}, new Uint8Array(workerData.sab, ${CTL_SLOTS * 4}, ${capacity}));
    Atomics.wait(ctl, ${GO}, 0, 10000);
    ${body}
  `;
  return new Worker(code, { eval: true, workerData: { sab, ringSrc: Ring.toString() } });
}

function go(ctl: Int32Array): void {
  Atomics.store(ctl, GO, 1);
  Atomics.notify(ctl, GO);
}

test('bytes written come back out in order (round trip)', () => {
  const { ring } = makeRing(64);
  const src = bytes(40, 7);
  assert.is(ring.write(src), 40);
  assert.is(ring.used(), 40);
  assert.is(ring.free(), 24);
  const out = drain(ring);
  assert.equal(Array.from(out), Array.from(src));
  assert.is(ring.used(), 0);
  assert.is(ring.free(), 64);
});

test('a read may take fewer bytes than are buffered; the rest stays for the next read', () => {
  const { ring } = makeRing(16);
  ring.write(Uint8Array.from([1, 2, 3, 4, 5]));
  const a = new Uint8Array(2);
  assert.is(ring.read(a), 2);
  assert.equal(Array.from(a), [1, 2]);
  assert.equal(Array.from(drain(ring)), [3, 4, 5]);
});

test('data stays intact when a write wraps around the end of the buffer', () => {
  const cap = 64;
  const { ring } = makeRing(cap);
  const first = bytes((cap * 3) / 4, 1);
  assert.is(ring.write(first), 48);
  assert.equal(Array.from(drain(ring)), Array.from(first));
  // The write position is now 48: 16 bytes fit before the end, 16 wrap to 0.
  const second = bytes(cap / 2, 99);
  assert.is(ring.write(second), 32);
  assert.is(ring.used(), 32);
  assert.equal(Array.from(drain(ring)), Array.from(second));
});

test('a read that wraps around the end returns the bytes in order', () => {
  const { ring } = makeRing(8);
  ring.write(bytes(6, 0));
  drain(ring);
  const src = Uint8Array.from([10, 11, 12, 13, 14, 15, 16]);
  ring.write(src);
  const a = new Uint8Array(3);
  assert.is(ring.read(a), 3);
  assert.equal(Array.from(a), [10, 11, 12]);
  assert.equal(Array.from(drain(ring)), [13, 14, 15, 16]);
});

test('write copies only what fits and returns that count; a full ring accepts 0', () => {
  const { ring } = makeRing(16);
  const src = bytes(20, 3);
  assert.is(ring.write(src), 16);
  assert.is(ring.free(), 0);
  assert.is(ring.write(bytes(5, 4)), 0);
  assert.equal(Array.from(drain(ring)), Array.from(src.subarray(0, 16)));
});

test('read from an empty ring returns 0 and leaves the destination alone', () => {
  const { ring } = makeRing(16);
  const dst = new Uint8Array([9, 9, 9]);
  assert.is(ring.read(dst), 0);
  assert.equal(Array.from(dst), [9, 9, 9]);
  ring.write(Uint8Array.from([1]));
  drain(ring);
  assert.is(ring.read(dst), 0);
});

test('used()/free() stay right when the counters pass 2^31 (int32 sign flip)', () => {
  const cap = 1024;
  const { ring, ctl } = makeRing(cap, 0x7fffff00);
  assert.is(ring.used(), 0);
  const src = bytes(600, 5);
  assert.is(ring.write(src), 600);
  assert.ok(ctl[W]! < 0, 'the write counter really went past 2^31');
  assert.is(ring.used(), 600);
  assert.is(ring.free(), cap - 600);
  assert.is(ring.write(bytes(1000, 6)), cap - 600, 'only the free space is written');
  assert.is(ring.free(), 0);
  const out = drain(ring);
  assert.is(out.length, cap);
  assert.equal(Array.from(out.subarray(0, 600)), Array.from(src));
  assert.is(ring.used(), 0);
  assert.is(ring.free(), cap);
});

test('used()/free() stay right when the counters wrap past 2^32 back to 0', () => {
  const cap = 256;
  const { ring, ctl } = makeRing(cap, -100);
  const src = bytes(200, 8);
  assert.is(ring.write(src), 200);
  assert.is(ctl[W], 100, 'the write counter wrapped to a small positive number');
  assert.is(ring.used(), 200);
  assert.is(ring.free(), 56);
  assert.equal(Array.from(drain(ring)), Array.from(src));
  assert.is(ring.used(), 0);
});

test('constructor rejects a capacity that is not a power of two', () => {
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  for (const cap of [3, 100, 1000, 48]) {
    assert.throws(
      () => new Ring(ctl, 0, 1, new Uint8Array(new SharedArrayBuffer(cap))),
      /power of two/,
      `capacity ${cap}`,
    );
  }
  for (const cap of [1, 2, 64, 1 << 16]) new Ring(ctl, 0, 1, new Uint8Array(new SharedArrayBuffer(cap)));
});

test('dataAvailable() resolves at once when data is already buffered', async () => {
  const { ring } = makeRing(16);
  ring.write(Uint8Array.from([1]));
  await withTimeout(ring.dataAvailable(), 1000, 'dataAvailable');
});

test('spaceAvailable() resolves at once when the ring is not full', async () => {
  const { ring } = makeRing(16);
  ring.write(bytes(15, 0));
  await withTimeout(ring.spaceAvailable(), 1000, 'spaceAvailable');
});

test('dataAvailable() waits, then resolves when another thread writes (cross-thread notify)', async () => {
  const cap = 64;
  const { ring, sab, ctl } = makeRing(cap);
  const worker = ringWorker(sab, cap, `ring.write(Uint8Array.from([42, 43, 44]));`);
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    let resolved = false;
    const p = ring.dataAvailable().then(() => {
      resolved = true;
    });
    await tick(50);
    assert.not.ok(resolved, 'resolved before anything was written');
    go(ctl);
    await withTimeout(p, 3000, 'dataAvailable after the worker wrote');
    assert.equal(Array.from(drain(ring)), [42, 43, 44]);
  } finally {
    await worker.terminate();
  }
});

test('spaceAvailable() waits on a full ring, then resolves when another thread reads', async () => {
  const cap = 32;
  const { ring, sab, ctl } = makeRing(cap);
  assert.is(ring.write(bytes(cap, 1)), cap);
  const worker = ringWorker(sab, cap, `ring.read(new Uint8Array(5));`);
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    let resolved = false;
    const p = ring.spaceAvailable().then(() => {
      resolved = true;
    });
    await tick(50);
    assert.not.ok(resolved, 'resolved while the ring was full');
    go(ctl);
    await withTimeout(p, 3000, 'spaceAvailable after the worker read');
    assert.is(ring.free(), 5);
  } finally {
    await worker.terminate();
  }
});

test('waitForData() in another thread wakes when this thread writes', async () => {
  const cap = 64;
  const { ring, sab, ctl } = makeRing(cap);
  // The worker blocks in waitForData (its "Python" side), then reports what it read.
  const worker = ringWorker(
    sab,
    cap,
    `const t0 = Date.now();
     ring.waitForData(5000);
     const dst = new Uint8Array(8);
     const n = ring.read(dst);
     parentPort.postMessage({ n, bytes: Array.from(dst.subarray(0, n)), waited: Date.now() - t0 });`,
  );
  try {
    const reply = new Promise<{ n: number; bytes: number[]; waited: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    go(ctl);
    await tick(50);
    ring.write(Uint8Array.from([7, 8]));
    const r = await withTimeout(reply, 3000, 'the worker waking up');
    assert.equal(r.bytes, [7, 8]);
    assert.ok(r.waited < 4000, `woke by notify, not by timeout (${r.waited} ms)`);
  } finally {
    await worker.terminate();
  }
});

test.run();
