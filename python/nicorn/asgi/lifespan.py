"""The ASGI lifespan protocol (startup and shutdown, with state), as Gunicorn
26's asgi worker runs it (gunicorn/asgi/lifespan.py): the app's lifespan
call runs as a task beside the requests; startup must complete before the
first request is served."""

import asyncio

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
# Gunicorn's limits for each phase.
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 30.0


class LifespanFailed(Exception):
    """Startup failed, or the app does not speak the protocol (asgi_lifespan = auto then goes on without it)."""


class Lifespan:
    def __init__(self, app, log, state):
        self.app = app
        self.log = log
        self.state = state
        self._inbox = asyncio.Queue()
        self._started = asyncio.Event()
        self._stopped = asyncio.Event()
        self._failure = None
        self._shutdown_error = None
        self._finished = False
        self._task = None

    async def startup(self):
        scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": self.state}
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = asyncio.ensure_future(self._run(scope))
        try:
            await asyncio.wait_for(self._started.wait(), STARTUP_TIMEOUT)
        except asyncio.TimeoutError:
            self._task.cancel()
            raise LifespanFailed("Lifespan startup timed out") from None
        if self._failure is not None:
            self._task.cancel()
            raise LifespanFailed(self._failure)
        self.log.debug("ASGI lifespan startup complete")

    async def shutdown(self):
        if self._finished:
            return
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self._stopped.wait(), SHUTDOWN_TIMEOUT)
        except asyncio.TimeoutError:
            self.log.warning("Lifespan shutdown timed out")
        if self._shutdown_error:
            self.log.error("ASGI lifespan shutdown error: %s", self._shutdown_error)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.log.debug("ASGI lifespan shutdown complete")

    async def _run(self, scope):
        try:
            await self.app(scope, self._receive, self._send)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.log.debug("Lifespan application raised: %s", e)
            if not self._started.is_set():
                self._failure = str(e) or type(e).__name__
            elif not self._stopped.is_set():
                self._shutdown_error = str(e)
        finally:
            self._finished = True
            if not self._started.is_set():
                if self._failure is None:
                    self._failure = "Application exited before startup complete"
                self._started.set()
            self._stopped.set()

    async def _receive(self):
        return await self._inbox.get()

    async def _send(self, message):
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self._started.set()
        elif kind == "lifespan.startup.failed":
            self._failure = message.get("message", "") or "lifespan.startup.failed"
            self._started.set()
        elif kind == "lifespan.shutdown.complete":
            self._stopped.set()
        elif kind == "lifespan.shutdown.failed":
            self._shutdown_error = message.get("message", "")
            self._stopped.set()
