// The worker's HTTP front door. node:http's llhttp (strict, never the lenient
// parser) frames every request; Gunicorn's own rules (rules.ts) then decide
// whether it may reach Python. Around the parser: the PROXY protocol preface,
// TLS, a cap on open connections and timeouts for slow clients.
//
// A request is handed to Python only once the parser has gone through the
// bytes it came with: if those bytes also hold an error (bad chunk framing, a
// forbidden trailer), the app is never called.

import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher, DispatchedRequest } from '../../bridge/dispatcher.js';
import type { RequestHead } from '../../bridge/protocol.js';
import type { Settings } from '../../config/registry.js';
import type { ErrorLog } from '../../log/error-log.js';
import type { KeepAliveSpread } from '../keepalive-spread.js';
import { AllowList } from '../../config/networks.js';
import {
  RequestError, errorResponse, forbiddenProxyRequest, invalidH2CPreface, invalidHeaderName, invalidProxyHeader,
  invalidProxyLine, unsupportedConnect,
} from './errors.js';
import { parseProxyHeader, type ProxyInfo, type ProxyMode } from './proxy-protocol.js';
import { holdReading } from './read-hold.js';
import { DEFAULT_BODY_LIMITS, RequestBody, type BodyLimits } from './request-body.js';
import { Http1Response } from './response-rules.js';
import { RequestRules, forbiddenTrailer, parserRefusal, versionlessRequestLine, type CheckedHead } from './rules.js';
import { Http1Sink } from './http1-sink.js';
import { endShortBody, followReads, takeOver, type FallbackDoor } from './h1-fallback.js';
import type { H1ParserOptions } from './h1-parser.js';
import { createHttp2Door, type Http2Door, type Http2Settings } from './http2-streams.js';
import { WebSocketConnection, handshakeRefusal, writeRefusal } from './websocket.js';
import { clientCertAcceptable, clientCertRefusal, sslErrorText, tlsServerOptions } from './tls.js';
import { listenerAddress } from './listener-address.js';
import { rawSocket } from './raw-socket.js';

export type FrontDoorSettings = ConstructorParameters<typeof RequestRules>[0] &
  Http2Settings &
  Pick<
    Settings,
    | 'keepalive'
    | 'timeout'
    | 'worker_connections'
    | 'proxy_protocol'
    | 'proxy_allow_ips'
    | 'certfile'
    | 'keyfile'
    | 'ca_certs'
    | 'cert_reqs'
    | 'ciphers'
    | 'tmp_upload_dir'
    | 'http_protocols'
    | 'http2_cleartext'
  > &
  H1ParserOptions;

/**
 * Requests of one connection in Python's hands at once (the bridge's queue and
 * the heads it has handed over), at most: the dispatcher may allow fewer
 * (gthread: 1, see Dispatcher.perConnection). A request counts until node has
 * written its whole response to the socket, so a client that does not read
 * its responses has this many with Python and no more: the rest wait in its
 * own queue, and other connections' requests pass. 4 keeps Python fed by a
 * pipelining client as the sync dispatcher's SYNC_INFLIGHT does.
 */
const IN_PYTHON_PER_CONNECTION = 4;
/**
 * Accepted requests of one connection waiting for their turn before the
 * connection stops being read; it is read again once half of them are served.
 * The parser goes through the bytes of one read (64 KiB, about 1,900 small
 * pipelined requests) before the hold takes effect: that is the bound.
 */
const QUEUED_PER_CONNECTION = 16;

/** A request accepted on a connection, waiting for its turn to go to Python. */
interface Queued {
  request: DispatchedRequest;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** Its checks after the parser's pass are done (trailers, a body error in the same bytes) and its body is kept. */
  ready: boolean;
  expectsContinue: boolean;
  /** Its body, while the front door reads it. */
  body: RequestBody | null;
  /** Counted out of its connection's `active` (its response finished, or it will not reach Python). */
  released: boolean;
}

