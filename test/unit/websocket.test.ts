// The front door's RFC 6455 framing (src/worker/front-door/websocket.ts) on a
// real loopback socket pair: the protocol errors a client can make, each with
// the close code the RFC gives it, and what a well-behaved client gets.

import crypto from 'node:crypto';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketConnection } from '../../src/worker/front-door/websocket.js';

interface Pair {
  ws: WebSocketConnection;
  client: net.Socket;
  /** Everything the server wrote after the 101's head. */
  frames(): Buffer;
  messages: [boolean, string][];
  closed: Promise<[number, string]>;
}

async function pair(maxMessage?: number): Promise<Pair> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(port, '127.0.0.1');
  const sock = await accepted;
  server.close();
  const ws = new WebSocketConnection(sock, crypto.randomBytes(16).toString('base64'), Buffer.alloc(0), maxMessage);
  const messages: [boolean, string][] = [];
  ws.onMessage = (binary, data) => messages.push([binary, data.toString('latin1')]);
  const closed = new Promise<[number, string]>((r) => (ws.onClosed = (code, reason) => r([code, reason])));
  let received = Buffer.alloc(0);
  client.on('data', (d) => (received = Buffer.concat([received, d])));
  ws.start();
  ws.accept('', []);
  return {
    ws,
    client,
    messages,
    closed,
    frames: () => {
      const end = received.indexOf('\r\n\r\n');
      return end < 0 ? Buffer.alloc(0) : received.subarray(end + 4);
    },
  };
}

/** A client frame: masked unless `masked` is false. */
function frame(opcode: number, payload: Buffer, { fin = true, masked = true, rsv = 0 } = {}): Buffer {
  const head = [(fin ? 0x80 : 0) | rsv | opcode];
  const len = payload.length;
  if (len < 126) head.push((masked ? 0x80 : 0) | len);
  else head.push((masked ? 0x80 : 0) | 126, len >> 8, len & 255);
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const mask = crypto.randomBytes(4);
  return Buffer.concat([Buffer.from(head), mask, payload.map((b, i) => b ^ mask[i & 3]!)]);
}

const closeFrom = (frames: Buffer): number => {
  const at = frames.indexOf(0x88);
  return at < 0 ? -1 : frames.readUInt16BE(at + 2);
};

async function failsWith(bytes: Buffer, code: number, maxMessage?: number): Promise<void> {
  const p = await pair(maxMessage);
  p.client.write(bytes);
  const [heard] = await p.closed;
  assert.is(heard, code, 'the app hears the code');
  await new Promise((r) => setTimeout(r, 50));
  assert.is(closeFrom(p.frames()), code, 'the client gets a close frame with the code');
  assert.equal(p.messages, []);
  p.client.destroy();
}

test('fragments are joined into one message; a ping is answered with its payload', async () => {
  const p = await pair();
  p.client.write(Buffer.concat([frame(1, Buffer.from('ab'), { fin: false }), frame(9, Buffer.from('pi')), frame(0, Buffer.from('cd'))]));
  p.client.write(frame(2, Buffer.from([0, 255])));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(p.messages, [[false, 'abcd'], [true, '\u0000\u00ff']]);
  assert.equal([...p.frames().subarray(0, 4)], [0x8a, 2, 0x70, 0x69], 'pong "pi"');
  p.client.write(frame(8, Buffer.from([0x03, 0xe8, 0x6f, 0x6b])));
  assert.equal(await p.closed, [1000, 'ok']);
  p.client.destroy();
});

test('protocol errors close with 1002: unmasked, reserved bits, a bad close code, a long control frame, a stray continuation', async () => {
  await failsWith(frame(1, Buffer.from('x'), { masked: false }), 1002);
  await failsWith(frame(1, Buffer.from('x'), { rsv: 0x40 }), 1002);
  await failsWith(frame(8, Buffer.from([0x03, 0xed])), 1002); // 1005 never travels
  await failsWith(frame(9, Buffer.alloc(126)), 1002);
  await failsWith(frame(0, Buffer.from('x')), 1002);
});

test('invalid UTF-8 in a text message closes 1007; a message past the limit closes 1009', async () => {
  await failsWith(frame(1, Buffer.from([0xc3, 0x28])), 1007);
  await failsWith(Buffer.concat([frame(2, Buffer.alloc(600), { fin: false }), frame(0, Buffer.alloc(600))]), 1009, 1000);
});

test.run();
