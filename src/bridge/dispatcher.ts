// What the front door and the worker base see of the bridge. The front door
// hands each request to a Dispatcher together with a ResponseSink of its own
// protocol (HTTP/1 today): the bridge decides when Python takes the request
// and plays Python's frames onto the sink, and the sink alone writes the
// protocol's framing (Connection: close, closing the socket, chunking).
// As undici's dispatcher: one small writer object per protocol, chosen by
// the connection, behind one interface.

import type { Readable } from 'node:stream';
import type { AccessSink } from '../log/access-record.js';
import type { CrashReport } from './fatal.js';
import type { FileSpan, RequestHead, ResponseStart } from './protocol.js';

/** A request's body, as the front door hands it over. */
export interface RequestBodySource {
  stream: Readable;
  /**
   * Whether the stream closing before its end means the body is cut (Python
   * then reads an Abort): a kept body always is; one streamed from the
   * connection only while the parser has not seen its end.
   */
  cutIfClosed(): boolean;
}

/** One request on its way to Python. */
export interface DispatchedRequest {
  head: RequestHead;
  /** Null when the request has no body (head.hasBody is false). */
  body: RequestBodySource | null;
  /** When the head arrived: ms since the epoch, and a monotonic clock for the duration. */
  startedAt: number;
  t0: bigint;
}

/**
 * Where one response goes: the front door's writer for the request's protocol.
 * Every call comes from the bridge, in frame order; none throws.
 */
export interface ResponseSink {
  /** The client is gone (nothing more can be written). */
  readonly gone: boolean;
  /** The whole response is written. */
  readonly finished: boolean;
  /** Whether the status line and headers have gone out. */
  readonly started: boolean;
  /** Called once if the client leaves before the response is finished. */
  onGone(listener: () => void): void;
  /** Status and headers; `start.close` asks to end the connection after this response. */
  start(start: ResponseStart): void;
  /**
   * A piece of the body; `written` is called once the protocol is done with
   * `data` (its buffer may then be reused). A promise when the client reads
   * slowly: the bridge waits for it before playing more.
   */
  write(data: Buffer, written: () => void): Promise<void> | null;
  /**
   * Whether `bytes` body bytes go on the wire: a response that has no content
   * (HEAD, 1xx, 204, 304) drops them, and its protocol's rules may warn.
   */
  keepsBody(bytes: number): boolean;
  /** wsgi.early_hints: header names and values, alternating, for a 103 before the final response. */
  earlyHints(fields: string[]): void;
  /** Streams a host file; resolves with the bytes written. */
  sendFile(span: FileSpan): Promise<number>;
  /** The response is complete; the connection may be reused. */
  end(): void;
  /** The headers are out but the body is not what they promised: end the connection after what was sent. */
  abort(): void;
  /**
   * The interpreter died with this response unfinished: Gunicorn's 500 page
   * if nothing was sent (and the connection closed), else the response cut.
   * Resolves once that is written.
   */
  fail(): Promise<void>;
}

/** One WebSocket connection as the front door hands it over (front-door/websocket.ts does the framing). */
export interface WebSocketSink {
  readonly gone: boolean;
  readonly accepted: boolean;
  /** A whole message from the client. */
  onMessage: (binary: boolean, data: Buffer) => void;
  /** The connection is over (code 1006: without a close frame). Called once. */
  onClosed: (code: number, reason: string) => void;
  /** Starts watching the connection (set the callbacks first). */
  start(): void;
  accept(subprotocol: string, headers: string[]): void;
  /** Answers the handshake with an HTTP refusal (the app closed before accepting: 403). */
  refuse(status?: number, reason?: string): void;
  send(binary: boolean, data: Buffer, written: () => void): void;
  close(code: number, reason?: string): void;
  pause(): void;
  resume(): void;
}

/** What the front door calls. */
export interface Dispatcher {
  handle(request: DispatchedRequest, sink: ResponseSink): void;
  /**
   * Requests of one HTTP/1 connection it may hold at once (pipelined ones).
   * More than 1 only where they are served in order anyway (one interpreter):
   * spread over several interpreters they would run at the same time, while
   * RFC 9112 9.3.2 allows that for safe methods only, and Gunicorn's gthread
   * serves a connection's requests one after another.
   */
  readonly perConnection: number;
  /** A WebSocket handshake (classes that serve them: asgi); without it, upgrades are not listened for. */
  upgrade?(request: DispatchedRequest, ws: WebSocketSink): void;
  /** The worker is leaving: WebSockets are closed with 1001 (Going Away), so that idle() can come. */
  goingAway?(): void;
  /** Resolves when no request is queued or in Python. */
  idle(): Promise<void>;
  /** Asks every interpreter to leave its loop; resolves once they have ended. */
  stop(): Promise<void>;
  /** How long the longest-running request has been in Python, in ms (0 when idle). */
  busyFor(now?: number): number;
}

