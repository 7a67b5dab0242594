"""socket: what Pyodide keeps inside its wasm module, sent to the host.

Sockets are host sockets (src/runtime/host/sockets.ts replaces the system
calls), but two calls never leave the wasm module, so no system-call import
can reach them: setsockopt (a stub that does nothing and says it succeeded)
and uname's node name ("emscripten"). They are replaced here by calls to the
host through `_nicorn_host`. (socket.socketpair is socket.py's own: Pyodide's
_socket has none, so it pairs two host TCP sockets over the loopback.)
"""

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


def gethostname():
    return _host.net_gethostname()


def install():
    socket.socket.setsockopt = setsockopt
    _socket.gethostname = socket.gethostname = gethostname
