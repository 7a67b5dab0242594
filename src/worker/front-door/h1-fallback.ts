// The HTTP/1 requests llhttp refuses and Gunicorn takes. node:http's llhttp
// (strict) frames every HTTP/1 request: it is the fast path and stays so. When
// it refuses a request (server 'clientError'), the connection's bytes from
// that request on go to our own parser (h1-parser.ts), which reads exactly
// what Gunicorn 26.2's parser reads: it refuses with Gunicorn's error, or it
// serves the request through the same front door (rules, queue, body,
// response sink), and the connection goes on with our parser (keep-alive,
// pipelining, bodies, 100-continue).
//
// Why a fallback and not our parser for every connection: node:http's
// connection handling carries every front-door rule and test (read holds,
// slow clients, TLS, ALPN with h2, WebSocket upgrades, keep-alive and head
// timeouts); the requests it refuses are rare, and only those connections
// pay for a JavaScript parser.
//
// Where the refused request begins: node hands the error with the bytes of
// the read being parsed (rawPacket) and where it stopped (bytesParsed); bytes
// of earlier reads are gone. The parser's callbacks tell, per read, whether
// the read began between two requests and how many requests began in it:
// - the error is in a head that began in this read, and the read began
//   between requests: the requests before it in the read are framed again
//   (our parser on the same bytes) and the refused one begins where they end;
// - the error is in a chunk line (a chunk extension with whitespace): the
//   line begins after the read's last LF before the error;
// - Transfer-Encoding that llhttp refuses once the head is complete (identity
//   alone, a compression without chunked): the body is empty (Gunicorn's
//   framing) and the next request begins where llhttp stopped.
// Anything else (a head that began in an earlier read, a read that began in
// the middle of a body and holds the head too) cannot be placed exactly: the
// request is refused as llhttp's error says, as before, never guessed.

import http from 'node:http';
import { EventEmitter } from 'node:events';
import net, { type Socket } from 'node:net';
import { RequestError } from './errors.js';
import { H1Parser, NoMoreData, type H1Head, type H1ParserOptions } from './h1-parser.js';

/**
 * node's HTTPParser callback slots (HTTPParser.kOnMessageBegin ... kOnExecute
 * in node's _http_common.js; the same numbers from node 12 to 26).
 */
const K_ON_MESSAGE_BEGIN = 0;
const K_ON_HEADERS_COMPLETE = 2;
const K_ON_MESSAGE_COMPLETE = 4;
const K_ON_EXECUTE = 5;

type Callback = (...args: unknown[]) => unknown;

/** node's HTTPParser as node:http keeps it on a socket (socket.parser). */
interface NodeParser {
  [slot: number]: Callback | null | undefined;
  incoming?: http.IncomingMessage | null;
  _consumed?: boolean;
  unconsume?: () => void;
  /** A copy of the read being parsed (empty outside execute()). */
  getCurrentBuffer?: () => Buffer;
  remove?: () => void;
  close?: () => void;
}

interface NodeSocket extends Socket {
  parser?: NodeParser | null;
}

/** What the callbacks tell about a connection's reads. */
interface Reads {
  /** No request is in the parser's hands (the last one completed, or none began). */
  between: boolean;
  /** The read being parsed began between two requests. */
  startedBetween: boolean;
  /** Requests that began in the read being parsed. */
  begun: number;
  /**
   * The last byte of the read before the one being parsed, where known: it
   * is followed from the head of a chunked request on (a chunk line at the
   * start of a read begins there only if that read ended with LF).
   */
  lastByte: number | null;
  /** Each read's last byte is kept (from the head of a chunked request on). */
  tapped: boolean;
}

const reads = new WeakMap<Socket, Reads>();

