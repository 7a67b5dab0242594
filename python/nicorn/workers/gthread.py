"""The gthread worker's interpreters: each is one of the worker's N "threads".

Gunicorn's ThreadWorker runs N threads in one interpreter. Pyodide cannot
start threads, so a nicorn-py gthread worker runs N interpreters behind its
one I/O thread (src/bridge/interpreter-pool.ts hands each the next request
when it is idle). Each interpreter serves one request at a time, exactly as
the sync worker's does; what differs is that module globals are per
interpreter, not shared by the worker's threads.
"""

from .sync import SyncWorker


class ThreadWorker(SyncWorker):
    pass