/** What the front door knows about one accepted TCP (or unix) connection. */
interface Connection {
  /** Requests accepted (past the head's checks) whose response is not finished. */
  active: number;
  /** Accepted requests not yet handed to Python, in order. */
  queue: Queued[];
  /** Requests handed to Python whose response node has not finished writing. */
  inPython: number;
  /** The request whose body the front door is reading (the last one accepted). */
  buffering: Queued | null;
  /** The connection met a bad request: nothing more is served on it. */
  refused: boolean;
  /** The client's address as a PROXY protocol header gave it. */
  proxy: ProxyInfo | null;
  /** Runs once `active` drops to 0 (the refusal page waits for earlier pipelined responses). */
  whenIdle: (() => void) | null;
  /** The request handed to Python last, whose body may still be arriving. */
  reading: { req: http.IncomingMessage; res: http.ServerResponse } | null;
  /** The response of the request accepted last, until it closes (our parser's next response waits for it). */
  lastResponse: http.ServerResponse | null;
}

const state = new WeakMap<Socket, Connection>();

function connectionOf(sock: Socket): Connection {
  const raw = rawSocket(sock);
  let c = state.get(raw);
  if (!c) {
    c = { active: 0, queue: [], inPython: 0, buffering: null, refused: false, proxy: null, whenIdle: null, reading: null, lastResponse: null };
    state.set(raw, c);
  }
  return c;
}

/** The peer's address; null on a unix socket (which Gunicorn trusts as a proxy). */
function peerOf(sock: Socket): string | null {
  return rawSocket(sock).remoteAddress ?? null;
}

/**
 * The worker's HTTP server: requests that pass go to `dispatcher`, each with
 * its HTTP/1 writer; `draining` says the worker is leaving (responses then
 * close their connection); `spread`, where other workers share the socket,
 * sheds a kept-alive connection of a worker over its share (keepalive-spread.ts).
 */
