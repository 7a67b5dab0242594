// The asgi class's dispatcher: one interpreter whose asyncio loop serves
// many exchanges at once (python/nicorn/asgi/). Every request goes to Python
// as soon as it arrives; frames of all of them interleave on the rings, each
// carrying its exchange id. Unlike the sync lanes (interpreter-pool.ts), no
// exchange may hold the rings for the others: a slow client's response is
// paced per exchange (Python waits for Sent credits, ASGI_RESPONSE_WINDOW),
// and an upload is forwarded a window at a time as the app reads it (Read).

import type { Readable } from 'node:stream';
import type { AccessSink } from '../log/access-record.js';
import { reportAccess, type DispatchedRequest, type ResponseSink, type ThreadDeath, type WebSocketSink, type WorkerDispatcher } from './dispatcher.js';
import { FrameDecoder } from './frame-decoder.js';
import type { Interpreter } from './interpreter.js';
import { Close } from '../worker/front-door/websocket.js';
import {
  ASGI_BODY_WINDOW, ASGI_RESPONSE_WINDOW, Ctl, EXCHANGE_ID_LIMIT, InFrame, MAX_IN_FRAME, OutFrame, decodeStart,
  encodeHead,
} from './protocol.js';

/** One request (or WebSocket) between the front door and the event loop. */
interface Exchange {
  request: DispatchedRequest;
  /** An HTTP request's response; null for a WebSocket. */
  sink: ResponseSink | null;
  /** A WebSocket's connection; null for an HTTP request. */
  ws: WebSocketSink | null;
  id: number;
  status?: number;
  responseHeaders?: string[];
  bytesSent: number;
  /** Response bytes written by the sink since the last Sent frame. */
  unreported: number;
  /** The body stream, resumed by a Read frame. */
  body: Readable | null;
  /** Body bytes the I/O thread may still forward before the app asks for more. */
  credit: number;
  /** The exchange has ended (End or Close): late write callbacks report nothing. */
  over: boolean;
}

/** Sent credits go back once this much of a response is written, not per chunk. */
const REPORT_EVERY = ASGI_RESPONSE_WINDOW / 4;

export class AsgiDispatcher implements WorkerDispatcher {
  private readonly decoder = new FrameDecoder(OutFrame.Body);
  private readonly exchanges = new Map<number, Exchange>();
  /** Waiting for room under `maxInFlight`. */
  private readonly queue: Exchange[] = [];
  private idleWaiters: (() => void)[] = [];
  private lastId = 0;
  handled = 0;
  // As before the setting existed (the front door's own bound); whether the
  // loop should take a connection's pipelined requests one at a time, as
  // uvicorn does, is the asgi class's question, not gthread's.
  readonly perConnection = 4;
  onRequestDone: (() => void) | null = null;
  onAccess: AccessSink | null = null;
  onThreadDeath: ((death: ThreadDeath) => void) | null = null;

  /**
   * @param maxInFlight exchanges the loop holds at once (worker_connections,
   * as Gunicorn's asgi worker caps its connections); the rest wait here.
   */
  constructor(
    private readonly interpreter: Interpreter,
    private readonly maxInFlight: number,
  ) {
    if (maxInFlight >= EXCHANGE_ID_LIMIT) throw new RangeError(`maxInFlight ${maxInFlight}`);
    interpreter.onDeath = (death) => this.onThreadDeath?.(death);
    void this.pump();
  }

  get baseMissing(): string | null {
    return this.interpreter.baseMissing;
  }

  wasmMemoryBytes(): number {
    return this.interpreter.wasmMemoryBytes();
  }

  /** How long the event loop has run without coming back to its wait (a blocked loop is a stuck worker). */
  busyFor(now = Date.now()): number {
    const since = Atomics.load(this.interpreter.channel.ctl, Ctl.BusySince);
    if (since === 0 || this.exchanges.size === 0) return 0;
    return Math.max(0, ((now | 0) - since) | 0);
  }

  /** The event loop takes every request up to --worker-connections at once: only those past it wait. */
  backlog(): number {
    return this.queue.length;
  }

  currentRequestLine(): string | null {
    const first = this.exchanges.values().next();
    if (first.done) return null;
    const h = first.value.request.head;
    return `${h.method} ${h.target} HTTP/${h.httpVersion}`;
  }

  handle(request: DispatchedRequest, sink: ResponseSink): void {
    this.admit({ request, sink, ws: null, id: 0, bytesSent: 0, unreported: 0, body: null, credit: ASGI_BODY_WINDOW, over: false });
  }

