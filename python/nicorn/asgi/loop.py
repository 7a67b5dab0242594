"""An asyncio event loop for a thread that blocks on the channel, not on a browser.

Pyodide's default loop (WebLoop) hands its callbacks to the JavaScript event
loop, which never runs while this thread waits on Atomics. This loop is
asyncio's own SelectorEventLoop with a selector whose wait covers all a
worker's loop waits for: frames from the I/O thread (request heads, body
chunks, clients gone, write credits), the app's host sockets (asyncio's
network, through the host's poll: src/runtime/host/sockets.ts) and timers
(the wait's timeout).
"""

import asyncio
import math
import selectors
import time
from operator import call

from ..channel import Channel, RECV_LENGTH_BITS, interrupted

_LENGTH_MASK = (1 << RECV_LENGTH_BITS) - 1
# With host sockets registered, the wait alternates between the host's poll
# and the channel in slices this long: the host cannot wait on both at once.
_HOST_SLICE = 0.002

# Flow control, as src/bridge/protocol.ts defines it (ASGI_RESPONSE_WINDOW, ASGI_BODY_WINDOW).
RESPONSE_WINDOW = 1 << 18
BODY_WINDOW = 1 << 18


class LoopChannel(Channel):
    """The channel as the event loop uses it: frames of many exchanges, each sent with its id."""

    def __init__(self, io, inbox_size):
        super().__init__(io, inbox_size)
        self._poll = io.poll

    def next_frame(self, timeout_ms):
        """Hands over the queued frames, then waits up to timeout_ms (-1: no
        limit) for the next frame: (type, exchange id, payload length), or
        None. One crossing to the I/O thread's side for all three."""
        n = self._take_outbox() if self._outlen else 0
        r = self._poll(self._outaddr, n, timeout_ms)
        if r <= 0:
            if r < 0:
                raise interrupted(-r)
            return None
        rest = r >> 4
        return r & 15, rest >> RECV_LENGTH_BITS, rest & _LENGTH_MASK

    def send_frame(self, exchange, kind, data=b""):
        """Queues a frame of `exchange`; it leaves with the loop's next wait (or sooner when the outbox fills)."""
        self.exchange = exchange
        self.frame(kind, data)


class ChannelSelector(selectors.SelectSelector):
    """selectors' SelectSelector for the app's host sockets, whose select()
    also hands every waiting frame to `on_frame(type, exchange, length)` and
    sends the frames the loop queued before it waits."""

    def __init__(self, channel, on_frame):
        super().__init__()
        self._ch = channel
        self._on_frame = on_frame

    def _drain(self, frame):
        """Hands `frame` and every other waiting one to on_frame; what they
        made the loop queue (credits) leaves with the next poll."""
        ch = self._ch
        on_frame = self._on_frame
        while frame is not None:
            on_frame(*frame)
            frame = ch.next_frame(0)

    def select(self, timeout=None):
        ch = self._ch
        if not self._fd_to_key:
            ms = -1 if timeout is None else math.ceil(max(timeout, 0) * 1000)
            frame = ch.next_frame(ms)
            if frame is not None:
                self._drain(frame)
            return []
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0)
        while True:
            frame = ch.next_frame(0)
            got = frame is not None
            if got:
                self._drain(frame)
            left = _HOST_SLICE if deadline is None else min(_HOST_SLICE, deadline - time.monotonic())
            ready = super().select(0 if got else max(left, 0))
            if ready or got or (deadline is not None and time.monotonic() >= deadline):
                return ready


_BASE_RUN_ONCE = asyncio.SelectorEventLoop._run_once


class WorkerLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop without its self-pipe: nothing else runs in this
    thread to wake it (call_soon_threadsafe has no other thread to come from),
    and the pipe would be a pair of host TCP sockets here."""

    def _run_once(self):
        # Each turn (the wait, the frames it hands on) in an activation of
        # CPython's eval loop of its own, not in run_forever's, which began in
        # V8's baseline code and stays there (workers/sync.py). The callbacks
        # and tasks had theirs already (Context.run, Task's step: C calls), so
        # this is small: Starlette's JSON route, a worker restored from the
        # base snapshot, 131-133 us of the Python thread's CPU per request
        # against 133-137 without it (3 runs each).
        call(_BASE_RUN_ONCE, self)

    def _make_self_pipe(self):
        self._ssock = self._csock = None

    def _close_self_pipe(self):
        pass