export function createFrontDoor(
  dispatcher: Dispatcher,
  settings: FrontDoorSettings,
  log: ErrorLog,
  draining: () => boolean,
  spread: KeepAliveSpread | null = null,
): http.Server {
  const rules = new RequestRules(settings);
  const inPythonPerConnection = Math.min(IN_PYTHON_PER_CONNECTION, dispatcher.perConnection);
  const tls = tlsServerOptions(settings);
  // Gunicorn 26's http_protocols: over TLS, ALPN offers them in its order (h2 -> "h2",
  // h1 -> "http/1.1"); in cleartext, h2 only with --http2-cleartext prior-knowledge.
  const protocols = settings.http_protocols;
  const http2 = protocols.includes('h2');
  const http1 = protocols.includes('h1');
  if (tls && http2) tls.ALPNProtocols = protocols.map((p) => (p === 'h2' ? 'h2' : 'http/1.1'));
  const timeoutMs = settings.timeout > 0 ? settings.timeout * 1000 : 0;
  const options: http.ServerOptions = {
    insecureHTTPParser: false,
    // No setsockopt per connection: TCP_NODELAY comes with accept() from the listener (the
    // arbiter sets it, as Gunicorn's sock.py does), and Gunicorn sets no SO_KEEPALIVE probes.
    // Each is a syscall per connection, and Connection: close makes one connection a request.
    noDelay: false,
    keepAlive: false,
    // The app never sees a header-joined object: raw pairs go to Python.
    joinDuplicateHeaders: false,
    // Gunicorn serves HTTP/1.1 requests without Host.
    requireHostHeader: false,
    maxHeaderSize: rules.maxHeadBytes,
    // A request head must arrive within --timeout (a slowloris cannot hold the worker);
    // bodies are the app's business, as in Gunicorn.
    headersTimeout: timeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: 1000,
  };
  const server: http.Server = tls ? https.createServer({ ...options, ...tls }) : http.createServer(options);
  server.keepAliveTimeout = settings.keepalive * 1000;
  // Right after node:http's own listener (later listeners, and readers of first bytes, keep this order):
  // what the fallback parser needs to know of each read (h1-fallback.ts). Its cost, measured on a bare
  // node:http server (wrk -c50, server CPU per request, 4 runs each, medians): 12.1 us with it, 12.0 without.
  // (The front door's own cost per request is larger still; Python's, in the hundreds of us.)
  server.on(tls ? 'secureConnection' : 'connection', (sock: Socket) => {
    if (!followReads(sock)) log.debug('HTTP/1 fallback parser off for a connection: node:http has no parser on it as expected');
  });
  // One past the limit, so that "too many" is seen rather than silently cut.
  server.maxHeadersCount = rules.fields + 1;
  const scheme = tls ? 'https' : 'http';
  const bodyLimits: BodyLimits = { ...DEFAULT_BODY_LIMITS, dir: settings.tmp_upload_dir };
  const warn = (message: string) => log.warning(message);
  const h2c = !tls && http2 && settings.http2_cleartext === 'prior-knowledge';
  const h2door: Http2Door | null =
    (tls && http2) || h2c
      ? createHttp2Door({ dispatcher, settings, rules, log, scheme, bodyLimits, connectionOf, peerOf })
      : null;

  const release = (conn: Connection) => {
    if (--conn.active === 0 && conn.whenIdle) conn.whenIdle();
  };

  /** Hands the connection's next ready requests to Python, in order, as far as its share allows. */
  const dispatch = (sock: Socket, conn: Connection) => {
    while (conn.queue.length > 0 && conn.inPython < inPythonPerConnection && conn.queue[0]!.ready) {
      const { request, req, res, expectsContinue } = conn.queue.shift()!;
      // The client left while it waited (its 'close' released it).
      if (res.destroyed) continue;
      conn.inPython++;
      res.once('close', () => {
        conn.inPython--;
        dispatch(sock, conn);
      });
      if (!req.complete) conn.reading = { req, res };
      if (expectsContinue) res.writeContinue();
      // Only a connection with nothing else of its own in Python or waiting is shed: no pipelined request is cut off.
      const closes = spread
        ? () => draining() || (res.shouldKeepAlive && conn.inPython === 1 && conn.queue.length === 0 && spread.shed())
        : draining;
      dispatcher.handle(request, new Http1Sink(res, closes, new Http1Response(request.head.method, request.head.httpVersion, warn)));
    }
    if (conn.queue.length >= QUEUED_PER_CONNECTION) holdReading(sock, true);
    else if (conn.queue.length <= QUEUED_PER_CONNECTION / 2) holdReading(sock, false);
  };

  /** Counts a request out of its connection's `active`, once. */
  const finish = (conn: Connection, queued: Queued) => {
    if (queued.released) return;
    queued.released = true;
    release(conn);
  };

  /** Takes a request out of its connection's queue: it will not go to Python. */
  const drop = (sock: Socket, conn: Connection, queued: Queued) => {
    if (conn.buffering === queued) conn.buffering = null;
    queued.body?.discard();
    const at = conn.queue.indexOf(queued);
    if (at >= 0) conn.queue.splice(at, 1);
    finish(conn, queued);
    dispatch(sock, conn);
  };

  const refuse = (sock: Socket, e: RequestError) => {
    const conn = connectionOf(sock);
    if (conn.refused) return;
    conn.refused = true;
    // Gunicorn names the socket's peer (what accept() gave), not a PROXY header's client.
    log.warning(`Invalid request from ip=${peerOf(sock) ?? ''}: ${e.message}`);
    const send = () => {
      if (sock.destroyed) return;
      sock.end(errorResponse(e));
      sock.destroySoon();
    };
    // The error is in a body the front door was reading: that request goes nowhere.
    if (conn.buffering) drop(sock, conn, conn.buffering);
    const reading = conn.reading;
    if (reading && !reading.req.complete) {
      // The error is in the body Python is reading: that request is broken too
      // (its body stream ends in an error); its answer is the page, if it has none yet.
      if (conn.active === 1 && !reading.res.headersSent) send();
      else sock.destroy();
      return;
    }
    // Earlier pipelined requests are answered first, then the page.
    if (conn.active > 0) conn.whenIdle = send;
    else send();
  };

  /** The request's head through Gunicorn's rules, or null when its connection is refused (answered and closed here). */
  const checkedHead = (req: http.IncomingMessage, sock: Socket, conn: Connection): CheckedHead | null => {
    if (conn.refused) return null;
    try {
      return rules.check(
        { method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, rawHeaders: req.rawHeaders },
        peerOf(sock),
        scheme,
      );
    } catch (e) {
      if (e instanceof RequestError) {
        refuse(sock, e);
        return null;
      }
      throw e;
    }
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean) => {
    const sock = req.socket;
    const conn = connectionOf(sock);
    const checked = checkedHead(req, sock, conn);
    if (!checked) return;
    // Gunicorn's keepalive = 0 turns keep-alive off; node's 0 would mean "forever".
    if (checked.close || settings.keepalive <= 0) res.shouldKeepAlive = false;
    conn.active++;
    conn.lastResponse = res;
    res.once('close', () => {
      if (conn.lastResponse === res) conn.lastResponse = null;
    });
    const head = requestHead(req, checked, conn.proxy);
    const queued: Queued = {
      request: { head, body: null, startedAt: Date.now(), t0: process.hrtime.bigint() },
      req,
      res,
      ready: false,
      expectsContinue,
      body: null,
      released: false,
    };
    // Queued now, while the parser is still going through the bytes in hand:
    // a full queue stops the reading of the connection before its next read.
    conn.queue.push(queued);
    if (conn.queue.length >= QUEUED_PER_CONNECTION) holdReading(sock, true);
    // After the parser is through the bytes this request came in (setImmediate:
    // node runs microtasks between its body callbacks and its error report).
    setImmediate(() => {
      // The parser failed later in the same bytes, inside this request's own body.
      if (conn.refused && !req.complete) return drop(sock, conn, queued);
      res.once('close', () => finish(conn, queued));
      const ready = () => {
        const trailer = forbiddenTrailer(req.rawTrailers);
        if (trailer) {
          refuse(sock, invalidHeaderName(trailer));
          return drop(sock, conn, queued);
        }
        queued.ready = true;
        dispatch(sock, conn);
      };
      if (!head.hasBody) return ready();
      // The body is read here before the request goes to Python (request-body.ts);
      // a client waiting for "100 Continue" gets it now, or it would never send it.
      if (expectsContinue) {
        res.writeContinue();
        queued.expectsContinue = false;
      }
      conn.buffering = queued;
      queued.body = RequestBody.read(
        req,
        Number(req.headers['content-length'] ?? NaN),
        () => req.complete,
        bodyLimits,
        (body, outcome) => {
          if (conn.buffering === queued) conn.buffering = null;
          // A kept body that closes before its end could not be read back: cut.
          queued.request.body = { stream: body.stream(), cutIfClosed: () => true };
          if (outcome === 'complete') return ready();
          // Too large to keep: it goes on now and is read as it arrives.
          queued.ready = true;
          dispatch(sock, conn);
        },
        () => drop(sock, conn, queued),
        (e) => {
          // Nothing silent: the client gets a 500, the log says why.
          log.error(`Cannot keep the request body of ${req.method} ${req.url} in tmp_upload_dir ${bodyLimits.dir ?? os.tmpdir()}: ${e.message}`);
          if (conn.buffering === queued) conn.buffering = null;
          const at = conn.queue.indexOf(queued);
          if (at >= 0) conn.queue.splice(at, 1);
          res.shouldKeepAlive = false;
          res.writeHead(500, { 'Content-Type': 'text/plain', Connection: 'close' });
          res.end('Internal Server Error\n');
          dispatch(sock, conn);
        },
      );
    });
  };
  server.on('request', (req, res) => onRequest(req, res, false));

  const fallbackDoor: FallbackDoor = {
    options: settings,
    onRequest,
    refuse,
    refused: (sock) => connectionOf(sock).refused,
    active: (sock) => connectionOf(sock).active,
    lastResponse: (sock) => connectionOf(sock).lastResponse,
    requestTimeout,
    keepAliveMs: settings.keepalive * 1000,
    headTimeoutMs: timeoutMs,
    debug: (message) => log.debug(message),
  };
  // Gunicorn answers "100 Continue" once the head has passed its checks, not before.
  server.on('checkContinue', (req, res) => onRequest(req, res, true));

  // CONNECT (authority-form target, RFC 9112 3.2.3) reaches the app as Gunicorn 26 hands
  // it over. node:http gives such a request the socket already detached from its
  // parser (a tunnel in the making), so a response is made for it here and the
  // connection closes after it: what follows on the wire is not HTTP this server reads.
  server.on('connect', (req: http.IncomingMessage, sock: Socket) => {
    // A body on a CONNECT has no defined meaning (RFC 9110 9.3.6) and node does not frame one.
    if (hasBody(req)) return refuse(sock, unsupportedConnect(req.url ?? ''));
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    const attach = () => {
      if (sock.destroyed) return;
      res.assignSocket(sock);
      res.once('finish', () => sock.destroySoon());
    };
    // A response still being written on the connection (a pipelined request before it) goes first.
    const before = (sock as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage;
    if (before) before.once('close', attach);
    else attach();
    onRequest(req, res, false);
  });

  // WebSockets (RFC 6455), for the classes that serve them (asgi): the
  // handshake passes Gunicorn's head checks, then the socket is the
  // WebSocket's (websocket.ts frames it). Other classes listen for no upgrade,
  // so node:http serves such a request as any other, as before.
  if (dispatcher.upgrade) {
    const upgrade = dispatcher.upgrade.bind(dispatcher);
    server.on('upgrade', (req: http.IncomingMessage, sock: Socket, rest: Buffer) => {
      const conn = connectionOf(sock);
      const checked = checkedHead(req, sock, conn);
      if (!checked) return;
      const refusal = handshakeRefusal(req);
      if (refusal) {
        const [status, reason, headers] = refusal;
        log.debug(`Refused an upgrade from ip=${peerOf(sock) ?? ''}: ${status} ${reason}`);
        return writeRefusal(sock, status, reason, headers);
      }
      if (draining()) return writeRefusal(sock, 503, 'Service Unavailable');
      const head = requestHead(req, checked, conn.proxy);
      upgrade({ head, body: null, startedAt: Date.now(), t0: process.hrtime.bigint() }, new WebSocketConnection(sock, String(req.headers['sec-websocket-key']), rest));
    });
  }

  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string; rawPacket?: Buffer; bytesParsed?: number }, sock: Socket) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return requestTimeout(sock);
    if (err.code === 'HPE_INVALID_EOF_STATE') {
      // A body shorter than its Content-Length, then the client's FIN: Gunicorn hands the app the bytes that came.
      if (endShortBody(sock, fallbackDoor)) return;
      // The client left in the middle of a request (its head, or a chunked body
      // still on its way): nothing to answer. Gunicorn logs it at debug level only.
      log.debug('Ignored premature client disconnection.');
      sock.destroy();
      return;
    }
    if (!err.code?.startsWith('HPE_') || !sock.writable) {
      sock.destroy();
      return;
    }
    // Gunicorn's parser judges what llhttp refuses, where the request can be placed exactly.
    if (!connectionOf(sock).refused && takeOver(sock, err, fallbackDoor)) return;
    refuse(sock, parserRefusal({ code: err.code, reason: err.reason ?? err.message, rawPacket: err.rawPacket }, rules.requestLine));
  });

  if (tls && h2door) {
    // The HTTP/1 connection listener https put in: a connection that chose "h2" goes to
    // the HTTP/2 side instead; one without ALPN, or with "http/1.1", to it (when h1 is offered).
    const h1Listeners = server.listeners('secureConnection') as ((sock: TLSSocket) => void)[];
    server.removeAllListeners('secureConnection');
    server.on('secureConnection', (sock: TLSSocket) => {
      if (sock.alpnProtocol === 'h2') return h2door.accept(sock);
      if (!http1) {
        // --http-protocols h2: HTTP/1.1 clients are refused (Gunicorn: "reject HTTP/1.1 clients").
        log.debug(`HTTP/1.1 connection refused: http_protocols is ${protocols.join(',')}`);
        sock.destroy();
        return;
      }
      for (const l of h1Listeners) l.call(server, sock);
    });
  }
  if (tls) {
    server.on('secureConnection', (sock: TLSSocket) => {
      if (clientCertAcceptable(sock, settings)) return;
      log.warning(`Invalid request from ip=${peerOf(sock) ?? ''}: ${clientCertRefusal(sock)}`);
      sock.destroy();
    });
    // Gunicorn logs a failed handshake as an invalid request, with OpenSSL's reason.
    server.on('tlsClientError', (err: Error, sock: TLSSocket) => {
      const text = sslErrorText(err);
      if (text) log.warning(`Invalid request from ip=${peerOf(sock) ?? ''}: ${text}`);
      else log.debug('ssl connection closed');
    });
  }

  if (h2door) {
    // Closing the listener (the worker leaving) sends each HTTP/2 connection its GOAWAY:
    // streams in progress finish, and the connections end with them.
    const close = server.close.bind(server);
    server.close = ((cb?: (err?: Error) => void) => {
      h2door.close();
      return close(cb);
    }) as typeof server.close;
  }
  admitConnections(server, settings.worker_connections);
  if (!tls) refuseVersionlessLines(server, rules.maxHeadBytes, timeoutMs, refuse);
  if (h2c && h2door) readH2cPreface(server, rules, h2door, refuse);
  if (settings.proxy_protocol !== 'off') {
    readProxyPreface(server, settings.proxy_protocol, AllowList.parse(settings.proxy_allow_ips), timeoutMs, refuse);
  }
  return server;
}

