// The dispatcher of the worker classes that run interpreters: requests wait
// in one queue and go to an interpreter's lane (one per interpreter, each
// serving one request at a time). A lane hands its Python the heads (sync: a
// few ahead, so Python finds the next one without waiting), forwards request
// bodies at the pace its in ring allows, and plays Python's frames, routed by
// exchange id, onto each request's response sink, honouring the client's
// pace (backpressure) in both directions.

import type { Readable } from 'node:stream';
import type { AccessSink } from '../log/access-record.js';
import { reportAccess, type DispatchedRequest, type ResponseSink, type ThreadDeath, type WorkerDispatcher } from './dispatcher.js';
import { FrameDecoder } from './frame-decoder.js';
import type { Interpreter } from './interpreter.js';
import {
  EXCHANGE_ID_LIMIT, GONE_SLOTS, InFrame, MAX_IN_FRAME, OUT_RING_BYTES, OutFrame, decodeFile, decodeStart, encodeHead,
} from './protocol.js';

/**
 * Heads handed to one interpreter at once in the sync class: the one it serves
 * and those it finds waiting when done, so it does not wait for this thread to
 * turn around (with 10 keep-alive clients: 8.6k req/s at 4 against 6.9k at 2,
 * hello app, medians of 8 runs).
 */
export const SYNC_INFLIGHT = 4;
/**
 * How long stop() waits for an interpreter interrupted by abortStuck() to end
 * (its worker_abort logs the stuck frame): the moment an interrupted worker
 * gets in io-thread.ts too.
 */
const ABORTED_GRACE_MS = 2000;
/** Pause reading an upload when this much is waiting for room in the ring. */
const UPLOAD_HIGH_WATER = 1 << 20;

/** One request between the front door and Python, as this dispatcher tracks it. */
interface Exchange {
  request: DispatchedRequest;
  sink: ResponseSink;
  /** Its number on the channel (protocol.ts). */
  id: number;
  /** All its body frames are written to the in ring. */
  bodySent: boolean;
  /** Its client left before the response was finished. */
  gone: boolean;
  status?: number;
  responseHeaders?: string[];
  bytesSent: number;
}

/** One read of the out ring: a buffer that goes back to its pool once every piece of it is written. */
interface Batch {
  buf: Buffer;
  /** Counts a piece handed to a sink; returns its write callback. */
  hold(): () => void;
  /** The pump is done with the batch. */
  release(): void;
}

const noop = (): void => {};

/**
 * Buffers for reads of the out ring. A large response would otherwise cost a
 * fresh allocation per read, and a fresh allocation of a MiB is 256 page
 * faults and a kernel memset (glibc maps it anew each time, see
 * src/runtime/memory.ts). Small reads come from node's own buffer pool.
 * A pooled buffer is reused only after every write it went into has called
 * back; one whose writes never call back (destroyed sockets) is left to the
 * garbage collector.
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

/** One interpreter and the requests handed to it. */
class Lane {
  private readonly readBuffers = new ReadBuffers(OUT_RING_BYTES + 8, 4);
  private readonly decoder = new FrameDecoder(OutFrame.Body);
  /**
   * Heads already handed to this interpreter, oldest first; the first is the
   * one Python is serving. Later heads are written while Python still works on
   * the current request (each once the request before it has sent its whole
   * body: body frames of two requests never interleave on the in ring).
   */
  readonly inflight: Exchange[] = [];
  private currentSince = 0;
  private lastId = 0;

  constructor(
    readonly interpreter: Interpreter,
    private readonly pool: InterpreterPool,
    /** Requests in flight at most (SYNC_INFLIGHT for sync). */
    private readonly depth: number,
  ) {
    void this.pumpResponses();
  }

  get current(): Exchange | null {
    return this.inflight[0] ?? null;
  }

  busyFor(now: number): number {
    return this.current ? now - this.currentSince : 0;
  }

  /** Whether a head can go now: room in flight, and the body before it all sent. */
  canTake(): boolean {
    if (this.inflight.length >= this.depth) return false;
    const last = this.inflight.at(-1);
    return !last || last.bodySent;
  }

  /** Exchange ids run 1..2^24-1: 0 is what an unflagged gone slot holds. */
  private nextId(): number {
    this.lastId = (this.lastId % (EXCHANGE_ID_LIMIT - 1)) + 1;
    return this.lastId;
  }

  take(ex: Exchange): void {
    if (this.inflight.length === 0) this.currentSince = Date.now();
    ex.id = this.nextId();
    this.inflight.push(ex);
    this.interpreter.writer.push(InFrame.Head, ex.id, encodeHead(ex.request.head));
    const { body } = ex.request;
    ex.bodySent = body === null;
    if (body) this.forwardBody(ex, body.stream, body.cutIfClosed);
    ex.sink.onGone(() => {
      ex.gone = true;
      // Python compares this slot with the id of the request it is serving.
      if (this.inflight.includes(ex)) this.interpreter.flagGone(ex.id);
    });
  }

