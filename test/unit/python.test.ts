// The Python half of the bridge (python/nicorn), run inside one real Pyodide.

import fs from 'node:fs';
import path from 'node:path';
import { loadPyodide, type PyodideInterface } from 'pyodide';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ASGI_BODY_WINDOW, ASGI_RESPONSE_WINDOW, decodeFile, decodeStart, encodeHead, FRAME_HEADER, framePadding, HEAD_FIELDS, InFrame, OutFrame, RECV_LENGTH_BITS, type RequestHead,
} from '../../src/bridge/protocol.js';
import { FrameDecoder } from '../../src/bridge/frame-decoder.js';

const PYTHON_DIR = fs.realpathSync('python');
const APPS = '/tmp/unitapps';

let py: PyodideInterface;

/** Python source as a string literal (JSON string escapes are valid Python). */
const lit = (s: string) => JSON.stringify(s);
/** Any JSON-able JS value as a Python expression. */
const val = (v: unknown) => `json.loads(${lit(JSON.stringify(v))})`;

/** Runs `code` (Python); its last statement must be an expression json.dumps can take. */
function pyJson<T = any>(code: string): T {
  const runJson = py.globals.get('run_json') as (src: string) => string;
  return JSON.parse(runJson(code)) as T;
}

interface Raised {
  type: string;
  msg: string;
  mro: string[];
}

test.before(async () => {
  // indexURL is explicit: pyodide derives it from a stack trace, which
  // --enable-source-maps (test/run.mjs) rewrites to pyodide's own sources.
  py = await loadPyodide({ indexURL: path.resolve('node_modules/pyodide') + '/', stdout: () => {}, stderr: () => {} });
  const { FS } = py;
  FS.mkdirTree(PYTHON_DIR);
  FS.mount(FS.filesystems.NODEFS, { root: PYTHON_DIR }, PYTHON_DIR);
  py.runPython(`
import ast, ctypes, importlib, json, os, sys, textwrap
sys.path.insert(0, ${lit(PYTHON_DIR)})
os.makedirs(${lit(APPS)}, exist_ok=True)
sys.path.insert(0, ${lit(APPS)})
from nicorn import body as nbody, environ as nenviron, loader, response, channel

def run_json(src):
    tree = ast.parse(textwrap.dedent(src).strip())
    last = tree.body.pop()
    if not isinstance(last, ast.Expr):
        raise AssertionError("the snippet must end with an expression")
    ns = globals()
    exec(compile(tree, "<test>", "exec"), ns)
    return json.dumps(eval(compile(ast.Expression(last.value), "<test>", "eval"), ns))

def outcome(fn, *args):
    """{"ok": what fn returned} or {"err": what it raised}."""
    try:
        return {"ok": fn(*args)}
    except BaseException:
        pass
    return {"err": raised(fn, *args)}

def raised(fn, *args, **kwargs):
    """What fn raised, as {type, msg, mro}; None when it returned."""
    try:
        fn(*args, **kwargs)
    except BaseException as e:
        return {"type": type(e).__name__, "msg": str(e), "mro": [c.__name__ for c in type(e).__mro__]}
    return None

def write_app(relpath, text):
    full = os.path.join(${lit(APPS)}, relpath)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)
    importlib.invalidate_caches()

class FakeChannel:
    """Scripted input frames: recv() -> (kind, n), payload(n) -> the frame's bytes."""
    def __init__(self, frames):
        self.frames = list(frames)
        self.current = b""
        self.recvs = 0
    def recv(self):
        if not self.frames:
            raise AssertionError("recv() called after the last scripted frame")
        kind, data = self.frames.pop(0)
        self.current = data
        self.recvs += 1
        return kind, len(data)
    def payload(self, n):
        return self.current[:n]

def body_of(*frames):
    return nbody.Body(FakeChannel(frames))

BODY, EOF, ABORT = channel.IN_BODY, channel.IN_EOF, channel.IN_ABORT

write_app("unitmod.py", '''
def app(environ, start_response):
    return []

def application(environ, start_response):
    return []

notcallable = 42
nothing = None

def factory(a, x=0):
    def made(environ, start_response):
        return []
    made.args = (a, x)
    return made

def inner_typeerror():
    return len(5)
''')

def env_of(fields):
    e = nenviron.build(channel.RequestHead(fields), nenviron.base_environ(True, None), "the-body")
    return {k: v for k, v in e.items() if isinstance(v, (str, int, bool, tuple, type(None)))}
`);
});

// ---------------------------------------------------------------- environ

const baseHead: RequestHead = {
  method: 'GET',
  target: '/',
  httpVersion: '1.1',
  hasBody: false,
  scheme: 'http',
  remoteAddress: '10.1.2.3',
  remotePort: 40000,
  serverName: '127.0.0.1',
  serverPort: '8000',
  proxy: '',
  rawHeaders: ['Host', 'example.com'],
};

/** The environ Python builds from the head record exactly as encodeHead writes it. */
function environFor(over: Partial<RequestHead>, scriptName?: string): Record<string, any> {
  const fields = encodeHead({ ...baseHead, ...over }).toString('latin1').split('\0');
  const set = scriptName === undefined ? 'os.environ.pop("SCRIPT_NAME", None)' : `os.environ["SCRIPT_NAME"] = ${lit(scriptName)}`;
  try {
    return pyJson(`${set}\nenv_of(${val(fields)})`);
  } finally {
    py.runPython('os.environ.pop("SCRIPT_NAME", None)');
  }
}

test('environ: PATH_INFO is percent-decoded, its bytes read as latin-1 (PEP 3333)', () => {
  const e = environFor({ target: '/caf%C3%A9' });
  assert.is(e.PATH_INFO, '/caf\u00c3\u00a9');
  assert.is(e.RAW_URI, '/caf%C3%A9');
});

test('environ: RAW_URI is the target unchanged; QUERY_STRING is not decoded', () => {
  const e = environFor({ target: '/a%20b?x=%20y&z' });
  assert.is(e.RAW_URI, '/a%20b?x=%20y&z');
  assert.is(e.PATH_INFO, '/a b');
  assert.is(e.QUERY_STRING, 'x=%20y&z');
});

test('environ: no query → QUERY_STRING is empty', () => {
  assert.is(environFor({ target: '/p' }).QUERY_STRING, '');
});