/**
 * Caps open connections at --worker-connections. At the cap a new client is
 * not turned away while an idle connection (no request in progress: kept
 * alive, or still trickling in its head) can make room: the oldest goes.
 */
function admitConnections(server: http.Server, limit: number): void {
  const open = new Set<Socket>();
  server.prependListener('connection', (sock: Socket) => {
    if (open.size >= limit) {
      let victim: Socket | null = null;
      for (const s of open) {
        if ((state.get(s)?.active ?? 0) === 0) {
          victim = s;
          break;
        }
      }
      if (!victim) {
        sock.destroy();
        return;
      }
      open.delete(victim);
      victim.destroy();
    }
    open.add(sock);
    sock.once('close', () => open.delete(sock));
  });
}

/** The head did not arrive within --timeout. */
function requestTimeout(sock: Socket): void {
  if (sock.writable) sock.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
  sock.destroySoon();
}

/** What a reader of a connection's first bytes makes of those it has so far. */
type FirstBytes =
  | { kind: 'more' }
  | { kind: 'refuse'; error: RequestError }
  /** To the later listeners, or to `to` (the HTTP/2 side) when given. */
  | { kind: 'pass'; rest: Buffer; to?: (sock: Socket) => void };
const MORE: FirstBytes = { kind: 'more' };

