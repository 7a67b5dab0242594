// The error log as Gunicorn writes it:
//   [2026-11-25 09:00:00 +0000] [1234] [INFO] Listening at: http://127.0.0.1:8000 (1234)
// to stderr ('-', the default) or to the --error-logfile file, opened for
// append and opened again on USR1 (reopen). python/nicorn/log.py writes the
// same format from the Python thread, through the same file (see
// PythonThreadLog), and each line can go on to sinks with its level: syslog
// (--log-syslog) and the statsd gunicorn.log.* counters (--statsd-host).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import { BroadcastChannel } from 'node:worker_threads';
import type { Settings } from '../config/registry.js';
import { ConfigError } from '../config/validators.js';
import { Statsd } from './statsd.js';
import { syslogErrorSink } from './syslog.js';
import { LOG_LEVELS, type LogLevel } from './levels.js';
import { logTime, pad } from './log-clock.js';


/** The calls Gunicorn's Statsd logger counts (gunicorn.log.<kind>). */
export type CountedKind = 'critical' | 'error' | 'warning' | 'exception';

/** Something that hears the error log: syslog, statsd. */
export interface ErrorSink {
  /** Each message that passes the log level (`message` without the timestamp/pid/level prefix). */
  write?(level: LogLevel, message: string): void;
  /** Each critical/error/warning/exception call, whatever the log level. */
  count?(kind: CountedKind): void;
  close?(): void;
}

/** strftime('[%Y-%m-%d %H:%M:%S %z]') in local time. */
export function logTimestamp(d: Date): string {
  const t = logTime(d);
  return `[${t.year}-${pad(t.month)}-${pad(t.day)} ${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)} ${t.offset}]`;
}

/** One error-log line, newline included. */
export function formatLine(level: LogLevel, message: string, pid = process.pid, d = new Date()): string {
  return `${logTimestamp(d)} [${pid}] [${level.toUpperCase()}] ${message}\n`;
}

/** SysLogHandler.mapPriority: a Python level name as a LogLevel (unknown names map to warning). */
export function levelFromPython(name: string): LogLevel {
  const l = name.toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(l) ? (l as LogLevel) : 'warning';
}

// ---------------------------------------------------------------- writing

const EAGAIN_SLEEP = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `data`; a non-blocking pipe that is full is waited for (briefly), other errors drop the rest. */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  for (let tries = 0; off < buf.length && tries < 1000; ) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      tries++;
      Atomics.wait(EAGAIN_SLEEP, 0, 0, 1);
    }
  }
}

/** Python's repr() of the OSError open() raises, for Gunicorn's "isn't writable" message. */
const PY_OS_ERRORS: Record<string, [string, string]> = {
  EACCES: ['PermissionError', 'Permission denied'],
  EPERM: ['PermissionError', 'Operation not permitted'],
  ENOENT: ['FileNotFoundError', 'No such file or directory'],
  EISDIR: ['IsADirectoryError', 'Is a directory'],
  ENOTDIR: ['NotADirectoryError', 'Not a directory'],
  EROFS: ['OSError', 'Read-only file system'],
  ENOSPC: ['OSError', 'No space left on device'],
  ELOOP: ['OSError', 'Too many levels of symbolic links'],
  ENAMETOOLONG: ['OSError', 'File name too long'],
  ETXTBSY: ['OSError', 'Text file busy'],
};

function pyOsErrorRepr(e: NodeJS.ErrnoException): string {
  const code = e.code ?? '';
  const errno = (os.constants.errno as Record<string, number>)[code] ?? Math.abs(e.errno ?? 0);
  const [cls, msg] = PY_OS_ERRORS[code] ?? ['OSError', e.message.replace(/^[A-Z]+: /, '').replace(/, open .*$/, '')];
  return `${cls}(${errno}, '${msg}')`;
}

/** util.check_is_writable + FileHandler(path): the file opened for append, or Gunicorn's error. */
export function openLogFile(file: string): number {
  try {
    return fs.openSync(file, 'a');
  } catch (e) {
    throw new ConfigError(`Error: '${file}' isn't writable [${pyOsErrorRepr(e as NodeJS.ErrnoException)}]`);
  }
}

/**
 * -D's stdio, as util.daemonize(enable_stdio_inheritance) leaves it: stdin on
 * /dev/null; stdout and stderr too, unless -R/--enable-stdio-inheritance keeps
 * the ones that are not a terminal (`nicorn-py -D -R app:app > out.log 2>&1`).
 */
export function daemonStdio(enableStdioInheritance: boolean): ['ignore', 'inherit' | 'ignore', 'inherit' | 'ignore'] {
  const keep = (fd: number) => (enableStdioInheritance && !tty.isatty(fd) ? 'inherit' : 'ignore');
  return ['ignore', keep(1), keep(2)];
}

