"""The Python thread's side of a worker: boot the app, then serve one request at a time.

src/bridge/python-thread.ts calls boot() once and then serve(), which blocks
in this thread until the I/O thread sends Stop.
"""

import asyncio
import os
import random
import site
import sys

from . import environ as environ_mod
from .body import Body, ClientDisconnected, EmptyBody
from .channel import IN_HEAD, IN_STOP, OUT_CLOSE, Channel, ClientGone
from .loader import AppImportError, import_app, native_extension_hint
from .log import error_logger
from .response import FileWrapper, Response, host_file_span, send_error

# Exit codes the arbiter understands, as Gunicorn's Arbiter defines them.
WORKER_BOOT_ERROR = 3
APP_LOAD_ERROR = 4


class _Worker:
    channel = None
    app = None
    base = None
    log = None
    host_roots = ()


_w = _Worker()


def _prepare_process(pid, cwd, pythonpath, site_dirs):
    # Pyodide reports a fixed pid; logs, hooks and apps need the real one.
    os.getpid = lambda: pid
    random.seed(os.urandom(64))
    # Pyodide marks its browser-style event loop as running; a WSGI worker has
    # none, and libraries (Django's async_unsafe) decide on that.
    asyncio.events._set_running_loop(None)
    os.chdir(cwd)
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    for path in pythonpath:
        path = os.path.abspath(path)
        if path not in sys.path:
            sys.path.insert(0, path)
    for d in site_dirs:
        site.addsitedir(d)


def boot(io, opts):
    """Loads the app; returns 0, or the exit code Gunicorn uses for the failure."""
    opts = opts.to_py() if hasattr(opts, "to_py") else opts
    _w.log = log = error_logger(opts["loglevel"])
    _prepare_process(opts["pid"], opts["cwd"], opts["pythonpath"], opts["site_dirs"])
    _w.host_roots = tuple(r.rstrip("/") + "/" for r in opts["host_roots"])
    try:
        _w.app = import_app(opts["app"])
    except AppImportError as e:
        log.debug("Exception while loading the application", exc_info=True)
        print("%s" % e, file=sys.stderr, flush=True)
        return APP_LOAD_ERROR
    except BaseException as e:
        log.exception("Exception in worker process")
        hint = native_extension_hint(e)
        if hint:
            log.error(hint)
        return WORKER_BOOT_ERROR
    _w.channel = Channel(io, opts["inbox_size"])
    _w.base = environ_mod.base_environ(opts["workers"] > 1, FileWrapper)
    return 0


def serve():
    ch, recv = _w.channel, _w.channel.recv
    while True:
        kind, n = recv()
        if kind == IN_HEAD:
            handle(ch, ch.payload(n).decode("latin-1").split("\0"))
        elif kind == IN_STOP:
            return
        # Anything else is the unread rest of an earlier request's body.


def handle(ch, fields):
    log = _w.log
    resp = respiter = None
    body = Body(ch) if fields[3] == "1" else EmptyBody()
    try:
        environ = environ_mod.build(fields, _w.base, body)
        resp = Response(ch, fields[0])
        respiter = _w.app(environ, resp.start_response)
        span = host_file_span(respiter, _w.host_roots) if isinstance(respiter, FileWrapper) else None
        if span:
            resp.send_file(*span)
        elif isinstance(respiter, (list, tuple)):
            for item in respiter:
                resp.send(item)
        else:
            # A generator's chunks leave as they are produced.
            for item in respiter:
                resp.send(item)
                ch.flush()
        resp.finish()
    except (ClientGone, ClientDisconnected):
        log.debug("Ignoring connection reset by the client for %s", fields[1])
        # Every request ends with a frame that tells the I/O thread it is over.
        ch.discard()
        ch.end_frame(OUT_CLOSE)
    except Exception:
        if resp is not None and resp.headers_on_wire():
            log.exception("Error handling request")
            ch.end_frame(OUT_CLOSE)
        else:
            log.exception("Error handling request %s", fields[1])
            send_error(ch, 500, "Internal Server Error")
    finally:
        close = getattr(respiter, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("Error closing the response iterable of %s", fields[1])

