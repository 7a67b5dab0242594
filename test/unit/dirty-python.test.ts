// The Python half of the dirty arbiters (python/nicorn/dirty), inside one real
// Pyodide: the wire format against bytes Gunicorn 26.2.2's encoder wrote, the
// errors as its client raises them, and a dirty worker's Runtime answering
// request frames from an app in memory.

import fs from 'node:fs';
import path from 'node:path';
import { loadPyodide, type PyodideInterface } from 'pyodide';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const PYTHON_DIR = fs.realpathSync('python');
let py: PyodideInterface;

/** Runs `code`; its last line is an expression whose json.dumps comes back parsed. */
function pyJson<T = any>(code: string): T {
  const lines = code.trim().split('\n');
  const last = lines.pop()!;
  py.runPython(lines.join('\n'));
  return JSON.parse(py.runPython(`import json\njson.dumps(${last})`) as string) as T;
}

test.before(async () => {
  py = await loadPyodide({ indexURL: path.resolve('node_modules/pyodide') + '/', stdout: () => {}, stderr: () => {} });
  py.FS.mkdirTree(PYTHON_DIR);
  py.FS.mount(py.FS.filesystems.NODEFS, { root: PYTHON_DIR }, PYTHON_DIR);
  py.runPython(`import sys\nsys.path.insert(0, ${JSON.stringify(PYTHON_DIR)})`);
});

// Gunicorn 26.2.2's bytes (host python3): TLVEncoder.encode({'a': [1, 2.5, 'x', b'\\x01', None, True], 'b': {}}),
// BinaryProtocol.encode_request(7, 'm:C', 'act', (1,), {'k': 'v'}), encode_end(258).
const GUNICORN_VALUE = '210000000211000000016120000000060500000000000000010640040000000000001100000001781000000001010001011100000001622100000000';
const GUNICORN_REQUEST =
  '47440101000000600000000000000007210000000411000000086170705f7061746811000000036d3a431100000006616374696f6e1100000003616374110000000461726773200000000105000000000000000111000000066b7761726773210000000111000000016b110000000176';

test("wire: Gunicorn's bytes, both ways", () => {
  const out = pyJson(`
from nicorn.dirty import wire
value = {"a": [1, 2.5, "x", b"\\x01", None, True], "b": {}}
request = bytes.fromhex(${JSON.stringify(GUNICORN_REQUEST)})
m = wire.parse(request)
[wire.encode(value).hex(), wire.decode(bytes.fromhex(${JSON.stringify(GUNICORN_VALUE)})) == value, wire.request_frame(7, "m:C", "act", (1,), {"k": "v"}).hex(), m, wire.frame("end", 258).hex()]`);
  assert.is(out[0], GUNICORN_VALUE);
  assert.is(out[1], true);
  assert.is(out[2], GUNICORN_REQUEST);
  assert.equal(out[3], { type: 'request', id: 7, app_path: 'm:C', action: 'act', args: [1], kwargs: { k: 'v' } });
  assert.is(out[4], '47440105000000000000000000000102');
});

test('wire: what TLV cannot carry, and malformed frames, are DirtyProtocolError', () => {
  const out = pyJson(`
from nicorn.dirty import wire
from nicorn.dirty.errors import DirtyProtocolError
def err(fn):
    try:
        fn()
    except DirtyProtocolError as e:
        return e.message
[err(lambda: wire.encode({1, 2})), err(lambda: wire.encode(2**63)), err(lambda: wire.parse(b"XX" + bytes(14))), err(lambda: wire.decode(b"\\x05\\x00"))]`);
  assert.equal(out, [
    'Unsupported type for TLV encoding: set',
    'Integer out of int64 range: 9223372036854775808',
    "Invalid magic: b'XX', expected b'GD'",
    'Truncated TLV data: incomplete int64',
  ]);
});

test("errors: from_dict gives the class named, with Gunicorn's attributes; an unknown name is DirtyError", () => {
  const out = pyJson(`
from nicorn.dirty.errors import DirtyError, DirtyAppError, DirtyTimeoutError
e = DirtyError.from_dict({"error_type": "DirtyAppError", "message": "boom", "details": {"app_path": "a:B", "action": "x", "traceback": "tb"}})
t = DirtyError.from_dict({"error_type": "DirtyTimeoutError", "message": "Worker timeout", "details": {"timeout": 3}})
u = DirtyError.from_dict({"error_type": "Weird", "message": "m"})
[type(e).__name__, isinstance(e, DirtyError), e.app_path, e.action, e.traceback, str(t), t.timeout, type(u).__name__, DirtyAppError("x", app_path="p").to_dict()]`);
  assert.equal(out, [
    'DirtyAppError', true, 'a:B', 'x', 'tb',
    "Worker timeout: {'timeout': 3}", 3, 'DirtyError',
    { error_type: 'DirtyAppError', message: 'x', details: { app_path: 'p' } },
  ]);
});

test('Runtime: one request frame in, whole answer frames out: a result, a stream step by step, an error, an unknown app', () => {
  const out = pyJson(`
import json, sys, types
from nicorn.dirty import wire
from nicorn.dirty.app import DirtyApp
from nicorn.dirty.worker import Runtime
mod = types.ModuleType("memapps")
class Counter(DirtyApp):
    def init(self):
        self.n = 0
    def incr(self):
        self.n += 1
        return self.n
    def gen(self, k):
        yield from range(k)
    def bad(self):
        raise KeyError("nope")
    async def coro(self):
        return 1
mod.Counter = Counter
sys.modules["memapps"] = mod
opts = {"pid": 1, "ppid": 0, "age": 1, "app_paths": ["memapps:Counter"], "settings": "{}", "loglevel": "critical", "config": None, "hook_names": []}
rt = Runtime(json.dumps(opts))
boot = rt.boot()
def run(action, *args, app="memapps:Counter"):
    step = rt.begin(wire.request_frame(9, app, action, args, {}))
    msgs = [wire.parse(step["frame"])]
    while step["more"]:
        step = rt.step()
        msgs.append(wire.parse(step["frame"]))
    return [(m["type"], m.get("result", m.get("data", (m.get("error") or {}).get("message")))) for m in msgs]
[boot, rt.class_workers(), run("incr"), run("incr"), run("gen", 2), run("bad"), run("incr", app="memapps:Nope"), run("coro")[0][1][:40]]`);
  assert.equal(out.slice(0, 7), [
    '',
    '{"memapps:Counter": null}',
    [['response', 1]],
    [['response', 2]],
    [['chunk', 0], ['chunk', 1], ['end', null]],
    [['error', "'nope'"]],
    // As Gunicorn's worker: the DirtyAppNotFoundError's str() (details included) as a DirtyAppError's message.
    [['error', "Dirty app not found: memapps:Nope: {'app_path': 'memapps:Nope'}"]],
  ]);
  assert.is(out[7], 'memapps:Counter.coro returned a coroutin', 'an error naming the limit');
});

test.run();