  upgrade(request: DispatchedRequest, ws: WebSocketSink): void {
    this.admit({ request, sink: null, ws, id: 0, bytesSent: 0, unreported: 0, body: null, credit: ASGI_BODY_WINDOW, over: false });
  }

  /** Graceful stop: every WebSocket gets 1001; the app then hears websocket.disconnect and returns. */
  goingAway(): void {
    for (const ex of [...this.exchanges.values(), ...this.queue]) {
      if (!ex.ws) continue;
      if (ex.ws.accepted) ex.ws.close(Close.GoingAway, 'Going Away');
      else ex.ws.refuse(503, 'Service Unavailable');
    }
  }

  private admit(ex: Exchange): void {
    if (this.exchanges.size >= this.maxInFlight) this.queue.push(ex);
    else this.start(ex);
  }

  private nextId(): number {
    do this.lastId = (this.lastId % (EXCHANGE_ID_LIMIT - 1)) + 1;
    while (this.exchanges.has(this.lastId));
    return this.lastId;
  }

  private start(ex: Exchange): void {
    if (ex.ws) return this.startWebSocket(ex, ex.ws);
    if (!ex.sink || ex.sink.gone) return;
    ex.id = this.nextId();
    this.exchanges.set(ex.id, ex);
    const w = this.interpreter.writer;
    w.push(InFrame.Head, ex.id, encodeHead(ex.request.head));
    const { body } = ex.request;
    if (body) this.forwardBody(ex, body.stream, body.cutIfClosed);
    ex.sink.onGone(() => {
      if (this.exchanges.get(ex.id) === ex) w.push(InFrame.Gone, ex.id);
    });
  }

  private startWebSocket(ex: Exchange, ws: WebSocketSink): void {
    if (ws.gone) return;
    ex.id = this.nextId();
    this.exchanges.set(ex.id, ex);
    const w = this.interpreter.writer;
    w.push(InFrame.WsHead, ex.id, encodeHead(ex.request.head));
    ws.onMessage = (binary, data) => {
      if (ex.over) return;
      const flags = binary ? 1 : 0;
      let off = 0;
      do {
        const piece = data.subarray(off, off + MAX_IN_FRAME - 1);
        off += piece.length;
        const last = off >= data.length;
        w.push(InFrame.WsData, ex.id, Buffer.concat([Buffer.from([flags | (last ? 2 : 0)]), piece]));
      } while (off < data.length);
      // Python holds what the app has not received yet: a window at a time, as request bodies.
      ex.credit -= data.length;
      if (ex.credit <= 0) ws.pause();
    };
    ws.onClosed = (code, reason) => {
      if (ex.over) return;
      const r = Buffer.from(reason, 'utf8');
      const payload = Buffer.alloc(2 + r.length);
      payload.writeUInt16BE(code, 0);
      r.copy(payload, 2);
      w.push(InFrame.WsClosed, ex.id, payload);
    };
    ws.start();
  }

  private forwardBody(ex: Exchange, src: Readable, cutIfClosed: () => boolean): void {
    const w = this.interpreter.writer;
    ex.body = src;
    let ended = false;
    src.on('data', (chunk: Buffer) => {
      if (ex.over) return;
      for (let off = 0; off < chunk.length; off += MAX_IN_FRAME) {
        w.push(InFrame.Body, ex.id, chunk.subarray(off, off + MAX_IN_FRAME));
      }
      ex.credit -= chunk.length;
      if (ex.credit <= 0) src.pause();
    });
    src.once('end', () => {
      ended = true;
      if (!ex.over) w.push(InFrame.Eof, ex.id);
    });
    src.on('error', () => {});
    src.once('close', () => {
      if (!ended && !ex.over && cutIfClosed()) w.push(InFrame.Abort, ex.id);
    });
  }

  /** Reads Python's frames forever and plays each onto its exchange's sink, never waiting for a client. */
  private async pump(): Promise<void> {
    const ring = this.interpreter.channel.outRing;
    for (;;) {
      if (ring.used() === 0) await ring.dataAvailable();
      const used = ring.used();
      const skew = ring.readOffset() & 7;
      // Sinks keep what they are given until written: a fresh buffer per read.
      const buf = Buffer.allocUnsafe(skew + used);
      const n = skew + ring.read(buf.subarray(skew, skew + used));
      for (const piece of this.decoder.decode(buf, skew, n)) {
        const ex = this.exchanges.get(piece.exchange);
        if (!ex) continue;
        if (piece.kind === 'body') this.writeBody(ex, piece.data);
        else this.onFrame(ex, piece.type, piece.payload);
      }
    }
  }

