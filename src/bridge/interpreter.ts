// One interpreter's thread, seen from the I/O thread: the worker_threads
// Worker that holds Pyodide and the app (python-thread.ts), the channel
// shared with it, and its lifecycle (launch, configure, interrupt, stop,
// death). Which request it serves and how responses are played is the
// dispatcher's (interpreter-pool.ts).

import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ConfigMessage, PythonThreadBoot, PythonThreadConfig, PythonThreadMessage } from './python-thread.js';
import type { ThreadDeath } from './dispatcher.js';
import { Ctl, InFrame, PADDING, createChannelBuffer, frameHeader, framePadding, goneSlot, openChannel, type Channel } from './protocol.js';
import type { Ring } from './ring.js';
import { PYTHON_THREAD_LIMITS } from '../runtime/memory.js';
import { compilePyodideWasm, type CompiledWasmMessage } from '../runtime/wasm.js';
import { setLogTimeZone } from '../log/log-clock.js';

/** Largest request head the Python side accepts in one frame. */
const INBOX_BYTES = 1 << 20;
const PYTHON_THREAD = fileURLToPath(new URL('./python-thread.js', import.meta.url));

/** A Python thread started by Interpreter.launch, waiting for its configuration. */
export interface LaunchedThread {
  thread: Worker;
  sab: SharedArrayBuffer;
  /** Its first message: the app is loaded, or failed to. */
  booted: Promise<PythonThreadMessage>;
}

export class BootFailure extends Error {
  constructor(readonly exitCode: number) {
    super(`the app failed to boot (exit code ${exitCode})`);
  }
}

/** Writes frames into the in ring without ever blocking the event loop. */
export class FrameWriter {
  private pending: Uint8Array[] = [];
  pendingBytes = 0;
  private waiting = false;
  onDrain: (() => void) | null = null;

  constructor(private readonly ring: Ring) {}

  push(type: number, exchange: number, payload?: Uint8Array): void {
    const length = payload?.length ?? 0;
    this.queue(frameHeader(type, exchange, length));
    if (payload && length > 0) this.queue(payload);
    const pad = framePadding(length);
    if (pad > 0) this.queue(PADDING.subarray(0, pad));
    this.flush();
  }

  private queue(buf: Uint8Array): void {
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  private flush(): void {
    while (this.pending.length > 0) {
      const buf = this.pending[0]!;
      const n = this.ring.write(buf, false);
      this.pendingBytes -= n;
      if (n < buf.length) {
        this.ring.wakeReader();
        this.pending[0] = buf.subarray(n);
        if (!this.waiting) {
          this.waiting = true;
          void this.ring.spaceAvailable().then(() => {
            this.waiting = false;
            this.flush();
          });
        }
        return;
      }
      this.pending.shift();
    }
    this.ring.wakeReader();
    this.onDrain?.();
  }
}

export class Interpreter {
  readonly channel: Channel;
  /** The in ring's writer: heads, bodies, Stop. */
  readonly writer: FrameWriter;
  /** Called once if the thread ends while serving (not after stop() or interrupt()). */
  onDeath: ((death: ThreadDeath) => void) | null = null;
  private leaving = false;

  /** `baseMissing`: why the thread booted without the base image, or null (its 'ready' message). */
  private constructor(
    readonly thread: Worker,
    sab: SharedArrayBuffer,
    readonly baseMissing: string | null,
  ) {
    this.channel = openChannel(sab);
    this.writer = new FrameWriter(this.channel.inRing);
    let death: ThreadDeath | null = null;
    thread.on('message', (m: PythonThreadMessage) => {
      if (m.kind === 'crashed') death = { kind: 'report', report: m };
      else if (m.kind === 'stopped') death ??= { kind: 'stopped', exitCode: m.exitCode };
      else if (m.kind === 'time-zone') setLogTimeZone(m.tz, m.tzdir);
    });
    thread.on('error', (error: Error) => {
      death ??= { kind: 'error', error };
    });
    thread.once('exit', (code) => {
      if (!this.leaving) this.onDeath?.(death ?? { kind: 'exit', code });
    });
  }