/** How an interpreter's thread ended without being asked to: its own report, or the error the thread died of. */
/**
 * How a Python thread ended that was not asked to: a crash report, a JS error,
 * the thread's exit, or `stopped`: its worker loop returned on its own with an
 * exit code after saying why in the log (asgi: a lifespan startup that failed
 * with --asgi-lifespan on, WORKER_BOOT_ERROR).
 */
export type ThreadDeath =
  | { kind: 'report'; report: CrashReport }
  | { kind: 'error'; error: Error }
  | { kind: 'exit'; code: number }
  | { kind: 'stopped'; exitCode: number };

/** The record the access log gets for a finished exchange (filled as the response goes out). */
export interface ExchangeRecord {
  status?: number;
  responseHeaders?: string[];
  bytesSent: number;
}

/**
 * Hands a finished exchange to the access log (a response was started). The
 * End or Close frame's `trailer` carries the environ values the log asks for,
 * as NUL-separated name/value pairs.
 */
export function reportAccess(onAccess: AccessSink | null, ex: ExchangeRecord & { request: DispatchedRequest }, trailer: Buffer): void {
  if (!onAccess || !ex.status) return;
  const environ: Record<string, string> = {};
  if (trailer.length > 0) {
    const parts = trailer.toString('latin1').split('\0');
    for (let i = 0; i + 1 < parts.length; i += 2) environ[parts[i]!] = parts[i + 1]!;
  }
  const { head, startedAt, t0 } = ex.request;
  onAccess({
    method: head.method,
    target: head.target,
    httpVersion: head.httpVersion,
    remoteAddress: head.remoteAddress,
    requestHeaders: head.rawHeaders,
    status: ex.status,
    responseHeaders: ex.responseHeaders ?? [],
    bytesSent: ex.bytesSent,
    startedAt,
    durationUs: Number((process.hrtime.bigint() - t0) / 1000n),
    environ,
  });
}

/** What the worker base needs of a worker class's dispatcher, beyond the front door's calls. */
export interface WorkerDispatcher extends Dispatcher {
  /** Requests Python has finished (Gunicorn's worker.nr). */
  readonly handled: number;
  /** Called after each finished request. */
  onRequestDone: (() => void) | null;
  /** Hears about every request that got a response (the access log, metrics). */
  onAccess: AccessSink | null;
  /** Called once if an interpreter's thread ends while serving (not after stop() or interrupt()). */
  onThreadDeath: ((death: ThreadDeath) => void) | null;
  /** Why the interpreters booted without the base image (the worker has it made once it serves), or null. */
  readonly baseMissing: string | null;
  /** The largest wasm memory among the interpreters as of their last responses, in bytes. */
  wasmMemoryBytes(): number;
  /** Requests handed over that no interpreter serves yet: queued, or behind the one an interpreter serves. */
  backlog(): number;
  /** The request line of a request in Python (the longest-running), or null. */
  currentRequestLine(): string | null;
  /**
   * Interrupts Python wherever it is, as a signal interrupts Gunicorn's worker:
   * 2 (INT/QUIT) raises KeyboardInterrupt, 6 (ABRT) runs worker_abort.
   * Resolves with the exit code Python reports.
   */
  interrupt(signal: 2 | 6): Promise<number>;
  /** After interrupt(): true while some interpreter has not read the flag yet (for the log of one that never stops). */
  interruptUnread(): boolean;
  /**
   * Python is gone: the sinks of every request handed over whose response is
   * not finished, the one in Python first. They are the caller's to answer.
   */
  abandon(): ResponseSink[];
  /**
   * Classes that time out each interpreter themselves (gthread): interrupts
   * (ABRT: worker_abort runs there) every interpreter busy in one request
   * longer than `limitMs` and takes it out of service. Returns the sinks of
   * the requests it held, for the 500 page, the request lines they were
   * stuck in, and how many interpreters still serve. Not used for sync, whose
   * whole worker the arbiter aborts.
   */
  abortStuck?(limitMs: number): { sinks: ResponseSink[]; aborted: string[]; serving: number };
}
