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
   * No 103 Early Hints: nginx's uwsgi module (1.22 here, and the early_hints of
   * later nginx is for proxy_pass and grpc_pass) takes the first status line it
   * reads as the response, so a 103 would replace the app's answer.
   */
  override earlyHints(_fields: string[]): void {}
}