// ---------------------------------------------------------------- the Python side's host

/** The Python interpreter's stdout/stderr, as Pyodide's setStdout/setStderr take them. */
export interface Output {
  write(data: Uint8Array): number;
}

export const fdOutput = (fd: number): Output => ({
  write(data: Uint8Array): number {
    writeAll(fd, data);
    return data.length;
  },
});

/**
 * Where the Pyodide interpreters of this thread send sys.stdout and
 * sys.stderr (src/runtime/boot.ts reads these on every write): fd 1 and 2,
 * or the error log with --capture-output.
 */
export const pythonStdio: { stdout: Output; stderr: Output } = { stdout: fdOutput(1), stderr: fdOutput(2) };

/** What python/nicorn/log.py reaches as the `_nicorn_log` module (registered by boot.ts). */
export interface PythonLogHost {
  /** Text for the error log as it is (lines formatted by Python's logging). */
  write(text: string): void;
  /** A line of nicorn-py's own (node code in this thread), formatted as the error log's lines are. */
  line(level: LogLevel, message: string): void;
  /** A record of "gunicorn.error" for the syslog handler: Python's level name and %(message)s (+ traceback). */
  record(level: string, message: string): void;
  /** A statsd gunicorn.log.<kind> count. */
  count(kind: string): void;
  /** Statsd.log's extra={"metric", "value", "mtype"}. */
  metric(mtype: string, name: string, value: string): void;
  /** Whether record() is wanted (--log-syslog). */
  readonly forwardRecords: boolean;
  /** Whether count() and metric() are wanted (--statsd-host). */
  readonly forwardCounts: boolean;
  /** The error log is stderr ('-'): wsgi.errors is then sys.stderr, as in Gunicorn. */
  readonly toStderr: boolean;
}

const stderrHost: PythonLogHost = {
  write: (text) => writeAll(2, text),
  line: (level, message) => writeAll(2, formatLine(level, message)),
  record: () => {},
  count: () => {},
  metric: () => {},
  forwardRecords: false,
  forwardCounts: false,
  toStderr: true,
};

let host: PythonLogHost = stderrHost;

/** The error log the Python code of this thread writes to. */
export function pythonLogHost(): PythonLogHost {
  return host;
}

/** Shared with the Python thread: [generation, fd, generation the Python thread has seen]. */
const GEN = 0;
const FD = 1;
const ACK = 2;
/** A replaced descriptor the Python thread has not let go of is closed after this long anyway. */
const RETIRE_MS = 60_000;

/** The BroadcastChannel on which the Python thread forwards records and counts to its I/O thread. */
const CHANNEL = 'nicorn-py:error-log';

type Forwarded =
  | { t: 'line'; level: LogLevel; message: string }
  | { t: 'record'; level: string; message: string }
  | { t: 'count'; kind: string }
  | { t: 'metric'; mtype: string; name: string; value: string };

/** What the I/O thread hands its Python thread (PythonThreadData.log) so both write one error log. */
export interface PythonLogOptions {
  /** Int32Array on a SharedArrayBuffer: [generation, fd, ack]; reopen() bumps the generation. */
  state: Int32Array;
  /** --capture-output with a file: the app's stdout and stderr go to the error log too. */
  captureOutput: boolean;
  forwardRecords: boolean;
  forwardCounts: boolean;
  toStderr: boolean;
  /** With a log configuration, the thread's own lines (line()) go to the I/O thread's log, which routes them. */
  routed: boolean;
}

// ---------------------------------------------------------------- ErrorLog