test('environ: a fragment is dropped from the path and the query', () => {
  let e = environFor({ target: '/p?q=1#frag' });
  assert.is(e.PATH_INFO, '/p');
  assert.is(e.QUERY_STRING, 'q=1');
  e = environFor({ target: '/p#frag' });
  assert.is(e.PATH_INFO, '/p');
  assert.is(e.QUERY_STRING, '');
});

test("environ: a fragment containing '?' is dropped too (Gunicorn: urlsplit)", () => {
  // urlsplit('/p#frag?x') -> path '/p', query '', fragment 'frag?x'.
  const e = environFor({ target: '/p#frag?x' });
  assert.is(e.PATH_INFO, '/p');
  assert.is(e.QUERY_STRING, '');
});

test("environ: a '//double/slash' target is a path, not a network location", () => {
  let e = environFor({ target: '//double/slash' });
  assert.is(e.PATH_INFO, '//double/slash');
  assert.is(e.QUERY_STRING, '');
  e = environFor({ target: '//a/b?c=1' });
  assert.is(e.PATH_INFO, '//a/b');
  assert.is(e.QUERY_STRING, 'c=1');
});

test('environ: absolute-form target → PATH_INFO and QUERY_STRING of its path', () => {
  const e = environFor({ target: 'http://example.com/p?q=1' });
  assert.is(e.PATH_INFO, '/p');
  assert.is(e.QUERY_STRING, 'q=1');
  assert.is(e.RAW_URI, 'http://example.com/p?q=1');
});

test('environ: CONTENT_TYPE and CONTENT_LENGTH carry no HTTP_ prefix', () => {
  const e = environFor({
    method: 'POST',
    hasBody: true,
    rawHeaders: ['Host', 'h', 'Content-Type', 'text/plain', 'content-length', '12'],
  });
  assert.is(e.CONTENT_TYPE, 'text/plain');
  assert.is(e.CONTENT_LENGTH, '12');
  assert.not.ok('HTTP_CONTENT_TYPE' in e);
  assert.not.ok('HTTP_CONTENT_LENGTH' in e);
});

test('environ: CONTENT_TYPE and CONTENT_LENGTH are absent when not sent', () => {
  const e = environFor({});
  assert.not.ok('CONTENT_TYPE' in e);
  assert.not.ok('CONTENT_LENGTH' in e);
});

test("environ: other headers become HTTP_*, '-' → '_', upper case", () => {
  const e = environFor({ rawHeaders: ['Host', 'h', 'x-request-id', 'abc', 'Accept', '*/*'] });
  assert.is(e.HTTP_X_REQUEST_ID, 'abc');
  assert.is(e.HTTP_ACCEPT, '*/*');
  assert.is(e.HTTP_HOST, 'h');
});

test("environ: repeated headers are joined with ','", () => {
  const e = environFor({ rawHeaders: ['Host', 'h', 'X-Forwarded-For', '1.1.1.1', 'Accept', 'a', 'x-forwarded-for', '2.2.2.2'] });
  assert.is(e.HTTP_X_FORWARDED_FOR, '1.1.1.1,2.2.2.2');
});

test("environ: names with '_' the front door let through map as Gunicorn's 'dangerous' does", () => {
  const e = environFor({ rawHeaders: ['Host', 'h', 'X_Auth_User', 'admin', 'X-Auth-User', 'guest'] });
  assert.is(e.HTTP_X_AUTH_USER, 'admin,guest');
});

test("environ: a PROXY protocol header's PROTOCOL, ADDR and PORT, as Gunicorn's proxy_environ", () => {
  const e = environFor({ remoteAddress: '203.0.113.7', remotePort: 56324, proxy: 'TCP4 10.0.0.1 443' });
  assert.equal([e.REMOTE_ADDR, e.REMOTE_PORT, e.PROXY_PROTOCOL, e.PROXY_ADDR, e.PROXY_PORT], ['203.0.113.7', '56324', 'TCP4', '10.0.0.1', '443']);
  assert.not.ok('PROXY_PROTOCOL' in environFor({}));
});

test('environ: a SCRIPT_NAME header (a trusted forwarder) sets SCRIPT_NAME and shortens PATH_INFO', () => {
  const e = environFor({ target: '/prefix/page', rawHeaders: ['Host', 'h', 'SCRIPT_NAME', '/prefix'] });
  assert.is(e.SCRIPT_NAME, '/prefix');
  assert.is(e.PATH_INFO, '/page');
});

test('environ: header names map to the same keys on every request (the name cache), Host and SCRIPT_NAME included', () => {
  for (let i = 0; i < 2; i++) {
    const e = environFor({
      target: '/prefix/page', serverName: '', serverPort: '',
      rawHeaders: ['Host', 'a', 'host', 'b:81', 'SCRIPT_NAME', '/prefix', 'X-Thing', '1', 'x-thing', '2'],
    });
    assert.is(e.HTTP_HOST, 'a,b:81');
    // On a unix socket SERVER_NAME/PORT come from the last Host line, as in Gunicorn's loop.
    assert.equal([e.SERVER_NAME, e.SERVER_PORT], ['b', '81']);
    assert.is(e.HTTP_SCRIPT_NAME, '/prefix');
    assert.is(e.SCRIPT_NAME, '/prefix');
    assert.is(e.HTTP_X_THING, '1,2');
  }
});

test('environ: header values keep latin-1 characters', () => {
  assert.is(environFor({ rawHeaders: ['Host', 'h', 'X-Name', 'caf\u00e9'] }).HTTP_X_NAME, 'caf\u00e9');
});

test('environ: SERVER_NAME/SERVER_PORT come from the listener fields', () => {
  const e = environFor({ serverName: '127.0.0.1', serverPort: '8123', rawHeaders: ['Host', 'example.com:9999'] });
  assert.is(e.SERVER_NAME, '127.0.0.1');
  assert.is(e.SERVER_PORT, '8123');
});

test('environ: without listener fields (unix socket) SERVER_NAME/PORT come from Host', () => {
  const e = environFor({ serverName: '', serverPort: '', rawHeaders: ['Host', 'example.com:8080'] });
  assert.is(e.SERVER_NAME, 'example.com');
  assert.is(e.SERVER_PORT, '8080');
});

