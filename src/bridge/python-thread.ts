// The Python thread: a worker_threads Worker that holds Pyodide and the app,
// booted, or with --preload restored from the arbiter's snapshot.
//
// WSGI is synchronous, so this thread blocks (Atomics.wait) whenever Python
// waits for a request, for body bytes, or for room to write the response.
// Python calls the functions of `io` below with integers only: frames
// are copied between the shared rings and buffers in Pyodide's own memory.

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { PyodideInterface } from 'pyodide';
import type { BootOptions, WorkerBootOptions } from './boot-options.js';
import { RELOAD_DIR_ENV, RELOAD_TRIAL_ENV, bootPyodide, installPrefix, saveCodeCache, useCodeCache, interpreterEnv, type HostLayout } from '../runtime/boot.js';
import { findBaseImage } from '../runtime/base-image.js';
import { SnapshotError, imageFromFd, type ImageSource } from '../runtime/snapshot.js';
import { cacheDir } from '../runtime/snapshot-cache.js';
import { makeSnapshot, type SnapshotMakerData } from '../runtime/snapshot-maker.js';
import type { CompiledWasmMessage, WasmModule } from '../runtime/wasm.js';
import { watchInterrupts } from '../runtime/host/wait.js';
import { lockPerInterpreter } from '../runtime/host/locks.js';
import { Ctl, FRAME_HEADER, InFrame, PADDING, RECV_LENGTH_BITS, framePadding, goneSlot, openChannel } from './protocol.js';
import { installPythonThreadLog, pythonLogHost, type PythonLogOptions } from '../log/error-log.js';
import { LOG_LEVELS, type LogLevel } from '../log/levels.js';
import { setLogTimeZone } from '../log/log-clock.js';
import { onTimeZoneChange } from '../runtime/host/timezone.js';
import { collectFatalReport, type CrashReport } from './fatal.js';
import { MAX_RECURSION_LIMIT, guardCStack } from '../runtime/stack.js';

/**
 * What the thread starts with (its workerData): enough to boot, or restore,
 * Pyodide up to the point where Python would run. A worker process starts
 * the thread with it before the arbiter's init arrives (Interpreter.launch).
 */
export interface PythonThreadBoot {
  sab: SharedArrayBuffer;
  inboxSize: number;
  /** --preload: a descriptor holding the arbiter's snapshot image to start from, or null. */
  snapshotFd: number | null;
}

/**
 * The rest, posted (ConfigMessage) once the I/O thread has opened its logs
 * and dropped its privileges: no Python code runs in this thread before.
 */
export interface PythonThreadConfig {
  /** Looked at only now: as the worker's user, not as the user it started as. */
  layout: HostLayout;
  /** The I/O thread's error log (ErrorLog.forPythonThread()), which the Python thread writes too. */
  log: PythonLogOptions;
  /** What Python's boot() gets, but for the parts this thread adds. */
  boot: WorkerBootOptions;
}

export type PythonThreadData = PythonThreadBoot & PythonThreadConfig;

/** What Interpreter.start posts to the thread. */
export interface ConfigMessage {
  kind: 'config';
  config: PythonThreadConfig;
}

/** Messages this thread posts to the I/O thread. */
export type PythonThreadMessage =
  /** `baseMissing`: why the thread booted without the base image (the worker then has it made), or null. */
  | { kind: 'ready'; baseMissing: string | null }
  /** An interpreter read a TZ other than the worker's log zone (the app's tzset(), or its TZ in a --preload snapshot): the worker's log lines show local time there from now on. */
  | { kind: 'time-zone'; tz: string | null; tzdir: string | null }
  | { kind: 'boot-failed'; exitCode: number }
  | { kind: 'stopped'; exitCode: number }
  | CrashReport;

interface EmscriptenModule {
  HEAPU8: Uint8Array;
}

const WAIT_SLICE_MS = 1000;

const LENGTH_LIMIT = 2 ** RECV_LENGTH_BITS;

