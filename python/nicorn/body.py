"""wsgi.input: the request body, streamed from the I/O thread as it arrives.

Chunked request bodies were already decoded by the I/O thread's parser, so
every body is a plain byte stream that ends with an Eof frame.
"""

import sys

from .channel import IN_ABORT, IN_BODY, IN_EOF


class ClientDisconnected(IOError):
    pass


def _size(size):
    if size is None:
        return sys.maxsize
    if not isinstance(size, int):
        raise TypeError("size must be an integral type")
    return sys.maxsize if size < 0 else size


class Body:
    def __init__(self, channel):
        self._ch = channel
        self._buf = bytearray()
        self._done = False

    @property
    def finished(self):
        return self._done

    def _pull(self):
        """Appends the next body frame to the buffer; False at the end."""
        if self._done:
            return False
        kind, n = self._ch.recv()
        if kind == IN_BODY:
            self._buf += self._ch.payload(n)
            return True
        self._done = True
        if kind == IN_ABORT:
            raise ClientDisconnected("client disconnected while sending the request body")
        if kind != IN_EOF:
            raise RuntimeError("unexpected frame %d in request body" % kind)
        return False

    def _take(self, n):
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read(self, size=None):
        size = _size(size)
        if size == 0:
            return b""
        while len(self._buf) < size and self._pull():
            pass
        return self._take(size)

    def readline(self, size=None):
        size = _size(size)
        if size == 0:
            return b""
        start = 0
        while True:
            idx = self._buf.find(b"\n", start, size)
            if idx >= 0:
                return self._take(idx + 1)
            if len(self._buf) >= size:
                return self._take(size)
            start = len(self._buf)
            if not self._pull():
                return self._take(size)

    def readlines(self, size=None):
        lines = []
        total = 0
        limit = _size(size)
        while total < limit:
            line = self.readline()
            if not line:
                break
            lines.append(line)
            total += len(line)
        return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration()
        return line


class EmptyBody(Body):
    def __init__(self):
        self._buf = bytearray()
        self._done = True
