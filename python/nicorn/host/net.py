"""socket: what Pyodide keeps inside its wasm module, sent to the host.

Sockets are host sockets (src/runtime/host/sockets.ts replaces the system
calls), but some calls never leave the wasm module, so no system-call import
can reach them: setsockopt (a stub that does nothing and says it succeeded)
and uname's node name ("emscripten"). They are replaced here by calls to the
host through `_nicorn_host`. Pyodide builds CPython without IPv6 and
AF_UNIX: its _socket creates such sockets (the host socket is real; send,
recv, listen, shutdown and select work through the system calls) but cannot
convert their addresses ("bad family"), so the calls that take or give an
address go to the host here, as do the resolver calls it cannot answer as
CPython on Linux (getaddrinfo's IPv6 answers, gethostbyname(_ex),
gethostbyaddr) and inet_pton/inet_ntop of AF_INET6. (socket.socketpair is
socket.py's own: Pyodide's _socket has none, so it pairs two host TCP
sockets over the loopback.)
"""

import errno
import math
import operator
import os
import select
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


AF_UNIX = 1  # Pyodide's socket module leaves the name out
# The families whose addresses Pyodide's _socket cannot carry ("bad family"):
# the calls that take or give one go to the host. The socket itself, send,
# recv, listen, shutdown and select work through the system calls.
_HOST_ADDRESSED = (AF_UNIX, socket.AF_INET6)
_FAMILY_NAMES = {AF_UNIX: "AF_UNIX", socket.AF_INET6: "AF_INET6"}  # socket.AddressFamily has no AF_UNIX here


def _unix_path(address):
    if isinstance(address, (bytes, bytearray)):
        address = bytes(address).decode("latin1" if address[:1] == b"\0" else "utf-8", "surrogateescape")
    address = os.fspath(address)
    if not isinstance(address, str):
        raise TypeError(f"a Unix socket address is a str, bytes or path, not {type(address).__name__}")
    return address


def _host_name(name, what="str, bytes or bytearray expected"):
    """A host name as CPython's idna_converter takes it (str or bytes), as text for the host."""
    if isinstance(name, str):
        return name if name.isascii() else name.encode("idna").decode("ascii")
    if isinstance(name, (bytes, bytearray)):
        return bytes(name).decode("latin1")
    raise TypeError(f"{what}, not {type(name).__name__}")


def _check(err):
    if isinstance(err, int) and err < 0:
        _raise(-err)
    return err


def _checked_wait(err):
    """_check, where -ETIMEDOUT is the socket's timeout running out (CPython's TimeoutError)."""
    if err == -errno.ETIMEDOUT:
        raise TimeoutError("timed out")
    return _check(err)


def _answer(result):
    """The value of a DNS_API result (src/runtime/host/dns.ts), or its error raised as CPython raises it."""
    kind, *rest = result.to_py()
    if kind == "ok":
        return rest[0]
    code, text = rest
    if kind == "OSError":
        _raise(getattr(errno, text, errno.EIO))
    if kind == "OSError text":
        raise OSError(text)
    raise getattr(socket, kind)(code, text)


