// The I/O thread's half of the WSGI bridge: it owns the Python thread, hands
// it one request at a time (head, then body frames as they arrive) and turns
// the frames Python sends back into a node:http response, honouring the
// client's pace (backpressure) in both directions.

import { once } from 'node:events';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ConfigMessage, PythonThreadBoot, PythonThreadConfig, PythonThreadMessage } from './python-thread.js';
import type { CrashReport } from './fatal.js';
import {
  Ctl, FRAME_HEADER, InFrame, MAX_IN_FRAME, OUT_RING_BYTES, OutFrame, createChannelBuffer, decodeFile, decodeStart,
  PADDING, encodeHead, frameHeader, framePadding, openChannel, type Channel, type FileSpan, type RequestHead,
} from './protocol.js';
import type { AccessSink } from '../log/access-record.js';
import type { Http1Response } from '../worker/front-door/response-rules.js';
import type { Ring } from './ring.js';
import { PYTHON_THREAD_LIMITS } from '../runtime/memory.js';
import { compilePyodideWasm, type CompiledWasmMessage } from '../runtime/wasm.js';

/** One request on its way through Python. */
export interface Exchange {
  head: RequestHead;
  req: IncomingMessage;
  res: ServerResponse;
  /** Gunicorn's response rules for this request (status line, Server, no-body responses, 103 hints). */
  http1: Http1Response;
  /** The body as the front door kept it (read before the request came here); absent: `req` streams it. */
  body?: Readable;
  /** When the head arrived: ms since the epoch, and a monotonic clock for the duration. */
  startedAt: number;
  t0: bigint;
  /** Filled in as the response goes out, for the access log. */
  status?: number;
  responseHeaders?: string[];
  bytesSent?: number;
  /** Bridge bookkeeping: the head's number, whether all body frames went out, whether the client left. */
  seq?: number;
  bodySent?: boolean;
  gone?: boolean;
}

export type BridgeOptions = PythonThreadConfig;

/** How the Python thread ended without being asked to: its own report, or the error the thread died of. */
export type ThreadDeath = { kind: 'report'; report: CrashReport } | { kind: 'error'; error: Error } | { kind: 'exit'; code: number };

/** A Python thread started by PythonBridge.launch, waiting for its configuration. */
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

/** Largest request head the Python side accepts in one frame. */
const INBOX_BYTES = 1 << 20;
/**
 * Heads handed to Python at once: the one it serves and those it finds waiting
 * when done, so it does not wait for this thread to turn around (with 10
 * keep-alive clients: 8.6k req/s at 4 against 6.9k at 2, hello app, medians of 8 runs).
 */
const MAX_INFLIGHT = 4;
/** Pause reading an upload when this much is waiting for room in the ring. */
const UPLOAD_HIGH_WATER = 1 << 20;
/**
 * How much of one response may wait in node's buffers for a client that is
 * not reading before the bridge stops playing Python's frames (and Python, once
 * the ring is full, waits): a response this small never holds Python, so a
 * client that pipelines requests and reads no reply cannot stop the worker
 * (the front door hands Python 4 of its requests at a time: at most 1 MiB per
 * such connection). A larger response is streamed at the client's pace, as
 * Gunicorn's sendall() does.
 */
const RESPONSE_BUFFER = 1 << 18;
const PYTHON_THREAD = fileURLToPath(new URL('./python-thread.js', import.meta.url));

/** Writes frames into the in ring without ever blocking the event loop. */
class FrameWriter {
  private pending: Uint8Array[] = [];
  pendingBytes = 0;
  private waiting = false;
  onDrain: (() => void) | null = null;

  constructor(private readonly ring: Ring) {}