/**
 * The connection a parser serves now. node:http keeps up to 1000 HTTPParsers
 * in a free list and gives each new connection one that served an earlier
 * connection; its cleanParser() clears kOnMessageBegin and kOnExecute, but not
 * kOnHeadersComplete and kOnMessageComplete. So those two are wrapped once per
 * parser, and the wrappers read the Reads of the parser's current connection.
 * (Wrapped per connection, they nested one more wrapper for every connection
 * the parser had served: after 30,000 Connection: close requests at -w 2, a
 * keep-alive request cost 400-600 us of worker CPU instead of 120-150.)
 */
const serving = new WeakMap<NodeParser, { r: Reads }>();

/**
 * Follows the reads of a connection node:http has just taken (its parser on
 * `sock.parser`); call it right after node's own connection listener. False
 * when this node's parser does not look as expected (the fallback is then off
 * for the connection, and llhttp's refusals stand).
 */
export function followReads(sock: Socket): boolean {
  const parser = (sock as NodeSocket).parser;
  const complete = parser?.[K_ON_MESSAGE_COMPLETE];
  const headers = parser?.[K_ON_HEADERS_COMPLETE];
  const execute = parser?.[K_ON_EXECUTE];
  if (
    !parser ||
    typeof complete !== 'function' ||
    typeof headers !== 'function' ||
    typeof execute !== 'function' ||
    parser[K_ON_MESSAGE_BEGIN] != null
  ) {
    return false;
  }
  const r: Reads = { between: true, startedBetween: true, begun: 0, lastByte: null, tapped: false };
  const keepLast = (d: Buffer | undefined) => {
    if (r.tapped && d && d.length > 0) r.lastByte = d[d.length - 1]!;
  };
  reads.set(sock, r);
  parser[K_ON_MESSAGE_BEGIN] = () => {
    r.begun++;
    r.between = false;
  };
  const current = serving.get(parser);
  if (current) current.r = r;
  else wrapOnce(parser, complete, headers, r);
  const nextRead = () => {
    r.startedBetween = r.between;
    r.begun = 0;
  };
  // node calls kOnExecute after each read it parsed off the handle (the
  // consumed, native path): the next read starts from there.
  parser[K_ON_EXECUTE] = function (this: unknown, ...args: unknown[]) {
    try {
      return execute.apply(this, args);
    } finally {
      nextRead();
      // The read node just parsed off the handle (the consumed, native path): node:http's
      // getCurrentBuffer() gives it during this callback (a copy: only while a chunked body is read).
      if (r.tapped) keepLast(parser.getCurrentBuffer?.());
    }
  };
  // A socket node does not consume (TLS) is parsed in its 'data' listener: this one runs first.
  // (EventEmitter's own prependListener: node:http's wrapper of it would take the socket off the native path.)
  (net.Socket.prototype.prependListener as (this: Socket, event: string, l: () => void) => Socket).call(sock, 'data', nextRead);
  // And after node parsed such a read, its last byte. EventEmitter's own on(): neither node:http's
  // wrapper, which takes a socket off the native path, nor Readable's, which resumes a paused one
  // (a 'data' listener through node:http's wrapper hung Node 26 with a chunked upload held by read-hold.ts).
  EventEmitter.prototype.on.call(sock, 'data', keepLast);
  return true;
}

/** kOnMessageComplete and kOnHeadersComplete of a parser, wrapped for the connection it serves (`serving`). */
function wrapOnce(parser: NodeParser, complete: Callback, headers: Callback, first: Reads): void {
  const now = { r: first };
  serving.set(parser, now);
  parser[K_ON_MESSAGE_COMPLETE] = function (this: unknown, ...args: unknown[]) {
    now.r.between = true;
    return complete.apply(this, args);
  };
  // A chunked body: its chunk lines may begin a read, so the reads' last bytes are followed
  // from here on (measured: one copy of the read at the head of each chunked request, then
  // the connection's reads through JavaScript, as TLS connections always are).
  parser[K_ON_HEADERS_COMPLETE] = function (this: unknown, ...args: unknown[]) {
    const skip = headers.apply(this, args);
    const r = now.r;
    if (!r.tapped && /chunked/i.test(String(parser.incoming?.headers['transfer-encoding'] ?? ''))) {
      const current = parser.getCurrentBuffer?.();
      if (current && current.length > 0) r.lastByte = current[current.length - 1]!;
      r.tapped = true;
    }
    return skip;
  };
}