test('environ: a Host without port defaults SERVER_PORT to 80 for http and 443 for https', () => {
  const http = environFor({ serverName: '', serverPort: '', rawHeaders: ['Host', 'example.com'] });
  assert.is(http.SERVER_NAME, 'example.com');
  assert.is(http.SERVER_PORT, '80');
  const https = environFor({ scheme: 'https', serverName: '', serverPort: '', rawHeaders: ['Host', 'example.com'] });
  assert.is(https.SERVER_PORT, '443');
});

test('environ: an IPv6 Host keeps its brackets; its port is split off only after the ]', () => {
  let e = environFor({ serverName: '', serverPort: '', rawHeaders: ['Host', '[::1]:9000'] });
  assert.is(e.SERVER_NAME, '[::1]');
  assert.is(e.SERVER_PORT, '9000');
  e = environFor({ serverName: '', serverPort: '', rawHeaders: ['Host', '[::1]'] });
  assert.is(e.SERVER_NAME, '[::1]');
  assert.is(e.SERVER_PORT, '80');
});

test("environ: SCRIPT_NAME comes from os.environ['SCRIPT_NAME'] and is stripped from PATH_INFO", () => {
  const e = environFor({ target: '/mount/point/page?x=1' }, '/mount/point');
  assert.is(e.SCRIPT_NAME, '/mount/point');
  assert.is(e.PATH_INFO, '/page');
  assert.is(e.QUERY_STRING, 'x=1');
  assert.is(environFor({ target: '/page' }).SCRIPT_NAME, '');
});

test('environ: request line fields: method, protocol, remote address, url scheme', () => {
  const e = environFor({ method: 'PATCH', httpVersion: '1.0', scheme: 'https', remoteAddress: '::1', remotePort: 5 });
  assert.is(e.REQUEST_METHOD, 'PATCH');
  assert.is(e.SERVER_PROTOCOL, 'HTTP/1.0');
  assert.is(e['wsgi.url_scheme'], 'https');
  assert.is(e.REMOTE_ADDR, '::1');
  assert.is(e.REMOTE_PORT, '5');
  assert.is(e['wsgi.input'], 'the-body');
});

test("environ['gunicorn.socket']: addresses as the socket gives them (IPv4, IPv6, unix); I/O refused naming the limit", () => {
  const r = pyJson<Record<string, unknown>>(`
import socket
from nicorn.client_socket import ClientSocket
v4 = ClientSocket("10.1.2.3", "40000", "127.0.0.1", "8000")
v6 = ClientSocket("::1", "5", "::1", "8000")
ux = ClientSocket("", "", "", "")
{"v4": [list(v4.getpeername()), list(v4.getsockname()), v4.family == socket.AF_INET, v4.type == socket.SOCK_STREAM],
 "v6": [list(v6.getpeername()), v6.family == socket.AF_INET6],
 "ux": [ux.getpeername(), ux.family == getattr(socket, "AF_UNIX", 1)],
 "send": raised(v4.sendall, b"x"), "fileno": raised(v4.fileno)["type"], "nope": raised(getattr, v4, "no_such")["type"]}
`);
  assert.equal(r.v4, [['10.1.2.3', 40000], ['127.0.0.1', 8000], true, true]);
  assert.equal(r.v6, [['::1', 5, 0, 0], true]);
  assert.equal(r.ux, ['', true]);
  assert.match((r.send as { msg: string }).msg, /^gunicorn\.socket in nicorn-py: .* sendall\(\) is not available/);
  assert.is(r.fileno, 'OSError');
  assert.is(r.nope, 'AttributeError');
});

