// The error log: Gunicorn's line, the level, a file opened for append and
// reopened after a move (USR1), the Python thread's view of the same file,
// sinks, and Gunicorn's "isn't writable" error.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Settings } from '../../src/config/registry.js';
import { resolveSettings } from '../../src/config/settings.js';
import {
  ErrorLog, PythonThreadLog, daemonStdio, formatLine, levelFromPython, logTimestamp, pythonLogHost, pythonStdio,
} from '../../src/log/error-log.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-errorlog-'));
const base = resolveSettings({ wsgi_app: 'myapp:app' });
const settings = (over: Partial<Settings>): Settings => ({ ...base, chdir: tmp, ...over });
const LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\] .*$/;
const read = (f: string) => fs.readFileSync(f, 'utf8');

test("the line: '[%Y-%m-%d %H:%M:%S %z] [PID] [LEVEL] message'", () => {
  const d = new Date(2026, 10, 25, 9, 5, 7);
  assert.match(logTimestamp(d), /^\[2026-11-25 09:05:07 [+-]\d{4}\]$/);
  assert.is(formatLine('warning', 'hi', 42, d), `${logTimestamp(d)} [42] [WARNING] hi\n`);
  assert.is(levelFromPython('CRITICAL'), 'critical');
  assert.is(levelFromPython('Level 25'), 'warning');
});

test('--error-logfile: every level at or above --log-level, appended to the file', () => {
  const file = path.join(tmp, 'levels.log');
  fs.writeFileSync(file, 'existing line\n');
  const log = ErrorLog.fromSettings(settings({ errorlog: file, loglevel: 'info' }));
  log.debug('d');
  log.info('i');
  log.warning('w');
  log.error('e');
  log.critical('c');
  log.exception('x\nTraceback (most recent call last):\n  ...');
  const lines = read(file).split('\n');
  assert.is(lines[0], 'existing line');
  for (const l of lines.slice(1, 5)) assert.match(l, LINE);
  assert.equal(
    lines.slice(1, 6).map((l) => /\] \[([A-Z]+)\] (.*)$/.exec(l)?.slice(1).join(' ')),
    ['INFO i', 'WARNING w', 'ERROR e', 'CRITICAL c', 'ERROR x'],
  );
  assert.is(lines[6], 'Traceback (most recent call last):');
  assert.ok(lines[5]!.includes(`[${process.pid}]`));
});

test('a relative --error-logfile is relative to --chdir, as Gunicorn chdirs first', () => {
  const log = ErrorLog.fromSettings(settings({ errorlog: 'relative.log' }));
  log.info('here');
  assert.match(read(path.join(tmp, 'relative.log')), /\[INFO\] here\n$/);
});

test("a file that cannot be opened: Gunicorn's message", () => {
  assert.throws(
    () => ErrorLog.fromSettings(settings({ errorlog: '/nonexistent-dir/x.log' })),
    (e: Error) => e.message === "Error: '/nonexistent-dir/x.log' isn't writable [FileNotFoundError(2, 'No such file or directory')]",
  );
  assert.throws(
    () => ErrorLog.fromSettings(settings({ errorlog: tmp })),
    (e: Error) => e.message === `Error: '${tmp}' isn't writable [IsADirectoryError(21, 'Is a directory')]`,
  );
});

test('reopen after mv: old lines stay in the moved file, new ones go to a new file', () => {
  const file = path.join(tmp, 'rotate.log');
  const log = ErrorLog.fromSettings(settings({ errorlog: file }));
  log.info('before');
  fs.renameSync(file, `${file}.1`);
  log.info('between');
  log.reopen();
  log.info('after');
  assert.match(read(`${file}.1`), /before\n.*between\n$/);
  assert.match(read(file), /^[^\n]*after\n$/);
});