export class ErrorLog implements PythonLogHost {
  private threshold: number;
  private file: string | null = null;
  private ownsFd = false;
  private sinks: ErrorSink[] = [];
  /** Sinks added with addSink, kept across setup(). */
  private added: ErrorSink[] = [];
  private syslog: ErrorSink | null = null;
  /** The statsd client (--statsd-host): also the request metrics' and the workers gauge's. */
  statsd: Statsd | null = null;
  private capture = false;
  private shared: Int32Array | null = null;
  private retired: { fd: number; until: number; at: number }[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  private channel: BroadcastChannel | null = null;
  /**
   * logconfig (src/log/log-config.ts): where each line goes instead, to be a
   * record of Python's gunicorn.error, whose level and handlers then decide;
   * returns false when it could not take the line (written here then).
   */
  route: ((level: LogLevel, message: string) => boolean) | null = null;

  constructor(
    level: LogLevel,
    private fd = 2,
  ) {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  /**
   * This process's error log, as Gunicorn's Logger(cfg): level, file,
   * syslog, statsd and capture_output. Throws ConfigError with Gunicorn's
   * message when the file cannot be written or syslog is misconfigured.
   * The Python code of this thread (the arbiter's config interpreter) logs
   * through it from then on.
   */
  static fromSettings(settings: Settings): ErrorLog {
    const log = new ErrorLog(settings.loglevel);
    log.setup(settings);
    return log;
  }

  /** Gunicorn's Logger.setup, run again on HUP: a failure leaves the log as it was. */
  setup(settings: Settings): void {
    const file = settings.errorlog === '-' ? null : path.resolve(settings.chdir, settings.errorlog);
    const fd = file === null ? 2 : openLogFile(file);
    let syslog: ErrorSink | null;
    let statsd: Statsd | null;
    try {
      syslog = syslogErrorSink(settings);
      statsd = this.statsd ?? Statsd.fromSettings(settings);
    } catch (e) {
      if (file !== null) fs.closeSync(fd);
      throw e;
    }
    this.threshold = LOG_LEVELS.indexOf(settings.loglevel);
    this.replaceFd(fd, file !== null);
    this.file = file;
    this.syslog?.close?.();
    this.syslog = syslog;
    this.statsd = statsd;
    this.sinks = [syslog, statsd, ...this.added].filter((s): s is ErrorSink => s !== null);
    this.capture = settings.capture_output && file !== null;
    const out = this.capture ? this.output() : null;
    pythonStdio.stdout = out ?? fdOutput(1);
    pythonStdio.stderr = out ?? fdOutput(2);
    host = this;
  }

  /** Adds a sink (each message that passes the level, with its level; and the statsd counts). */
  addSink(sink: ErrorSink): void {
    this.added.push(sink);
    this.sinks.push(sink);
  }

  /** The error log as a byte stream (capture_output). */
  output(): Output {
    return {
      write: (data: Uint8Array): number => {
        writeAll(this.fd, data);
        return data.length;
      },
    };
  }

  private log(level: LogLevel, msg: string, kind?: CountedKind): void {
    if (this.route && guarded(() => this.route!(level, msg))) return;
    if (kind) for (const s of this.sinks) guard(() => s.count?.(kind));
    if (LOG_LEVELS.indexOf(level) < this.threshold) return;
    writeAll(this.fd, formatLine(level, msg));
    for (const s of this.sinks) guard(() => s.write?.(level, msg));
  }

  debug(msg: string): void { this.log('debug', msg); }
  info(msg: string): void { this.log('info', msg); }
  warning(msg: string): void { this.log('warning', msg, 'warning'); }
  error(msg: string): void { this.log('error', msg, 'error'); }
  critical(msg: string): void { this.log('critical', msg, 'critical'); }
  /** Gunicorn's log.exception: an error (the message carries the traceback), counted as gunicorn.log.exception. */
  exception(msg: string): void { this.log('error', msg, 'exception'); }

  /** USR1: the file was moved away (logrotate); continue in a new one at the same path. */
  reopen(): void {
    if (this.file === null) return;
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'a');
    } catch (e) {
      this.error(`Cannot reopen the error log ${this.file}: ${(e as Error).message}`);
      return;
    }
    this.replaceFd(fd, true);
  }

  private replaceFd(fd: number, owned: boolean): void {
    const old = this.fd;
    const oldOwned = this.ownsFd;
    this.fd = fd;
    this.ownsFd = owned;
    if (!this.shared) {
      if (oldOwned && old !== fd) fs.closeSync(old);
      return;
    }
    // The Python thread may be about to write to the old descriptor: it is
    // closed once that thread has seen the new generation.
    Atomics.store(this.shared, FD, fd);
    const gen = Atomics.add(this.shared, GEN, 1) + 1;
    if (oldOwned && old !== fd) this.retired.push({ fd: old, until: gen, at: Date.now() });
    this.sweep();
  }

