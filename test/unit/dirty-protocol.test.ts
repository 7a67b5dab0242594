// The dirty arbiter's wire format (src/dirty/tlv.ts, protocol.ts) against
// bytes Gunicorn 26.2.2's own encoder wrote (gunicorn/dirty/tlv.py and
// protocol.py, on the host's python3; the hex strings below are its output).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameReader, ProtocolError, errorFrame, frame, payloadOf } from '../../src/dirty/protocol.js';
import { Float, TlvError, decode, encode } from '../../src/dirty/tlv.js';
import { DirtyAppSpecError, parseDirtyAppSpec, pyList } from '../../src/dirty/app-specs.js';
import { Stash, fnmatch } from '../../src/dirty/stash.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const id = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

// TLVEncoder.encode({'a': [1, 2.5, 'x', b'\x01', None, True], 'b': {}})
const GUNICORN_VALUE = '210000000211000000016120000000060500000000000000010640040000000000001100000001781000000001010001011100000001622100000000';
// BinaryProtocol.encode_request(7, 'm:C', 'act', (1,), {'k': 'v'})
const GUNICORN_REQUEST =
  '47440101000000600000000000000007210000000411000000086170705f7061746811000000036d3a431100000006616374696f6e1100000003616374110000000461726773200000000105000000000000000111000000066b7761726773210000000111000000016b110000000176';
// BinaryProtocol.encode_error(7, {'error_type': 'DirtyTimeoutError', 'message': 'Worker timeout', 'details': {'timeout': 3}})
const GUNICORN_ERROR =
  '474401030000007e0000000000000007210000000111000000056572726f722100000003110000000a6572726f725f747970651100000011446972747954696d656f75744572726f7211000000076d657373616765110000000e576f726b65722074696d656f7574110000000764657461696c732100000001110000000774696d656f7574050000000000000003';

test("TLV: the bytes Gunicorn's TLVEncoder writes, both ways", () => {
  const value = { a: [1, new Float(2.5), 'x', new Uint8Array([1]), null, true], b: {} };
  assert.is(encode(value as never).toString('hex'), GUNICORN_VALUE);
  assert.equal(decode(hex(GUNICORN_VALUE)), { a: [1, 2.5, 'x', new Uint8Array([1]), null, true], b: {} });
  // An integral float decodes as a Float, so that it is encoded back as a float.
  assert.equal(decode(encode(new Float(3))), new Float(3));
  // int64 beyond 2^53 stays exact (bigint); the extremes are Gunicorn's bytes.
  assert.is(decode(hex('050020000000000001')), 2n ** 53n + 1n);
  assert.is(encode(-(2n ** 63n)).toString('hex'), '058000000000000000');
  assert.is(encode(new Float(3)).toString('hex'), '064008000000000000', 'a float stays a float when integral');
});

test('TLV: malformed data is an error naming what is wrong, never a guess', () => {
  assert.throws(() => decode(hex('05000000')), (e: Error) => e instanceof TlvError && /incomplete int64/.test(e.message));
  assert.throws(() => decode(hex('0000')), (e: Error) => e instanceof TlvError && /Trailing data after TLV: 1 bytes/.test(e.message));
  assert.throws(() => decode(hex('7f')), (e: Error) => e instanceof TlvError && /Unknown TLV type code: 0x7f/.test(e.message));
  assert.throws(() => decode(hex('1100000002c328')), (e: Error) => e instanceof TlvError && /Invalid UTF-8/.test(e.message));
  assert.throws(() => decode(hex('21000000010500000000000000010000')), (e: Error) => e instanceof TlvError && /Dict key must be string/.test(e.message));
});

