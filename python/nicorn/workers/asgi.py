"""The asgi worker: one interpreter running an asyncio event loop, many
requests in flight, as Gunicorn 26's ASGIWorker (gunicorn/workers/gasgi.py).

The I/O thread (src/bridge/asgi-dispatcher.ts) hands every request over as
it arrives; the loop (asgi/loop.py) reads frames while it waits and each
request runs as a task. The loop is the worker's liveness: while it waits it
is idle; a loop that does not come back to its wait within --timeout (an app
blocking it) is a stuck worker, aborted as the sync worker's stuck request is.
"""

import asyncio
import json

from .. import hooks
from ..asgi import inline_threads
from ..asgi.http import HttpExchange, http_scope
from ..asgi.lifespan import Lifespan, LifespanFailed
from ..asgi.loop import ChannelSelector, LoopChannel, WorkerLoop
from ..asgi.websocket import WebSocketExchange, websocket_scope
from ..channel import IN_HEAD, IN_STOP, IN_WS_HEAD, OUT_CLOSE, OUT_END
from .base import WORKER_BOOT_ERROR, Worker


class LoopAbort(KeyboardInterrupt):
    """SIGABRT (--timeout) in the loop. A KeyboardInterrupt, as asyncio's tasks
    and callbacks re-raise only that and SystemExit: any other BaseException
    raised in a task is kept in the task and the loop goes on."""


class AsgiWorker(Worker):
    channel_class = LoopChannel

    def boot(self, io):
        code = super().boot(io)
        if code == 0:
            settings = json.loads(self.opts.settings)
            self.root_path = settings.get("root_path") or ""
            self.lifespan_mode = settings.get("asgi_lifespan") or "auto"
            self.grace = settings.get("asgi_disconnect_grace_period", 3)
        return code

    abort_exception = LoopAbort

    def run(self):
        self.exchanges = {}
        self.state = {}
        self.stopping = False
        self.loop = loop = WorkerLoop(ChannelSelector(self.channel, self._on_frame))
        asyncio.set_event_loop(loop)
        inline_threads.install(loop)
        self.ready = asyncio.Event()
        self.stopped = asyncio.Event()
        return loop.run_until_complete(self._main())

    def log_abort(self):
        # Where the loop was held: the frames the abort interrupted.
        self.log.critical("Worker aborted: the event loop was blocked for --timeout", exc_info=True)

    async def _main(self):
        lifespan = None
        if self.lifespan_mode != "off":
            lifespan = Lifespan(self.app, self.log, self.state)
            try:
                await lifespan.startup()
            except LifespanFailed as e:
                if self.lifespan_mode == "on":
                    self.log.error("ASGI lifespan startup failed: %s", e)
                    return WORKER_BOOT_ERROR
                self.log.debug("ASGI lifespan not supported by app: %s", e)
                lifespan = None
        self.ready.set()
        await self.stopped.wait()
        # The I/O thread sends Stop once nothing is in flight; anything left (a task the app spawned) is cancelled.
        for ex in list(self.exchanges.values()):
            if ex.task is not None:
                ex.task.cancel()
        if lifespan is not None:
            try:
                await lifespan.shutdown()
            except Exception as e:
                self.log.error("ASGI lifespan shutdown error: %s", e)
        self.channel.flush()
        return 0

    # ------------------------------------------------------------ frames in
    def _on_frame(self, kind, ex_id, n):
        ch = self.channel
        if kind == IN_HEAD:
            ex = HttpExchange(self, ex_id, ch.head(n))
            self.exchanges[ex_id] = ex
            ex.task = self.loop.create_task(self._serve_http(ex))
        elif kind == IN_WS_HEAD:
            ex = WebSocketExchange(self, ex_id, ch.head(n))
            self.exchanges[ex_id] = ex
            ex.task = self.loop.create_task(self._serve_websocket(ex))
        elif kind == IN_STOP:
            self.stopping = True
            self.stopped.set()
        else:
            ex = self.exchanges.get(ex_id)
            if ex is not None:
                ex.on_frame(kind, ch.payload(n) if n else b"")

    def disconnected(self, ex):
        """The client of `ex` left: the app got http.disconnect; it has the grace period to finish."""
        task = ex.task
        if task is None or task.done():
            return
        if self.grace <= 0:
            task.cancel()
        else:
            self.loop.call_later(self.grace, task.cancel)

    # ------------------------------------------------------------ one request
    async def _serve_http(self, ex):
        if not self.ready.is_set():
            await self.ready.wait()
        head = ex.head
        req = hooks.Request(head) if self.request_hooks else None
        try:
            if req is not None:
                hooks.call("pre_request", self.worker, req)
            await self.app(http_scope(head, self.root_path, self.state), ex.receive, ex.send)
            if not ex.ended and not ex.disconnected:
                if ex.started and ex.response.headers_sent:
                    self.log.error("ASGI callable returned without completing the response: %s", head.target)
                elif ex.started:
                    # Headers but no body message: the response ends empty.
                    ex.end()
                else:
                    self.log.error("ASGI callable returned without starting a response: %s", head.target)
                ex.fail()
        except asyncio.CancelledError:
            # The client left and the grace period ran out, or the worker stops.
            ex.fail()
        except Exception:
            self.log.exception("Error handling request %s %s", head.method, head.target)
            ex.fail()
        finally:
            del self.exchanges[ex.id]
            self.worker.nr += 1
            if req is not None:
                try:
                    hooks.call("post_request", self.worker, req, None, ex.response)
                except Exception:
                    self.log.exception("Exception in post_request hook")

    async def _serve_websocket(self, ex):
        if not self.ready.is_set():
            await self.ready.wait()
        end = OUT_END
        try:
            await self.app(websocket_scope(ex.head, self.root_path, self.state), ex.receive, ex.send)
        except asyncio.CancelledError:
            pass
        except Exception:
            self.log.exception("Error handling WebSocket %s", ex.head.target)
            # Accepted: closed with 1011; not yet: the handshake gets 500.
            end = OUT_CLOSE
        finally:
            del self.exchanges[ex.id]
            self.worker.nr += 1
            # Every exchange ends with one end frame; the I/O thread closes what the app left open.
            self.channel.send_frame(ex.id, end)