/**
 * Puts `read` in front of the server's later 'connection' listeners (node:http's
 * parser, or another reader put in before): a connection's bytes are kept until
 * `read` refuses them or passes them on, the rest given back to the socket for
 * the parser. A client gone before that is closed without an answer; one still
 * undecided after `timeoutMs` gets `onTimeout`.
 */
function readFirstBytes(
  server: http.Server,
  timeoutMs: number,
  onTimeout: (sock: Socket) => void,
  refuse: (sock: Socket, e: RequestError) => void,
  read: (sock: Socket, buf: Buffer) => FirstBytes,
): void {
  const downstream = server.listeners('connection').slice(1) as ((sock: Socket) => void)[];
  for (const l of downstream) server.off('connection', l);
  server.on('connection', (sock: Socket) => {
    if (sock.destroyed) return;
    let buf: Buffer = Buffer.alloc(0);
    const timer = timeoutMs > 0 ? setTimeout(() => onTimeout(sock), timeoutMs) : null;
    const finish = () => {
      if (timer) clearTimeout(timer);
      sock.off('readable', onReadable);
      sock.off('end', leave);
      sock.off('close', finish);
    };
    // Gone before a decision: nothing to answer, nothing to log (as Gunicorn), no half-open socket.
    const leave = () => {
      finish();
      sock.destroy();
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = sock.read() as Buffer | null) !== null) buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const got = read(sock, buf);
      if (got.kind === 'more') return;
      finish();
      if (got.kind === 'refuse') return refuse(sock, got.error);
      if (got.rest.length > 0) sock.unshift(got.rest);
      if (got.to) return got.to(sock);
      for (const l of downstream) l.call(server, sock);
    };
    sock.on('readable', onReadable);
    sock.once('end', leave);
    sock.once('close', finish);
  });
}

