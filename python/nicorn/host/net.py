"""socket: what Pyodide keeps inside its wasm module, sent to the host.

Sockets are host sockets (src/runtime/host/sockets.ts replaces the system
calls), but two calls never leave the wasm module, so no system-call import
can reach them: setsockopt (a stub that does nothing and says it succeeded)
and uname's node name ("emscripten"). They are replaced here by calls to the
host through `_nicorn_host`. Pyodide builds CPython without IPv6 and
AF_UNIX (its _socket cannot convert their addresses: "bad family"), so
creating such a socket raises at once, naming the limit. (socket.socketpair is socket.py's own: Pyodide's
_socket has none, so it pairs two host TCP sockets over the loopback.)
"""

import errno
import os
import struct

import _nicorn_host as _host
import _socket
import socket

# The interpreter's SO_RCVTIMEO/SO_SNDTIMEO (the 64-bit time_t options):
# the host socket behind every interpreter socket is non-blocking, so a
# kernel timeout would never act; settimeout() does what they are for.
_TIMEOUT_OPTIONS = {getattr(socket, "SO_RCVTIMEO", None), getattr(socket, "SO_SNDTIMEO", None)} - {None}


def _raise(err):
    raise OSError(err, os.strerror(err))


def setsockopt(self, level, optname, value, optlen=None):
    """socket.setsockopt as CPython's: an int, a bytes-like value, or (None, optlen)."""
    if level == socket.SOL_SOCKET and optname in _TIMEOUT_OPTIONS:
        raise OSError(
            92,  # ENOPROTOOPT
            "SO_RCVTIMEO/SO_SNDTIMEO are not supported under nicorn-py "
            "(the host socket is non-blocking): use socket.settimeout()",
        )
    if value is None:
        if optlen is None:
            raise TypeError("setsockopt() takes an optlen with a None value")
        data = bytes(optlen)
    elif isinstance(value, int):
        if optlen is not None:
            raise TypeError("setsockopt() takes no optlen with an int value")
        data = struct.pack("i", value)
    else:
        data = bytes(memoryview(value))
    err = _host.net_setsockopt(self.fileno(), level, optname, data.hex())
    if err < 0:
        _raise(-err)


_UNSUPPORTED = {
    10: "IPv6 (AF_INET6)",  # Pyodide's CPython: socket.has_ipv6 is False
    1: "Unix domain sockets (AF_UNIX)",  # and no AF_UNIX either
}


def _checked_init(init):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None and family in _UNSUPPORTED:
            raise OSError(
                errno.EAFNOSUPPORT,
                f"{_UNSUPPORTED[family]} not supported under nicorn-py: Pyodide's CPython "
                "is built without them (its socket module cannot pass their addresses); use TCP over IPv4",
            )
        init(self, family, type, proto, fileno)

    return __init__


def gethostname():
    return _host.net_gethostname()


def install():
    socket.socket.setsockopt = setsockopt
    socket.socket.__init__ = _checked_init(socket.socket.__init__)
    _socket.gethostname = socket.gethostname = gethostname