  private writeBody(ex: Exchange, data: Buffer): void {
    const { sink } = ex;
    const n = data.length;
    if (!sink || sink.gone || !sink.keepsBody(n)) {
      this.written(ex, n);
      return;
    }
    ex.bytesSent += n;
    // The promise a slow client gives is not awaited: the credits (Sent) pace this exchange alone.
    void sink.write(data, () => this.written(ex, n));
  }

  /** `n` bytes of the exchange's response are off Python's books: credit them back in batches. */
  private written(ex: Exchange, n: number): void {
    if (ex.over) return;
    ex.unreported += n;
    if (ex.unreported < REPORT_EVERY) return;
    const count = Buffer.allocUnsafe(4);
    count.writeUInt32LE(ex.unreported, 0);
    ex.unreported = 0;
    this.interpreter.writer.push(InFrame.Sent, ex.id, count);
  }

  private onFrame(ex: Exchange, type: number, payload: Buffer): void {
    const { sink, ws } = ex;
    if (ws) return this.onWebSocketFrame(ex, ws, type, payload);
    if (!sink) return;
    switch (type) {
      case OutFrame.Start: {
        if (sink.gone) return;
        const start = decodeStart(payload);
        ex.status = start.statusCode;
        sink.start(start);
        ex.responseHeaders = start.headers;
        return;
      }
      case OutFrame.Read:
        ex.credit = ASGI_BODY_WINDOW;
        ex.body?.resume();
        return;
      case OutFrame.End:
        if (!sink.gone) sink.end();
        break;
      case OutFrame.Close:
        sink.abort();
        break;
      default:
        return;
    }
    this.finish(ex, payload);
  }

  private onWebSocketFrame(ex: Exchange, ws: WebSocketSink, type: number, payload: Buffer): void {
    switch (type) {
      case OutFrame.WsAccept: {
        const [subprotocol = '', ...headers] = payload.toString('latin1').split('\0');
        ex.status = 101;
        ws.accept(subprotocol, headers);
        return;
      }
      case OutFrame.WsData: {
        const data = payload.subarray(1);
        ex.bytesSent += data.length;
        ws.send((payload[0]! & 1) !== 0, data, () => this.written(ex, data.length));
        return;
      }
      case OutFrame.WsClose:
        if (ws.accepted) ws.close(payload.readUInt16BE(0), payload.subarray(2).toString('utf8'));
        else {
          ex.status = 403;
          ws.refuse(403, 'Forbidden');
        }
        return;
      case OutFrame.Read:
        ex.credit = ASGI_BODY_WINDOW;
        ws.resume();
        return;
      case OutFrame.End:
      case OutFrame.Close:
        // The app's task is over: a connection it left open is closed (never accepted: 500, as uvicorn answers).
        if (!ws.accepted) {
          if (!ws.gone) {
            ex.status ??= 500;
            ws.refuse(500, 'Internal Server Error');
          }
        } else if (!ws.gone) {
          ws.close(type === OutFrame.End ? Close.Normal : Close.InternalError);
        }
        this.finish(ex, type === OutFrame.End ? payload : Buffer.alloc(0));
        return;
      default:
    }
  }

  private finish(ex: Exchange, trailer: Buffer): void {
    ex.over = true;
    this.exchanges.delete(ex.id);
    // A body the app did not read to its end is not read further.
    ex.body?.resume();
    reportAccess(this.onAccess, ex, trailer);
    this.handled++;
    this.onRequestDone?.();
    while (this.queue.length > 0 && this.exchanges.size < this.maxInFlight) this.start(this.queue.shift()!);
    if (this.exchanges.size === 0 && this.queue.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  idle(): Promise<void> {
    if (this.exchanges.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  abandon(): ResponseSink[] {
    const all = [...this.exchanges.values(), ...this.queue.splice(0)];
    this.exchanges.clear();
    this.interpreter.expectEnd();
    const sinks: ResponseSink[] = [];
    for (const ex of all) {
      if (ex.ws) {
        if (ex.ws.accepted) ex.ws.close(Close.InternalError, 'Internal Error');
        else ex.ws.refuse(500, 'Internal Server Error');
      } else if (ex.sink && !ex.sink.finished && !ex.sink.gone) sinks.push(ex.sink);
    }
    return sinks;
  }

  interrupt(signal: 2 | 6): Promise<number> {
    return this.interpreter.interrupt(signal);
  }

  interruptUnread(): boolean {
    return this.interpreter.interruptUnread();
  }

  /** Python leaves its loop after the lifespan shutdown. */
  stop(): Promise<void> {
    return this.interpreter.stop();
  }
}