  /**
   * Starts the Python thread, which boots (or, from `snapshotFd`, restores)
   * Pyodide as far as it can without its configuration: a worker process
   * calls this before the arbiter's init arrives, so that the thread's start,
   * the longest part of a worker's, runs on the other core while the I/O
   * thread starts up. `start` hands it the rest.
   */
  static launch(snapshotFd: number | null): LaunchedThread {
    // pyodide.asm.wasm, compiled in this thread while the Python thread starts (src/runtime/wasm.ts);
    // begun before the thread exists, as it first sets V8's flags, which are the process's.
    const compiled = compilePyodideWasm();
    const sab = createChannelBuffer();
    const boot: PythonThreadBoot = { sab, snapshotFd, inboxSize: INBOX_BYTES };
    // Not trackUnmanagedFds: node then warned on stderr ("File descriptor 5 closed but not
    // opened in unmanaged mode") when the thread closed the --preload image's descriptor,
    // which the process inherited; the thread lives as long as its process does.
    const thread = new Worker(PYTHON_THREAD, { workerData: boot, resourceLimits: PYTHON_THREAD_LIMITS, trackUnmanagedFds: false });
    void compiled.then((module) => {
      thread.postMessage({ kind: 'compiled-wasm', module } satisfies CompiledWasmMessage);
    });
    const booted = new Promise<PythonThreadMessage>((resolve, reject) => {
      // The app may set TZ as it loads (Django's TIME_ZONE), before the thread reports its boot.
      const onMessage = (m: PythonThreadMessage) => {
        if (m.kind === 'time-zone') return setLogTimeZone(m.tz, m.tzdir);
        thread.off('message', onMessage);
        resolve(m);
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`the Python thread exited (${code}) during boot`)));
    });
    // Listened to from the start: a thread that fails before `start` is reported by `start`, not as unhandled.
    booted.catch(() => {});
    return { thread, sab, booted };
  }

  /**
   * Hands a launched thread its configuration, once this process has opened
   * its logs and dropped its privileges (the thread runs no Python before
   * it has it), and resolves once the app is loaded.
   */
  static async start(launched: LaunchedThread, config: PythonThreadConfig): Promise<Interpreter> {
    const { thread, sab } = launched;
    thread.postMessage({ kind: 'config', config } satisfies ConfigMessage);
    const booted = await launched.booted;
    if (booted.kind === 'boot-failed') {
      await thread.terminate();
      throw new BootFailure(booted.exitCode);
    }
    thread.removeAllListeners();
    return new Interpreter(thread, sab, booted.kind === 'ready' ? booted.baseMissing : null);
  }

  /** The size of the thread's wasm memory as of its last response, in bytes. */
  wasmMemoryBytes(): number {
    return Atomics.load(this.channel.ctl, Ctl.WasmPages) * 65536;
  }

  /** The client of exchange `id` left: Python sees it at its next write. */
  flagGone(id: number): void {
    Atomics.store(this.channel.ctl, goneSlot(id), id);
  }

  /** From now on the thread's end is expected (the dispatcher's abandon, stop or interrupt). */
  expectEnd(): void {
    this.leaving = true;
  }

  /** Raises Python's interrupt flag (a signal number); resolves with the exit code the thread reports. */
  interrupt(signal: 2 | 6): Promise<number> {
    this.leaving = true;
    const stopped = new Promise<number>((resolve) => {
      this.thread.on('message', (m: PythonThreadMessage) => {
        if (m.kind === 'stopped') resolve(m.exitCode);
      });
      this.thread.once('exit', () => resolve(signal === 6 ? 1 : 0));
    });
    Atomics.store(this.channel.ctl, Ctl.Interrupt, signal);
    Atomics.notify(this.channel.ctl, Ctl.InWrite);
    return stopped;
  }

  /** True while a raised interrupt flag is still unread: Python has not looked at it since. */
  interruptUnread(): boolean {
    return Atomics.load(this.channel.ctl, Ctl.Interrupt) !== 0;
  }

  /** Asks the thread to leave its loop and waits for it to end. */
  async stop(): Promise<void> {
    this.leaving = true;
    this.writer.push(InFrame.Stop, 0);
    await once(this.thread, 'exit');
  }
}