  private forwardBody(ex: Exchange, src: Readable, cutIfClosed: () => boolean): void {
    const w = this.interpreter.writer;
    w.onDrain = () => src.resume();
    let ended = false;
    const done = () => {
      if (ex.bodySent) return;
      ex.bodySent = true;
      w.onDrain = null;
      this.pool.dispatch();
    };
    src.on('data', (chunk: Buffer) => {
      for (let off = 0; off < chunk.length; off += MAX_IN_FRAME) {
        w.push(InFrame.Body, ex.id, chunk.subarray(off, off + MAX_IN_FRAME));
      }
      if (w.pendingBytes > UPLOAD_HIGH_WATER) src.pause();
    });
    src.once('end', () => {
      ended = true;
      w.push(InFrame.Eof, ex.id);
      done();
    });
    // A kept body ends in an error when its spool cannot be read or a streamed rest is cut: Abort.
    src.on('error', () => {});
    src.once('close', () => {
      if (!ended && cutIfClosed()) {
        w.push(InFrame.Abort, ex.id);
        done();
      }
    });
  }

  /** An exchange is over (End or Close): the next one in flight becomes current. */
  private finish(ex: Exchange): void {
    const at = this.inflight.indexOf(ex);
    if (at < 0) return;
    this.inflight.splice(at, 1);
    if (at === 0) this.currentSince = Date.now();
    this.pool.finished();
  }

  private exchangeOf(id: number): Exchange | null {
    for (const ex of this.inflight) if (ex.id === id) return ex;
    return null;
  }

  /** Reads Python's frames forever and plays each onto its exchange's sink. */
  private async pumpResponses(): Promise<void> {
    const ring = this.interpreter.channel.outRing;
    for (;;) {
      if (ring.used() === 0) await ring.dataAvailable();
      const used = ring.used();
      // Copied to the same alignment it has in the ring: a word-wise copy.
      const skew = ring.readOffset() & 7;
      const batch = this.readBuffers.take(skew + used);
      const buf = batch.buf;
      const n = skew + ring.read(buf.subarray(skew, skew + used));
      // Awaited only when something waits (a full socket, a file): most
      // frames are played without yielding to the event loop.
      for (const piece of this.decoder.decode(buf, skew, n)) {
        const ex = this.exchangeOf(piece.exchange);
        if (!ex) continue;
        const waiting = piece.kind === 'body' ? this.writeBody(ex, piece.data, batch) : this.onFrame(ex, piece.type, piece.payload);
        if (waiting) await waiting;
      }
      batch.release();
    }
  }

  /** A promise only when the client reads slowly. */
  private writeBody(ex: Exchange, data: Buffer, batch: Batch): Promise<void> | null {
    if (ex.sink.gone || !ex.sink.keepsBody(data.length)) return null;
    ex.bytesSent += data.length;
    return ex.sink.write(data, batch.hold());
  }

  /** Plays one frame; a promise only while a file is streamed. */
  private onFrame(ex: Exchange, type: number, payload: Buffer): Promise<void> | null {
    const { sink } = ex;
    switch (type) {
      case OutFrame.Start: {
        if (sink.gone) return null;
        const start = decodeStart(payload);
        ex.status = start.statusCode;
        sink.start(start);
        // What went out, for the access log: the sink may have added its protocol's headers.
        ex.responseHeaders = start.headers;
        return null;
      }
      case OutFrame.File: {
        const span = decodeFile(payload);
        if (sink.gone || !sink.keepsBody(span.count)) return null;
        return sink.sendFile(span).then((sent) => {
          ex.bytesSent += sent;
        });
      }
      case OutFrame.Hints:
        if (!sink.gone) sink.earlyHints(payload.toString('latin1').split('\0'));
        return null;
      case OutFrame.End:
        if (!sink.gone) sink.end();
        break;
      case OutFrame.Close:
        // Headers are out, the body is not what was promised: close, don't finish.
        sink.abort();
        break;
      default:
        return null;
    }
    reportAccess(this.pool.onAccess, ex, payload);
    this.finish(ex);
    return null;
  }
}

