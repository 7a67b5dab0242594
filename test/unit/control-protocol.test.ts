// The control socket's wire format (gunicorn/ctl/protocol.py): length-prefixed
// JSON written as Python's json.dumps writes it, floats kept as floats.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_MESSAGE_SIZE, MessageReader, ProtocolError, PyFloat, encodeMessage, parseJson, pyJson } from '../../src/arbiter/control-protocol.js';
import { parseCommand } from '../../src/ctl/command.js';
import { formatResponse } from '../../src/ctl/format.js';

test("pyJson writes json.dumps's text: separators, floats, ensure_ascii, indent=2", () => {
  assert.is(pyJson({ a: 1, b: new PyFloat(2), c: [true, null, 'é"\n'] }), '{"a": 1, "b": 2.0, "c": [true, null, "\\u00e9\\"\\n"]}');
  assert.is(pyJson({ x: [], y: {} , z: [1] }, 2), '{\n  "x": [],\n  "y": {},\n  "z": [\n    1\n  ]\n}');
  assert.is(pyJson(new PyFloat(0.1 + 0.2)), '0.30000000000000004');
});

test('parseJson keeps 2.0 a float and 2 an int, and round-trips through pyJson', () => {
  const v = parseJson('{"hb": 2.0, "n": 2, "s": "\\u00e9", "l": [1.5e3]}');
  assert.instance((v as Record<string, unknown>).hb, PyFloat);
  assert.is((v as Record<string, unknown>).n, 2);
  assert.is(pyJson(v), '{"hb": 2.0, "n": 2, "s": "\\u00e9", "l": [1500.0]}');
  assert.throws(() => parseJson('{"a": }'), (e: unknown) => e instanceof ProtocolError && /Expecting value/.test((e as Error).message));
});

test('MessageReader: messages split across reads and several in one; an oversized length is refused', () => {
  const first = encodeMessage({ id: 1 });
  const wire = Buffer.concat([first, encodeMessage({ id: 2 })]);
  const r = new MessageReader();
  assert.equal(r.push(wire.subarray(0, 3)), []);
  assert.equal(r.push(wire.subarray(3, first.length + 2)), [{ id: 1 }]);
  assert.ok(r.partial);
  assert.equal(r.push(wire.subarray(first.length + 2)), [{ id: 2 }]);
  const big = Buffer.alloc(4);
  big.writeUInt32BE(MAX_MESSAGE_SIZE + 1);
  assert.throws(() => new MessageReader().push(big), /Message too large/);
});

test("parse_command: the command's words, then its arguments from the first number", () => {
  assert.equal(parseCommand('worker add 2'), { command: 'worker add', args: ['2'] });
  assert.equal(parseCommand('show workers'), { command: 'show workers', args: [] });
  assert.equal(parseCommand('shutdown quick'), { command: 'shutdown quick', args: [] });
});

test("formatResponse: gunicornc's tables, Python's str() of values", () => {
  const out = formatResponse('show workers', parseJson('{"workers": [{"pid": 7, "age": 1, "booted": false, "last_heartbeat": 3.0}], "count": 1}'));
  assert.is(out, 'PID        AGE    BOOTED   LAST_BEAT\n' + '-'.repeat(40) + '\n7          1      no       3.0s ago\n\nTotal: 1 workers');
  assert.is(formatResponse('show config', parseJson('{"bind": ["a", "b"], "pidfile": null, "reload": false}')), 'bind: a, b\npidfile: None\nreload: False');
  assert.is(formatResponse('worker add', {}), 'OK');
  assert.is(formatResponse('show stats', parseJson('{"uptime": 3725.5, "pid": 1}')).split('\n')[0], 'Uptime:           1h 2m 5s');
});

test.run();