/** What the front door does with a request, the same for llhttp's and ours. */
export interface FallbackDoor {
  options: H1ParserOptions;
  /** The front door's request handler (server.ts onRequest). */
  onRequest(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): void;
  refuse(sock: Socket, e: RequestError): void;
  /** The connection was refused (by the rules, after onRequest): nothing more is read. */
  refused(sock: Socket): boolean;
  /** Requests of the connection whose response is not finished. */
  active(sock: Socket): number;
  /** The response written last on the connection (llhttp's or ours), while it is not closed. */
  lastResponse(sock: Socket): http.ServerResponse | null;
  /** A head not complete within --timeout. */
  requestTimeout(sock: Socket): void;
  keepAliveMs: number;
  headTimeoutMs: number;
  debug(message: string): void;
}

/** llhttp's refusal as node gives it to 'clientError'. */
export interface ParserFailure {
  code?: string;
  reason?: string;
  rawPacket?: Buffer;
  bytesParsed?: number;
}

/**
 * Takes `sock` off llhttp when Gunicorn's parser must judge the request llhttp
 * refused, and goes on with ours. False when the request cannot be placed
 * exactly (the caller refuses it as before).
 */
export function takeOver(sock: Socket, err: ParserFailure, door: FallbackDoor): boolean {
  const r = reads.get(sock);
  const parser = (sock as NodeSocket).parser;
  const raw = err.rawPacket;
  const at = err.bytesParsed;
  if (!r || !parser || !raw || typeof at !== 'number' || at > raw.length) return false;
  const incoming = parser.incoming ?? null;
  // In a body: llhttp has handed the request on (its head is complete).
  const inBody = incoming !== null && !incoming.complete;
  let start: number;
  let resume: { req: http.IncomingMessage; kind: 'chunked' | 'none'; close: boolean } | null = null;
  if (inBody) {
    // llhttp's words once a head is complete whose Transfer-Encoding does not end in chunked
    // (others name a Transfer-Encoding field in the trailers, which stays refused).
    if (err.code === 'HPE_INVALID_TRANSFER_ENCODING' && /^Request has invalid/.test(err.reason ?? '') && raw.subarray(at - 4, at).toString('latin1') === '\r\n\r\n') {
      // Framed by Gunicorn: no chunked, no Content-Length: no body.
      const codings = String(incoming.headers['transfer-encoding'] ?? '').toLowerCase();
      resume = { req: incoming, kind: 'none', close: /gzip|deflate|compress/.test(codings) };
      start = at;
    } else if (err.code === 'HPE_INVALID_CHUNK_SIZE' || (err.code === 'HPE_STRICT' && /chunk/i.test(err.reason ?? ''))) {
      const lf = raw.lastIndexOf(0x0a, at - 1);
      // The line begins after the read's last LF, or with the read when the one before ended with LF.
      if (lf < 0 && r.lastByte !== 0x0a) return false;
      resume = { req: incoming, kind: 'chunked', close: closesAfter(incoming) };
      start = lf + 1;
    } else {
      return false;
    }
  } else {
    if (r.begun === 0 || !r.startedBetween) return false;
    const begins = requestStarts(raw.subarray(0, at), door.options, r.begun);
    if (begins === null) return false;
    start = begins;
  }
  detach(sock as NodeSocket, parser);
  const conn = new FallbackConnection(sock, door, resume);
  conn.feed(raw.subarray(start));
  return true;
}

/**
 * The client closed its side (FIN) in the middle of a body framed by
 * Content-Length: Gunicorn's LengthReader hands the app the bytes that came,
 * so the request goes on with a short body, and the connection closes after
 * its response. False for anything else llhttp was in the middle of (a head,
 * a chunked body: Gunicorn's NoMoreData, nothing to answer).
 */
