// src/runtime/host/locks.ts: struct flock between the interpreter and the
// host, and (in one booted interpreter) that the lock the host holds is the
// range Python asked for. Across processes: test/e2e/locks.test.ts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootPyodide, hostLayout } from '../../src/runtime/boot.js';
import {
  F_RDLCK,
  F_UNLCK,
  F_WRLCK,
  FLOCK_SIZE,
  SEEK_CUR,
  SEEK_SET,
  readFlock,
  retryDelayMs,
  toHostRequest,
  walRefusal,
  writeFlock,
  type Flock,
} from '../../src/runtime/host/locks.js';
import { libc } from '../../src/runtime/host/libc.js';
import { hostSleep } from '../../src/runtime/host/sqlite-sleep.js';
import { watchInterrupts } from '../../src/runtime/host/wait.js';

test('struct flock: written and read back field by field at 0, 2, 8, 16, 24', () => {
  const buf = Buffer.alloc(FLOCK_SIZE);
  const view = new DataView(buf.buffer, buf.byteOffset, FLOCK_SIZE);
  const f: Flock = { type: F_WRLCK, whence: 2, start: -5n, len: 1n << 40n, pid: 4242 };
  writeFlock(view, 0, f);
  assert.equal(readFlock(view, 0), f);
  assert.is(buf.readInt16LE(0), F_WRLCK);
  assert.is(buf.readInt16LE(2), 2);
  assert.is(buf.readBigInt64LE(8), -5n);
  assert.is(buf.readBigInt64LE(16), 1n << 40n);
  assert.is(buf.readInt32LE(24), 4242);
});

test('toHostRequest: SEEK_CUR becomes SEEK_SET at the interpreter’s file position; the pid is not passed on', () => {
  const asked: Flock = { type: F_RDLCK, whence: SEEK_CUR, start: -3n, len: 10n, pid: 7 };
  assert.equal(toHostRequest(asked, 100), { type: F_RDLCK, whence: SEEK_SET, start: 97n, len: 10n, pid: 0 });
  const set: Flock = { type: F_UNLCK, whence: SEEK_SET, start: 4n, len: 0n, pid: 7 };
  assert.equal(toHostRequest(set, 100), { ...set, pid: 0 });
});

test('retryDelayMs: 1, 2, 4, 8 ms, then 10 ms for as long as the wait lasts', () => {
  assert.equal([0, 1, 2, 3, 4, 5, 100].map(retryDelayMs), [1, 2, 4, 8, 10, 10, 10]);
});

test('walRefusal names the database, the limit and the way out', () => {
  const text = walRefusal('/srv/app/db.sqlite3');
  assert.match(text, /WAL mode on \/srv\/app\/db\.sqlite3/);
  assert.match(text, /db\.sqlite3-shm/);
  assert.match(text, /journal_mode=DELETE/);
});

test("SQLite's xSleep: sleeps the microseconds asked, and returns at once when a signal is pending", () => {
  let t0 = performance.now();
  assert.is(hostSleep(0, 30_000), 30_000);
  const slept = performance.now() - t0;
  assert.ok(slept >= 29.5 && slept < 500, `slept ${slept.toFixed(1)} ms`);
  const buffer = new Int32Array(new SharedArrayBuffer(4));
  watchInterrupts(buffer);
  try {
    Atomics.store(buffer, 0, 2);
    t0 = performance.now();
    hostSleep(0, 5_000_000);
    assert.ok(performance.now() - t0 < 100, 'a pending signal ends the sleep');
  } finally {
    Atomics.store(buffer, 0, 0);
  }
});

test('in an interpreter: fcntl.lockf takes the host lock on the range asked (SEEK_CUR included); F_GETLK answers; flock is the host’s', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-locks-unit-'));
  try {
    const file = path.join(dir, 'range.lock');
    const py = await bootPyodide(hostLayout(dir, []));
    // F_OFD_GETLK (36) from a descriptor of our own: open file description
    // locks conflict with the process's record locks, so the host shows
    // which range the interpreter's lockf() locked.
    const fcntl = libc().func('int fcntl(int, int, _Inout_ uint8_t *)') as unknown as (fd: number, cmd: number, arg: Buffer) => number;
    const ofdGetlk = (start: bigint, len: bigint): Flock => {
      const fd = fs.openSync(file, 'r+');
      try {
        const buf = Buffer.alloc(FLOCK_SIZE);
        const view = new DataView(buf.buffer, buf.byteOffset, FLOCK_SIZE);
        writeFlock(view, 0, { type: F_WRLCK, whence: SEEK_SET, start, len, pid: 0 });
        assert.is(fcntl(fd, 36, buf), 0, `F_OFD_GETLK: errno ${koffi.errno()}`);
        return readFlock(view, 0);
      } finally {
        fs.closeSync(fd);
      }
    };
    py.runPython(`
import fcntl, os
f = open(${JSON.stringify(file)}, "w+b")
f.write(b"x" * 200)
f.seek(100)
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 5, os.SEEK_CUR)
`);
    const held = ofdGetlk(0n, 0n);
    assert.is(held.type, F_WRLCK);
    assert.is(held.start, 105n, 'SEEK_CUR + 5 from position 100');
    assert.is(held.len, 10n);
    assert.is(ofdGetlk(0n, 105n).type, F_UNLCK, 'nothing before the range');
    assert.is(ofdGetlk(115n, 0n).type, F_UNLCK, 'nothing after it');
    py.runPython('fcntl.lockf(f, fcntl.LOCK_UN, 10, 105, os.SEEK_SET)');
    assert.is(ofdGetlk(0n, 0n).type, F_UNLCK, 'LOCK_UN released it');

    // flock(): this process's lock on another open file description of the same file conflicts.
    py.runPython('import nicorn.host.locks as locks\nlocks.install()\nfcntl.flock(f, fcntl.LOCK_EX)');
    const flock = libc().func('int flock(int, int)') as unknown as (fd: number, op: number) => number;
    const fd = fs.openSync(file, 'r');
    try {
      assert.is(flock(fd, 2 | 4), -1, 'the interpreter’s flock excludes another open of the file');
      py.runPython('fcntl.flock(f, fcntl.LOCK_UN)');
      assert.is(flock(fd, 2 | 4), 0, 'and LOCK_UN releases it');
      const refused = py.runPython(`
import errno
g = open(${JSON.stringify(file)}, "rb")
try:
    fcntl.flock(g, fcntl.LOCK_SH | fcntl.LOCK_NB)
    r = "locked"
except BlockingIOError as e:
    r = errno.errorcode[e.errno]
g.close()
r`) as string;
      assert.is(refused, 'EAGAIN', 'the interpreter is refused while the host holds it, with EAGAIN');
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