/**
 * A connection's first request line is read here before llhttp gets it, so
 * that a line without an HTTP version (HTTP/0.9) is refused at once, as
 * Gunicorn does (rules.ts, versionlessRequestLine); llhttp would wait for the
 * head's end until --timeout. Only the first line of a connection: an HTTP/0.9
 * client sends one request per connection. Plain connections only (TLS bytes
 * are not a request line). Until the line is complete the head's --timeout
 * applies here, with the parser's 408.
 */
function refuseVersionlessLines(
  server: http.Server,
  maxHeadBytes: number,
  timeoutMs: number,
  refuse: (sock: Socket, e: RequestError) => void,
): void {
  readFirstBytes(server, timeoutMs, requestTimeout, refuse, (_sock, buf) => {
    if (buf.length === 0) return MORE;
    const refused = versionlessRequestLine(buf);
    if (refused) return { kind: 'refuse', error: refused };
    if (!buf.includes(0x0a) && buf.length <= maxHeadBytes) return MORE;
    return { kind: 'pass', rest: buf };
  });
}

/** RFC 9113 section 3.4: what a client that knows the server speaks HTTP/2 sends first. */
const H2C_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Gunicorn 26.2's H2C_PREFACE_TIMEOUT: the whole preface within 1 s, or the connection is refused. */
const H2C_PREFACE_TIMEOUT_MS = 1000;

