// The front door's HTTP/2 side: node's http2 (nghttp2) serves the connections
// that server.ts hands over (TLS that chose `h2` by ALPN, or a cleartext
// connection from a trusted peer that opened with the HTTP/2 preface), and
// each stream becomes one WSGI request, as in Gunicorn 26: SERVER_PROTOCOL
// "HTTP/2.0", the access log's request line "GET / HTTP/2.0".
//
// Per stream, before anything reaches Python: the request rules of HTTP/1
// (rules.ts: limit_request_line on "METHOD path HTTP/2.0", limit_request_fields
// and _field_size, header_map, the scheme headers), :authority as Host. A
// stream that breaks them gets Gunicorn's status and page on that stream and
// the "Invalid request from ip=..." warning; the connection's other streams go
// on (Gunicorn 26 drops the whole connection there).
// The body is read by request-body.ts as for HTTP/1, so nghttp2's flow control
// paces the client: a stream whose body is not read gets no WINDOW_UPDATE.
// The http2_* settings are node's SETTINGS: max concurrent streams (nghttp2
// refuses streams past it with RST_STREAM REFUSED_STREAM), the initial window,
// the largest frame, the header list size (HPACK bombs: node resets a stream
// whose header list is larger, with ENHANCE_YOUR_CALM, before it is a request).

import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { DispatchedRequest, Dispatcher } from '../../bridge/dispatcher.js';
import type { RequestHead } from '../../bridge/protocol.js';
import type { Settings } from '../../config/registry.js';
import type { ErrorLog } from '../../log/error-log.js';
import { RequestError, errorPage, invalidRequestLine } from './errors.js';
import { Http2Sink, NO_DATE } from './http2-sink.js';
import type { ProxyInfo } from './proxy-protocol.js';
import { RequestBody, type BodyLimits } from './request-body.js';
import type { RequestRules } from './rules.js';
import { listenerAddress } from './listener-address.js';

export type Http2Settings = Pick<
  Settings,
  'http2_max_concurrent_streams' | 'http2_initial_window_size' | 'http2_max_frame_size' | 'http2_max_header_list_size'
>;

/** What the front door keeps per connection that the HTTP/2 side uses. */
export interface Http2Connection {
  /** Streams accepted whose response is not finished (the connection cap spares busy connections). */
  active: number;
  proxy: ProxyInfo | null;
}

export interface Http2Door {
  /** Serves HTTP/2 on an accepted connection (its first bytes may have been given back with unshift). */
  accept(sock: Socket): void;
  /** A GOAWAY on every connection: streams in progress finish, no new ones start. */
  close(): void;
}

export interface Http2DoorOptions {
  dispatcher: Dispatcher;
  settings: Http2Settings;
  rules: RequestRules;
  log: ErrorLog;
  /** The listener's scheme (https over TLS). */
  scheme: 'http' | 'https';
  bodyLimits: BodyLimits;
  connectionOf: (sock: Socket) => Http2Connection;
  /** The socket's peer, null on a unix socket. */
  peerOf: (sock: Socket) => string | null;
}

/** node's SETTINGS from Gunicorn's http2_* settings. */
export function http2SessionSettings(s: Http2Settings): http2.Settings {
  const settings: http2.Settings = {
    maxConcurrentStreams: s.http2_max_concurrent_streams,
    initialWindowSize: Math.min(s.http2_initial_window_size, 2 ** 31 - 1),
    maxFrameSize: s.http2_max_frame_size,
  };
  // Gunicorn's 0 means no limit; nghttp2's 0 would refuse every header block.
  if (s.http2_max_header_list_size > 0) settings.maxHeaderListSize = s.http2_max_header_list_size;
  return settings;
}

