"""start_response, write() and the response body, as PEP 3333 and Gunicorn define them.

Everything the app hands over is validated here, before a byte reaches the
I/O thread: a bad status or header is an app error (500), never an injected
header on the wire. Headers leave with the first non-empty body chunk.
"""

import html
import logging
import os
import re

from .channel import OUT_BODY, OUT_CLOSE, OUT_END, OUT_HINTS, OUT_START

TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 5.5 field-value, as Gunicorn's HEADER_VALUE_RE (wsgi.early_hints checks with it).
HEADER_VALUE_RE = re.compile(r"[ \t\x21-\x7e\x80-\xff]*")
# A reason phrase may be missing ("200"): Gunicorn 26 sends such a status as it is.
STATUS_RE = re.compile(r"[1-9][0-9][0-9](?: [^\x00-\x08\x0a-\x1f\x7f\u0100-\U0010ffff]*)?")
# Control characters (CR, LF and NUL among them) and anything beyond latin-1.
BAD_VALUE_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")
# The headers Gunicorn 26's Response.process_headers drops (util.hop_headers:
# the hop-by-hop ones, and Server and Date, which it writes itself), plus
# "trailer", RFC 9110's spelling, which node:http refuses on a response that is
# not chunked. "Upgrade: websocket" passes, as in Gunicorn.
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade", "server", "date",
))
# What _validate_header answers for a header that is dropped.
_DROPPED = (None, None, None)


def _drop(name):
    """Gunicorn 26 drops hop-by-hop headers without a word (--check-wsgi reports
    them as headers.hop-by-hop); the debug log says so."""
    logging.getLogger("gunicorn.error").debug("Dropping the response header %r the app set (hop-by-hop)", name)
    return _DROPPED


class AppError(Exception):
    """The app broke the WSGI contract; reported like any app exception."""


class InvalidHeaderName(Exception):
    """Gunicorn's gunicorn.http.errors.InvalidHeaderName, raised to the app by wsgi.early_hints."""


class InvalidHeader(Exception):
    """Gunicorn's gunicorn.http.errors.InvalidHeader, raised to the app by wsgi.early_hints."""


def _no_body(method, code):
    """RFC 9110: HEAD, 1xx, 204 and 304 responses have no content (Gunicorn's _response_omits_body)."""
    return method == "HEAD" or code in (204, 304) or 100 <= code < 200


def validate_status(status):
    if not isinstance(status, str):
        raise AppError("status must be a str, not %s: %r" % (type(status).__name__, status))
    if not STATUS_RE.fullmatch(status):
        raise AppError("invalid status %r: expected '<3-digit code> <reason>'" % status)
    return status


# Header pairs already found valid, as (name, value) -> (name, stripped value,
# content length or None): apps send the same pairs over and over, and the
# checks below cost about 2 us a header in WebAssembly. Only exact str pairs
# are remembered (a str subclass could compare equal and differ), and only so many.
_VALID = {}
_VALID_MAX = 1024


def _validate_header(item):
    # Gunicorn unpacks each item (`for name, value in headers`): any pair will do.
    try:
        name, value = item
    except (TypeError, ValueError):
        raise AppError("response header must be a (name, value) pair: %r" % (item,)) from None
    if not isinstance(name, str) or not TOKEN_RE.fullmatch(name):
        raise AppError("invalid header name %r" % (name,))
    if not isinstance(value, str):
        raise AppError("header %s: value must be a str, not %s" % (name, type(value).__name__))
    if BAD_VALUE_RE.search(value):
        raise AppError("header %s: invalid character in value %r" % (name, value))
    lname = name.lower()
    value = value.strip(" \t")
    if lname in HOP_BY_HOP and not (lname == "upgrade" and value.lower() == "websocket"):
        # Not remembered in _VALID: each request's drop goes through _drop().
        return _drop(name)
    length = None
    if lname == "content-length":
        if not value.isdigit() or not value.isascii():
            raise AppError("invalid Content-Length %r" % value)
        length = int(value)
    valid = (name, value, length)
    if type(item) is tuple and type(name) is str and type(value) is str:
        if len(_VALID) >= _VALID_MAX:
            _VALID.clear()
        _VALID[item] = valid
    return valid


def validate_headers(headers):
    """Returns (flat [name, value, ...], content length or None)."""
    # PEP 3333 asks for a list; Gunicorn iterates whatever it is given, and so do we
    # (--check-wsgi reports anything but a list of tuples). A list is checked first:
    # the usual case costs one type() test, as before.
    if type(headers) is not list and (isinstance(headers, (str, bytes)) or not hasattr(headers, "__iter__")):
        raise AppError("response headers must be a list, not %s" % type(headers).__name__)
    flat = []
    length = None
    known = _VALID.get
    for item in headers:
        # Types first: only a pair of exact str is hashed (a list inside would raise).
        # A remembered pair is never a dropped one: only _validate_header's answer is tested.
        if type(item) is tuple and len(item) == 2 and type(item[0]) is str and type(item[1]) is str:
            valid = known(item)
            if valid is None:
                valid = _validate_header(item)
                if valid is _DROPPED:
                    continue
        else:
            valid = _validate_header(item)
            if valid is _DROPPED:
                continue
        name, value, n = valid
        if n is not None:
            length = n
        flat.append(name)
        flat.append(value)
    return flat, length