/**
 * --http2-cleartext prior-knowledge (Gunicorn 26.2's negotiation.py): a peer in
 * forwarded_allow_ips (a unix socket's always) must open with the HTTP/2
 * preface and is served HTTP/2; anything else from it, or a preface not
 * complete within a second, is refused with a 400 (InvalidH2CPreface) rather
 * than served as HTTP/1. Other peers are served HTTP/1 as if the setting were off.
 */
function readH2cPreface(
  server: http.Server,
  rules: RequestRules,
  door: Http2Door,
  refuse: (sock: Socket, e: RequestError) => void,
): void {
  const seen = new WeakMap<Socket, Buffer>();
  const stalled = (sock: Socket) => refuse(sock, invalidH2CPreface(seen.get(sock) ?? Buffer.alloc(0)));
  readFirstBytes(server, H2C_PREFACE_TIMEOUT_MS, stalled, refuse, (sock, buf) => {
    if (!rules.trusts(peerOf(sock))) return { kind: 'pass', rest: buf };
    const head = buf.subarray(0, H2C_PREFACE.length);
    seen.set(sock, head);
    if (!H2C_PREFACE.subarray(0, head.length).equals(head)) return { kind: 'refuse', error: invalidH2CPreface(head) };
    if (head.length < H2C_PREFACE.length) return MORE;
    return { kind: 'pass', rest: buf, to: (s) => door.accept(s) };
  });
}

/**
 * --proxy-protocol: before HTTP (or TLS) sees a byte, a PROXY v1/v2 header is
 * read off the connection when there is one (only v1 or v2 in those modes);
 * plain requests still pass, as in Gunicorn.
 */
function readProxyPreface(
  server: http.Server,
  mode: ProxyMode,
  allowed: AllowList,
  timeoutMs: number,
  refuse: (sock: Socket, e: RequestError) => void,
): void {
  readFirstBytes(server, timeoutMs, (sock) => sock.destroy(), refuse, (sock, buf) => {
    const parsed = parseProxyHeader(buf, mode);
    if (parsed.kind === 'more') return MORE;
    if (parsed.kind === 'none') return { kind: 'pass', rest: buf };
    const peer = sock.remoteAddress;
    if (peer !== undefined && !allowed.allows(peer)) return { kind: 'refuse', error: forbiddenProxyRequest(peer) };
    if (parsed.kind === 'error') {
      const error = parsed.exception === 'InvalidProxyLine' ? invalidProxyLine(parsed.detail) : invalidProxyHeader(parsed.detail);
      return { kind: 'refuse', error };
    }
    connectionOf(sock).proxy = parsed.info;
    return { kind: 'pass', rest: buf.subarray(parsed.consumed) };
  });
}

function hasBody(req: http.IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && Number(cl) > 0;
}

export function requestHead(req: http.IncomingMessage, checked: CheckedHead, proxy: ProxyInfo | null): RequestHead {
  const sock = req.socket;
  const proxied = proxy?.clientAddr != null;
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    httpVersion: req.httpVersion,
    hasBody: hasBody(req),
    scheme: checked.scheme,
    remoteAddress: proxied ? proxy.clientAddr! : (sock.remoteAddress ?? ''),
    remotePort: proxied ? (proxy.clientPort ?? 0) : (sock.remotePort ?? 0),
    ...listenerAddress(sock),
    proxy: proxied ? `${proxy.protocol} ${proxy.proxyAddr} ${proxy.proxyPort}` : '',
    rawHeaders: checked.headers,
  };
}