export function endShortBody(sock: Socket, door: FallbackDoor): boolean {
  const parser = (sock as NodeSocket).parser;
  const req = parser?.incoming ?? null;
  if (!parser || !req || req.complete || req.headers['content-length'] === undefined || req.headers['transfer-encoding'] !== undefined) {
    return false;
  }
  const res = door.lastResponse(sock);
  if (!res || door.refused(sock)) return false;
  detach(sock as NodeSocket, parser);
  req.complete = true;
  req.push(null);
  if (!res.headersSent) res.shouldKeepAlive = false;
  res.once('close', () => sock.destroySoon());
  return true;
}

/**
 * Where the `n`-th request that begins in `bytes` (a read that began between
 * requests) begins: the n - 1 before it framed again by our parser. null when
 * our parser does not frame them as llhttp did.
 */
function requestStarts(bytes: Buffer, options: H1ParserOptions, n: number): number | null {
  let completed = 0;
  let start = 0;
  const parser: H1Parser = new H1Parser(options, {
    onHead: () => {},
    onBody: () => {},
    onComplete: () => {
      completed++;
      if (completed === n - 1) start = parser.position;
    },
  });
  try {
    parser.execute(bytes);
  } catch {
    // The refused request's own head (in these bytes up to the error) may throw: only the earlier ones count.
  }
  return completed === n - 1 ? start : null;
}

/** Takes node:http's parser off the socket as node does for an upgrade (_http_server.js). */
function detach(sock: NodeSocket, parser: NodeParser): void {
  for (const [event, name] of [
    ['data', 'bound socketOnData'],
    ['end', 'bound socketOnEnd'],
    ['timeout', 'socketOnTimeout'],
    ['pause', 'onSocketPause'],
    ['resume', 'onSocketResume'],
  ] as const) {
    for (const l of sock.listeners(event)) if ((l as Callback).name === name) sock.off(event, l as Callback);
  }
  if (parser._consumed) parser.unconsume?.();
  parser._consumed = false;
  // Out of the server's list of connections whose head timeout it checks.
  parser.remove?.();
  sock.parser = null;
  sock.setTimeout(0);
  // node's own freeing, once its execute() has returned.
  setImmediate(() => parser.close?.());
}

/** Gunicorn's should_close() for a request llhttp read: its first Connection header, else its version. */
function closesAfter(req: http.IncomingMessage): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    const v = raw[i + 1]!.toLowerCase().trim();
    if (v === 'close') return true;
    if (v === 'keep-alive') return false;
    break;
  }
  return req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor === 0);
}

/** node:http's IncomingMessage method its parser fills a request's headers (and, once complete, its trailers) with. */
interface IncomingInternals extends http.IncomingMessage {
  _addHeaderLines(fields: string[], n: number): void;
}

/** A request of ours, as node:http would have made it. */
function incomingMessage(sock: Socket, head: H1Head): http.IncomingMessage {
  const req = new http.IncomingMessage(sock);
  req.method = head.method;
  req.url = head.target;
  req.httpVersion = head.httpVersion;
  req.httpVersionMajor = head.versionMajor;
  req.httpVersionMinor = head.versionMinor;
  // As node's parser hands them over: rawHeaders, and `headers` built from them on first use.
  (req as IncomingInternals)._addHeaderLines(head.rawHeaders, head.rawHeaders.length);
  return req;
}

/** node:http's emitCloseNT for a response it did not write itself. */
function closeResponse(res: http.ServerResponse): void {
  const r = res as http.ServerResponse & { _closed?: boolean };
  if (r._closed) return;
  r._closed = true;
  r.destroyed = true;
  res.emit('close');
}

/** One connection on our parser, from the request llhttp refused on. */
class FallbackConnection {
  private readonly parser: H1Parser;
  /** The request whose body is being read. */
  private current: http.IncomingMessage | null = null;
  /** Our responses not closed yet, in order. */
  private readonly responses: http.ServerResponse[] = [];
  private previous: http.ServerResponse | null;
  private ended = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly onData = (d: Buffer) => this.feed(d);