class Response:
    def __init__(self, channel, method, version="1.1"):
        self._ch = channel
        self._method = method
        self._http10 = version == "1.0"
        # A response without content (HEAD, 1xx, 204, 304): its body bytes still go to
        # the I/O thread, which drops them and warns once (src/worker/front-door/response-rules.ts).
        self._no_body = False
        self.status = None
        self.flat_headers = None
        self.length = None
        self.headers_sent = False
        self._flushes_at_start = 0
        self.sent = 0
        self.close_after = False

    @property
    def status_code(self):
        return int(self.status[:3]) if self.status else None

    @property
    def headers(self):
        """(name, value) pairs, as Gunicorn's Response.headers for post_request hooks."""
        flat = self.flat_headers or []
        return list(zip(flat[0::2], flat[1::2]))

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.headers_on_wire():
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AppError("start_response() called a second time without exc_info")
        if self.headers_sent:
            # exc_info replaced the headers before any left: forget the framed ones.
            self._ch.discard()
            self.headers_sent = False
            self.sent = 0
        self.status = validate_status(status)
        self.flat_headers, self.length = validate_headers(headers)
        self._no_body = _no_body(self._method, int(self.status[:3]))
        return self.write

    def early_hints(self, headers):
        """wsgi.early_hints (Gunicorn 26.1): a 103 Early Hints response now, before
        the final one. Each (name, value) is checked as Gunicorn checks it; nothing
        is sent to an HTTP/1.0 client or once the final response's headers left."""
        if self.headers_sent or self._http10:
            return
        fields = []
        for name, value in headers:
            if isinstance(name, bytes):
                name = name.decode("latin-1")
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if not isinstance(name, str) or not TOKEN_RE.fullmatch(name):
                raise InvalidHeaderName("%r" % (name,))
            if not isinstance(value, str) or not HEADER_VALUE_RE.fullmatch(value):
                # Only the name: the value may hold what should not travel with an exception.
                raise InvalidHeader("%r" % (name,))
            fields.append(name)
            fields.append(value.strip(" \t"))
        self._ch.frame(OUT_HINTS, "\0".join(fields).encode("latin-1"))
        # Sent now: the client preloads while the app works on the final response.
        self._ch.flush()

    def write(self, data):
        """The write() callable: unbuffered, as PEP 3333 asks."""
        self.send(data)
        self._ch.flush()

    def send(self, data):
        if self.status is None:
            raise AppError("response body sent before start_response()")
        if not isinstance(data, bytes):
            raise AppError("response body items must be bytes, not %s" % type(data).__name__)
        if not data:
            return
        if self.length is not None:
            room = self.length - self.sent
            if len(data) > room:
                # Never more than declared: the rest is dropped, as Gunicorn does.
                data = data[:room]
                if not data:
                    return
        if not self.headers_sent:
            self._start()
        self.sent += len(data)
        self._ch.frame(OUT_BODY, data)

    def send_file(self, path, offset, count):
        """Streams a host file from the I/O thread: Python never copies it."""
        if self.length is not None:
            count = min(count, self.length - self.sent)
        if count <= 0:
            return
        if not self.headers_sent:
            self._start()
        self.sent += count
        self._ch.file_frame(path, offset, count)

    def _start(self):
        flags = "c" if self.close_after else ""
        fields = [flags, self.status] + self.flat_headers
        self._ch.frame(OUT_START, "\0".join(fields).encode("latin-1"))
        self.headers_sent = True
        self._flushes_at_start = self._ch.flushes

    def headers_on_wire(self):
        """Whether the status line already left; until then an error can still be a 500."""
        return self.headers_sent and self._ch.flushes > self._flushes_at_start

    def finish(self, trailer=b""):
        """Ends the response; fewer bytes than Content-Length means a broken one.
        `trailer` rides on the end frame (environ values for the access log)."""
        if self.status is None:
            raise AppError("the app returned without calling start_response()")
        if not self.headers_sent:
            self._start()
        short = self.length is not None and self.sent < self.length and not self._no_body
        self._ch.end_frame(OUT_CLOSE if short else OUT_END, trailer)


def send_error(channel, status_int, reason, mesg="", trailer=b""):
    """Gunicorn's util.write_error: a small HTML page, then close the connection."""
    body = (
        "<html>\n  <head>\n    <title>%(reason)s</title>\n  </head>\n"
        "  <body>\n    <h1><p>%(reason)s</p></h1>\n    %(mesg)s\n  </body>\n</html>\n"
    ) % {"reason": reason, "mesg": html.escape(mesg)}
    data = body.encode("latin-1")
    # "e": Gunicorn's error page, written as util.write_error writes it (HTTP/1.1, no Server or Date).
    fields = ["ce", "%d %s" % (status_int, reason), "Content-Type", "text/html",
              "Content-Length", str(len(data))]
    channel.discard()
    channel.frame(OUT_START, "\0".join(fields).encode("latin-1"))
    channel.frame(OUT_BODY, data)
    channel.end_frame(OUT_END, trailer)


class FileWrapper:
    """wsgi.file_wrapper: host files are streamed by the I/O thread; others iterate."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __getitem__(self, key):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise IndexError

    def __iter__(self):
        while True:
            data = self.filelike.read(self.blksize)
            if not data:
                return
            yield data


def host_file_span(wrapper, host_roots):
    """(path, offset, count) when the wrapped file is a host file, else None."""
    f = wrapper.filelike
    name = getattr(f, "name", None)
    if not isinstance(name, str) or "b" not in getattr(f, "mode", "b"):
        return None
    try:
        path = os.path.realpath(name)
        if not any(path.startswith(root) for root in host_roots):
            return None
        offset = f.tell()
        size = os.fstat(f.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return None
    return path, offset, max(size - offset, 0)
