"""socket: what Pyodide keeps inside its wasm module, sent to the host.

Sockets are host sockets (src/runtime/host/sockets.ts replaces the system
calls), but two calls never leave the wasm module, so no system-call import
can reach them: setsockopt (a stub that does nothing and says it succeeded)
and uname's node name ("emscripten"). They are replaced here by calls to the
host through `_nicorn_host`. Pyodide builds CPython without IPv6 and
AF_UNIX (its _socket cannot convert their addresses: "bad family"): an IPv6
socket raises at once, naming the limit; the AF_UNIX calls that take or give
a path go to the host here. (socket.socketpair is socket.py's own: Pyodide's
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
}
AF_UNIX = 1  # Pyodide's socket module leaves the name out


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


# Unix domain sockets: Pyodide's _socket creates them (the host socket is
# real; send, recv, listen, accept, shutdown, select work through the system
# calls) but cannot pass their addresses, so the calls that take or give a
# path go to the host through _nicorn_host.


def _unix_path(address):
    if isinstance(address, (bytes, bytearray)):
        address = bytes(address).decode("latin1" if address[:1] == b"\0" else "utf-8", "surrogateescape")
    address = os.fspath(address)
    if not isinstance(address, str):
        raise TypeError(f"a Unix socket address is a str, bytes or path, not {type(address).__name__}")
    return address


def _check(err):
    if isinstance(err, int) and err < 0:
        _raise(-err)
    return err


def _wrap_unix(cls):
    connect, connect_ex, bind = cls.connect, cls.connect_ex, cls.bind
    getsockname, getpeername, accept = cls.getsockname, cls.getpeername, cls.accept

    def _connect(self, address):
        t = self.gettimeout()
        return _host.net_unix_connect(self.fileno(), _unix_path(address), -1 if t is None else int(t * 1000))

    def unix_connect(self, address):
        if self.family != AF_UNIX:
            return connect(self, address)
        err = _connect(self, address)
        if err == -errno.ETIMEDOUT:
            raise TimeoutError("timed out")
        _check(err)

    def unix_connect_ex(self, address):
        if self.family != AF_UNIX:
            return connect_ex(self, address)
        return -_connect(self, address)

    def unix_bind(self, address):
        if self.family != AF_UNIX:
            return bind(self, address)
        _check(_host.net_unix_bind(self.fileno(), _unix_path(address)))

    def unix_getsockname(self):
        if self.family != AF_UNIX:
            return getsockname(self)
        return _check(_host.net_unix_name(self.fileno(), False))

    def unix_getpeername(self):
        if self.family != AF_UNIX:
            return getpeername(self)
        return _check(_host.net_unix_name(self.fileno(), True))

    def unix_accept(self):
        if self.family != AF_UNIX:
            return accept(self)
        t = self.gettimeout()
        fd = _host.net_unix_accept(self.fileno(), -1 if t is None else int(t * 1000))
        if fd == -errno.ETIMEDOUT:
            raise TimeoutError("timed out")
        _check(fd)
        conn = socket.socket(self.family, self.type, self.proto, fileno=fd)
        # As socket.accept: the new socket blocks unless a default timeout is set.
        if socket.getdefaulttimeout() is None and self.gettimeout():
            conn.setblocking(True)
        return conn, _check(_host.net_unix_name(fd, True))

    cls.connect, cls.connect_ex, cls.bind = unix_connect, unix_connect_ex, unix_bind
    cls.getsockname, cls.getpeername, cls.accept = unix_getsockname, unix_getpeername, unix_accept


def gethostname():
    return _host.net_gethostname()


def install():
    socket.socket.setsockopt = setsockopt
    socket.socket.__init__ = _checked_init(socket.socket.__init__)
    _wrap_unix(socket.socket)
    if not hasattr(socket, "AF_UNIX"):
        socket.AF_UNIX = _socket.AF_UNIX = AF_UNIX
    _socket.gethostname = socket.gethostname = gethostname
