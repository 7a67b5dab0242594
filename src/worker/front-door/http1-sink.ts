// The front door's HTTP/1 writer: the response sink (bridge/dispatcher.ts)
// of one request on an HTTP/1.x connection. node:http does the message
// framing (Content-Length, chunked, close-delimited); this adds what HTTP/1
// says about the connection (Connection: close, closing after a broken
// body) and paces Python to the client.

import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { ResponseSink } from '../../bridge/dispatcher.js';
import type { FileSpan, ResponseStart } from '../../bridge/protocol.js';
import { errorPage } from './errors.js';
import type { Http1Response } from './response-rules.js';

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

const FAILURE_PAGE = errorPage('Internal Server Error', '');

export class Http1Sink implements ResponseSink {
  /**
   * @param draining whether the worker is leaving: responses then close their connection.
   * @param rules Gunicorn's rules for this request's response (status line, Server, no-body responses, 103).
   */
  constructor(
    private readonly res: ServerResponse,
    private readonly draining: () => boolean,
    private readonly rules: Http1Response,
  ) {}

  get gone(): boolean {
    return this.res.destroyed;
  }

  get finished(): boolean {
    return this.res.writableFinished;
  }

  get started(): boolean {
    return this.res.headersSent;
  }

  onGone(listener: () => void): void {
    this.res.once('close', () => {
      if (!this.res.writableFinished) listener();
    });
  }

  /** Adds `Connection: close` to `start.headers` when the connection ends after this response. */
  start(start: ResponseStart): void {
    if (start.close || this.draining()) start.headers.push('Connection', 'close');
    try {
      this.rules.writeHead(this.res, start);
    } catch {
      this.res.destroy();
    }
  }

  keepsBody(bytes: number): boolean {
    return this.rules.keepsBody(bytes);
  }

  earlyHints(fields: string[]): void {
    if (!this.res.destroyed) this.rules.writeEarlyHints(this.res, fields);
  }

  write(data: Buffer, written: () => void): Promise<void> | null {
    return this.res.write(data, written) ? null : drained(this.res, RESPONSE_BUFFER);
  }

  sendFile(span: FileSpan): Promise<number> {
    return streamFile(this.res, span);
  }

  end(): void {
    this.res.end();
  }

  abort(): void {
    const sock = this.res.socket;
    if (!sock) return;
    // Node 26 holds a response's head and first chunk in the response until the
    // next tick (Node 20 writes them to the socket at once): ending the socket
    // now sent nothing at all (300 of 300 requests; writeHead + write +
    // destroySoon in one tick). After the ticks, what was written is on the socket.
    setImmediate(() => sock.destroySoon());
  }

  fail(): Promise<void> {
    const { res } = this;
    if (res.headersSent) {
      res.destroy();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.once('finish', resolve);
      res.shouldKeepAlive = false;
      res.writeHead(500, 'Internal Server Error', {
        Connection: 'close',
        'Content-Type': 'text/html',
        'Content-Length': String(FAILURE_PAGE.length),
      });
      res.end(FAILURE_PAGE);
    });
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
