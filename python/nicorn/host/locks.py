"""fcntl.flock takes the host's flock() lock on host files.

fcntl.lockf and fcntl.fcntl's lock commands (and SQLite) reach the host
through the fcntl system call, which src/runtime/host/locks.ts replaces.
flock() is different: the WebAssembly C library implements it itself, as a
stub that locks nothing, so there is no system call to replace; this module
replaces fcntl.flock instead, with one that asks the host
(`_nicorn_host.flock`) for descriptors of host files. Files in the
interpreter's own memory keep the original: no other process can open them.
"""

import errno
import fcntl
import os

import _nicorn_host

_original_flock = fcntl.flock


def _as_fd(fd):
    """What CPython's PyObject_AsFileDescriptor accepts: an int or an object with fileno()."""
    if not isinstance(fd, int):
        fileno = getattr(fd, "fileno", None)
        if fileno is None:
            raise TypeError("argument must be an int, or have a fileno() method.")
        fd = fileno()
        if not isinstance(fd, int):
            raise TypeError("fileno() returned a non-integer")
    if fd < 0:
        raise ValueError("file descriptor cannot be a negative integer (%i)" % fd)
    return fd


def flock(fd, operation, /):
    """Perform the lock operation on file descriptor fd (fcntl.flock)."""
    fd = _as_fd(fd)
    while True:
        # Looked up per call: the module object, not its function, is what
        # a --preload snapshot may hold.
        result = _nicorn_host.flock(fd, operation)
        if result is None:
            return _original_flock(fd, operation)
        if result == 0:
            return None
        code = -result
        if code == errno.EINTR:
            # A signal is pending (--timeout's ABRT, INT): its handler runs
            # before the next bytecode and may raise; otherwise wait again,
            # as CPython retries an interrupted flock() (PEP 475).
            continue
        raise OSError(code, os.strerror(code))


def install():
    flock.__doc__ = _original_flock.__doc__
    fcntl.flock = flock