export function createHttp2Door(o: Http2DoorOptions): Http2Door {
  const { dispatcher, rules, log } = o;
  const server = http2.createServer({
    settings: http2SessionSettings(o.settings),
    // nghttp2 keeps at most this many header fields per block (node's default is
    // 128): room for limit_request_fields and the pseudo-headers, so that the
    // rules see one past the limit and answer 431 as for HTTP/1.
    maxHeaderListPairs: rules.fields + 8,
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  const warn = (message: string) => log.warning(message);

  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // A connection-level error (a bad frame, the client gone): nghttp2 has sent its GOAWAY.
    session.on('error', (e: Error) => log.debug(`HTTP/2 connection error: ${e.message}`));
  });

  server.on('stream', (stream: http2.ServerHttp2Stream, _headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    // A stream the client resets (RST_STREAM) reports it here; its sink sees it gone.
    stream.on('error', () => {});
    const sock = stream.session?.socket as Socket | undefined;
    if (!sock) return;
    const peer = o.peerOf(sock);
    const conn = o.connectionOf(sock);

    let method = '';
    let path: string | null = null;
    let claimedScheme = '';
    let authority = '';
    const fields: string[] = [];
    let cookies: string[] | null = null;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      const value = rawHeaders[i + 1]!;
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':scheme') claimedScheme = value;
      else if (name === ':authority') authority = value;
      else if (name.startsWith(':')) continue;
      // RFC 9113 section 8.2.3: cookie crumbs are joined with "; " before an HTTP/1 reader sees them.
      else if (name === 'cookie') (cookies ??= []).push(value);
      else fields.push(name, value);
    }
    if (cookies) fields.push('cookie', cookies.join('; '));

    const refuse = (e: RequestError) => {
      warn(`Invalid request from ip=${peer ?? ''}: ${e.message}`);
      if (stream.closed || stream.destroyed) return;
      const page = errorPage(e.reason, e.mesg);
      stream.respond({ ':status': e.status, 'content-type': 'text/html', 'content-length': page.length }, NO_DATE);
      stream.end(page);
    };

    let checked;
    try {
      // CONNECT (RFC 9113 section 8.5) has no :path: not a request the app can be given.
      if (path === null || path === '') throw invalidRequestLine(`${method} ${authority} HTTP/2.0`);
      checked = rules.checkStream({ method, url: path, httpVersion: '2.0', rawHeaders: fields }, peer, o.scheme);
    } catch (e) {
      if (e instanceof RequestError) return refuse(e);
      throw e;
    }
    let headers = checked.headers;
    // RFC 9113 section 8.3.1: :authority stands for Host (and wins over a Host field), as in Gunicorn 26.
    if (authority) {
      headers = dropHostValues(checked.headers);
      headers.push('host', authority);
    }
    let scheme = checked.scheme;
    // Gunicorn 26 takes a client's :scheme only from a peer trusted to speak for the connection.
    if ((claimedScheme === 'http' || claimedScheme === 'https') && rules.trusts(peer)) scheme = claimedScheme;

    const proxy = conn.proxy;
    const proxied = proxy?.clientAddr != null;
    const head: RequestHead = {
      method,
      target: path,
      httpVersion: '2.0',
      hasBody: !stream.endAfterHeaders,
      scheme,
      remoteAddress: proxied ? proxy.clientAddr! : (sock.remoteAddress ?? ''),
      remotePort: proxied ? (proxy.clientPort ?? 0) : (sock.remotePort ?? 0),
      ...listenerAddress(sock),
      proxy: proxied ? `${proxy.protocol} ${proxy.proxyAddr} ${proxy.proxyPort}` : '',
      rawHeaders: headers,
    };
    const request: DispatchedRequest = { head, body: null, startedAt: Date.now(), t0: process.hrtime.bigint() };

    conn.active++;
    stream.once('close', () => conn.active--);
    const go = () => {
      if (stream.closed || stream.destroyed) return;
      dispatcher.handle(request, new Http2Sink(stream, method, warn));
    };
    if (!head.hasBody) return go();

    let ended = false;
    stream.once('end', () => {
      ended = true;
    });
    // HTTP/2 has room for an interim 100 (RFC 9113 section 8.1); a client waiting for one sends its body now.
    if (headerValue(fields, 'expect')?.toLowerCase() === '100-continue') {
      try {
        stream.additionalHeaders({ ':status': 100 });
      } catch {
        // The stream is gone.
      }
    }
    RequestBody.read(
      stream,
      Number(headerValue(fields, 'content-length') ?? NaN),
      () => ended,
      o.bodyLimits,
      (body) => {
        request.body = { stream: body.stream(), cutIfClosed: () => true };
        go();
      },
      () => {},
      (e) => {
        log.error(`Cannot keep the request body of ${method} ${path} in tmp_upload_dir ${o.bodyLimits.dir ?? 'the system temp dir'}: ${e.message}`);
        if (stream.closed || stream.destroyed) return;
        stream.respond({ ':status': 500, 'content-type': 'text/plain' }, NO_DATE);
        stream.end('Internal Server Error\n');
      },
    );
  });

  return {
    accept(sock: Socket) {
      server.emit('connection', sock);
    },
    close() {
      for (const s of sessions) s.close();
    },
  };
}

function headerValue(pairs: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i + 1 < pairs.length; i += 2) if (pairs[i]!.toLowerCase() === lowerName) return pairs[i + 1];
  return undefined;
}

/** The pairs without Host fields. */
function dropHostValues(pairs: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    if (pairs[i]!.toLowerCase() === 'host') continue;
    out.push(pairs[i]!, pairs[i + 1]!);
  }
  return out;
}
