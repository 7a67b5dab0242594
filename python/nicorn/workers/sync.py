"""The sync worker: one interpreter, one request at a time, as Gunicorn's SyncWorker."""

from ..channel import IN_HEAD, IN_STOP
from .base import Worker


class SyncWorker(Worker):
    def run(self):
        ch = self.channel
        recv = ch.recv
        while True:
            kind, n = recv()
            if kind == IN_HEAD:
                self.handle_request(ch.head(n))
            elif kind == IN_STOP:
                return 0
            # Anything else is the unread rest of an earlier request's body.

    def log_abort(self):
        if self.current is not None:
            # Where the app was stuck: the frames the abort interrupted.
            self.log.critical("Worker aborted while handling %s", self.current.target, exc_info=True)
