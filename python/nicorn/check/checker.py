"""The checks themselves: a WSGI middleware around the app, as wsgiref.validate
is, that records what it sees and changes nothing the client gets. The server
underneath still answers as it does without the mode (a bad status is still a
500); the checker only watches and tells.

Where a violation happened is the first frame outside nicorn: the app's (or
its framework's) line that called start_response, read wsgi.input or yielded
the chunk.
"""

import os
import re
import sys

from ..response import BAD_VALUE_RE, STATUS_RE, TOKEN_RE

# Server facts an app has no business changing (it may wrap wsgi.input and
# wsgi.errors: middleware does; PEP 3333 lets it modify the rest of environ).
SERVER_KEYS = ("wsgi.version", "wsgi.url_scheme", "wsgi.multithread", "wsgi.multiprocess",
               "wsgi.run_once", "wsgi.input_terminated", "wsgi.file_wrapper")
HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "trailers", "transfer-encoding", "upgrade"))
# RFC 3986 URI-reference characters; '%' must start a percent-encoding.
URI_REF_RE = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_MISSING = object()
_OURS = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _where(depth=2):
    """file:line of the nearest caller outside nicorn."""
    frame = sys._getframe(depth)
    while frame is not None and frame.f_code.co_filename.startswith(_OURS):
        frame = frame.f_back
    if frame is None:
        return "?"
    return "%s:%d" % (frame.f_code.co_filename, frame.f_lineno)


def _code_where(obj):
    """file:line of a generator's current line, or of a callable's definition."""
    frame = getattr(obj, "gi_frame", None)
    if frame is not None:
        return "%s:%d" % (frame.f_code.co_filename, frame.f_lineno)
    code = getattr(obj, "gi_code", None) or getattr(obj, "__code__", None)
    if code is None:
        code = getattr(getattr(obj, "__call__", None), "__code__", None)
    return "%s:%d" % (code.co_filename, code.co_firstlineno) if code else "?"


def checked_app(app, recorder):
    def check_wsgi(environ, start_response):
        return _Exchange(app, recorder, environ, start_response).call()
    return check_wsgi


