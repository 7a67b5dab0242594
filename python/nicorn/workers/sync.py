"""The sync worker: one interpreter, one request at a time, as Gunicorn's SyncWorker."""

from operator import call

from ..channel import IN_HEAD, IN_STOP
from .base import Worker


class SyncWorker(Worker):
    def run(self):
        # Each turn (the wait for a frame, the request it brings) in an
        # activation of CPython's eval loop of its own (a call through C), not
        # in this loop's, which lasts as long as the worker: V8 replaces a wasm
        # function's baseline code with its optimized code for the calls that
        # start after, never in a call under way. A worker restored from the
        # base snapshot runs little Python before it gets here, so this loop's
        # activation began in baseline code and stayed there, and so did every
        # Python-to-Python call it made (measured in a route: an empty loop
        # 106 ns a turn, a call of a lambda 334 ns; 32 and 79 ns in an
        # activation begun later).
        turn = self._turn
        while True:
            code = call(turn)
            if code is not None:
                return code

    def _turn(self):
        """Waits for the next frame and serves it; the exit code once told to stop, else None."""
        ch = self.channel
        kind, n = ch.recv()
        if kind == IN_HEAD:
            self.handle_request(ch.head(n))
        elif kind == IN_STOP:
            return 0
        # Anything else is the unread rest of an earlier request's body.
        return None

    def log_abort(self):
        if self.current is not None:
            # Where the app was stuck: the frames the abort interrupted.
            self.log.critical("Worker aborted while handling %s", self.current.target, exc_info=True)
