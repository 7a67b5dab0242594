// The uwsgi writer: the response sink of one request that came in a uwsgi
// packet. What nginx's uwsgi module reads back is an HTTP/1 response, so this
// is the HTTP/1 writer (http1-sink.ts) on node's ServerResponse, with the
// framing uwsgi-door.ts sets up (never chunked), and one difference:

import type { ServerResponse } from 'node:http';
import { Http1Sink } from './http1-sink.js';
import type { Http1Response } from './response-rules.js';

export class UwsgiSink extends Http1Sink {
  constructor(res: ServerResponse, draining: () => boolean, rules: Http1Response) {
    super(res, draining, rules);
  }

  /**
   * No 103 Early Hints (Gunicorn 26.2.2 sends them under uwsgi too): nginx's
   * uwsgi module takes the first status line it reads for the response. With
   * Debian's nginx 1.22 and an upstream answering "103 Early Hints" then
   * "200 OK" + "hello", curl got "HTTP/1.1 103 Early Hints" as the final
   * response and the 200's head and body as its body.
   */
  override earlyHints(_fields: string[]): void {}
}
