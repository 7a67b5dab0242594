"""The sync worker: one interpreter, one request at a time, as Gunicorn's SyncWorker."""

import signal

from ..channel import IN_HEAD, IN_STOP, WorkerAbort
from .base import Worker


def _on_abort(signum, frame):
    raise WorkerAbort()


class SyncWorker(Worker):
    def serve(self):
        """The request loop; returns the worker's exit code when told to stop or
        interrupted: INT/QUIT run worker_int, ABRT runs worker_abort (exit 1)."""
        ch = self.channel
        recv = ch.recv
        # Pyodide delivers the I/O thread's interrupt flag as this signal number.
        signal.signal(signal.SIGABRT, _on_abort)
        code = 0
        try:
            while True:
                kind, n = recv()
                if kind == IN_HEAD:
                    self.handle_request(ch.head(n))
                elif kind == IN_STOP:
                    break
                # Anything else is the unread rest of an earlier request's body.
        except KeyboardInterrupt:
            self.worker.alive = False
            self.run_hook("worker_int", self.worker)
        except WorkerAbort:
            self.worker.alive = False
            if self.current is not None:
                # Where the app was stuck: the frames the abort interrupted.
                self.log.critical("Worker aborted while handling %s", self.current.target, exc_info=True)
            self.run_hook("worker_abort", self.worker)
            code = 1
        finally:
            self.worker.alive = False
            self.run_hook("worker_exit", self.server, self.worker)
        return code
