"""threading without threads: starting one fails at the call, naming the limit.

Pyodide's CPython is built without thread support (WebAssembly here has no
threads to give it): _thread's start functions raise RuntimeError("can't
start new thread"), which says neither why nor what to do. A substitute that
runs the thread's function some other way cannot work for what apps start
threads for: a Sentry transport, a logging QueueListener or a
ThreadPoolExecutor's worker loop until told to stop, so running it inline
would never return (a hung request), and never running it would drop the
work silently. So the start raises ThreadsUnavailable (a RuntimeError, what
CPython raises when it cannot start a thread, and what libraries catch),
naming the thread, the call site and the way out; and the first refusal at
each call site is also logged at warning level, because some libraries
swallow it (Sentry's BackgroundWorker catches RuntimeError and drops its
events).
"""

import _thread
import logging
import os
import sys
import threading

# Frames inside these files are the machinery, not the caller.
_MACHINERY = (
    os.sep + "threading.py",
    os.path.join("concurrent", "futures", "thread.py"),
    os.path.join("concurrent", "futures", "_base.py"),
    os.path.join("logging", "handlers.py"),
    __file__,
)
_logged = set()


class ThreadsUnavailable(RuntimeError):
    """Raised where an app starts an OS thread, which Pyodide cannot."""


def _caller():
    """file:line of the frame that asked for the thread, past threading's own."""
    frame = sys._getframe(2)
    first = None
    while frame is not None:
        name = frame.f_code.co_filename
        here = "%s:%d" % (name, frame.f_lineno)
        first = first or here
        if not name.endswith(_MACHINERY) and "importlib._bootstrap" not in name:
            return here
        frame = frame.f_back
    return first or "?"


def _describe(function):
    """What is being started: the Thread (its name and target) or the function."""
    thread = getattr(function, "__self__", None)
    if isinstance(thread, threading.Thread):
        target = getattr(thread, "_target", None)
        what = "threading.Thread(name=%r" % thread.name
        if target is not None:
            what += ", target=%s" % getattr(target, "__qualname__", repr(target))
        return what + ").start()"
    return "_thread.start_new_thread(%s)" % getattr(function, "__qualname__", repr(function))


def _refuse(function):
    where = _caller()
    what = _describe(function)
    message = (
        "%s at %s: Pyodide cannot start OS threads (nicorn-py runs CPython as WebAssembly, "
        "without threads). Do the work in the request itself, hand it to another process "
        "(a task queue, a cron job), or run more workers (-w) or interpreters (--threads) for concurrency." % (what, where)
    )
    if where not in _logged:
        _logged.add(where)
        logging.getLogger("gunicorn.error").warning("%s", message)
    raise ThreadsUnavailable(message)


def _start_joinable_thread(function, handle=None, daemon=True):
    _refuse(function)


def _start_new_thread(function, args=(), kwargs=None):
    _refuse(function)


def install():
    threading._start_joinable_thread = _start_joinable_thread
    threading._start_new_thread = _start_new_thread
    for name in ("start_joinable_thread",):
        if hasattr(_thread, name):
            setattr(_thread, name, _start_joinable_thread)
    _thread.start_new_thread = _start_new_thread
    _thread.start_new = _start_new_thread