function makeIo(py: PyodideInterface, sab: SharedArrayBuffer) {
  const { ctl, inRing, outRing } = openChannel(sab);
  // Emscripten swaps HEAPU8 when the heap grows, so it is looked up per call.
  const mod = (py as unknown as { _module: EmscriptenModule })._module;
  const header = new Uint8Array(FRAME_HEADER);
  const padding = new Uint8Array(8);
  const headerView = new DataView(header.buffer);
  let inboxAddr = 0;
  /** The exchange of the last head Python received: the request it is serving. */
  let exchange = 0;
  let inboxSize = 0;

  /** 0, or (`interruptible`: a frame's header) the signal number that interrupted
   *  the wait before the first byte: a frame is never left half-read. */
  const readExact = (dst: Uint8Array, interruptible = false): number => {
    let off = 0;
    while (off < dst.length) {
      const n = inRing.read(off === 0 ? dst : dst.subarray(off));
      if (n === 0) {
        const signal = interruptible && off === 0 ? Atomics.exchange(ctl, Ctl.Interrupt, 0) : 0;
        if (signal !== 0) return signal;
        inRing.waitForData(WAIT_SLICE_MS);
      }
      off += n;
    }
    return 0;
  };

  /** Blocks for one frame, copies its payload into the inbox; returns its
   *  exchange, length and type (RECV_LENGTH_BITS), or -signal when interrupted while waiting. */
  const recv = (): number => {
    const signal = readExact(header, true);
    if (signal !== 0) return -signal;
    const word = headerView.getUint32(0, true);
    const type = word & 0xff;
    const id = word >>> 8;
    const len = headerView.getUint32(4, true);
    if (type === InFrame.Head) exchange = id;
    if (len > inboxSize) throw new Error(`frame of ${len} bytes exceeds the ${inboxSize}-byte inbox`);
    if (len > 0) readExact(mod.HEAPU8.subarray(inboxAddr, inboxAddr + len));
    const pad = framePadding(len);
    if (pad > 0) readExact(padding.subarray(0, pad));
    return (id * LENGTH_LIMIT + len) * 16 + type;
  };

  /** Copies all of `src` into the out ring; the I/O thread is woken by the caller, or when the ring is full. */
  const write = (src: Uint8Array): void => {
    for (let off = 0; off < src.length; ) {
      const w = outRing.write(off === 0 ? src : src.subarray(off), false);
      if (w === 0) {
        outRing.wakeReader();
        outRing.waitForSpace(WAIT_SLICE_MS);
      }
      off += w;
    }
  };

  /** Copies `n` bytes at `addr` into the out ring, padded to the frame alignment,
   *  waiting for room; returns 1 if the client of the exchange being served left. */
  const send = (addr: number, n: number): number => {
    // The wasm memory's size (it only grows), for --max-worker-memory; read by the I/O thread after each request.
    Atomics.store(ctl, Ctl.WasmPages, Math.floor(mod.HEAPU8.length / 65536));
    write(mod.HEAPU8.subarray(addr, addr + n));
    const pad = framePadding(n);
    if (pad > 0) write(PADDING.subarray(0, pad));
    outRing.wakeReader();
    // Exchange ids start at 1: before the first head (an asgi worker whose first
    // exchange is a WebSocket, which sends no Head) there is no client to have left,
    // and slot 0's initial 0 must not read as "exchange 0 is gone" (it did: ClientGone
    // in the asgi loop's flush, the worker replaced, the client's messages unanswered).
    return exchange !== 0 && Atomics.load(ctl, goneSlot(exchange)) === exchange ? 1 : 0;
  };

  /**
   * asgi: the event loop's wait (poll() below). Returns 1 once
   * the in ring holds a frame, 0 after `timeoutMs` (negative: no limit), or
   * -signal when interrupted. The loop is idle while here: Ctl.BusySince is 0
   * during the wait and the wall clock (ms, mod 2^32) when the loop runs
   * again, so the I/O thread's busyFor() is how long the loop has gone
   * without coming back to wait: a blocked loop is a stuck worker.
   */
  const wait = (timeoutMs: number): number => {
    let r = 0;
    if (inRing.used() > 0) r = 1;
    else if (timeoutMs !== 0) {
      Atomics.store(ctl, Ctl.BusySince, 0);
      const deadline = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
      for (;;) {
        const signal = Atomics.exchange(ctl, Ctl.Interrupt, 0);
        if (signal !== 0) {
          r = -signal;
          break;
        }
        if (inRing.used() > 0) {
          r = 1;
          break;
        }
        const left = deadline - performance.now();
        if (left <= 0) break;
        inRing.waitForData(Math.min(WAIT_SLICE_MS, left));
      }
    }
    Atomics.store(ctl, Ctl.BusySince, Date.now() | 0 || 1);
    return r;
  };

  return {
    /**
     * From now on the I/O thread's interrupt flag (INT/QUIT, --timeout's ABRT)
     * reaches Python: its eval loop and the host layer's waits look at it.
     * Called by the worker's serve() once its handlers are in place and its
     * try is entered, never before: a flag Pyodide picked up earlier was raised
     * outside that try (a QUIT right after the worker served ran no worker_int)
     * or, before the SIGABRT handler, dropped by CPython (Python never stopped).
     */
    armInterrupts(): void {
      const buffer = ctl.subarray(Ctl.Interrupt, Ctl.Interrupt + 1);
      py.setInterruptBuffer(buffer);
      watchInterrupts(buffer);
    },
    setInbox(addr: number, size: number): void {
      inboxAddr = addr;
      inboxSize = size;
    },
    recv,
    /**
     * The end of one request and the start of the next in one crossing:
     * hands over the `n` queued bytes at `addr` (which end with End or Close),
     * then blocks for the next frame as recv() does.
     */
    exchange(addr: number, n: number): number {
      send(addr, n);
      return recv();
    },
    send,
    /**
     * asgi: the event loop's turn in one crossing: hands over the `n` queued
     * bytes at `addr` (none if 0), waits as wait() does, and returns the next
     * frame as recv() does, 0 if none came within `timeoutMs`, or -signal.
     * Each crossing from Python to JavaScript costs about 2 us in the worker
     * (20,000 wait(0) calls from an app: 2.1 to 2.7 us each); a WebSocket
     * echo made five per message (send, wait, wait(0)+recv, wait(0)), now two.
     */
    poll(addr: number, n: number, timeoutMs: number): number {
      if (n > 0) send(addr, n);
      const r = wait(timeoutMs);
      return r === 1 ? recv() : r;
    },
  };
}

