"""Frames to and from the I/O thread.

The JavaScript side (src/bridge/python-thread.ts) copies frames between the
shared rings and two buffers that live in this interpreter's memory: the
inbox and the outbox. Python crosses into JavaScript once per recv() and once
per flush(), passing only integers; no per-header or per-chunk proxies are
created. A request's end frame waits in the outbox for the next recv(), which
hands it over and receives the next head in the same crossing: one crossing
per request when the app neither streams nor reads a body.
Frame numbers mirror src/bridge/protocol.ts, and so does the padding: every
frame takes a multiple of 8 bytes (the outbox pads its frames; send() pads
what it copies), so payloads sit 8-aligned in the rings. A frame header is
(type | exchange id << 8, length): every frame of a request carries the id
its head came with, both ways (test/unit/python.test.ts compares these
numbers with protocol.ts in Pyodide).
"""

import ctypes
import struct

IN_HEAD, IN_BODY, IN_EOF, IN_ABORT, IN_STOP, IN_GONE, IN_SENT = 1, 2, 3, 4, 5, 6, 7
IN_WS_HEAD, IN_WS_DATA, IN_WS_CLOSED = 8, 9, 10
OUT_START, OUT_BODY, OUT_FILE, OUT_END, OUT_CLOSE, OUT_HINTS, OUT_READ = 1, 2, 3, 4, 5, 6, 7
OUT_WS_ACCEPT, OUT_WS_DATA, OUT_WS_CLOSE = 8, 9, 10

_HEADER = struct.Struct("<II")
FRAME_HEADER = _HEADER.size
# recv() returns ((exchange << 21) + length) << 4 | type (src/bridge/python-thread.ts).
RECV_LENGTH_BITS = 21

# The head record's fields before the header pairs, in order (HEAD_FIELDS in protocol.ts).
HEAD_FIELDS = (
    "method", "target", "version", "has_body", "scheme",
    "remote_addr", "remote_port", "server_name", "server_port", "proxy",
)
_HEAD_N = len(HEAD_FIELDS)


class RequestHead:
    """One request head as the I/O thread sends it (encodeHead in protocol.ts),
    parsed once into named fields: all str (latin-1, as received) but has_body
    (bool); `headers` holds names and values alternating, in arrival order.
    server_name and server_port are empty on a unix socket; proxy is
    "PROTOCOL PROXY_ADDR PROXY_PORT" from a PROXY protocol header, else empty."""

    __slots__ = HEAD_FIELDS + ("headers",)

    def __init__(self, fields):
        (self.method, self.target, self.version, has_body, self.scheme,
         self.remote_addr, self.remote_port, self.server_name, self.server_port,
         self.proxy) = fields[:_HEAD_N]
        self.has_body = has_body == "1"
        self.headers = fields[_HEAD_N:]

    @classmethod
    def decode(cls, payload):
        return cls(payload.decode("latin-1").split("\0"))

    def request_line(self):
        return "%s %s HTTP/%s" % (self.method, self.target, self.version)

_FILE = struct.Struct("<Qq")
_OUTBOX_SIZE = 1 << 16


class WorkerAbort(BaseException):
    """SIGABRT (Gunicorn's timeout signal) reached the worker."""


def interrupted(signum):
    """The exception Gunicorn's worker raises for INT/QUIT (and ABRT)."""
    return WorkerAbort() if signum == 6 else KeyboardInterrupt()


class ClientGone(Exception):
    """The client closed the connection; the response can be abandoned."""


def _address_of(buf):
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


def _address_of_bytes(data):
    # c_char_p points at the bytes object's own storage: no copy.
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value


class Channel:
    def __init__(self, io, inbox_size):
        self._recv = io.recv
        self._send = io.send
        self._exchange = io.exchange
        self.arm_interrupts = io.armInterrupts
        self._inbox = bytearray(inbox_size)
        self._inview = memoryview(self._inbox)
        io.setInbox(_address_of(self._inbox), inbox_size)
        self._outbox = bytearray(_OUTBOX_SIZE)
        self._outaddr = _address_of(self._outbox)
        self._outlen = 0
        # An end frame is queued: the next recv() hands it over.
        self._ended = False
        # Counts hand-overs, so a Response can tell whether its headers left.
        self.flushes = 0
        # The exchange id of the last head received: the request being served.
        self.exchange = 0

    def recv(self):
        """Blocks for the next frame; returns (type, payload length). A head
        makes its exchange the one later frames are sent for."""
        if self._ended:
            r = self._exchange(self._outaddr, self._take_outbox())
        else:
            r = self._recv()
        if r < 0:
            # The I/O thread raised our interrupt flag (-signal) while we were waiting.
            raise interrupted(-r)
        kind = r & 15
        rest = r >> 4
        if kind == IN_HEAD:
            self.exchange = rest >> RECV_LENGTH_BITS
        return kind, rest & ((1 << RECV_LENGTH_BITS) - 1)

    def head(self, n):
        """The head just received (its payload is `n` bytes)."""
        return RequestHead.decode(self._inview[:n].tobytes())

    def payload(self, n):
        return bytes(self._inview[:n])

    def frame(self, kind, data=b""):
        """Queues one frame; large payloads are sent straight from `data`."""
        n = len(data)
        end = self._outlen + 8 + n
        if end > _OUTBOX_SIZE:
            self.flush()
            end = 8 + n
            if end > _OUTBOX_SIZE:
                # Header and payload go together even if the client left meanwhile,
                # or the frame stream would lose its alignment.
                _HEADER.pack_into(self._outbox, 0, kind | self.exchange << 8, n)
                self.flushes += 1
                gone = self._send(self._outaddr, 8)
                gone = self._send(_address_of_bytes(bytes(data)), n) or gone
                if gone:
                    raise ClientGone()
                return
        start = self._outlen
        _HEADER.pack_into(self._outbox, start, kind | self.exchange << 8, n)
        self._outbox[start + 8:end] = data
        # The padding's bytes are whatever the outbox held: the reader skips them.
        self._outlen = (end + 7) & ~7

    def file_frame(self, path, offset, count):
        self.frame(OUT_FILE, _FILE.pack(offset, count) + path.encode("utf-8"))

    def flush(self):
        """Hands queued frames to the I/O thread; raises ClientGone if the client left."""
        if self._outlen:
            self._push(self._outaddr, self._take_outbox())

    def end_frame(self, kind, data=b""):
        """Queues End or Close (carrying the environ values the access log asks
        for); the next recv() or send_end() hands it over. Never raises
        ClientGone: exactly one end frame per request keeps the I/O thread in step."""
        self.frame(kind, data)
        self._ended = True

    def send_end(self):
        """Hands over a queued end frame now, without waiting for the next request."""
        if self._ended:
            self._send(self._outaddr, self._take_outbox())

    def _take_outbox(self):
        """Empties the outbox for a hand-over; returns how many bytes it held."""
        n, self._outlen, self._ended = self._outlen, 0, False
        self.flushes += 1
        return n

    def discard(self):
        self._outlen = 0
        self._ended = False

    def _push(self, addr, n):
        if self._send(addr, n):
            raise ClientGone()
