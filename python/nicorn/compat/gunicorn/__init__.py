"""nicorn-py's stand-in for the `gunicorn` package, for apps that use
Gunicorn's API for running inside it without having Gunicorn installed: only
`gunicorn.dirty` (the dirty arbiter's client and DirtyApp). It is the last
entry of sys.path, so a real Gunicorn the app installed is imported instead."""

version_info = (26, 2, 2)
__version__ = ".".join(str(v) for v in version_info)
SERVER = "nicorn-py"