class _Exchange:
    """One request's checks."""

    def __init__(self, app, recorder, environ, start_response):
        self.app = app
        self.rec = recorder
        self.environ = environ
        self.real_start = start_response
        self.route = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING")
        self.request = "%s %s%s" % (environ.get("REQUEST_METHOD"), environ.get("SCRIPT_NAME", "") + self.route,
                                    "?" + query if query else "")
        self.method = environ.get("REQUEST_METHOD")
        self.started = False
        self.code = None
        self.length = None
        self.has_type = False
        self.sent = 0
        self.reraised = False
        self.where_started = "?"
        self.once = set()

    def hit(self, rule, where, detail, once=True):
        if once:
            if rule in self.once:
                return
            self.once.add(rule)
        self.rec.hit(rule, self.route, self.request, where, detail)

    # -- the call ----------------------------------------------------------
    def call(self):
        try:
            return self._call()
        except BaseException:
            # No close() will come: what this request showed is written now.
            self.rec.flush()
            raise

    def _call(self):
        env = self.environ
        env["wsgi.input"] = _Input(env["wsgi.input"], self)
        env["wsgi.errors"] = _Errors(env["wsgi.errors"], self)
        real_wrapper = env.get("wsgi.file_wrapper")
        if real_wrapper is not None:
            env["wsgi.file_wrapper"] = self._file_wrapper(real_wrapper)
        before = {k: env.get(k, _MISSING) for k in SERVER_KEYS}
        try:
            result = self.app(env, self.start_response)
        finally:
            self._environ_changed(before)
        if self.reraised:
            self.hit("start_response.exc-info-trapped", self.app_where(),
                     "the app returned normally after start_response re-raised its exc_info")
        if result is None or result is False:
            self.hit("iterable.none", self.app_where(), "the app returned %r" % (result,))
        elif isinstance(result, (str, bytes)):
            self.hit("iterable.str-or-bytes", self.app_where(),
                     "the app returned a %s of length %d" % (type(result).__name__, len(result)))
        return _Body(result, self)

    def app_where(self):
        """Where the app is, for what is seen only once it returned: the line that
        called start_response (in the function that returned), else the app itself."""
        return self.where_started if self.started else _code_where(self.app)

    def _environ_changed(self, before):
        env = self.environ
        for key, value in before.items():
            now = env.get(key, _MISSING)
            if now is not value:
                what = "removed" if now is _MISSING else "set to %r" % (now,)
                self.hit("environ.server-key-changed", self.app_where(), "environ[%r] %s" % (key, what))

    def _file_wrapper(self, real):
        def file_wrapper(filelike, *args, **kw):
            if not callable(getattr(filelike, "read", None)):
                self.hit("file_wrapper.not-file", _where(), "wsgi.file_wrapper(%s): no read()" % type(filelike).__name__)
            return real(filelike, *args, **kw)
        return file_wrapper

    # -- start_response ----------------------------------------------------
    def start_response(self, *args, **kw):
        where = _where()
        if kw or len(args) not in (2, 3):
            self.hit("start_response.args", where,
                     "called with %d positional and keyword arguments %s" % (len(args), sorted(kw)))
            names = ("status", "headers", "exc_info")
            values = dict(zip(names, args))
            values.update(kw)
            status, headers, exc_info = values.get("status"), values.get("headers"), values.get("exc_info")
        else:
            status, headers = args[0], args[1]
            exc_info = args[2] if len(args) == 3 else None
        if exc_info is not None and not (type(exc_info) is tuple and len(exc_info) == 3):
            self.hit("start_response.exc-info-type", where, "exc_info is %s" % type(exc_info).__name__)
        if self.started and not exc_info:
            self.hit("start_response.twice", where, "start_response(%r, ...) after %s" % (status, self.where_started))
        self._check_status(status, where)
        self._check_headers(headers, where)
        self.started = True
        self.where_started = where
        self.sent = 0
        try:
            if exc_info:
                self._real_write = self.real_start(status, headers, exc_info)
            else:
                self._real_write = self.real_start(status, headers)
        except BaseException:
            if exc_info:
                self.reraised = True
            raise
        return self.write

    def _check_status(self, status, where):
        if not isinstance(status, str):
            self.hit("status.not-str", where, "status is %s: %r" % (type(status).__name__, status))
            self.code = None
            return
        if not STATUS_RE.fullmatch(status) or len(status) < 5:
            self.hit("status.format", where, "status %r" % status)
        head = status[:3]
        self.code = int(head) if head.isdigit() else None

    def _check_headers(self, headers, where):
        self.length = None
        self.has_type = False
        if type(headers) is not list:
            self.hit("headers.not-list-of-tuples", where, "response_headers is a %s" % type(headers).__name__)
        try:
            items = list(headers)
        except TypeError:
            return
        seen = {}
        for item in items:
            if type(item) is not tuple or len(item) != 2 or type(item[0]) is not str or type(item[1]) is not str:
                self.hit("headers.not-list-of-tuples", where, "header item %r" % (item,))
                try:
                    name, value = item
                except (TypeError, ValueError):
                    continue
                if not isinstance(name, str) or not isinstance(value, str):
                    continue
            else:
                name, value = item
            lname = name.lower()
            if not TOKEN_RE.fullmatch(name) or lname == "status":
                self.hit("headers.bad-name", where, "header name %r" % name)
            if BAD_VALUE_RE.search(value):
                self.hit("headers.bad-value", where, "header %s: %r" % (name, value))
            if lname in HOP_BY_HOP:
                self.hit("headers.hop-by-hop", where, "header %s: %s" % (name, value))
            seen[lname] = seen.get(lname, 0) + 1
            if lname == "content-length":
                v = value.strip(" \t")
                if v.isdigit() and v.isascii():
                    self.length = int(v)
                else:
                    self.hit("headers.content-length-invalid", where, "Content-Length: %r" % value)
            elif lname == "content-type":
                self.has_type = True
            elif lname == "location":
                v = value.strip(" \t")
                if not v or not URI_REF_RE.fullmatch(v):
                    self.hit("headers.location-invalid", where, "Location: %r" % value)
        for lname in ("content-length", "content-type"):
            if seen.get(lname, 0) > 1:
                self.hit("headers.duplicate", where, "%s given %d times" % (lname, seen[lname]))
        code = self.code
        if code is not None:
            if "content-length" in seen and (100 <= code < 200 or code == 204):
                self.hit("headers.content-length-forbidden", where, "Content-Length on a %d response" % code)
            if self.has_type and code in (204, 304):
                self.hit("headers.content-type-without-content", where, "Content-Type on a %d response" % code)

    # -- the body ----------------------------------------------------------
    def write(self, data):
        where = _where()
        if type(data) is not bytes:
            self.hit("write.not-bytes", where, "write(%s)" % type(data).__name__)
        else:
            self.body(data, where)
        return self._real_write(data)

    def body(self, data, where):
        if not data:
            return
        if not self.started:
            self.hit("start_response.missing", where, "body bytes before start_response")
        self.sent += len(data)
        code = self.code
        if self.method == "HEAD":
            self.hit("response.body-on-head", where, "%d body bytes for HEAD" % len(data))
        elif code is not None and (100 <= code < 200 or code in (204, 304)):
            self.hit("response.body-on-no-content", where, "%d body bytes on a %d response" % (len(data), code))

    def finish(self, where):
        if not self.started:
            self.hit("start_response.missing", where, "the app ended without calling start_response")
            return
        code = self.code
        no_content = self.method == "HEAD" or code is None or 100 <= code < 200 or code in (204, 304)
        if self.sent and not self.has_type and not no_content:
            self.hit("headers.content-type-missing", self.where_started, "%d body bytes, no Content-Type" % self.sent)
        if self.length is not None and self.sent != self.length and not no_content:
            self.hit("response.content-length-mismatch", self.where_started,
                     "Content-Length %d, body %d bytes" % (self.length, self.sent))