test("the Python thread writes the I/O thread's file and follows a reopen without a message", () => {
  const file = path.join(tmp, 'shared.log');
  const log = ErrorLog.fromSettings(settings({ errorlog: file }));
  const opts = log.forPythonThread();
  const py = new PythonThreadLog(opts);
  py.write('python one\n');
  log.info('io one');
  fs.renameSync(file, `${file}.1`);
  log.reopen();
  // The old descriptor stays open until the Python thread has seen the new one.
  const oldFd = [...Array(1024).keys()].find((fd) => {
    try {
      return fs.fstatSync(fd).ino === fs.statSync(`${file}.1`).ino;
    } catch {
      return false;
    }
  });
  assert.ok(oldFd !== undefined, 'the moved file is still open');
  py.write('python two\n');
  log.info('io two');
  assert.match(read(`${file}.1`), /^python one\n.*io one\n$/);
  assert.match(read(file), /^python two\n.*io two\n$/);
  // Acknowledged: the next sweep (any reopen) closes it.
  log.reopen();
  assert.throws(() => fs.fstatSync(oldFd!), /EBADF/);
});

test('--capture-output with a file: the Python stdio of this thread goes to the error log', () => {
  const file = path.join(tmp, 'capture.log');
  const log = ErrorLog.fromSettings(settings({ errorlog: file, capture_output: true }));
  pythonStdio.stdout.write(Buffer.from('printed\n'));
  pythonStdio.stderr.write(Buffer.from('to stderr\n'));
  assert.is(read(file), 'printed\nto stderr\n');
  assert.is(pythonLogHost(), log);
  const opts = log.forPythonThread();
  assert.ok(opts.captureOutput);
  const thread = new PythonThreadLog(opts).stdio();
  thread.stdout.write(Buffer.from('thread print\n'));
  assert.is(read(file), 'printed\nto stderr\nthread print\n');
  // Without a file (or without the flag) stdout stays stdout, as in Gunicorn.
  ErrorLog.fromSettings(settings({ capture_output: true }));
  assert.not.ok(ErrorLog.fromSettings(settings({ capture_output: true })).forPythonThread().captureOutput);
  assert.not.ok(ErrorLog.fromSettings(settings({ errorlog: file })).forPythonThread().captureOutput);
});

test('sinks hear each line that passes the level, with its level; counts come whatever the level', () => {
  const log = new ErrorLog('warning', -1);
  const seen: string[] = [];
  log.addSink({ write: (level, msg) => seen.push(`${level}:${msg}`), count: (kind) => seen.push(`#${kind}`) });
  log.info('dropped');
  log.warning('w');
  log.exception('boom');
  assert.equal(seen, ['#warning', 'warning:w', '#exception', 'error:boom']);
});

test('the Python thread forwards records and counts to the I/O thread (BroadcastChannel)', async () => {
  const log = new ErrorLog('info', -1);
  const seen: string[] = [];
  log.addSink({ write: (level, msg) => seen.push(`${level}:${msg}`), count: (kind) => seen.push(`#${kind}`) });
  const opts = log.forPythonThread();
  assert.ok(opts.forwardRecords && opts.forwardCounts);
  const py = new PythonThreadLog(opts);
  py.record('ERROR', 'from python\nTraceback ...');
  py.count('exception');
  py.record('Level 5', 'custom level');
  for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen, ['error:from python\nTraceback ...', '#exception', 'warning:custom level']);
  log.close();
  py.close();
});

test('nothing is forwarded when no sink wants it', () => {
  const opts = new ErrorLog('info', -1).forPythonThread();
  assert.not.ok(opts.forwardRecords);
  assert.not.ok(opts.forwardCounts);
  assert.ok(opts.toStderr);
});

test('-D stdio: /dev/null, unless -R keeps a stdout/stderr that is not a terminal', () => {
  assert.equal(daemonStdio(false), ['ignore', 'ignore', 'ignore']);
  // Under the test runner stdout is a pipe; stderr may be the terminal.
  const [, out, err] = daemonStdio(true);
  assert.is(out, process.stdout.isTTY ? 'ignore' : 'inherit');
  assert.is(err, process.stderr.isTTY ? 'ignore' : 'inherit');
});

test.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test.run();
