"""Gunicorn 26's dirty arbiters in nicorn-py: the wire format (wire.py), the
error classes, DirtyApp, the client HTTP workers' apps call (client.py), and
the dirty worker's Python loop (worker.py). Apps import them as `gunicorn.dirty`
(python/nicorn/compat/gunicorn/dirty, on sys.path after everything else, so a real
Gunicorn the app installed is the one imported)."""