  constructor(
    private readonly sock: Socket,
    private readonly door: FallbackDoor,
    resume: { req: http.IncomingMessage; kind: 'chunked' | 'none'; close: boolean } | null,
  ) {
    this.previous = door.lastResponse(sock);
    this.parser = new H1Parser(door.options, {
      onHead: (head) => this.onHead(head),
      onBody: (data) => this.onBody(data),
      onComplete: (trailers) => this.onComplete(trailers),
    });
    if (resume) {
      this.current = resume.req;
      this.parser.resumeBody(resume.kind, resume.close);
    }
    sock.on('data', this.onData);
    sock.once('end', () => this.onEnd());
    sock.once('close', () => this.onClose());
  }

  feed(data: Buffer): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.parser.execute(data);
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      this.stop();
      this.door.refuse(this.sock, e);
      return;
    }
    if (this.door.refused(this.sock) || this.parser.done) return this.stop();
    this.arm();
  }

  private onHead(head: H1Head): void {
    const req = incomingMessage(this.sock, head);
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = !head.close && this.door.keepAliveMs > 0;
    this.current = req;
    this.responses.push(res);
    res.once('close', () => {
      const at = this.responses.indexOf(res);
      if (at >= 0) this.responses.splice(at, 1);
      this.arm();
    });
    const before = this.previous;
    this.previous = res;
    const attach = () => this.attach(res);
    if (before && !(before as { _closed?: boolean })._closed && !before.destroyed) before.once('close', attach);
    else attach();
    this.door.onRequest(req, res, head.expectsContinue);
  }

  private onBody(data: Buffer): void {
    const req = this.current;
    // Past the spool limit the front door reads the body as it comes: hold the client to its pace.
    if (req && !req.push(data)) this.sock.pause();
  }

  private onComplete(trailers: string[]): void {
    const req = this.current;
    this.current = null;
    if (!req) return;
    req.complete = true;
    // Once complete, node's _addHeaderLines takes the fields as trailers.
    (req as IncomingInternals)._addHeaderLines(trailers, trailers.length);
    req.push(null);
  }

  /** The response's turn on the socket (the ones before it are written). */
  private attach(res: http.ServerResponse): void {
    const sock = this.sock;
    if (sock.destroyed || res.destroyed) return closeResponse(res);
    res.assignSocket(sock);
    res.once('finish', () => {
      res.detachSocket(sock);
      process.nextTick(() => closeResponse(res));
      const last = (res as http.ServerResponse & { _last?: boolean })._last;
      if (last || this.ended) sock.destroySoon();
    });
  }

  private onEnd(): void {
    this.ended = true;
    try {
      this.parser.end();
    } catch (e) {
      if (e instanceof NoMoreData) {
        this.door.debug('Ignored premature client disconnection.');
        this.sock.destroy();
        return;
      }
      if (e instanceof RequestError) return this.door.refuse(this.sock, e);
      throw e;
    }
    // Half-closed: the requests in hand are answered, then the connection closes.
    if (this.door.active(this.sock) === 0) return this.sock.destroySoon();
    const last = this.previous;
    if (last) last.once('close', () => this.sock.destroySoon());
  }

  private onClose(): void {
    this.stop();
    const req = this.current;
    if (req && !req.complete) req.destroy();
    for (const res of this.responses.splice(0)) closeResponse(res);
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sock.off('data', this.onData);
  }

  /** The head's --timeout while one is coming, the keep-alive timeout while nothing is. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.sock.destroyed || this.parser.done || this.ended) return;
    if (!this.parser.idle) {
      if (this.parser.inBody || this.door.headTimeoutMs <= 0) return;
      this.timer = setTimeout(() => this.door.requestTimeout(this.sock), this.door.headTimeoutMs);
    } else if (this.door.active(this.sock) === 0 && this.responses.length === 0) {
      this.timer = setTimeout(() => this.sock.destroy(), this.door.keepAliveMs);
    }
  }
}