test('environ: base keys: wsgi.version (1, 0), multiprocess, run_once False, input_terminated True', () => {
  const r = pyJson(`
b = nenviron.base_environ(True, "FW")
b1 = nenviron.base_environ(False, None)
e = nenviron.build(channel.RequestHead.decode(bytes(${val([...encodeHead(baseHead)])})), b, None)
{"version": list(b["wsgi.version"]), "is_tuple": isinstance(b["wsgi.version"], tuple), "mp": b["wsgi.multiprocess"], "mp1": b1["wsgi.multiprocess"], "mt": b["wsgi.multithread"], "once": b["wsgi.run_once"], "term": b["wsgi.input_terminated"], "fw": b["wsgi.file_wrapper"], "sw": b["SERVER_SOFTWARE"], "errors": hasattr(b["wsgi.errors"], "write") and hasattr(b["wsgi.errors"], "flush"), "copied": "PATH_INFO" not in b and e["wsgi.version"] == (1, 0)}
`);
  assert.equal(r.version, [1, 0]);
  assert.ok(r.is_tuple);
  assert.is(r.mp, true);
  assert.is(r.mp1, false);
  assert.is(r.mt, false);
  assert.is(r.once, false);
  assert.is(r.term, true);
  assert.is(r.fw, 'FW');
  assert.match(r.sw, /^nicorn-py\//);
  assert.ok(r.errors);
  assert.ok(r.copied, 'build() copies the base instead of mutating it');
});

// --------------------------------------------------------------- response

test('validate_status accepts "<3 digits> <reason>"', () => {
  for (const s of ['200 OK', '404 Not Found', '599 Custom Thing', '204 ']) {
    assert.is(pyJson(`response.validate_status(${lit(s)})`), s);
  }
});

test('validate_status accepts a status without a reason phrase, as Gunicorn 26 sends it', () => {
  assert.is(pyJson<Raised | null>(`raised(response.validate_status, '200')`), null);
});

test('validate_status rejects a bare reason, 4 digits, CR/LF, and bytes', () => {
  for (const s of ["'OK'", "'2000 x'", "'099 Low'", "'200 OK\\r\\nX: y'", "'200 OK\\n'", "'200 O\\x00K'", "b'200 OK'", '200']) {
    const r = pyJson<Raised | null>(`raised(response.validate_status, ${s})`);
    assert.ok(r, `${s} was accepted`);
    assert.is(r!.type, 'AppError', s);
  }
});

test('validate_status rejects a reason with characters beyond latin-1 (it could not be sent)', () => {
  // Header values are held to latin-1 here; the status line goes out in the same latin-1 frame.
  const r = pyJson<Raised | null>(`raised(response.validate_status, "200 Caf\\u20ac")`);
  assert.ok(r, "'200 Caf\u20ac' was accepted");
  assert.is(r!.type, 'AppError');
});

/** validate_headers on a Python list literal; returns the result or what it raised. */
function headers(list: string): { ok?: [string[], number | null]; err?: Raised } {
  return pyJson(`outcome(response.validate_headers, ${list})`);
}

function rejects(list: string, why: string): Raised {
  const r = headers(list);
  assert.ok(r.err, `${why}: ${list} was accepted`);
  assert.is(r.err!.type, 'AppError', `${why}: ${r.err!.msg}`);
  return r.err!;
}

test('validate_headers returns the flat name/value list in order, duplicates kept', () => {
  const r = headers(`[("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("X-A", "1"), ("Set-Cookie", "b=2")]`);
  assert.equal(r.ok, [['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'X-A', '1', 'Set-Cookie', 'b=2'], null]);
});

test('validate_headers gives the same answers the second time a pair is seen (remembered pairs)', () => {
  const list = `[("Content-Length", " 42 "), ("X-A", "1")]`;
  const first = headers(list).ok;
  assert.equal(first, [['Content-Length', '42', 'X-A', '1'], 42]);
  assert.equal(headers(list).ok, first);
  // A refused pair is never remembered: it is refused every time.
  rejects(`[("X A", "v")]`, 'bad name');
  rejects(`[("X A", "v")]`, 'bad name, again');
  // Nor is a dropped one: it is dropped every time.
  assert.equal(headers(`[("Connection", "close"), ("X-A", "1")]`).ok, [['X-A', '1'], null]);
  assert.equal(headers(`[("Connection", "close"), ("X-A", "1")]`).ok, [['X-A', '1'], null]);
});

test('validate_headers: a str subclass or an unhashable value goes through the checks, not the remembered pairs', () => {
  const r = pyJson<{ sub: [string[], number | null] | string; err: string }>(`
class Weird(str):
    pass
response.validate_headers([("X-A", "1")])
try:
    response.validate_headers([("X-A", Weird("1\\nX-Injected: 1"))])
    sub = "accepted"
except response.AppError as e:
    sub = "refused"
try:
    response.validate_headers([("X-A", ["1"])])
    err = "accepted"
except response.AppError as e:
    err = type(e).__name__
{"sub": sub, "err": err}`);
  assert.is(r.sub, 'refused');
  assert.is(r.err, 'AppError');
});

test('validate_headers parses Content-Length to an int', () => {
  assert.equal(headers(`[("Content-Length", "42")]`).ok, [['Content-Length', '42'], 42]);
  assert.equal(headers(`[("content-length", " 0\\t")]`).ok, [['content-length', '0'], 0]);
});

test('validate_headers rejects a Content-Length that is not a non-negative decimal', () => {
  for (const v of ['abc', '-1', '1.5', '', '1e3', '\u0661\u0662']) rejects(`[("Content-Length", ${lit(v)})]`, `Content-Length ${v}`);
});

test('validate_headers strips spaces and tabs around values', () => {
  assert.equal(headers(`[("X-A", " \\t v a l \\t ")]`).ok, [['X-A', 'v a l'], null]);
});

test('validate_headers rejects bad header names: space, empty, colon, non-str', () => {
  for (const h of [`("X A", "v")`, `("", "v")`, `("X:", "v")`, `(b"X", "v")`, `("X\\n", "v")`]) rejects(`[${h}]`, 'name');
});

test('validate_headers rejects non-str values and CR, LF, NUL or non-latin-1 characters', () => {
  for (const v of ['1', 'b"v"', 'None', '"a\\rb"', '"a\\nb"', '"a\\r\\nSet-Cookie: x"', '"a\\x00b"', '"caf\\u20ac"']) {
    rejects(`[("X-A", ${v})]`, `value ${v}`);
  }
  // latin-1 itself (é, byte 0xE9) and a tab are fine.
  assert.equal(headers(`[("X-A", "caf\\xe9\\tx")]`).ok, [['X-A', 'caf\u00e9\tx'], null]);
});

test("validate_headers drops every header Gunicorn 26 drops (hop-by-hop, Server, Date), in any case", () => {
  const dropped = ['Connection', 'Keep-Alive', 'Transfer-Encoding', 'Upgrade', 'TE', 'Trailer', 'Trailers', 'Proxy-Authenticate', 'Proxy-Authorization', 'Server', 'Date'];
  for (const name of dropped) {
    for (const spelled of [name, name.toLowerCase(), name.toUpperCase()]) {
      assert.equal(headers(`[(${lit(spelled)}, "x"), ("X-A", "1")]`).ok, [['X-A', '1'], null], spelled);
    }
  }
  // As in Gunicorn, "Upgrade: websocket" is the one that passes.
  assert.equal(headers(`[("Upgrade", "websocket")]`).ok, [['Upgrade', 'websocket'], null]);
});

test('validate_headers takes any iterable of pairs, as Gunicorn does; a str, a non-pair or a triple is an error', () => {
  assert.equal(headers(`(("X", "v"),)`).ok, [['X', 'v'], null], 'tuple of headers');
  assert.equal(headers(`[["X", "v"]]`).ok, [['X', 'v'], null], 'list item');
  rejects(`"X: v"`, 'a str');
  rejects(`[("X", "v", "w")]`, 'triple');
  rejects(`[42]`, 'not a pair');
});

test('the Start frame a Response writes decodes in JS with status, close flag and headers', () => {
  const r = pyJson<number[][]>(`
class _Rec:
    flushes = 0
    def __init__(self): self.frames = []
    def frame(self, kind, data=b""): self.frames.append([kind, list(data)])
    def flush(self): self.flushes += 1
    def end_frame(self, kind, data=b""): self.frame(kind, data); self.flush()
    def discard(self): self.frames = []
_ch = _Rec()
_resp = response.Response(_ch, "GET")
_resp.close_after = True
_resp.start_response("201 Created Here", [("Set-Cookie", "a=1"), ("X-N", "caf\\xe9"), ("Set-Cookie", "b=2")])
_resp.send(b"hi")
_resp.finish()
_ch.frames`);
  assert.equal(r.map((f) => f[0]), [1, 2, 4]);
  const start = decodeStart(Buffer.from(r[0]![1] as unknown as number[]));
  assert.equal(start, {
    close: true,
    errorPage: false,
    statusCode: 201,
    reason: 'Created Here',
    headers: ['Set-Cookie', 'a=1', 'X-N', 'caf\u00e9', 'Set-Cookie', 'b=2'],
  });
});

test("wsgi.early_hints: Gunicorn 26's checks, a Hints frame flushed at once; nothing for HTTP/1.0 or once the head left", () => {
  const r = pyJson<unknown[]>(`
class _Rec:
    flushes = 0
    def __init__(self): self.frames = []
    def frame(self, kind, data=b""): self.frames.append([kind, bytes(data).decode("latin-1")])
    def flush(self): self.flushes += 1
    def end_frame(self, kind, data=b""): self.frame(kind, data)
    def discard(self): self.frames = []
_ch = _Rec()
_resp = response.Response(_ch, "GET", "1.1")
_resp.early_hints([("Link", "</a.css>; rel=preload"), (b"X-B", b"  two\t")])
_first = [list(_ch.frames), _ch.flushes]
_errors = [raised(_resp.early_hints, [("Bad Name", "x")]), raised(_resp.early_hints, [("X", "a\\r\\nb")])]
_resp.start_response("200 OK", [])
_resp.send(b"x")
_resp.early_hints([("Link", "</late.css>")])
_ten = response.Response(_Rec(), "GET", "1.0")
_ten.early_hints([("Link", "</a.css>")])
[_first, _errors, [f[0] for f in _ch.frames], _ten._ch.frames]`);
  assert.equal(r[0], [[[6, 'Link\0</a.css>; rel=preload\0X-B\0two']], 1]);
  assert.equal((r[1] as { type: string; msg: string }[]).map((e) => [e.type, e.msg]), [
    ['InvalidHeaderName', "'Bad Name'"],
    ['InvalidHeader', "'X'"],
  ]);
  assert.equal(r[2], [6, 1, 2], 'no hint after the head');
  assert.equal(r[3], [], 'none to an HTTP/1.0 client');
});

test("Gunicorn's error page is flagged for the front door ('e'): written as write_error writes it", () => {
  const r = pyJson<number[][]>(`
class _Rec:
    def __init__(self): self.frames = []
    def frame(self, kind, data=b""): self.frames.append([kind, list(data)])
    def end_frame(self, kind, data=b""): self.frame(kind, data)
    def discard(self): self.frames = []
_ch = _Rec()
response.send_error(_ch, 500, "Internal Server Error")
_ch.frames`);
  const start = decodeStart(Buffer.from(r[0]![1] as unknown as number[]));
  assert.is(start.errorPage, true);
  assert.is(start.close, true);
  assert.is(start.statusCode, 500);
});

test("channel.py's file_frame payload decodes in JS (offset, count, UTF-8 path)", () => {
  const p = '/srv/données/☃.bin';
  const r = pyJson<[number, number[]]>(`
class _Rec:
    def frame(self, kind, data=b""): self.got = [kind, list(data)]
_rec = _Rec()
channel.Channel.file_frame(_rec, ${lit(p)}, 2**33 + 1, -1)
_rec.got`);
  assert.is(r[0], 3);
  assert.equal(decodeFile(Buffer.from(r[1])), { path: p, offset: 2 ** 33 + 1, count: -1 });
});

test('Channel frames leave with the 8-byte header JS expects (type, exchange id of the head, length), 8-aligned, large payloads too', () => {
  const id = 0xabcde;
  const r = pyJson<{ sent: number[][]; exchanges: number; recv: number[] }>(`
class _IO:
    """As src/bridge/python-thread.ts: recv() returns ((id << 21) + length) * 16 + type, send() pads to 8 bytes."""
    def __init__(self): self.sent = []; self.exchanges = 0
    def setInbox(self, addr, size): pass
    def armInterrupts(self): pass
    def recv(self): return ((${id} << ${RECV_LENGTH_BITS}) + 37) * 16 + channel.IN_HEAD
    def send(self, addr, n):
        self.sent.append(ctypes.string_at(addr, n) + bytes(-n & 7))
        return 0
    def exchange(self, addr, n):
        self.exchanges += 1
        self.send(addr, n)
        return self.recv()
_io = _IO()
_c = channel.Channel(_io, 1024)
_got = _c.recv()
_c.frame(channel.OUT_BODY, b"abc")
_c.frame(channel.OUT_END)
_c.flush()
_c.frame(channel.OUT_BODY, bytes(range(256)) * 300 + b"x")
_c.end_frame(channel.OUT_END, b"trailer")
_c.recv()
{"sent": [list(s) for s in _io.sent], "exchanges": _io.exchanges, "recv": [_got[0], _got[1], _c.exchange]}`);
  assert.equal(r.recv, [1, 37, id], 'recv() gives (type, length) and keeps the head\'s exchange id');
  const wire = Buffer.concat(r.sent.map((s) => Buffer.from(s)));
  for (let off = 0; off < wire.length; ) {
    assert.is(off % 8, 0, 'every frame starts 8-aligned');
    const len = wire.readUInt32LE(off + 4);
    off += FRAME_HEADER + len + framePadding(len);
  }
  // Decoded by the I/O thread's decoder, fed in uneven pieces (a read of the ring can cut anywhere).
  const decoder = new FrameDecoder(OutFrame.Body);
  const body: Buffer[] = [];
  const frames: [number, Buffer][] = [];
  const ids = new Set<number>();
  for (let off = 0; off < wire.length; off += 1001) {
    for (const d of decoder.decode(wire, off, Math.min(off + 1001, wire.length))) {
      ids.add(d.exchange);
      if (d.kind === 'body') body.push(Buffer.from(d.data));
      else frames.push([d.type, d.payload]);
    }
  }
  const whole = Buffer.concat(body);
  assert.is(whole.length, 3 + 76801, 'body bytes, none lost nor padded in');
  assert.is(whole.subarray(0, 3).toString(), 'abc');
  assert.equal([...whole.subarray(3, 3 + 512)], [...Array.from({ length: 512 }, (_, i) => i & 255)]);
  assert.is(whole.at(-1), 0x78);
  assert.equal(frames.map((f) => [f[0], f[1].toString()]), [[OutFrame.End, ''], [OutFrame.End, 'trailer']]);
  assert.equal([...ids], [id], 'every frame carries the exchange id');
  assert.is(r.exchanges, 1, 'the end frame leaves with the next recv(), in one crossing');
});

test('the Python protocol constants (channel.py, loaded here) are those of src/bridge/protocol.ts', () => {
  const py = pyJson<Record<string, unknown>>(`
{"in": [channel.IN_HEAD, channel.IN_BODY, channel.IN_EOF, channel.IN_ABORT, channel.IN_STOP, channel.IN_GONE, channel.IN_SENT,
        channel.IN_WS_HEAD, channel.IN_WS_DATA, channel.IN_WS_CLOSED],
 "out": [channel.OUT_START, channel.OUT_BODY, channel.OUT_FILE, channel.OUT_END, channel.OUT_CLOSE, channel.OUT_HINTS, channel.OUT_READ,
         channel.OUT_WS_ACCEPT, channel.OUT_WS_DATA, channel.OUT_WS_CLOSE],
 "windows": [__import__("nicorn.asgi.loop").asgi.loop.RESPONSE_WINDOW, __import__("nicorn.asgi.loop").asgi.loop.BODY_WINDOW],
 "header": channel.FRAME_HEADER, "bits": channel.RECV_LENGTH_BITS, "head": list(channel.HEAD_FIELDS),
 "head_slots": [s for s in channel.RequestHead.__slots__ if s != "headers"]}`);
  assert.equal(py.in, [
    InFrame.Head, InFrame.Body, InFrame.Eof, InFrame.Abort, InFrame.Stop, InFrame.Gone, InFrame.Sent, InFrame.WsHead, InFrame.WsData, InFrame.WsClosed,
  ]);
  assert.equal(Object.keys(InFrame).length, 10, 'every InFrame type is compared');
  assert.equal(py.out, [
    OutFrame.Start, OutFrame.Body, OutFrame.File, OutFrame.End, OutFrame.Close, OutFrame.Hints, OutFrame.Read, OutFrame.WsAccept, OutFrame.WsData,
    OutFrame.WsClose,
  ]);
  assert.equal(Object.keys(OutFrame).length, 10, 'every OutFrame type is compared');
  assert.equal(py.windows, [ASGI_RESPONSE_WINDOW, ASGI_BODY_WINDOW], 'the asgi flow-control windows');
  assert.is(py.header, FRAME_HEADER);
  assert.is(py.bits, RECV_LENGTH_BITS);
  assert.equal(py.head, [...HEAD_FIELDS]);
  assert.equal(py.head_slots, [...HEAD_FIELDS]);
});

test('RequestHead parses the record encodeHead writes into named fields', () => {
  const h: RequestHead = { ...baseHead, method: 'POST', target: '/a?b', hasBody: true, proxy: 'TCP4 1.2.3.4 99', rawHeaders: ['A', '1', 'b', '2'] };
  const r = pyJson(`
_h = channel.RequestHead.decode(bytes(${val([...encodeHead(h)])}))
{f: getattr(_h, f) for f in channel.HEAD_FIELDS + ("headers",)}`);
  assert.equal(r, {
    method: 'POST', target: '/a?b', version: '1.1', has_body: true, scheme: 'http', remote_addr: '10.1.2.3',
    remote_port: '40000', server_name: '127.0.0.1', server_port: '8000', proxy: 'TCP4 1.2.3.4 99', headers: ['A', '1', 'b', '2'],
  });
});

// ------------------------------------------------------------------- body

test('Body.read(n) collects across frame boundaries and leaves the rest buffered', () => {
  const r = pyJson(`
b = body_of((BODY, b"hello "), (BODY, b"wor"), (BODY, b"ld"), (EOF, b""))
[b.read(8).decode(), b.read(2).decode(), b.read(100).decode(), b.read().decode(), b.finished]`);
  assert.equal(r, ['hello wo', 'rl', 'd', '', true]);
});

test('Body.read(n) stops pulling frames once n bytes are buffered', () => {
  const r = pyJson(`
ch = FakeChannel([(BODY, b"abcdef"), (BODY, b"gh"), (EOF, b"")])
b = nbody.Body(ch)
first = b.read(3)
[first.decode(), ch.recvs]`);
  assert.equal(r, ['abc', 1]);
});

test('Body.read() reads to EOF; later reads return b"" without asking for more frames', () => {
  const r = pyJson(`
b = body_of((BODY, b"a" * 70000), (BODY, b"b"), (EOF, b""))
d = b.read()
[len(d), d[-2:].decode(), b.read().decode(), b.read(5).decode(), b.readline().decode()]`);
  assert.equal(r, [70001, 'ab', '', '', '']);
});

test('serve(): a signal raised as the interrupt flag is armed runs its hooks; the SIGABRT handler is set before (workers/base.py)', () => {
  // Pyodide raises a flag set while the worker got ready at its first look after
  // channel.arm_interrupts(): that must be inside serve()'s try, with the handler set.
  const r = pyJson<Record<string, { code: number; hooks: string[]; handler_set: boolean }>>(`
import logging, signal
from nicorn.channel import WorkerAbort
from nicorn.workers.sync import SyncWorker
from nicorn.workers.asgi import AsgiWorker, LoopAbort

class _Process:
    alive = True

def _serve(cls, raised):
    w = cls.__new__(cls)
    seen = {"hooks": [], "handler_set": False}
    class _Channel:
        def arm_interrupts(self):
            seen["handler_set"] = signal.getsignal(signal.SIGABRT) == w._on_abort
            raise raised()
    w.channel, w.worker, w.server, w.current = _Channel(), _Process(), None, None
    w.log = logging.getLogger("serve-test")
    w.run_hook = lambda name, *args: seen["hooks"].append(name)
    try:
        seen["code"] = w.serve()
    finally:
        signal.signal(signal.SIGABRT, signal.SIG_DFL)
    return seen

{
    "sync INT": _serve(SyncWorker, KeyboardInterrupt),
    "sync ABRT": _serve(SyncWorker, WorkerAbort),
    "asgi INT": _serve(AsgiWorker, KeyboardInterrupt),
    "asgi ABRT": _serve(AsgiWorker, LoopAbort),
    "asgi ABRT in a wait": _serve(AsgiWorker, WorkerAbort),
}
`);
  for (const [name, seen] of Object.entries(r)) {
    const abort = name.includes('ABRT');
    assert.equal(seen.hooks, [abort ? 'worker_abort' : 'worker_int', 'worker_exit'], name);
    assert.is(seen.code, abort ? 1 : 0, name);
    assert.ok(seen.handler_set, `${name}: the SIGABRT handler is set before the flag is armed`);
  }
});

test('Body.read(0) returns b"" without reading a frame', () => {
  const r = pyJson(`
ch = FakeChannel([(BODY, b"x"), (EOF, b"")])
b = nbody.Body(ch)
[b.read(0).decode(), b.readline(0).decode(), ch.recvs]`);
  assert.equal(r, ['', '', 0]);
});

test('Body: a negative or None size means "all"', () => {
  const r = pyJson(`
[body_of((BODY, b"ab"), (BODY, b"cd"), (EOF, b"")).read(-1).decode(),
 body_of((BODY, b"ab"), (BODY, b"cd"), (EOF, b"")).read(None).decode(),
 body_of((BODY, b"ab"), (BODY, b"c\\nd"), (EOF, b"")).readline(-1).decode(),
 body_of((BODY, b"ab"), (BODY, b"c\\nd"), (EOF, b"")).readline(None).decode()]`);
  assert.equal(r, ['abcd', 'abcd', 'abc\n', 'abc\n']);
});

test('Body: a size that is not an int is a TypeError', () => {
  const r = pyJson(`
b = body_of((BODY, b"abc"), (EOF, b""))
[raised(b.read, "2")["type"], raised(b.read, 1.5)["type"], raised(b.readline, "1")["type"], raised(b.readlines, 2.0)["type"]]`);
  assert.equal(r, ['TypeError', 'TypeError', 'TypeError', 'TypeError']);
});

test('Body.readline() returns one line including its newline, across frames', () => {
  const r = pyJson(`
b = body_of((BODY, b"ab"), (BODY, b"c\\nde"), (BODY, b"f\\n\\ng"), (EOF, b""))
[b.readline().decode() for _ in range(5)]`);
  assert.equal(r, ['abc\n', 'def\n', '\n', 'g', '']);
});

test('Body.readline(size) returns at most size bytes; the rest of the line follows', () => {
  const r = pyJson(`
b = body_of((BODY, b"abcdef\\n"), (BODY, b"xy\\nz"), (EOF, b""))
[b.readline(4).decode(), b.readline(10).decode(), b.readline(3).decode(), b.readline(2).decode(), b.readline(5).decode()]`);
  assert.equal(r, ['abcd', 'ef\n', 'xy\n', 'z', '']);
});

test('Body.readline(size) stops at a newline that falls exactly at size', () => {
  const r = pyJson(`
b = body_of((BODY, b"abc\\ndef"), (EOF, b""))
[b.readline(4).decode(), b.readline().decode()]`);
  assert.equal(r, ['abc\n', 'def']);
});

test('Body.readline() at EOF returns b"" every time', () => {
  const r = pyJson(`
b = body_of((EOF, b""))
[b.readline().decode(), b.readline().decode(), b.read().decode()]`);
  assert.equal(r, ['', '', '']);
});

test('Body.readlines() returns every line; with a hint it stops once the lines reach the hint (io semantics)', () => {
  const r = pyJson(`
all_ = body_of((BODY, b"a\\nbb\\n"), (BODY, b"ccc\\nd"), (EOF, b"")).readlines()
b = body_of((BODY, b"a\\nbb\\nccc\\n"), (EOF, b""))
hinted = b.readlines(3)
[[l.decode() for l in all_], [l.decode() for l in hinted], b.read().decode()]`);
  assert.equal(r, [['a\n', 'bb\n', 'ccc\n', 'd'], ['a\n', 'bb\n'], 'ccc\n']);
  const exact = pyJson(`[l.decode() for l in body_of((BODY, b"a\\nbb\\n"), (EOF, b"")).readlines(2)]`);
  assert.equal(exact, ['a\n']);
});

test('Body iterates line by line', () => {
  const r = pyJson(`[l.decode() for l in body_of((BODY, b"x\\ny"), (BODY, b"\\nz"), (EOF, b""))]`);
  assert.equal(r, ['x\n', 'y\n', 'z']);
});

test('Body: an Abort frame raises ClientDisconnected (an IOError)', () => {
  const r = pyJson(`
b = body_of((BODY, b"part"), (ABORT, b""))
[b.read(2).decode(), raised(b.read), raised(body_of((ABORT, b"")).readline)["type"]]`);
  assert.is(r[0], 'pa');
  assert.is(r[1].type, 'ClientDisconnected');
  assert.ok(r[1].mro.includes('OSError'), 'ClientDisconnected is an IOError');
  assert.is(r[2], 'ClientDisconnected');
});

test('EmptyBody reads as empty without a channel', () => {
  const r = pyJson(`
e = nbody.EmptyBody()
[e.read().decode(), e.readline().decode(), e.readlines(), list(e), e.finished]`);
  assert.equal(r, ['', '', [], [], true]);
});

// ----------------------------------------------------------------- loader

function importApp(spec: string): { ok?: string; err?: Raised } {
  return pyJson(`{"err": raised(loader.import_app, ${lit(spec)})}`);
}

test("import_app 'mod:app' returns that attribute", () => {
  const r = pyJson(`loader.import_app("unitmod:app").__name__`);
  assert.is(r, 'app');
});

test("import_app 'mod' alone means 'mod:application'", () => {
  assert.is(pyJson(`loader.import_app("unitmod").__name__`), 'application');
});

test("import_app 'mod:missing' → AppImportError \"Failed to find attribute 'missing' in 'mod'.\"", () => {
  const r = importApp('unitmod:missing');
  assert.is(r.err?.type, 'AppImportError');
  assert.is(r.err?.msg, "Failed to find attribute 'missing' in 'unitmod'.");
});

test("import_app of a non-callable → AppImportError 'Application object must be callable.'", () => {
  const r = importApp('unitmod:notcallable');
  assert.is(r.err?.type, 'AppImportError');
  assert.is(r.err?.msg, 'Application object must be callable.');
});

test('import_app of an attribute that is None → AppImportError naming it', () => {
  const r = importApp('unitmod:nothing');
  assert.is(r.err?.type, 'AppImportError');
  assert.is(r.err?.msg, "Failed to find application object: 'nothing'");
});

test("import_app 'mod:factory(1, x=2)' calls the factory with literal arguments", () => {
  assert.equal(pyJson(`list(loader.import_app("unitmod:factory(1, x=2)").args)`), [1, 2]);
  assert.equal(pyJson(`list(loader.import_app("unitmod:factory('s', x=[1, {'k': None}])").args)`), ['s', [1, { k: null }]]);
});

test("import_app 'mod:factory(y)' (not a literal) → 'Failed to parse arguments as literal values: ...'", () => {
  const r = importApp('unitmod:factory(y)');
  assert.is(r.err?.type, 'AppImportError');
  assert.is(r.err?.msg, "Failed to parse arguments as literal values: 'factory(y)'");
});

test("import_app 'mod:a.b' (an attribute path) → 'Failed to parse 'a.b' as an attribute name or function call.'", () => {
  const r = importApp('unitmod:a.b');
  assert.is(r.err?.type, 'AppImportError');
  assert.is(r.err?.msg, "Failed to parse 'a.b' as an attribute name or function call.");
});

test('import_app of invalid syntax → the same parse message', () => {
  const r = importApp('unitmod:app(');
  assert.is(r.err?.type, 'AppImportError');
  assert.is(r.err?.msg, "Failed to parse 'app(' as an attribute name or function call.");
});

test("import_app 'mod:obj.f()' → 'Function reference must be a simple name'", () => {
  const r = importApp('unitmod:obj.f()');
  assert.is(r.err?.type, 'AppImportError');
  assert.is(r.err?.msg, "Function reference must be a simple name: 'obj.f()'");
});

test("a factory called with the wrong arguments → AppImportError with Python's TypeError text", () => {
  const r = importApp('unitmod:factory()');
  assert.is(r.err?.type, 'AppImportError');
  assert.is(r.err?.msg, "TypeError: factory() missing 1 required positional argument: 'a'");
  const r2 = importApp('unitmod:factory(1, 2, 3)');
  assert.is(r2.err?.type, 'AppImportError');
  assert.match(r2.err!.msg, /^TypeError: factory\(\) takes from 1 to 2 positional arguments but 3 were given$/);
});

test('a TypeError raised inside the factory propagates as itself, not as AppImportError', () => {
  const r = importApp('unitmod:inner_typeerror()');
  assert.is(r.err?.type, 'TypeError');
});

test('a missing module is an ImportError, not an AppImportError', () => {
  const r = importApp('no_such_module_xyz:app');
  assert.ok(r.err, 'imported a module that does not exist');
  assert.ok(r.err!.mro.includes('ImportError'), r.err!.type);
  assert.is.not(r.err!.type, 'AppImportError');
});

test("a missing 'file.py' spec suggests 'file:app'", () => {
  const r = pyJson(`
write_app("justfile.py", "app = 1\\n")
_cwd = os.getcwd()
os.chdir(${lit(APPS)})
try:
    _r = raised(loader.import_app, "justfile.py")
finally:
    os.chdir(_cwd)
_r`);
  assert.is(r.type, 'ImportError');
  assert.is(r.msg, "Failed to find application, did you mean 'justfile:application'?");
});

// --------------------------------------------------- native extension hint

test('native_extension_hint names the package and its CPython .so, and says the workers cannot load it', () => {
  const r = pyJson(`
write_app("fastpkg/__init__.py", "from ._speedups import x\\n")
write_app("fastpkg/_speedups.cpython-311-x86_64-linux-gnu.so", b"\\x7fELF not really")
sys.modules.pop("fastpkg", None)
try:
    importlib.import_module("fastpkg")
    _r = {"imported": True}
except ImportError as _e:
    _r = {"type": type(_e).__name__, "name": _e.name, "hint": loader.native_extension_hint(_e)}
_r`);
  assert.not.ok(r.imported, 'the x86 extension imported under Pyodide');
  assert.ok(r.hint, `no hint for ${r.type} (name=${r.name})`);
  assert.match(r.hint, "'fastpkg'");
  assert.match(r.hint, `${APPS}/fastpkg/_speedups.cpython-311-x86_64-linux-gnu.so`);
  assert.match(r.hint, /is built for the host.s CPython \(native code\), and nicorn-py.s workers run CPython 3\.\d+ as WebAssembly/);
});

test('native_extension_hint finds the .so when the app module imports the package (as at worker boot)', () => {
  const r = pyJson(`
write_app("fastpkg/__init__.py", "from ._speedups import x\\n")
write_app("fastpkg/_speedups.cpython-311-x86_64-linux-gnu.so", b"\\x7fELF not really")
write_app("fastapp.py", "import fastpkg\\napp = None\\n")
sys.modules.pop("fastpkg", None)
sys.modules.pop("fastapp", None)
try:
    loader.import_app("fastapp:app")
    _r = {"imported": True}
except ImportError as _e:
    _r = {"hint": loader.native_extension_hint(_e)}
_r`);
  assert.not.ok(r.imported);
  assert.ok(r.hint, 'no hint');
  assert.match(r.hint, /_speedups\.cpython-311-x86_64-linux-gnu\.so/);
});

test('native_extension_hint: an ordinary missing module → None', () => {
  const r = pyJson(`
try:
    importlib.import_module("no_such_module_xyz")
except ImportError as _e:
    _r = loader.native_extension_hint(_e)
_r`);
  assert.is(r, null);
});

test('native_extension_hint finds a top-level CPython extension module on sys.path', () => {
  const r = pyJson(`
write_app("_fastc.cpython-312-x86_64-linux-gnu.so", b"junk")
try:
    importlib.import_module("_fastc")
    _r = {"imported": True}
except ImportError as _e:
    _r = {"hint": loader.native_extension_hint(_e)}
_r`);
  assert.not.ok(r.imported);
  assert.ok(r.hint, 'no hint');
  assert.match(r.hint, "'_fastc'");
  assert.match(r.hint, `${APPS}/_fastc.cpython-312-x86_64-linux-gnu.so`);
});

test('native_extension_hint ignores WebAssembly builds (…wasm32-emscripten.so) and non-import errors', () => {
  const r = pyJson(`
write_app("_wasmonly.cpython-313-wasm32-emscripten.so", b"junk")
try:
    importlib.import_module("_wasmonly")
except ImportError as _e:
    _h = loader.native_extension_hint(_e)
[_h, loader.native_extension_hint(ValueError("x")), loader.native_extension_hint(None)]`);
  assert.equal(r, [null, null, null]);
});

test.run();