test("frames: a request Gunicorn's client wrote is read whole, however the bytes arrive; answers are Gunicorn's bytes", () => {
  const raw = hex(GUNICORN_REQUEST);
  const reader = new FrameReader();
  const frames = [...reader.push(raw.subarray(0, 5)), ...reader.push(raw.subarray(5, 40)), ...reader.push(Buffer.concat([raw.subarray(40), raw]))];
  assert.is(frames.length, 2);
  const [f] = frames;
  assert.is(f!.type, 'request');
  assert.equal(f!.id, id(7));
  assert.equal(payloadOf(f!), { app_path: 'm:C', action: 'act', args: [1], kwargs: { k: 'v' } });
  assert.equal(f!.raw, raw);
  const timeout = errorFrame(id(7), { error_type: 'DirtyTimeoutError', message: 'Worker timeout', details: { timeout: 3 } });
  assert.is(timeout.toString('hex'), GUNICORN_ERROR);
  assert.is(frame('end', id(258)).toString('hex'), '47440105000000000000000000000102');
});

test('frames: a bad header is a ProtocolError (the connection is dropped)', () => {
  assert.throws(() => new FrameReader().push(hex('47450101000000000000000000000000')), (e: Error) => e instanceof ProtocolError && /Invalid magic: 4745/.test(e.message));
  assert.throws(() => new FrameReader().push(hex('47440201000000000000000000000000')), /Unsupported protocol version: 2/);
  assert.throws(() => new FrameReader().push(hex('47440109000000000000000000000000')), /Unknown message type: 0x09/);
  assert.throws(() => new FrameReader().push(hex('47440101050000000000000000000000')), /Message too large/);
});

test("dirty_apps specs: MODULE:CLASS and MODULE:CLASS:N, with Gunicorn's messages", () => {
  assert.equal(parseDirtyAppSpec('myapp.ml:MLApp'), { importPath: 'myapp.ml:MLApp', workers: null });
  assert.equal(parseDirtyAppSpec('myapp.heavy:Huge:2'), { importPath: 'myapp.heavy:Huge', workers: 2 });
  assert.throws(() => parseDirtyAppSpec('myapp'), (e: Error) => e instanceof DirtyAppSpecError && /^Invalid import path format: myapp\./.test(e.message));
  assert.throws(() => parseDirtyAppSpec('a:B:x'), /Invalid worker count in spec: a:B:x\. Expected integer, got 'x'/);
  assert.throws(() => parseDirtyAppSpec('a:B:0'), /Worker count must be >= 1, got 0/);
  assert.is(pyList(['a:B', "it's"]), "['a:B', 'it\\'s']");
});

test("stash keys(pattern): fnmatch's *, ? and [seq], [!seq], on str() of the key", () => {
  assert.ok(fnmatch('user:1', 'user:*'));
  assert.not.ok(fnmatch('admin', 'user:*'));
  assert.ok(fnmatch('a.b', 'a?b'));
  assert.not.ok(fnmatch('axb', 'a.b'), '. is literal');
  assert.ok(fnmatch('k7', 'k[0-9]'));
  assert.not.ok(fnmatch('k7', 'k[!0-9]'));
  assert.ok(fnmatch('[', '['), 'an unclosed [ is literal');
  const stash = new Stash();
  stash.run({ op: 1, table: 't', key: 3, value: 'x' });
  stash.run({ op: 1, table: 't', key: 'k', value: new Float(2) });
  assert.equal(stash.run({ op: 4, table: 't', pattern: '[0-9]' }), { result: [3] }, 'an int key matches as its str()');
  assert.equal(stash.run({ op: 2, table: 't', key: 'k' }), { result: new Float(2) }, 'a float value stays a float');
  assert.equal(stash.run({ op: 2, table: 't', key: 'nope' }), { error: { error_type: 'StashKeyNotFoundError', message: 'Key not found: nope', details: {} } });
  assert.equal(stash.run({ op: 6, table: 'none' }), { error: { error_type: 'StashTableNotFoundError', message: 'Table not found: none', details: {} } });
  assert.equal(stash.run({ op: 10, table: 't' }), { result: true });
  assert.equal(stash.run({ op: 99, table: 't' }), { error: { error_type: 'DirtyError', message: 'Unknown stash operation: 99', details: {} } });
});

test.run();
