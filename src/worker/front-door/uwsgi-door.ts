// The worker's front door under --protocol uwsgi: nginx's uwsgi_pass speaks to
// it. Each connection reads uwsgi packets (uwsgi-packet.ts), hands each request
// to the dispatcher with a UwsgiSink, and writes the answer as an HTTP/1
// status line and headers, which is what nginx's uwsgi module reads back.
//
// Gunicorn 26.2.2's rules, from gunicorn/uwsgi/message.py and the workers:
// - a peer not in --uwsgi-allow-from is refused as soon as it connects,
//   before a byte is read (unix sockets always pass);
// - a refused peer, a malformed packet or a modifier1 other than 0 is not a
//   request error there but an exception in handle(): the error log says
//   "Error handling request (no URI read)" with the exception, the peer gets
//   the 500 page, the connection closes, nothing reaches the app;
// - the body is CONTENT_LENGTH bytes after the vars; what the app leaves
//   unread is discarded before the next packet (finish_body);
// - a response is never chunk-encoded (nginx passes chunk markers through
//   into the client's body): without Content-Length it ends with the
//   connection (Connection: close), with one the connection may carry the
//   next packet unless HTTP_CONNECTION said close.
// --proxy-protocol does not apply here: Gunicorn's uwsgi parser never reads a
// PROXY header either.

import http from 'node:http';
import net, { type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Dispatcher } from '../../bridge/dispatcher.js';
import type { RequestHead } from '../../bridge/protocol.js';
import type { Settings } from '../../config/registry.js';
import type { ErrorLog } from '../../log/error-log.js';
import { RequestError, errorResponse } from './errors.js';
import { Http1Response } from './response-rules.js';
import { UwsgiSink } from './uwsgi-sink.js';
import { forbiddenUwsgiRequest, readPacket, requestInfo, uwsgiPeerAllowed, type UwsgiError, type UwsgiRequestInfo } from './uwsgi-packet.js';
import { listenerAddress } from './listener-address.js';

export type UwsgiDoorSettings = Pick<Settings, 'uwsgi_allow_ips' | 'keepalive' | 'timeout' | 'worker_connections'>;

/** A listening server the worker base can stop as it stops node:http's. */
export type UwsgiServer = net.Server & { closeIdleConnections(): void };

/** Bytes of a following packet kept while a request is being served (nginx sends one packet per connection). */
const AHEAD_LIMIT = 1 << 16;

const INTERNAL_ERROR = errorResponse(new RequestError('', 500, 'Internal Server Error', ''));

/**
 * PATH_INFO as a request target Python splits back into the same path and
 * query (python/nicorn/environ.py, split_target): a '?' or '#' nginx decoded
 * into the path would otherwise end the path there. Only those two are
 * escaped, so the path's own '%' sequences are unquoted once more in Python,
 * as Gunicorn unquotes PATH_INFO; RAW_URI shows %3F / %23 for them.
 */