  private sweep(): void {
    const ack = this.shared ? Atomics.load(this.shared, ACK) : Infinity;
    const now = Date.now();
    this.retired = this.retired.filter((r) => {
      if (r.until > ack && now - r.at < RETIRE_MS) return true;
      try {
        fs.closeSync(r.fd);
      } catch {
        // already closed
      }
      return false;
    });
    if (this.retired.length > 0 && !this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), 1000);
      this.sweeper.unref();
    } else if (this.retired.length === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /**
   * What the worker's Python thread needs to write this same error log
   * (PythonThreadData.log, passed to bootPyodide there). Starts hearing the
   * records and counts it forwards for syslog and statsd.
   */
  forPythonThread(): PythonLogOptions {
    if (!this.shared) {
      this.shared = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
      Atomics.store(this.shared, FD, this.fd);
    }
    if ((this.forwardRecords || this.forwardCounts || this.route) && !this.channel) {
      this.channel = new BroadcastChannel(CHANNEL);
      this.channel.onmessage = (e) => this.fromPython((e as { data: Forwarded }).data);
      this.channel.unref();
    }
    return {
      state: this.shared,
      captureOutput: this.capture,
      forwardRecords: this.forwardRecords,
      forwardCounts: this.forwardCounts,
      toStderr: this.toStderr,
      routed: this.route !== null,
    };
  }

  private fromPython(m: Forwarded): void {
    if (m.t === 'line') this.log(m.level, m.message);
    else if (m.t === 'record') this.record(m.level, m.message);
    else if (m.t === 'count') this.count(m.kind);
    else this.metric(m.mtype, m.name, m.value);
  }

  // PythonLogHost: what Python's logging hands on (directly in the arbiter's
  // config interpreter; through forPythonThread's channel from a worker's Python thread).
  write(text: string): void {
    writeAll(this.fd, text);
  }
  line(level: LogLevel, message: string): void {
    this.log(level, message);
  }
  /** A Python record that passed its logger's level: to the sinks, as a line would go. */
  record(level: string, message: string): void {
    const l = levelFromPython(level);
    for (const s of this.sinks) guard(() => s.write?.(l, message));
  }
  count(kind: string): void {
    for (const s of this.sinks) guard(() => s.count?.(kind as CountedKind));
  }
  metric(mtype: string, name: string, value: string): void {
    this.statsd?.metric(mtype, name, value);
  }
  get forwardRecords(): boolean {
    return this.sinks.some((s) => s.write !== undefined);
  }
  get forwardCounts(): boolean {
    return this.statsd !== null || this.sinks.some((s) => s.count !== undefined);
  }
  get toStderr(): boolean {
    return this.file === null;
  }

  /** Stops the sinks' sockets and the forwarding channel (the file stays open until exit). */
  close(): void {
    for (const s of this.sinks) guard(() => s.close?.());
    this.channel?.close();
    this.channel = null;
  }
}

function guarded(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false;
  }
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch {
    // A sink never takes the log down.
  }
}

// ---------------------------------------------------------------- the Python thread

/**
 * The error log as the worker's Python thread writes it: the I/O thread's
 * descriptor, read again from the shared state whenever reopen() changed it
 * (the Python thread is usually blocked in Atomics.wait and cannot be sent a
 * message), and records/counts forwarded to the I/O thread for syslog and
 * statsd.
 */
export class PythonThreadLog implements PythonLogHost {
  private fd = 2;
  private seen = -1;
  private readonly channel: BroadcastChannel | null = null;
  readonly forwardRecords: boolean;
  readonly forwardCounts: boolean;
  readonly toStderr: boolean;

  constructor(private readonly opts: PythonLogOptions) {
    this.forwardRecords = opts.forwardRecords;
    this.forwardCounts = opts.forwardCounts;
    this.toStderr = opts.toStderr;
    if (opts.forwardRecords || opts.forwardCounts || opts.routed) {
      this.channel = new BroadcastChannel(CHANNEL);
      this.channel.unref();
    }
    this.current();
  }

  private current(): number {
    const { state } = this.opts;
    const gen = Atomics.load(state, GEN);
    if (gen !== this.seen) {
      this.fd = Atomics.load(state, FD);
      this.seen = gen;
      Atomics.store(state, ACK, gen);
    }
    return this.fd;
  }

  write(text: string | Uint8Array): void {
    writeAll(this.current(), text);
  }

  line(level: LogLevel, message: string): void {
    if (this.opts.routed) this.post({ t: 'line', level, message });
    else this.write(formatLine(level, message));
  }

  /** sys.stdout / sys.stderr: the error log with capture_output, else fd 1 / 2. */
  stdio(): { stdout: Output; stderr: Output } {
    if (!this.opts.captureOutput) return { stdout: fdOutput(1), stderr: fdOutput(2) };
    const out: Output = {
      write: (data) => {
        this.write(data);
        return data.length;
      },
    };
    return { stdout: out, stderr: out };
  }

  private post(m: Forwarded): void {
    this.channel?.postMessage(m);
  }
  record(level: string, message: string): void {
    if (this.forwardRecords) this.post({ t: 'record', level, message });
  }
  count(kind: string): void {
    if (this.forwardCounts) this.post({ t: 'count', kind });
  }
  metric(mtype: string, name: string, value: string): void {
    if (this.forwardCounts) this.post({ t: 'metric', mtype, name, value });
  }

  close(): void {
    this.channel?.close();
  }
}

/** In the Python thread, before Pyodide boots: its error log and stdio are the I/O thread's. */
export function installPythonThreadLog(opts: PythonLogOptions): PythonThreadLog {
  const log = new PythonThreadLog(opts);
  host = log;
  Object.assign(pythonStdio, log.stdio());
  return log;
}
