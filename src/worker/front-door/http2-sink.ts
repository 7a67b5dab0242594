// The front door's HTTP/2 writer: the response sink (bridge/dispatcher.ts) of
// one request on one HTTP/2 stream. The HTTP/2 twin of http1-sink.ts, and the
// only place that writes HTTP/2 framing: HEADERS (:status, lower-case field
// names), DATA on the stream at the client's flow-control pace, a 103 as an
// extra HEADERS frame, RST_STREAM for a response cut short. The connection
// itself is never closed here: a broken response costs its stream only.
//
// Gunicorn 26's HTTP2Response sends the app's headers (hop-by-hop ones dropped)
// without Server or Date, and applies the same no-body rules as HTTP/1 (HEAD,
// 1xx, 204, 304; Content-Length gone on 1xx and 204).

import fs from 'node:fs';
import http2 from 'node:http2';
import type { ResponseSink } from '../../bridge/dispatcher.js';
import type { FileSpan, ResponseStart } from '../../bridge/protocol.js';
import { errorPage } from './errors.js';
import { BodyRules, FIELD_VALUE, TOKEN } from './response-rules.js';

/** As http1-sink.ts: what one response may leave in node's buffers before Python is paced to the client. */
const RESPONSE_BUFFER = 1 << 18;

const FAILURE_PAGE = errorPage('Internal Server Error', '');

/**
 * Fields HTTP/2 forbids (RFC 9113 section 8.2.2: connection-specific) that an
 * app may still send after Python's hop-by-hop filter (`Upgrade: websocket`
 * passes there for HTTP/1); node would refuse the whole HEADERS frame.
 */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

/**
 * respond() without the Date field node adds by default (Gunicorn's HTTP/2
 * responses have none). node reads `sendDate` (lib/internal/http2/core.js,
 * node 20 and 26) though its types do not list it.
 */
export const NO_DATE = { sendDate: false } as http2.ServerStreamResponseOptions;

/** Name/value pairs as node's HTTP/2 header object: lower-case names, repeats as arrays, in order. */
function headerObject(pairs: readonly string[], status: number): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ':status': status };
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i]!.toLowerCase();
    if (CONNECTION_SPECIFIC.has(name)) continue;
    const value = pairs[i + 1]!;
    const had = out[name];
    if (had === undefined) out[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = [String(had), value];
  }
  return out;
}

export class Http2Sink implements ResponseSink {
  private readonly body: BodyRules;

  /**
   * @param method the request's method (HEAD has no content).
   * @param warn the error log's warning (the no-body drop, as Gunicorn words it).
   */
  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    method: string,
    warn: (message: string) => void,
  ) {
    this.body = new BodyRules(method, warn);
  }

  get gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  get finished(): boolean {
    return this.stream.writableFinished;
  }

  get started(): boolean {
    return this.stream.headersSent;
  }

  onGone(listener: () => void): void {
    this.stream.once('close', () => {
      if (!this.stream.writableFinished) listener();
    });
  }

  /** `start.close` has no HTTP/2 meaning for one stream (the connection's other streams go on), as in Gunicorn. */
  start(start: ResponseStart): void {
    const code = start.statusCode;
    const pairs = this.body.begin(code, start.headers);
    try {
      // No Date: Gunicorn's HTTP/2 response has none (node would add one).
      this.stream.respond(headerObject(pairs, code), NO_DATE);
    } catch {
      // A status HTTP/2 cannot carry (101, or a 1xx as the final answer): the stream fails.
      this.stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  }

  keepsBody(bytes: number): boolean {
    return this.body.keepsBody(bytes);
  }

  /** wsgi.early_hints on HTTP/2: a HEADERS frame with :status 103, before the final response only. */
  earlyHints(fields: string[]): void {
    const { stream } = this;
    if (stream.headersSent || this.gone) return;
    const headers: http2.OutgoingHttpHeaders = { ':status': 103 };
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      // Python refuses these to the app already (response.py); this is the wire's guard.
      if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return;
      const lower = name.toLowerCase();
      if (CONNECTION_SPECIFIC.has(lower)) continue;
      const had = headers[lower];
      const v = value.replace(/^[ \t]+|[ \t]+$/g, '');
      headers[lower] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [String(had), v];
    }
    try {
      stream.additionalHeaders(headers);
    } catch {
      // The stream ended meanwhile: the hint has no one to go to.
    }
  }

  write(data: Buffer, written: () => void): Promise<void> | null {
    if (this.gone) {
      written();
      return null;
    }
    return this.stream.write(data, written) ? null : drained(this.stream, RESPONSE_BUFFER);
  }

  async sendFile(span: FileSpan): Promise<number> {
    let sent = 0;
    if (span.count === 0) return sent;
    const end = span.count < 0 ? undefined : span.offset + span.count - 1;
    const file = fs.createReadStream(span.path, { start: span.offset, end, highWaterMark: 1 << 16 });
    try {
      for await (const chunk of file) {
        if (this.gone) break;
        sent += (chunk as Buffer).length;
        if (!this.stream.write(chunk as Buffer)) await drained(this.stream, RESPONSE_BUFFER);
      }
    } catch {
      this.stream.close(NGHTTP2_INTERNAL_ERROR);
    } finally {
      file.destroy();
    }
    return sent;
  }

  end(): void {
    this.stream.end();
  }

  /** The body is not what the headers promised: RST_STREAM once what was written has gone to the session. */
  abort(): void {
    const { stream } = this;
    const reset = () => {
      if (!stream.closed) stream.close(NGHTTP2_INTERNAL_ERROR);
    };
    // An empty write's callback runs after those of the writes before it (in order).
    if (this.gone) return;
    stream.write(Buffer.alloc(0), reset);
  }

  fail(): Promise<void> {
    const { stream } = this;
    if (stream.headersSent || this.gone) {
      if (!this.gone) stream.close(NGHTTP2_INTERNAL_ERROR);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      stream.once('close', resolve);
      stream.respond(
        { ':status': 500, 'content-type': 'text/html', 'content-length': FAILURE_PAGE.length },
        NO_DATE,
      );
      stream.end(FAILURE_PAGE);
    });
  }
}

/** Resolves once the stream drains; at once while it holds less than `allowed` bytes. */
function drained(stream: http2.ServerHttp2Stream, allowed = 0): Promise<void> | null {
  if (stream.destroyed || !stream.writableNeedDrain || stream.writableLength < allowed) return null;
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
