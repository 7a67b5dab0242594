// h1-fallback.ts follows each connection's reads through callbacks of the
// HTTPParser node:http gives it. node keeps its parsers in a free list and
// gives a new connection one that served earlier connections: the callbacks
// node does not reset must be wrapped once per parser, not once per connection
// (they nested one wrapper per connection served, and a keep-alive request's
// CPU grew with every connection the worker had served before).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { followReads } from '../../src/worker/front-door/h1-fallback.js';

/** node's HTTPParser.kOnHeadersComplete and kOnMessageComplete slots (_http_common.js). */
const K_ON_HEADERS_COMPLETE = 2;
const K_ON_MESSAGE_COMPLETE = 4;

type Parser = Record<number, unknown>;

function get(port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ port, host: '127.0.0.1', path: '/', agent: false, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

test('a parser node reuses across connections keeps one wrapper of each callback', async () => {
  const seen = new Map<Parser, { complete: unknown; headers: unknown; connections: number }>();
  const server = http.createServer((_req, res) => res.end('ok'));
  let followed = 0;
  let rewrapped = 0;
  server.on('connection', (sock: Socket) => {
    if (followReads(sock)) followed++;
    const parser = (sock as Socket & { parser: Parser }).parser;
    const now = { complete: parser[K_ON_MESSAGE_COMPLETE], headers: parser[K_ON_HEADERS_COMPLETE] };
    const before = seen.get(parser);
    if (!before) seen.set(parser, { ...now, connections: 1 });
    else {
      before.connections++;
      if (now.complete !== before.complete || now.headers !== before.headers) rewrapped++;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    // Sequential connections, each closed after its request: node hands the freed parser to the next one.
    for (let i = 0; i < 30; i++) assert.is(await get(port, { Connection: 'close' }), 'ok');
    // A chunked body on a reused parser: followed from its head on, and still served.
    const chunked = await new Promise<string>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/', agent: false, headers: { 'Transfer-Encoding': 'chunked', Connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      });
      req.on('error', reject);
      req.write('abc');
      req.end('def');
    });
    assert.is(chunked, '200');
  } finally {
    server.close();
  }
  assert.is(followed, 31, 'every connection is followed');
  assert.is(rewrapped, 0, 'a reused parser kept its callbacks (wrapped once)');
  const reused = Math.max(...[...seen.values()].map((s) => s.connections));
  assert.ok(reused > 1, `a parser served more than one connection (${seen.size} parsers for 31 connections)`);
});

test.run();