  push(type: number, payload?: Uint8Array): void {
    const length = payload?.length ?? 0;
    this.queue(frameHeader(type, length));
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

/** One read of the out ring: a buffer that goes back to its pool once node has written every piece of it. */
interface Batch {
  buf: Buffer;
  /** Counts a piece handed to res.write(); returns its write callback. */
  hold(): () => void;
  /** The pump is done with the batch. */
  release(): void;
}

/**
 * Buffers for reads of the out ring. A large response would otherwise cost a
 * fresh allocation per read, and a fresh allocation of a MiB is 256 page
 * faults and a kernel memset (glibc maps it anew each time, see
 * src/runtime/memory.ts). Small reads come from node's own buffer pool.
 * A pooled buffer is reused only after node has called back for every write
 * it went into; one whose writes never call back (destroyed sockets) is left
 * to the garbage collector.
 */
class ReadBuffers {
  static readonly POOLED_FROM = 1 << 14;
  private readonly free: Buffer[] = [];

  constructor(
    private readonly size: number,
    private readonly keep: number,
  ) {}

  take(n: number): Batch {
    if (n < ReadBuffers.POOLED_FROM) return { buf: Buffer.allocUnsafe(n), hold: () => noop, release: noop };
    const whole = this.free.pop() ?? Buffer.allocUnsafe(this.size);
    let holds = 1;
    const drop = () => {
      if (--holds === 0 && this.free.length < this.keep) this.free.push(whole);
    };
    return {
      buf: whole.subarray(0, n),
      hold: () => {
        holds++;
        return drop;
      },
      release: drop,
    };
  }
}

const noop = (): void => {};

export class PythonBridge {
  private readonly channel: Channel;
  private readonly writer: FrameWriter;
  private readonly readBuffers = new ReadBuffers(OUT_RING_BYTES + 8, 4);
  /** Waiting for their head to go to Python. */
  private readonly queue: Exchange[] = [];
  /**
   * Heads already handed to Python, oldest first; the first is the one Python
   * is serving. Later heads (up to MAX_INFLIGHT) are written while Python still
   * works on the current request, so Python finds them without sleeping (each
   * once the request before it has sent its whole body: frames of two
   * requests never interleave).
   */
  private readonly inflight: Exchange[] = [];
  private currentSince = 0;
  /** Numbers the heads, as the Python side counts them, for ClientGone. */
  private seq = 0;
  private idleWaiters: (() => void)[] = [];
  /** Requests Python has finished (Gunicorn's worker.nr). */
  handled = 0;
  /** Called after each finished request. */
  onRequestDone: (() => void) | null = null;
  /** Set when the worker is leaving: responses then close their connection. */
  draining = false;
  /** Hears about every request that got a response (the access log, metrics). */
  onAccess: AccessSink | null = null;
  /** Called once if the Python thread ends while serving (not after stop() or interrupt()). */
  onThreadDeath: ((death: ThreadDeath) => void) | null = null;
  private leaving = false;

  private constructor(readonly thread: Worker, sab: SharedArrayBuffer) {
    this.channel = openChannel(sab);
    this.writer = new FrameWriter(this.channel.inRing);
    void this.pumpResponses();
    let death: ThreadDeath | null = null;
    thread.on('message', (m: PythonThreadMessage) => {
      if (m.kind === 'crashed') death = { kind: 'report', report: m };
    });
    thread.on('error', (error: Error) => {
      death ??= { kind: 'error', error };
    });
    thread.once('exit', (code) => {
      if (!this.leaving) this.onThreadDeath?.(death ?? { kind: 'exit', code });
    });
  }

  /** The size of the Python thread's wasm memory as of its last response, in bytes. */
  wasmMemoryBytes(): number {
    return Atomics.load(this.channel.ctl, Ctl.WasmPages) * 65536;
  }

  /** The request line of the request Python is serving, or null. */
  currentRequestLine(): string | null {
    const h = this.current?.head;
    return h ? `${h.method} ${h.target} HTTP/${h.httpVersion}` : null;
  }

  /**
   * The Python thread is gone: every request handed to the bridge that has no
   * finished response, the one Python was serving first. They are the
   * caller's to answer; the bridge forgets them.
   */
  abandon(): Exchange[] {
    this.leaving = true;
    const left = [...this.inflight, ...this.queue].filter((ex) => !ex.res.writableFinished && !ex.res.destroyed);
    this.inflight.length = 0;
    this.queue.length = 0;
    return left;
  }

  /**
   * Starts the Python thread, which boots (or, from `snapshotFd`, restores)
   * Pyodide as far as it can without its configuration: a worker process
   * calls this before the arbiter's init arrives, so that the thread's start,
   * the longest part of a worker's, runs on the other core while the I/O
   * thread starts up. `start` hands it the rest.
   */
  static launch(snapshotFd: number | null): LaunchedThread {
    const sab = createChannelBuffer();
    const boot: PythonThreadBoot = { sab, snapshotFd, inboxSize: INBOX_BYTES };
    const thread = new Worker(PYTHON_THREAD, { workerData: boot, resourceLimits: PYTHON_THREAD_LIMITS });
    // pyodide.asm.wasm, compiled in this thread while the Python thread starts (src/runtime/wasm.ts).
    void compilePyodideWasm().then((module) => {
      thread.postMessage({ kind: 'compiled-wasm', module } satisfies CompiledWasmMessage);
    });
    const booted = new Promise<PythonThreadMessage>((resolve, reject) => {
      thread.once('message', resolve);
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
  static async start(launched: LaunchedThread, opts: BridgeOptions): Promise<PythonBridge> {
    const { thread, sab } = launched;
    thread.postMessage({ kind: 'config', config: opts } satisfies ConfigMessage);
    const booted = await launched.booted;
    if (booted.kind === 'boot-failed') {
      await thread.terminate();
      throw new BootFailure(booted.exitCode);
    }
    thread.removeAllListeners();
    return new PythonBridge(thread, sab);
  }

  private get current(): Exchange | null {
    return this.inflight[0] ?? null;
  }

  get busy(): boolean {
    return this.inflight.length > 0 || this.queue.length > 0;
  }

  /** How long Python has been inside the current request, in ms (0 when idle). */
  busyFor(now = Date.now()): number {
    return this.current ? now - this.currentSince : 0;
  }

  handle(ex: Exchange): void {
    this.queue.push(ex);
    this.sendHeads();
  }

  /** Resolves when no request is queued or in Python. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Interrupts Python wherever it is, as a signal interrupts Gunicorn's worker:
   * 2 (INT/QUIT) raises KeyboardInterrupt, 6 (ABRT) runs worker_abort.
   * Resolves with the exit code the Python thread reports.
   */
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

  /** Asks the Python thread to leave its loop and waits for it to end. */
  async stop(): Promise<void> {
    this.leaving = true;
    this.writer.push(InFrame.Stop);
    await once(this.thread, 'exit');
  }

  /** The current request is over (End or Close): the next one in flight becomes current. */
  private next(): void {
    if (this.inflight.shift()) {
      this.handled++;
      this.onRequestDone?.();
    }
    this.currentSince = Date.now();
    const now = this.current;
    if (now?.gone) Atomics.store(this.channel.ctl, Ctl.ClientGone, now.seq!);
    this.sendHeads();
    if (!this.busy) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Hands heads to Python: up to MAX_INFLIGHT, each once the body before it is all sent. */
  private sendHeads(): void {
    while (this.queue.length > 0 && this.inflight.length < MAX_INFLIGHT) {
      const last = this.inflight.at(-1);
      if (last && !last.bodySent) return;
      const ex = this.queue.shift()!;
      if (ex.res.destroyed) continue;
      if (this.inflight.length === 0) this.currentSince = Date.now();
      ex.seq = ++this.seq;
      this.inflight.push(ex);
      this.writer.push(InFrame.Head, encodeHead(ex.head));
      ex.bodySent = !ex.head.hasBody;
      if (ex.head.hasBody) this.forwardBody(ex);
      ex.res.once('close', () => {
        if (ex.res.writableFinished) return;
        ex.gone = true;
        // Python compares this with the number of the request it is serving.
        if (this.inflight.includes(ex)) Atomics.store(this.channel.ctl, Ctl.ClientGone, ex.seq!);
      });
    }
  }

  private forwardBody(ex: Exchange): void {
    const { req, body } = ex;
    const src: Readable = body ?? req;
    const w = this.writer;
    w.onDrain = () => src.resume();
    let ended = false;
    const done = () => {
      if (ex.bodySent) return;
      ex.bodySent = true;
      w.onDrain = null;
      this.sendHeads();
    };
    src.on('data', (chunk: Buffer) => {
      for (let off = 0; off < chunk.length; off += MAX_IN_FRAME) {
        w.push(InFrame.Body, chunk.subarray(off, off + MAX_IN_FRAME));
      }
      if (w.pendingBytes > UPLOAD_HIGH_WATER) src.pause();
    });
    src.once('end', () => {
      ended = true;
      w.push(InFrame.Eof);
      done();
    });
    // A kept body ends in an error when its spool cannot be read or a streamed rest is cut: Abort.
    if (body) body.on('error', () => {});
    src.once('close', () => {
      if (!ended && (body !== undefined || !req.complete)) {
        w.push(InFrame.Abort);
        done();
      }
    });
  }

  /** Reads Python's frames forever and plays them onto the current response. */
  private async pumpResponses(): Promise<void> {
    const ring = this.channel.outRing;
    const header = Buffer.alloc(FRAME_HEADER);
    let headerFill = 0;
    let type = 0;
    let remaining = 0;
    let padding = 0;
    let assembled: Buffer[] = [];
    for (;;) {
      if (ring.used() === 0) await ring.dataAvailable();
      const used = ring.used();
      // Copied to the same alignment it has in the ring: a word-wise copy.
      const skew = ring.readOffset() & 7;
      const batch = this.readBuffers.take(skew + used);
      const buf = batch.buf;
      const n = skew + ring.read(buf.subarray(skew, skew + used));
      let off = skew;
      while (off < n) {
        if (padding > 0) {
          const skip = Math.min(padding, n - off);
          padding -= skip;
          off += skip;
          continue;
        }
        if (headerFill < FRAME_HEADER) {
          const take = Math.min(FRAME_HEADER - headerFill, n - off);
          buf.copy(header, headerFill, off, off + take);
          headerFill += take;
          off += take;
          if (headerFill < FRAME_HEADER) break;
          type = header[0]!;
          remaining = header.readUInt32LE(4);
          padding = framePadding(remaining);
          assembled = [];
        }
        const take = Math.min(remaining, n - off);
        const piece = buf.subarray(off, off + take);
        off += take;
        remaining -= take;
        // Awaited only when something waits (a full socket, a file): most
        // frames are played without yielding to the event loop.
        if (type === OutFrame.Body) {
          if (take > 0) {
            const waiting = this.writeBody(piece, batch);
            if (waiting) await waiting;
          }
        } else if (take > 0) {
          // A frame continued in the next batch must not point into this one's buffer.
          assembled.push(remaining > 0 ? Buffer.from(piece) : piece);
        }
        if (remaining === 0) {
          headerFill = 0;
          if (type !== OutFrame.Body) {
            const payload = assembled.length === 1 ? assembled[0]! : Buffer.concat(assembled);
            const waiting = this.onFrame(type, payload);
            if (waiting) await waiting;
          }
        }
      }
      batch.release();
    }
  }

  /** Writes to the current response; a promise only when the socket is full. */
  private writeBody(piece: Buffer, batch: Batch): Promise<void> | null {
    const ex = this.current;
    if (!ex || ex.res.destroyed || !ex.http1.keepsBody(piece.length)) return null;
    ex.bytesSent = (ex.bytesSent ?? 0) + piece.length;
    return ex.res.write(piece, batch.hold()) ? null : drained(ex.res, RESPONSE_BUFFER);
  }

  /** The access record of a finished exchange; End and Close carry the environ values asked for. */
  private logAccess(ex: Exchange, trailer: Buffer): void {
    if (!this.onAccess || !ex.status) return;
    const environ: Record<string, string> = {};
    if (trailer.length > 0) {
      const parts = trailer.toString('latin1').split('\0');
      for (let i = 0; i + 1 < parts.length; i += 2) environ[parts[i]!] = parts[i + 1]!;
    }
    const { head } = ex;
    this.onAccess({
      method: head.method,
      target: head.target,
      httpVersion: head.httpVersion,
      remoteAddress: head.remoteAddress,
      requestHeaders: head.rawHeaders,
      status: ex.status,
      responseHeaders: ex.responseHeaders ?? [],
      bytesSent: ex.bytesSent ?? 0,
      startedAt: ex.startedAt,
      durationUs: Number((process.hrtime.bigint() - ex.t0) / 1000n),
      environ,
    });
  }

  /** Plays one frame; a promise only while a file is streamed. */
  private onFrame(type: number, payload: Buffer): Promise<void> | null {
    const ex = this.current;
    const res = ex?.res;
    switch (type) {
      case OutFrame.Start: {
        if (!res || res.destroyed) return null;
        const start = decodeStart(payload);
        if (start.close || this.draining) start.headers.push('Connection', 'close');
        ex.status = start.statusCode;
        ex.responseHeaders = start.headers;
        try {
          ex.http1.writeHead(res, start);
        } catch {
          res.destroy();
        }
        return null;
      }
      case OutFrame.File: {
        if (!res || res.destroyed) return null;
        const span = decodeFile(payload);
        if (!ex.http1.keepsBody(span.count)) return null;
        return streamFile(res, span).then((sent) => {
          ex.bytesSent = (ex.bytesSent ?? 0) + sent;
        });
      }
      case OutFrame.Hints:
        if (res && !res.destroyed) ex.http1.writeEarlyHints(res, payload.toString('latin1').split('\0'));
        return null;
      case OutFrame.End:
        if (res && !res.destroyed) res.end();
        break;
      case OutFrame.Close:
        // Headers are out, the body is not what was promised: close, don't finish.
        res?.socket?.destroySoon();
        break;
      default:
        return null;
    }
    if (ex) this.logAccess(ex, payload);
    this.next();
    return null;
  }
}

/** Resolves once the response's socket drains; at once while it holds less than `allowed` bytes. */
function drained(res: ServerResponse, allowed = 0): Promise<void> | null {
  if (res.destroyed || !res.writableNeedDrain || res.writableLength < allowed) return null;
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Streams the span; returns the bytes written. */
async function streamFile(res: ServerResponse, span: FileSpan): Promise<number> {
  let sent = 0;
  if (span.count === 0) return sent;
  const end = span.count < 0 ? undefined : span.offset + span.count - 1;
  const stream = fs.createReadStream(span.path, { start: span.offset, end, highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream) {
      if (res.destroyed) break;
      sent += (chunk as Buffer).length;
      if (!res.write(chunk as Buffer)) await drained(res, RESPONSE_BUFFER);
    }
  } catch {
    res.destroy();
  } finally {
    stream.destroy();
  }
  return sent;
}
