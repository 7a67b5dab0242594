// The out ring's frame decoder (src/bridge/frame-decoder.ts), without threads:
// byte streams as the Python side writes them, cut into reads anywhere.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameDecoder, type Decoded } from '../../src/bridge/frame-decoder.js';
import { EXCHANGE_ID_LIMIT, OutFrame, PADDING, frameHeader, framePadding } from '../../src/bridge/protocol.js';

/** One frame as the Python side writes it: header, payload, zero padding to 8 bytes. */
function frame(type: number, exchange: number, payload: Buffer | string = ''): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  return Buffer.concat([frameHeader(type, exchange, p.length), p, PADDING.subarray(0, framePadding(p.length))]);
}

/** What the decoder makes of `wire` read in pieces of `size` bytes: body bytes per exchange joined, other frames as they come. */
function decodeIn(wire: Buffer, size: number): { frames: [number, number, string][]; bodies: Map<number, Buffer>; order: string[] } {
  const decoder = new FrameDecoder(OutFrame.Body);
  const frames: [number, number, string][] = [];
  const bodies = new Map<number, Buffer>();
  const order: string[] = [];
  for (let off = 0; off < wire.length; off += size) {
    // Each read lands in a fresh buffer, as the pump's batches do, which is overwritten once played.
    const batch = Buffer.from(wire.subarray(off, off + size));
    const got: Decoded[] = [...decoder.decode(batch, 0, batch.length)];
    for (const d of got) {
      if (d.kind === 'body') {
        bodies.set(d.exchange, Buffer.concat([bodies.get(d.exchange) ?? Buffer.alloc(0), Buffer.from(d.data)]));
        if (order.at(-1) !== `body ${d.exchange}`) order.push(`body ${d.exchange}`);
      } else {
        frames.push([d.type, d.exchange, d.payload.toString('latin1')]);
        order.push(`${d.type} ${d.exchange}`);
      }
    }
    // The pump reuses a batch once played: what the decoder keeps of a frame cut across reads must be its own copy.
    batch.fill(0xee);
  }
  return { frames, bodies, order };
}

const odd = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 7) & 0xff));
const wire = Buffer.concat([
  frame(OutFrame.Start, 1, '\u0000200 OK\u0000Content-Type\u0000text/plain'),
  frame(OutFrame.Body, 1, 'hello'),
  frame(OutFrame.Body, 1, odd),
  frame(OutFrame.End, 1),
  frame(OutFrame.Start, 2, 'c\u0000500 Internal Server Error'),
  frame(OutFrame.Body, 2, 'x'),
  frame(OutFrame.Close, 2, 'REMOTE_USER\u0000bob'),
]);

for (const size of [1, 3, 7, 8, 9, 13, 4096, 65_536, wire.length]) {
  test(`frames read in ${size}-byte pieces come out whole, in order, with their exchange ids`, () => {
    const { frames, bodies, order } = decodeIn(wire, size);
    assert.equal(frames, [
      [OutFrame.Start, 1, '\u0000200 OK\u0000Content-Type\u0000text/plain'],
      [OutFrame.End, 1, ''],
      [OutFrame.Start, 2, 'c\u0000500 Internal Server Error'],
      [OutFrame.Close, 2, 'REMOTE_USER\u0000bob'],
    ]);
    assert.equal(order, [`${OutFrame.Start} 1`, 'body 1', `${OutFrame.End} 1`, `${OutFrame.Start} 2`, 'body 2', `${OutFrame.Close} 2`]);
    // A body frame whose length is not a multiple of 8, cut across reads: its padding is skipped after it, not inside it.
    assert.ok(bodies.get(1)!.equals(Buffer.concat([Buffer.from('hello'), odd])), 'exchange 1 body intact');
    assert.is(bodies.get(2)!.toString(), 'x');
  });
}

test('a body piece points into the batch it came in (no copy); a frame wholly in one batch too', () => {
  const batch = Buffer.concat([frame(OutFrame.Body, 5, 'abcdefgh'), frame(OutFrame.End, 5, 'T')]);
  const got = [...new FrameDecoder(OutFrame.Body).decode(batch, 0, batch.length)];
  assert.is(got.length, 2);
  batch.write('Z', 8);
  assert.is(got[0]!.kind === 'body' && got[0]!.data.toString(), 'Zbcdefgh');
});

test('decode starts at `from`: the pump reads into a buffer at the ring\'s alignment', () => {
  const f = frame(OutFrame.End, 9, 'ok');
  const buf = Buffer.concat([Buffer.from([1, 2, 3]), f]);
  const got = [...new FrameDecoder(OutFrame.Body).decode(buf, 3, buf.length)];
  assert.equal(got.map((d) => d.kind === 'frame' && [d.type, d.exchange, d.payload.toString()]), [[OutFrame.End, 9, 'ok']]);
});

test('exchange ids use all 24 bits of the header', () => {
  const id = EXCHANGE_ID_LIMIT - 1;
  const got = [...new FrameDecoder(OutFrame.Body).decode(frame(OutFrame.End, id), 0, 8)];
  assert.is(got[0]!.exchange, id);
  assert.is(Buffer.from(frameHeader(OutFrame.End, EXCHANGE_ID_LIMIT + 3, 0)).readUInt32LE(0) >>> 8, 3, 'ids wrap at 2^24');
});

test('an empty body frame yields nothing; an empty end frame yields an empty payload', () => {
  const buf = Buffer.concat([frame(OutFrame.Body, 2), frame(OutFrame.End, 2)]);
  const got = [...new FrameDecoder(OutFrame.Body).decode(buf, 0, buf.length)];
  assert.equal(got.map((d) => d.kind), ['frame']);
  assert.is(got[0]!.kind === 'frame' && got[0]!.payload.length, 0);
});

test.run();