def _address(value):
    """An address from the host (sockaddr.ts addressOf) as CPython gives it: a path (bytes for
    Linux's abstract namespace), a tuple, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("latin1") if value.startswith("\0") else value
    return tuple(value)


def _interruptible(sock, call):
    """call() (a host call answering -errno) as CPython makes a socket call (PEP 475): on EINTR
    the signal handlers run (a poll of the socket runs them: the host's poll answers EINTR while a
    signal waits, and CPython's select then calls PyErr_CheckSignals) and the call is made again."""
    while True:
        r = call()
        if not (isinstance(r, int) and r == -errno.EINTR):
            return r
        select.select([sock], [], [], 0)


def _timeout_ms(sock):
    t = sock.gettimeout()
    return -1 if t is None else math.ceil(t * 1000)


def _sockaddr(family, address, caller):
    """The sockaddr (hex) of `address`, checked as CPython's getsockaddrarg checks it."""
    if family == AF_UNIX:
        sa = _host.net_sockaddr_un(_unix_path(address))
        if isinstance(sa, int):
            raise OSError("AF_UNIX path too long")
        return sa
    if not isinstance(address, tuple):
        raise TypeError(f"{caller}(): AF_INET6 address must be tuple, not {type(address).__name__}")
    if not 2 <= len(address) <= 4:
        raise TypeError("AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])")
    host, port, flowinfo, scope_id = address + (0,) * (4 - len(address))
    host = _host_name(host)
    port, flowinfo, scope_id = (operator.index(v) for v in (port, flowinfo, scope_id))
    if not 0 <= port <= 0xFFFF:
        raise OverflowError(f"{caller}(): port must be 0-65535.")
    if not 0 <= flowinfo <= 0xFFFFF:
        raise OverflowError(f"{caller}(): flowinfo must be 0-1048575.")
    if not 0 <= scope_id <= 0xFFFFFFFF:
        raise OverflowError("Python int too large to convert to C unsigned long")
    return _answer(_host.net_sockaddr_in6(host, port, flowinfo, scope_id))


def _wrap_host_addressed(cls):
    connect, connect_ex, bind = cls.connect, cls.connect_ex, cls.bind
    getsockname, getpeername, accept = cls.getsockname, cls.getpeername, cls.accept
    sendto, recvfrom, recvfrom_into = cls.sendto, cls.recvfrom, cls.recvfrom_into

    def _connect(self, address):
        sa = _sockaddr(self.family, address, "connect")
        tries = []

        def call():
            err = _host.net_connect(self.fileno(), sa, _timeout_ms(self))
            tries.append(err)
            # Made again after EINTR, a connect that completed meanwhile says EISCONN.
            return 0 if err == -errno.EISCONN and len(tries) > 1 else err

        return _interruptible(self, call)

    def host_connect(self, address):
        if self.family not in _HOST_ADDRESSED:
            return connect(self, address)
        _checked_wait(_connect(self, address))

    def host_connect_ex(self, address):
        if self.family not in _HOST_ADDRESSED:
            return connect_ex(self, address)
        err = -_connect(self, address)
        # CPython's connect_ex answers EWOULDBLOCK when the socket's timeout runs out.
        return errno.EWOULDBLOCK if err == errno.ETIMEDOUT and self.gettimeout() else err

    def host_bind(self, address):
        if self.family not in _HOST_ADDRESSED:
            return bind(self, address)
        _check(_host.net_bind(self.fileno(), _sockaddr(self.family, address, "bind")))

    def host_getsockname(self):
        if self.family not in _HOST_ADDRESSED:
            return getsockname(self)
        return _address(_check(_host.net_name(self.fileno(), False)))

    def host_getpeername(self):
        if self.family not in _HOST_ADDRESSED:
            return getpeername(self)
        return _address(_check(_host.net_name(self.fileno(), True)))

    def host_accept(self):
        if self.family not in _HOST_ADDRESSED:
            return accept(self)
        fd, addr = _checked_wait(_interruptible(self, lambda: _host.net_accept(self.fileno(), _timeout_ms(self))))
        conn = socket.socket(self.family, self.type, self.proto, fileno=fd)
        # As socket.accept: the new socket blocks unless a default timeout is set.
        if socket.getdefaulttimeout() is None and self.gettimeout():
            conn.setblocking(True)
        return conn, _address(addr)

    def host_sendto(self, data, *args):
        if self.family not in _HOST_ADDRESSED:
            return sendto(self, data, *args)
        if not 1 <= len(args) <= 2:
            raise TypeError(f"sendto() takes 2 or 3 arguments ({len(args) + 1} given)")
        flags, address = (0, *args) if len(args) == 1 else args
        sa = _sockaddr(self.family, address, "sendto")
        with memoryview(data) as view:
            data = view.cast("B")
            return _checked_wait(_interruptible(self, lambda: _host.net_sendto(self.fileno(), data, flags, sa, _timeout_ms(self))))

    def _recvfrom_into(self, buffer, nbytes, flags):
        n, addr = _checked_wait(_interruptible(
            self, lambda: _host.net_recvfrom_into(self.fileno(), buffer, nbytes, flags, _timeout_ms(self))))
        return n, _address(addr)

    def host_recvfrom(self, bufsize, flags=0):
        if self.family not in _HOST_ADDRESSED:
            return recvfrom(self, bufsize, flags)
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        buffer = bytearray(bufsize)
        n, addr = _recvfrom_into(self, buffer, bufsize, flags)
        return bytes(buffer[:n]), addr

    def host_recvfrom_into(self, buffer, nbytes=0, flags=0):
        if self.family not in _HOST_ADDRESSED:
            return recvfrom_into(self, buffer, nbytes, flags)
        with memoryview(buffer) as view:
            view = view.cast("B")
            if nbytes < 0:
                raise ValueError("negative buffersize in recvfrom_into")
            if nbytes > len(view):
                raise ValueError("nbytes is greater than the length of the buffer")
            return _recvfrom_into(self, view, nbytes or len(view), flags)

    def _refused(name, original, has_address):
        def method(self, *args, **kwargs):
            if self.family in _HOST_ADDRESSED and has_address(args, kwargs):
                raise OSError(
                    errno.EOPNOTSUPP,
                    f"{name}() of an {_FAMILY_NAMES[self.family]} socket is not supported under nicorn-py: Pyodide's "
                    "_socket cannot carry its address; use recvfrom()/sendto()",
                )
            return original(self, *args, **kwargs)

        method.__name__ = name
        return method

    # recvmsg always gives the sender's address; sendmsg takes one as its fourth argument.
    cls.recvmsg = _refused("recvmsg", cls.recvmsg, lambda args, kwargs: True)
    cls.recvmsg_into = _refused("recvmsg_into", cls.recvmsg_into, lambda args, kwargs: True)
    cls.sendmsg = _refused("sendmsg", cls.sendmsg, lambda args, kwargs: len(args) > 3 or "address" in kwargs)
    cls.connect, cls.connect_ex, cls.bind = host_connect, host_connect_ex, host_bind
    cls.getsockname, cls.getpeername, cls.accept = host_getsockname, host_getpeername, host_accept
    cls.sendto, cls.recvfrom, cls.recvfrom_into = host_sendto, host_recvfrom, host_recvfrom_into


# The resolver calls Pyodide's CPython cannot answer as CPython on Linux: its
# getaddrinfo turns an IPv6 answer into (10, b'...'), its getnameinfo drops an
# IPv6 tuple's flowinfo and scope_id, gethostbyname_ex and
# gethostbyaddr run musl's code inside the wasm module (Emscripten's made-up
# addresses), and its gaierror texts are musl's. The host answers them.


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """_socket.getaddrinfo as CPython's on Linux, answered by the host's resolver."""
    if host is not None:
        host = _host_name(host, "getaddrinfo() argument 1 must be string or None")
    if isinstance(port, int):
        port = str(port)
    elif isinstance(port, (bytes, bytearray)):
        port = bytes(port).decode("latin1")
    elif port is not None and not isinstance(port, str):
        raise OSError("Int or String expected")
    answers = _answer(_host.net_getaddrinfo(host, port, family, type, proto, flags))
    return [(f, t, p, canon, _address(addr)) for f, t, p, canon, addr in answers]


def inet_pton(address_family, ip_string):
    if address_family != socket.AF_INET6:
        return _inet_pton(address_family, ip_string)
    packed = _host.net_inet_pton6(ip_string)
    if packed is None:
        raise OSError("illegal IP address string passed to inet_pton")
    return bytes.fromhex(packed)


def inet_ntop(address_family, packed_ip):
    if address_family != socket.AF_INET6:
        return _inet_ntop(address_family, packed_ip)
    packed = bytes(memoryview(packed_ip))
    if len(packed) != 16:
        raise ValueError("invalid length of packed IP address string")
    return _host.net_inet_ntop6(packed.hex())


def getnameinfo(sockaddr, flags):
    if not isinstance(sockaddr, tuple):
        raise TypeError("getnameinfo() argument 1 must be a tuple")
    if not 2 <= len(sockaddr) <= 4 or not isinstance(sockaddr[0], str):
        raise TypeError("getnameinfo(): illegal sockaddr argument")
    host, port, flowinfo, scope_id = sockaddr + (0,) * (4 - len(sockaddr))
    port, flowinfo, scope_id, flags = (operator.index(v) for v in (port, flowinfo, scope_id, flags))
    if not 0 <= flowinfo <= 0xFFFFF:
        raise OverflowError("getnameinfo(): flowinfo must be 0-1048575.")
    return tuple(_answer(_host.net_getnameinfo(host, port, flowinfo, scope_id, len(sockaddr), flags)))


def gethostbyname(hostname):
    return _answer(_host.net_gethostbyname(_host_name(hostname)))


def gethostbyname_ex(hostname):
    return tuple(_answer(_host.net_gethostbyname_ex(_host_name(hostname))))


def gethostbyaddr(ip_address):
    return tuple(_answer(_host.net_gethostbyaddr(_host_name(ip_address))))


def gethostname():
    return _host.net_gethostname()


_inet_pton, _inet_ntop = _socket.inet_pton, _socket.inet_ntop


def install():
    socket.socket.setsockopt = setsockopt
    _wrap_host_addressed(socket.socket)
    if not hasattr(socket, "AF_UNIX"):
        socket.AF_UNIX = _socket.AF_UNIX = AF_UNIX
    # IPv6 works (above): CPython on Linux says so; urllib3 then asks for AF_UNSPEC answers.
    socket.has_ipv6 = _socket.has_ipv6 = True
    _socket.gethostname = socket.gethostname = gethostname
    # socket.getaddrinfo wraps _socket.getaddrinfo (looked up per call).
    _socket.getaddrinfo = getaddrinfo
    for name in ("getnameinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "inet_pton", "inet_ntop"):
        setattr(_socket, name, globals()[name])
        setattr(socket, name, globals()[name])