class _Body:
    """The app's iterable, checked item by item; close() ends the checks."""

    def __init__(self, result, ex):
        self._result = result
        self._ex = ex
        self._done = False

    def __iter__(self):
        ex = self._ex
        it = iter(self._result)
        gen = hasattr(it, "gi_frame")
        while True:
            try:
                item = next(it)
            except StopIteration:
                self._done = True
                return
            where = _code_where(it) if gen else ex.app_where()
            if type(item) is not bytes:
                ex.hit("body.not-bytes", where, "the iterable yielded %s" % type(item).__name__)
            else:
                ex.body(item, where)
            yield item

    def close(self):
        ex = self._ex
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as e:
                    ex.hit("iterable.close-raised", _code_where(close), "%s: %s" % (type(e).__name__, e))
                    raise
        finally:
            if self._done:
                ex.finish(ex.app_where())
            ex.rec.flush()


class _Input:
    """wsgi.input, checked: reads past CONTENT_LENGTH, readline()'s arguments, close()."""

    def __init__(self, stream, ex):
        self._stream = stream
        self._ex = ex
        try:
            self._left = int(ex.environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            self._left = None

    def _asked(self, size, name):
        if self._left is None or size is None or not isinstance(size, int) or size < 0:
            return
        # wsgi.input_terminated (set by nicorn-py, as by Gunicorn) promises EOF at
        # the body's end: reading to it is fine (werkzeug does). Without it, such
        # a read waits for bytes that never come.
        if self._ex.environ.get("wsgi.input_terminated"):
            return
        if size > self._left:
            self._ex.hit("input.read-past-length", _where(3),
                         "%s(%d) with %d of CONTENT_LENGTH left" % (name, size, self._left))

    def _took(self, data):
        if self._left is not None and isinstance(data, bytes):
            self._left = max(self._left - len(data), 0)
        return data

    def read(self, *args):
        self._asked(args[0] if args else None, "read")
        return self._took(self._stream.read(*args))

    def readline(self, *args):
        if len(args) > 1 or (args and args[0] is not None and not isinstance(args[0], int)):
            self._ex.hit("input.readline-args", _where(), "readline%r" % (args,))
        else:
            self._asked(args[0] if args else None, "readline")
        return self._took(self._stream.readline(*args))

    def readlines(self, *args):
        if len(args) > 1 or (args and args[0] is not None and not isinstance(args[0], int)):
            self._ex.hit("input.readline-args", _where(), "readlines%r" % (args,))
        lines = self._stream.readlines(*args)
        for line in lines:
            self._took(line)
        return lines

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def close(self):
        self._ex.hit("input.close", _where(), "wsgi.input.close() called")
        # What the app gets without the mode (Gunicorn's Body has no close() either).
        return self._stream.close()

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _Errors:
    """wsgi.errors, checked: str only, and no close()."""

    def __init__(self, stream, ex):
        self._stream = stream
        self._ex = ex

    def write(self, s):
        if type(s) is not str:
            self._ex.hit("errors.not-str", _where(), "wsgi.errors.write(%s)" % type(s).__name__)
        return self._stream.write(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        return self._stream.flush()

    def close(self):
        self._ex.hit("errors.close", _where(), "wsgi.errors.close() called")
        return self._stream.close()
