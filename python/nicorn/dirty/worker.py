"""A dirty worker's Python (Gunicorn 26's gunicorn/dirty/worker.py): loads
and init()s its dirty apps once, then runs one request frame at a time for
src/dirty/worker-main.ts, answering with whole frames: a response or an
error, or for a generator action its chunks one step() at a time, then the
end. close() of every app when the worker stops."""

import inspect
import json
import os
import traceback

from .. import config as config_mod
from .. import hooks
from .. import logconfig
from ..log import error_logger
from . import wire
from .app import load_dirty_apps
from .errors import DirtyAppError, DirtyAppNotFoundError, DirtyWorkerError


class Runtime:
    def __init__(self, opts_json):
        # The fields of `opts` in src/dirty/worker-main.ts, by name.
        opts = json.loads(opts_json)
        self.pid = opts["pid"]
        self.ppid = opts["ppid"]
        self.age = opts["age"]
        self.app_paths = list(opts["app_paths"])
        self.settings = json.loads(opts["settings"])
        self.loglevel = opts["loglevel"]
        self.config = opts["config"]
        self.hook_names = set(opts["hook_names"])
        self.log = None
        self.apps = {}
        self.worker = None
        # The generator of the stream in progress and its request id.
        self.stream = None
        self.stream_id = 0

    def boot(self):
        """Loads and init()s the apps, then dirty_worker_init(worker); '' or the traceback."""
        try:
            self.log = error_logger(self.loglevel)
            if logconfig.active(self.settings):
                logconfig.setup(self.settings)
            if self.config:
                namespace = config_mod.execute(self.config.get("path"), self.config.get("module"))
                hooks.install({k: v for k, v in namespace.items() if k in self.hook_names and callable(v)})
            cfg = hooks.Config(self.settings)
            self.worker = hooks.DirtyWorker(self.age, self.ppid, self.app_paths, cfg, self.log, pid=self.pid)
            self.apps = self.worker.apps
            self._load_apps()
            hooks.call("dirty_worker_init", self.worker)
            self.worker.booted = True
            return ""
        except Exception:
            return traceback.format_exc()

    def class_workers(self):
        """JSON: each loaded app's class attribute `workers` (None, or how many dirty workers should load it)."""
        out = {}
        for path, app in self.apps.items():
            value = getattr(type(app), "workers", None)
            out[path] = value if value is None or isinstance(value, (int, float, str, bool)) else repr(value)
        return json.dumps(out)

    def _load_apps(self):
        log = self.log
        try:
            self.apps.update(load_dirty_apps(self.app_paths))
        except Exception as e:
            log.error("Failed to load dirty apps: %s", e)
            raise
        for path, app in self.apps.items():
            log.debug("Loaded dirty app: %s", path)
            try:
                app.init()
            except Exception as e:
                log.error("Failed to initialize dirty app %s: %s", path, e)
                raise
            log.info("Initialized dirty app: %s", path)

    def begin(self, data):
        """Runs one request frame: {"frame": the answer, "more": whether step() has more chunks}."""
        data = data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)
        try:
            message = wire.parse(data)
        except Exception as e:
            return _out(wire.error_frame(0, e))
        request_id = message["id"]
        if message["type"] != "request":
            return _out(wire.error_frame(request_id, DirtyWorkerError("Unknown message type: %s" % message["type"])))
        app_path = message.get("app_path")
        action = message.get("action")
        try:
            app = self.apps.get(app_path)
            if app is None:
                raise DirtyAppNotFoundError(app_path)
            result = app(action, *(message.get("args") or []), **(message.get("kwargs") or {}))
            if inspect.isasyncgen(result) or inspect.iscoroutine(result):
                what = "an async generator" if inspect.isasyncgen(result) else "a coroutine"
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError(
                    "%s.%s returned %s: nicorn-py's dirty workers run actions on one Python thread without an "
                    "event loop; make it a plain function or generator" % (app_path, action, what)
                )
            if inspect.isgenerator(result):
                self.stream = result
                self.stream_id = request_id
                return self.step()
            return _out(wire.frame("response", request_id, {"result": result}))
        except Exception as e:
            tb = traceback.format_exc()
            self.log.error("Error executing %s.%s: %s\n%s", app_path, action, e, tb)
            return _out(wire.error_frame(request_id, DirtyAppError(str(e), app_path=app_path, action=action, traceback=tb)))

    def step(self):
        """The stream's next chunk (more=True), or its end or error (more=False)."""
        gen, request_id = self.stream, self.stream_id
        try:
            chunk = next(gen)
            return _out(wire.frame("chunk", request_id, {"data": chunk}), more=True)
        except StopIteration:
            self._end_stream()
            return _out(wire.frame("end", request_id))
        except Exception as e:
            tb = traceback.format_exc()
            self.log.error("Error during streaming: %s\n%s", e, tb)
            self._end_stream()
            return _out(wire.error_frame(request_id, DirtyAppError(str(e), traceback=tb)))

    def _end_stream(self):
        gen, self.stream = self.stream, None
        if gen is not None:
            gen.close()

    def shutdown(self):
        """close() of every app, then Gunicorn's last line."""
        self._end_stream()
        for path, app in self.apps.items():
            try:
                app.close()
                self.log.debug("Closed dirty app: %s", path)
            except Exception as e:
                self.log.error("Error closing dirty app %s: %s", path, e)
        self.log.info("Dirty worker %s exiting", self.pid)


def _out(frame, more=False):
    return {"frame": frame, "more": more}