export class InterpreterPool implements WorkerDispatcher {
  private readonly lanes: Lane[];
  /** Waiting for an interpreter to take them. */
  private readonly queue: Exchange[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Interpreters abortStuck() interrupted, until they have ended (worker_abort runs in them). */
  private readonly aborting: Promise<unknown>[] = [];
  handled = 0;
  readonly perConnection: number;
  onRequestDone: (() => void) | null = null;
  onAccess: AccessSink | null = null;
  onThreadDeath: ((death: ThreadDeath) => void) | null = null;
  readonly baseMissing: string | null;

  /**
   * @param depth requests one interpreter holds at once (the one it serves and
   * those waiting for it; at most GONE_SLOTS): SYNC_INFLIGHT for one
   * interpreter; 1 for several, so a request waits for whichever is idle first.
   */
  constructor(interpreters: Interpreter[], depth: number) {
    if (depth < 1 || depth > GONE_SLOTS) throw new RangeError(`depth ${depth}`);
    this.lanes = interpreters.map((i) => new Lane(i, this, depth));
    // One interpreter serves a connection's requests in order whatever it holds.
    this.perConnection = interpreters.length === 1 ? depth : 1;
    this.baseMissing = interpreters.find((i) => i.baseMissing !== null)?.baseMissing ?? null;
    for (const lane of this.lanes) lane.interpreter.onDeath = (death) => this.onThreadDeath?.(death);
  }

  /** The largest wasm memory among the interpreters, in bytes. */
  wasmMemoryBytes(): number {
    return Math.max(...this.lanes.map((l) => l.interpreter.wasmMemoryBytes()));
  }

  /** The lane busy longest. */
  private longest(now = Date.now()): Lane | null {
    let best: Lane | null = null;
    for (const lane of this.lanes) if (lane.current && (!best || lane.busyFor(now) > best.busyFor(now))) best = lane;
    return best;
  }

  currentRequestLine(): string | null {
    const h = this.longest()?.current?.request.head;
    return h ? `${h.method} ${h.target} HTTP/${h.httpVersion}` : null;
  }

  abandon(): ResponseSink[] {
    const all = [...this.lanes.flatMap((l) => l.inflight.splice(0)), ...this.queue.splice(0)];
    for (const lane of this.lanes) lane.interpreter.expectEnd();
    return all.filter((ex) => !ex.sink.finished && !ex.sink.gone).map((ex) => ex.sink);
  }

  private get busy(): boolean {
    return this.queue.length > 0 || this.lanes.some((l) => l.inflight.length > 0);
  }

  busyFor(now = Date.now()): number {
    return this.longest(now)?.busyFor(now) ?? 0;
  }

  backlog(): number {
    let n = this.queue.length;
    for (const lane of this.lanes) if (lane.inflight.length > 1) n += lane.inflight.length - 1;
    return n;
  }

  handle(request: DispatchedRequest, sink: ResponseSink): void {
    this.queue.push({ request, sink, id: 0, bodySent: false, gone: false, bytesSent: 0 });
    this.dispatch();
  }

  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  abortStuck(limitMs: number, now = Date.now()): { sinks: ResponseSink[]; aborted: string[]; serving: number } {
    const sinks: ResponseSink[] = [];
    const aborted: string[] = [];
    for (const lane of [...this.lanes]) {
      if (!lane.current || lane.busyFor(now) <= limitMs) continue;
      const h = lane.current.request.head;
      aborted.push(`${h.method} ${h.target} HTTP/${h.httpVersion}`);
      this.lanes.splice(this.lanes.indexOf(lane), 1);
      for (const ex of lane.inflight.splice(0)) if (!ex.sink.finished && !ex.sink.gone) sinks.push(ex.sink);
      this.aborting.push(lane.interpreter.interrupt(6));
    }
    if (aborted.length > 0) {
      this.dispatch();
      if (!this.busy) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
    return { sinks, aborted, serving: this.lanes.length };
  }

  /** Interrupts every interpreter; resolves with the highest exit code. */
  async interrupt(signal: 2 | 6): Promise<number> {
    const codes = await Promise.all(this.lanes.map((l) => l.interpreter.interrupt(signal)));
    return Math.max(...codes);
  }

  interruptUnread(): boolean {
    return this.lanes.some((l) => l.interpreter.interruptUnread());
  }

  /** Stops the interpreters that serve, and waits (ABORTED_GRACE_MS at most) for those abortStuck() interrupted. */
  async stop(): Promise<void> {
    const aborted = Promise.race([Promise.all(this.aborting), new Promise((r) => setTimeout(r, ABORTED_GRACE_MS).unref())]);
    await Promise.all([...this.lanes.map((l) => l.interpreter.stop()), aborted]);
  }

  /** Hands queued requests to the lanes that can take one, the least loaded first. */
  dispatch(): void {
    while (this.queue.length > 0) {
      let lane: Lane | null = null;
      for (const l of this.lanes) if (l.canTake() && (!lane || l.inflight.length < lane.inflight.length)) lane = l;
      if (!lane) return;
      const ex = this.queue.shift()!;
      if (ex.sink.gone) continue;
      lane.take(ex);
    }
  }

  /** A lane finished a request. */
  finished(): void {
    this.handled++;
    this.onRequestDone?.();
    this.dispatch();
    if (!this.busy) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
