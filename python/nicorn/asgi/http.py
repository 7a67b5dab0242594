"""One HTTP exchange of the asgi worker: its scope, receive() and send(), as
the ASGI 3.0 HTTP spec (2.4) defines them, over the channel's frames."""

import asyncio
import http
from collections import deque
from urllib.parse import unquote

from ..channel import IN_ABORT, IN_BODY, IN_EOF, IN_GONE, IN_SENT, OUT_BODY, OUT_CLOSE, OUT_END, OUT_READ, OUT_START
from ..response import AppError, Response
from .loop import BODY_WINDOW, RESPONSE_WINDOW

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
_DISCONNECT = {"type": "http.disconnect"}


def split_target(target):
    """(raw path, query) of a request target (origin or absolute form), latin-1 text as received."""
    if not target.startswith("/") and "://" in target:
        rest = target.partition("://")[2]
        slash = rest.find("/")
        target = rest[slash:] if slash >= 0 else "/"
    path, _, query = target.partition("?")
    return path.partition("#")[0], query.partition("#")[0]


def header_pairs(head):
    """The request headers as ASGI gives them: lower-cased names, values as received, bytes."""
    pairs = head.headers
    return [(pairs[i].lower().encode("latin-1"), pairs[i + 1].encode("latin-1")) for i in range(0, len(pairs) - 1, 2)]


def addresses(head):
    """(client, server) for the scope: (host, port) pairs, None where unknown (a unix socket's server)."""
    client = (head.remote_addr, int(head.remote_port or 0)) if head.remote_addr else None
    server = (head.server_name, int(head.server_port)) if head.server_name and head.server_port.isdigit() else None
    return client, server


def http_scope(head, root_path, state):
    raw_path, query = split_target(head.target)
    client, server = addresses(head)
    scope = {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": head.version,
        "method": head.method,
        "scheme": head.scheme,
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": root_path,
        "headers": header_pairs(head),
        "client": client,
        "server": server,
    }
    if state is not None:
        # A shallow copy of the lifespan's state, as the spec asks: a request's own keys stay its own.
        scope["state"] = dict(state)
    return scope


def _reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _text(value, what):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    raise AppError("%s must be bytes, not %s" % (what, type(value).__name__))


class FrameWaiter:
    """What an exchange's coroutine (receive, or send out of window) waits on:
    the next frame of its exchange, which the loop's selector hands over (wake)."""

    waiter = None

    def _wake(self):
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def _wait(self):
        self.waiter = self.worker.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None


class HttpExchange(FrameWaiter):
    """One request in the loop. Frames for it arrive through on_frame()
    (called by the worker from the loop's wait); the app's task calls receive() and send()."""

    def __init__(self, worker, ex_id, head):
        self.worker = worker
        self.id = ex_id
        self.head = head
        self.chunks = deque()
        self.body_done = not head.has_body
        # The last http.request (more_body False) was given to the app.
        self.body_given = False
        # Body bytes received since the last Read credit went back.
        self.got = 0
        self.disconnected = False
        self.unacked = 0
        self.waiter = None
        self.response = Response(worker.channel, head.method, head.version)
        self.started = False
        self.ended = False
        self.task = None

    # ------------------------------------------------------------ frames in
    def on_frame(self, kind, payload):
        if kind == IN_BODY:
            self.chunks.append(payload)
            self.got += len(payload)
        elif kind == IN_EOF:
            self.body_done = True
        elif kind == IN_SENT:
            self.unacked -= int.from_bytes(payload[:4], "little")
        elif kind in (IN_GONE, IN_ABORT):
            if not self.disconnected:
                self.disconnected = True
                self.worker.disconnected(self)
        self._wake()

    # ------------------------------------------------------------ receive
    async def receive(self):
        while True:
            if self.disconnected:
                return _DISCONNECT
            if not self.body_given and (self.chunks or self.body_done):
                chunks = self.chunks
                body = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                more = not self.body_done
                if more and self.got >= BODY_WINDOW:
                    # The I/O thread stopped forwarding at the window: the app took it all, send more.
                    self.got = 0
                    self.worker.channel.send_frame(self.id, OUT_READ)
                if not more:
                    self.body_given = True
                return {"type": "http.request", "body": body, "more_body": more}
            if self.body_given and self.ended:
                # The response is complete: nothing more will come from this request.
                return _DISCONNECT
            await self._wait()

    # ------------------------------------------------------------ send
    async def send(self, message):
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise AppError("http.response.start sent twice")
            status = message["status"]
            if not isinstance(status, int) or not 100 <= status <= 999:
                raise AppError("invalid status %r" % (status,))
            headers = [(_text(n, "header name"), _text(v, "header value")) for n, v in message.get("headers", ())]
            self.response.start_response("%d %s" % (status, _reason(status)), headers)
            self.started = True
            return
        if kind == "http.response.body":
            if not self.started:
                raise AppError("http.response.body sent before http.response.start")
            if self.ended:
                raise AppError("http.response.body sent after the response ended")
            if self.disconnected:
                # The client is gone: what it would have got goes nowhere (as uvicorn does).
                return
            body = message.get("body", b"")
            if not isinstance(body, bytes):
                body = bytes(body)
            ch = self.worker.channel
            ch.exchange = self.id
            before = self.response.sent
            self.response.send(body)
            self.unacked += self.response.sent - before
            if not message.get("more_body", False):
                self.end()
                return
            while self.unacked > RESPONSE_WINDOW and not self.disconnected:
                # Its client reads slowly: this request waits, the others go on.
                ch.flush()
                await self._wait()
            return
        if kind == "http.response.trailers":
            return
        raise AppError("unexpected ASGI message type %r for an http scope" % (kind,))

    # ------------------------------------------------------------ ending
    def end(self):
        """The app's response is complete."""
        self.worker.channel.exchange = self.id
        self.response.finish()
        self.ended = True
        self._wake()

    def close(self):
        """The response cannot be completed: the connection ends after what was sent."""
        self.worker.channel.send_frame(self.id, OUT_CLOSE)
        self.ended = True
        self._wake()

    def error_page(self):
        """Gunicorn's 500 page (util.write_error), when nothing of a response was sent."""
        body = (
            "<html>\n  <head>\n    <title>Internal Server Error</title>\n  </head>\n"
            "  <body>\n    <h1><p>Internal Server Error</p></h1>\n    \n  </body>\n</html>\n"
        ).encode("latin-1")
        ch = self.worker.channel
        fields = ["ce", "500 Internal Server Error", "Content-Type", "text/html", "Content-Length", str(len(body))]
        ch.send_frame(self.id, OUT_START, "\0".join(fields).encode("latin-1"))
        ch.send_frame(self.id, OUT_BODY, body)
        ch.send_frame(self.id, OUT_END)
        self.ended = True
        self._wake()

    def fail(self):
        """The app raised or returned without a complete response."""
        if self.ended:
            return
        if self.response.headers_sent:
            self.close()
        else:
            self.error_page()
