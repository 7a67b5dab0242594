"""environ['gunicorn.socket']: the client's connection, as far as a WSGI app can have it here.

Gunicorn puts the accepted socket object there. In nicorn-py the connection
belongs to the worker's I/O thread (node:http reads and writes it, keep-alive
and pipelining included), so the app gets an object that answers what the
socket's addresses and kind are, as the socket would, and refuses the rest by
name: reading or writing the connection from Python would take bytes from under
the HTTP parser. The response goes through start_response and the body.
"""

import socket

_LIMIT = (
    "gunicorn.socket in nicorn-py: the client connection is held by the worker's "
    "I/O thread (node:http), so %s() is not available; send the response through "
    "start_response and the body"
)


class ClientSocket:
    """The client connection's addresses, family and type; no I/O."""

    type = socket.SOCK_STREAM
    proto = 0

    def __init__(self, peer, peer_port, local, local_port):
        self._peer = peer
        self._local = local
        if not peer and not local:
            # A unix socket: the peer has no address, as accept() gives it.
            self.family = getattr(socket, "AF_UNIX", 1)
            self._peer_addr, self._local_addr = "", ""
        else:
            six = ":" in peer or ":" in local
            self.family = socket.AF_INET6 if six else socket.AF_INET
            extra = (0, 0) if six else ()
            self._peer_addr = (peer, int(peer_port or 0)) + extra
            self._local_addr = (local, int(local_port or 0)) + extra

    def getpeername(self):
        return self._peer_addr

    def getsockname(self):
        return self._local_addr

    def gettimeout(self):
        return None

    def __repr__(self):
        return "<nicorn.ClientSocket family=%d peer=%r local=%r>" % (
            self.family, self._peer_addr, self._local_addr)

    def __getattr__(self, name):
        # Every socket method not above (recv, send, sendall, makefile, fileno,
        # setsockopt, close, ...) names the limit instead of acting on nothing.
        if hasattr(socket.socket, name):
            def refused(*args, **kwargs):
                raise OSError(_LIMIT % name)
            return refused
        raise AttributeError(name)
