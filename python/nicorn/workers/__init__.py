"""Worker classes: the Python halves of the classes in src/config/worker-classes.ts.

As Gunicorn's gunicorn/workers/: a base every class shares (base.py: boot,
hooks, the app, one request's handling) and one module per class holding
how it takes requests. worker.py's boot() picks the class by the name the
I/O thread's class map gave (BootOptions.worker_class).
"""

from .asgi import AsgiWorker
from .gthread import ThreadWorker
from .sync import SyncWorker

WORKER_CLASSES = {
    "sync": SyncWorker,
    "gthread": ThreadWorker,
    "asgi": AsgiWorker,
}