function targetOf(info: UwsgiRequestInfo): string {
  const path = info.path.replace(/\?/g, '%3F').replace(/#/g, '%23');
  return info.query ? `${path}?${info.query}` : path;
}

export function createUwsgiFrontDoor(
  dispatcher: Dispatcher,
  settings: UwsgiDoorSettings,
  log: ErrorLog,
  draining: () => boolean,
): UwsgiServer {
  const timeoutMs = settings.timeout > 0 ? settings.timeout * 1000 : 0;
  const keepAliveMs = settings.keepalive * 1000;
  const warn = (message: string) => log.warning(message);
  /** Connections waiting for a packet (none in progress): the ones a stop or a full house may close. */
  const idle = new Set<Socket>();
  const open = new Set<Socket>();

  const refuse = (sock: Socket, e: UwsgiError) => {
    // Gunicorn's handle_error for an exception that is not an HTTP parse error (log.exception).
    log.exception(`Error handling request (no URI read)\n${e.pythonClass}: ${e.message}`);
    idle.delete(sock);
    if (sock.destroyed) return;
    sock.end(INTERNAL_ERROR);
    sock.destroySoon();
  };

  const serve = (sock: Socket) => {
    // worker_connections: room is made by closing an idle connection, else the newcomer goes.
    if (open.size >= settings.worker_connections) {
      const victim = idle.values().next().value as Socket | undefined;
      if (!victim) return sock.destroy();
      victim.destroy();
    }
    open.add(sock);
    sock.once('close', () => {
      open.delete(sock);
      idle.delete(sock);
    });
    sock.on('error', () => sock.destroy());
    const peer = sock.remoteAddress ?? null;
    if (!uwsgiPeerAllowed(peer, settings.uwsgi_allow_ips)) return refuse(sock, forbiddenUwsgiRequest(peer!));

    let buf: Buffer = Buffer.alloc(0);
    let ended = false;
    /** A request is with the dispatcher (its response not finished). */
    let busy = false;
    /** Body bytes of the current request still to come off the socket. */
    let remaining = 0;
    /** Where they go: the app's wsgi.input, or nowhere once its response is done (finish_body). */
    let body: PassThrough | null = null;
    let served = 0;

    const waitForPacket = () => {
      idle.add(sock);
      // The first packet gets --timeout (as a request head does); later ones --keep-alive.
      const ms = served === 0 ? timeoutMs : keepAliveMs;
      sock.setTimeout(ms, () => {
        if (!busy) sock.destroy();
      });
    };

    const next = () => {
      if (busy || remaining > 0 || sock.destroyed) return;
      if (buf.length === 0) {
        // The peer closed between packets: nothing was asked, nothing to answer.
        if (ended) sock.destroy();
        return;
      }
      const got = readPacket(buf, ended);
      if (got.kind === 'more') return;
      if (got.kind === 'error') return refuse(sock, got.error);
      const info = requestInfo(got.packet.vars, 'http');
      buf = buf.subarray(got.packet.consumed);
      start(info);
    };

    const start = (info: UwsgiRequestInfo) => {
      busy = true;
      idle.delete(sock);
      sock.setTimeout(0);
      const head: RequestHead = {
        method: info.method,
        target: targetOf(info),
        httpVersion: '1.1',
        hasBody: info.contentLength > 0,
        scheme: info.scheme as RequestHead['scheme'],
        remoteAddress: sock.remoteAddress ?? '',
        remotePort: sock.remotePort ?? 0,
        ...listenerAddress(sock),
        proxy: '',
        rawHeaders: info.headers,
      };
      remaining = info.contentLength;
      body = remaining > 0 ? new PassThrough() : null;
      const stream = body;
      if (stream && buf.length > 0) feed();

      // node's HTTP/1 response writer, on this socket without node's parser.
      const req = new http.IncomingMessage(sock);
      req.method = info.method;
      req.httpVersionMajor = 1;
      req.httpVersionMinor = 1;
      req.httpVersion = '1.1';
      const res = new http.ServerResponse(req);
      // Gunicorn 26.2.2 never chunks a uwsgi response (nginx would pass the markers on).
      res.useChunkedEncodingByDefault = false;
      res.shouldKeepAlive = !info.close && settings.keepalive > 0;
      res.assignSocket(sock);
      res.once('finish', () => {
        res.detachSocket(sock);
        // As node's server does once a response is written (its 'close' tells the bridge it is over).
        process.nextTick(() => {
          if (!res.destroyed) {
            res.destroyed = true;
            res.emit('close');
          }
        });
        busy = false;
        served++;
        const last = (res as http.ServerResponse & { _last?: boolean })._last === true;
        if (last || !res.shouldKeepAlive || draining()) {
          sock.end();
          return;
        }
        // Unread body bytes are skipped, not taken for the next packet.
        if (body === stream) body = null;
        feed();
        if (ended && (remaining > 0 || buf.length === 0)) {
          sock.end();
          return;
        }
        if (sock.isPaused()) sock.resume();
        waitForPacket();
        next();
      });
      const startedAt = Date.now();
      dispatcher.handle(
        {
          head,
          body: stream ? { stream, cutIfClosed: () => remaining > 0 } : null,
          startedAt,
          t0: process.hrtime.bigint(),
        },
        new UwsgiSink(res, draining, new Http1Response(info.method, '1.1', warn)),
      );
    };

    /** Moves body bytes from `buf` to the current body (or drops them), as far as it takes them. */
    const feed = () => {
      if (remaining === 0 || buf.length === 0) return;
      const take = Math.min(remaining, buf.length);
      const piece = buf.subarray(0, take);
      buf = buf.subarray(take);
      remaining -= take;
      if (body) {
        const more = body.write(piece);
        if (remaining === 0) body.end();
        else if (!more) {
          // The app reads slower than nginx sends: the socket waits for it.
          sock.pause();
          body.once('drain', () => sock.resume());
        }
      }
    };

    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      feed();
      if (busy && buf.length > AHEAD_LIMIT) sock.pause();
      next();
    });
    sock.once('end', () => {
      ended = true;
      // The body ends short: the app's read of it fails, as a cut body does over HTTP.
      if (remaining > 0 && body) body.destroy();
      next();
    });
    sock.once('close', () => {
      if (remaining > 0 && body && !body.destroyed) body.destroy();
    });
    waitForPacket();
  };

  const server = net.createServer({ pauseOnConnect: false }, serve) as UwsgiServer;
  server.closeIdleConnections = () => {
    for (const s of idle) s.destroy();
    idle.clear();
  };
  return server;
}