/** A line in the error log, from this thread, if the log level lets it through. */
function logLine(loglevel: string, level: LogLevel, message: string): void {
  if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(loglevel as LogLevel)) return;
  pythonLogHost().line(level, message);
}

/**
 * Where a worker's start goes, for the debug log: ms since its process
 * started (process.uptime(): node's own start is in it) at each step, and
 * the process's CPU time in between (both threads: on a loaded machine the
 * wall clock says little).
 */
class StartTimeline {
  private readonly steps: string[] = [];
  private cpu = cpuMs();

  constructor() {
    this.mark('Python thread started', false);
  }

  mark(what: string, withCpu = true): void {
    const cpu = cpuMs();
    this.steps.push(`${what} at ${Math.round(process.uptime() * 1000)} ms${withCpu ? ` (CPU ${Math.round(cpu - this.cpu)} ms)` : ''}`);
    this.cpu = cpu;
  }

  toString(): string {
    return this.steps.join(', ');
  }
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Where a worker's interpreter comes from: the arbiter's --preload image (app imported), the base image, or a boot. */
type Start = { kind: 'preload' | 'base'; image: () => ImageSource; fd: number | null } | { kind: 'boot' };

/**
 * The interpreter restored from `start`'s image; null (and a warning) when it
 * cannot be, so the worker boots normally. Pyodide is restored up to Python's
 * start while `data`, the configuration, is on its way.
 */
async function restore(
  start: Exclude<Start, { kind: 'boot' }>,
  data: Promise<PythonThreadData>,
  wasm: Promise<WasmModule | null>,
): Promise<PyodideInterface | null> {
  const t0 = performance.now();
  const what = start.kind === 'preload' ? 'the preload snapshot' : 'the base snapshot';
  try {
    const layout = data.then((d) => d.layout);
    const py = await bootPyodide(layout, {}, undefined, { kind: 'restore', image: start.image() }, wasm);
    const { boot: { app, loglevel } } = await data;
    const worker = py.pyimport('nicorn.worker');
    const why = start.kind === 'preload' ? (worker.preloaded_for(app) as string) : '';
    worker.destroy();
    if (why) throw new SnapshotError(why);
    // The base image leaves sys.prefix to the layout, which is this worker's.
    if (start.kind === 'base') installPrefix(py, (await layout).prefix);
    logLine(loglevel, 'debug', `Started from ${what} in ${Math.round(performance.now() - t0)} ms`);
    return py;
  } catch (e) {
    const reason = e instanceof SnapshotError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    logLine((await data).boot.loglevel, 'warning', `Cannot start from ${what} (${reason}); booting normally`);
    return null;
  } finally {
    if (start.fd !== null) fs.closeSync(start.fd);
  }
}

/**
 * Without --preload: the cached base image (base-image.ts), else a boot
 * (`missing`: why there is none, to make it once this worker serves).
 */
function baseStart(): { start: Start; missing: string | null } {
  const found = findBaseImage();
  if (found.kind === 'hit') return { start: { kind: 'base', image: () => imageFromFd(found.fd), fd: found.fd }, missing: null };
  return { start: { kind: 'boot' }, missing: found.kind === 'miss' ? found.why : null };
}

/** The first message of `kind` the I/O thread posts. */
function received<M extends { kind: string }>(kind: M['kind']): Promise<M> {
  return new Promise<M>((resolve) => {
    const port = parentPort;
    if (!port) return;
    const onMessage = (m: { kind?: unknown }) => {
      if (m.kind !== kind) return;
      port.off('message', onMessage);
      resolve(m as M);
    };
    port.on('message', onMessage);
  });
}

async function main(boot: PythonThreadBoot): Promise<void> {
  const post = (m: PythonThreadMessage) => parentPort?.postMessage(m);
  onTimeZoneChange((tz, tzdir) => {
    // Mostly the zone the logs already show (the process's TZ, read at boot): no message then.
    if (!setLogTimeZone(tz, tzdir)) return;
    post({ kind: 'time-zone', tz, tzdir });
  });
  // pyodide.asm.wasm, compiled by the I/O thread while this thread started (Interpreter.launch).
  const wasm = received<CompiledWasmMessage>('compiled-wasm').then((m) => m.module);
  const configured = received<ConfigMessage>('config').then((m): PythonThreadData => {
    installPythonThreadLog(m.config.log);
    return { ...boot, ...m.config };
  });
  const timeline = new StartTimeline();
  const fd = boot.snapshotFd;
  const { start, missing } = fd !== null ? { start: { kind: 'preload', image: () => imageFromFd(fd), fd } as Start, missing: null } : baseStart();
  // Workers started from a snapshot also start pyodide.asm.mjs from a code cache, kept beside the snapshots.
  if (start.kind !== 'boot') useCodeCache(cacheDir());
  const restored = start.kind === 'boot' ? null : await restore(start, configured, wasm);
  const py = restored ?? (await bootPyodide(configured.then((d) => d.layout), {}, undefined, { kind: 'fresh' }, wasm));
  timeline.mark(restored === null ? 'booted' : `restored (${start.kind})`);
  const data = await configured;
  // Before the app runs: its locks must exclude the other interpreters of this process.
  if (data.boot.worker_class === 'gthread' && data.boot.threads > 1) lockPerInterpreter();
  const worker = py.pyimport('nicorn.worker');
  const { layout } = data;
  const bootOptions: BootOptions = {
    ...data.boot,
    cwd: layout.cwd,
    pythonpath: layout.pythonPath,
    site_dirs: layout.siteDirs,
    host_roots: layout.mounts,
    inbox_size: data.inboxSize,
    max_recursion_limit: MAX_RECURSION_LIMIT,
    restored: restored === null ? '' : start.kind === 'boot' ? '' : start.kind,
    env: interpreterEnv(),
    // Set by the arbiter in the worker's environment, so that the bridge carries nothing more.
    reload_dir: process.env[RELOAD_DIR_ENV] ?? null,
    reload_trial: process.env[RELOAD_TRIAL_ENV] === '1',
  };
  const opts = py.toPy(bootOptions);
  const code = worker.boot(makeIo(py, data.sab), opts) as number;
  opts.destroy();
  if (code !== 0) {
    post({ kind: 'boot-failed', exitCode: code });
    return;
  }
  // Deep C recursion raises RecursionError before V8's stack runs out (src/runtime/stack.ts).
  guardCStack(py);
  const crashReport = collectFatalReport();
  post({ kind: 'ready', baseMissing: missing });
  timeline.mark('app loaded');
  logLine(data.boot.loglevel, 'debug', `Worker start: ${timeline.toString()}`);
  // The first worker without a cache V8 takes writes one (as this worker's user: it may not be allowed to).
  const cache = saveCodeCache();
  if (cache && cache.found !== 'used') {
    logLine(data.boot.loglevel, 'debug', `pyodide.asm.mjs code cache ${cache.found}; ${cache.written ? 'written anew' : 'could not be written'}`);
  }
  // One turn of this thread's event loop before serve() blocks it for good: a
  // MessagePort closed during the boot is only let go (with the messages still
  // queued on it) by the loop's close callbacks. wasm.ts's releaseNow drops the
  // 9.6 MB of wasm bytes Pyodide read that way: without this turn they stayed
  // in every interpreter for its whole life.
  await new Promise((resolve) => setTimeout(resolve, 0));
  let exitCode: number;
  try {
    exitCode = worker.serve() as number;
  } catch (e) {
    // Pyodide is gone (src/bridge/fatal.ts): the I/O thread logs the report and the worker is replaced.
    post(crashReport(e));
    process.exit(1);
  }
  post({ kind: 'stopped', exitCode });
  // A clean end of the Python thread; anything still pending on it dies with it.
  process.exit(0);
}

/** The --preload snapshot maker (src/runtime/preload.ts) runs in this entry too. */
async function makerMain(data: SnapshotMakerData): Promise<void> {
  const result = await makeSnapshot(data);
  parentPort?.postMessage(result, result.kind === 'image' ? [result.image.buffer as ArrayBuffer] : []);
}
const data = workerData as PythonThreadBoot | SnapshotMakerData;
if ('role' in data) await makerMain(data);
else await main(data);
