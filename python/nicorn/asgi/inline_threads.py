"""The asgi worker's "thread pool": the call, made at once in the loop's thread.

ASGI frameworks run blocking calls in worker threads (Starlette's sync
endpoints and its default exception handlers go through
anyio.to_thread.run_sync; Django's ASGI handler through asgiref's
sync_to_async; asyncio.to_thread and loop.run_in_executor(None, ...)
use the loop's default executor). Pyodide cannot start threads, so here such
a call runs inline: it blocks the event loop while it runs, as a
single-threaded pool of one would, and its result or exception is the
caller's as before. An app that blocks for long is a stuck worker
(--timeout), as any blocked loop is.
"""

import concurrent.futures

from ..host._on_import import when_imported


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """loop.set_default_executor() (which takes only a ThreadPoolExecutor; this one never starts
    its threads): submit() runs the call and returns its finished future."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:
            future.set_exception(e)
        return future


def _mend_anyio(module):
    backend = getattr(module, "AsyncIOBackend", None)
    if backend is None:
        return

    async def run_sync_in_worker_thread(cls, func, args, abandon_on_cancel=False, limiter=None):
        await cls.checkpoint()
        return func(*args)

    run_sync_in_worker_thread.__doc__ = "nicorn-py: runs func inline (Pyodide cannot start threads)."
    backend.run_sync_in_worker_thread = classmethod(run_sync_in_worker_thread)


def _mend_asgiref(module):
    """asgiref's sync_to_async (Django's ASGI handler calls its signals, middleware and sync views
    through it) runs the call inline: its executors are one-thread pools."""
    cls = getattr(module, "SyncToAsync", None)
    if cls is None:
        return

    async def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    __call__.__doc__ = "nicorn-py: runs the function inline (Pyodide cannot start threads)."
    cls.__call__ = __call__


def install(loop):
    loop.set_default_executor(InlineExecutor())
    when_imported("anyio._backends._asyncio", _mend_anyio)
    when_imported("asgiref.sync", _mend_asgiref)
