"""Frames to and from the I/O thread.

The JavaScript side (src/bridge/python-thread.ts) copies frames between the
shared rings and two buffers that live in this interpreter's memory: the
inbox and the outbox. Python therefore crosses into JavaScript once per
recv() and once per flush(), passing only integers; no per-header or
per-chunk proxies are created. Frame numbers mirror src/bridge/protocol.ts.
"""

import ctypes
import struct

IN_HEAD, IN_BODY, IN_EOF, IN_ABORT, IN_STOP = 1, 2, 3, 4, 5
OUT_START, OUT_BODY, OUT_FILE, OUT_END, OUT_CLOSE = 1, 2, 3, 4, 5

_HEADER = struct.Struct("<B3xI")
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
        self._inbox = bytearray(inbox_size)
        self._inview = memoryview(self._inbox)
        io.setInbox(_address_of(self._inbox), inbox_size)
        self._outbox = bytearray(_OUTBOX_SIZE)
        self._outaddr = _address_of(self._outbox)
        self._outlen = 0
        # Counts hand-overs, so a Response can tell whether its headers left.
        self.flushes = 0

    def recv(self):
        """Blocks for the next frame; returns (type, payload length)."""
        r = self._recv()
        if r < 0:
            # The I/O thread raised our interrupt flag (-signal) while we were waiting.
            raise interrupted(-r)
        return r & 15, r >> 4

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
                _HEADER.pack_into(self._outbox, 0, kind, n)
                self.flushes += 1
                gone = self._send(self._outaddr, 8)
                gone = self._send(_address_of_bytes(bytes(data)), n) or gone
                if gone:
                    raise ClientGone()
                return
        start = self._outlen
        _HEADER.pack_into(self._outbox, start, kind, n)
        self._outbox[start + 8:end] = data
        self._outlen = end

    def file_frame(self, path, offset, count):
        self.frame(OUT_FILE, _FILE.pack(offset, count) + path.encode("utf-8"))

    def flush(self):
        """Hands queued frames to the I/O thread; raises ClientGone if the client left."""
        if self._outlen:
            n, self._outlen = self._outlen, 0
            self.flushes += 1
            self._push(self._outaddr, n)

    def end_frame(self, kind, data=b""):
        """Queues End or Close (carrying the environ values the access log asks
        for) and hands everything over. Never raises ClientGone: exactly one end
        frame per request keeps the I/O thread in step."""
        self.frame(kind, data)
        n, self._outlen = self._outlen, 0
        self.flushes += 1
        self._send(self._outaddr, n)

    def discard(self):
        self._outlen = 0

    def _push(self, addr, n):
        if self._send(addr, n):
            raise ClientGone()
