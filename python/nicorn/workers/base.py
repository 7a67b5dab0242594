"""What every worker class does in its interpreter, as Gunicorn's workers/base.py:
boot (the process's paths, hooks, the app), and the handling of one request
(environ, the app call, the response, pre_request/post_request)."""

import dataclasses
import json
import os
import sys

from .. import config as config_mod
from .. import environ as environ_mod
from .. import hooks
from .. import recursion
from ..body import Body, ClientDisconnected, EmptyBody
from ..channel import OUT_CLOSE, Channel, ClientGone
from ..loader import AppImportError, import_app, native_extension_hint
from ..log import error_logger
from ..response import FileWrapper, Response, host_file_span, send_error

# Exit codes the arbiter understands, as Gunicorn's Arbiter defines them.
WORKER_BOOT_ERROR = 3
APP_LOAD_ERROR = 4


@dataclasses.dataclass
class BootOptions:
    """What boot() takes: the fields of BootOptions in src/bridge/boot-options.ts,
    by the same names (a key missing or unknown on either side is a TypeError)."""

    worker_class: str
    app: str
    workers: int
    threads: int
    loglevel: str
    pid: int
    ppid: int
    age: int
    # Every setting, JSON.
    settings: str
    # {"path", "module"} of the config file, or None.
    config: dict
    hook_names: list
    access_env: list
    check_wsgi_dir: str
    cwd: str
    pythonpath: list
    site_dirs: list
    host_roots: list
    inbox_size: int
    max_recursion_limit: int
    # "preload": from the arbiter's snapshot, app imported; "base": from the
    # base snapshot, host parts installed; "": booted here.
    restored: str
    env: dict


class Worker:
    """One interpreter's worker: booted once, then serve() (the class's) until stopped."""

    def __init__(self, opts, preloaded):
        self.opts = opts
        # What worker.preload() left in the snapshot this interpreter came from, or None.
        self.preloaded = preloaded
        self.channel = None
        self.app = None
        self.base = None
        self.log = None
        self.host_roots = ()
        self.server = None
        self.worker = None
        self.request_hooks = False
        # The head of the request being handled, or None.
        self.current = None
        # Lower-cased environ names the access log format asks for ({name}e atoms).
        self.access_env = ()

    def _load_hooks(self):
        """Runs the config file here too: worker-side hooks live in this interpreter
        (or ran once already, before the snapshot this worker started from)."""
        opts = self.opts
        if opts.config:
            if opts.restored == "preload":
                namespace = self.preloaded["namespace"] or {}
            else:
                namespace = config_mod.execute(opts.config.get("path"), opts.config.get("module"))
            names = set(opts.hook_names)
            hooks.install({k: v for k, v in namespace.items() if k in names and callable(v)})
        cfg = hooks.Config(json.loads(opts.settings))
        self.worker = hooks.Worker(opts.age, opts.ppid, cfg, self.log, pid=opts.pid)
        self.server = hooks.Server(opts.ppid, cfg, self.log, opts.workers)
        self.request_hooks = hooks.defined("pre_request") or hooks.defined("post_request")

    def boot(self, io):
        """Loads the app; returns 0, or the exit code Gunicorn uses for the failure."""
        opts = self.opts
        self.log = log = error_logger(opts.loglevel)
        if opts.restored:
            config_mod.restore_process(opts.pid, opts.cwd, opts.env)
            if opts.restored == "base":
                config_mod.app_paths(opts.cwd, opts.pythonpath, opts.site_dirs)
        else:
            config_mod.prepare_process(opts.pid, opts.cwd, opts.pythonpath, opts.site_dirs)
        self.host_roots = tuple(r.rstrip("/") + "/" for r in opts.host_roots)
        recursion.install(opts.max_recursion_limit)
        try:
            self._load_hooks()
            hooks.call("post_fork", self.server, self.worker)
            # With preload_app the app was imported before the fork, as in Gunicorn.
            self.app = self.preloaded["app"] if opts.restored == "preload" else import_app(opts.app)
            self.worker.wsgi = self.app
            hooks.call("post_worker_init", self.worker)
            self.worker.booted = True
        except AppImportError as e:
            log.debug("Exception while loading the application", exc_info=True)
            print("%s" % e, file=sys.stderr, flush=True)
            return APP_LOAD_ERROR
        except BaseException as e:
            log.exception("Exception in worker process")
            hint = native_extension_hint(e)
            if hint:
                log.error(hint)
            return WORKER_BOOT_ERROR
        self.channel = Channel(io, opts.inbox_size)
        if opts.check_wsgi_dir:
            # --check-wsgi: imported only in this mode, so the normal path pays nothing.
            from ..check import Recorder, checked_app
            record = os.path.join(opts.check_wsgi_dir, "worker-%d.json" % opts.pid)
            self.app = checked_app(self.app, Recorder(record, log))
        self.access_env = tuple(opts.access_env or ())
        self.base = environ_mod.base_environ(opts.workers > 1, FileWrapper, multithread=opts.threads > 1)
        return 0

    def serve(self):
        """The class's request loop; returns the worker's exit code."""
        raise NotImplementedError

    def run_hook(self, name, *args):
        try:
            hooks.call(name, *args)
        except Exception:
            self.log.exception("Exception in %s hook", name)

    def _access_trailer(self, environ):
        """The environ values the access log wants, NUL-separated name/value pairs."""
        if not self.access_env or not environ:
            return b""
        out = []
        for key, value in environ.items():
            if key.lower() in self.access_env:
                out.append(key)
                out.append(value if isinstance(value, str) else str(value))
        return "\0".join(out).encode("latin-1", "replace")

    def handle_request(self, head):
        """Serves one request whose head was just received."""
        self.current = head
        if self.request_hooks:
            self._handle_with_hooks(head)
        else:
            self._handle(head)
        self.current = None
        self.worker.nr += 1

    def _handle_with_hooks(self, head):
        req = hooks.Request(head)
        state = {}
        self._handle(head, req, state)
        # Gunicorn's response is on the wire before post_request runs.
        self.channel.send_end()
        try:
            hooks.call("post_request", self.worker, req, state.get("environ"), state.get("resp"))
        except Exception:
            self.log.exception("Exception in post_request hook")

    def _handle(self, head, req=None, state=None):
        ch = self.channel
        log = self.log
        resp = respiter = None
        body = Body(ch) if head.has_body else EmptyBody()
        environ = None
        try:
            environ = environ_mod.build(head, self.base, body)
            resp = Response(ch, head.method)
            if req is not None:
                state["environ"], state["resp"] = environ, resp
                hooks.call("pre_request", self.worker, req)
            respiter = self.app(environ, resp.start_response)
            span = host_file_span(respiter, self.host_roots) if isinstance(respiter, FileWrapper) else None
            if span:
                resp.send_file(*span)
            elif isinstance(respiter, (list, tuple)):
                for item in respiter:
                    resp.send(item)
            else:
                # A generator's chunks leave as they are produced.
                for item in respiter:
                    resp.send(item)
                    ch.flush()
            resp.finish(self._access_trailer(environ))
        except (ClientGone, ClientDisconnected):
            log.debug("Ignoring connection reset by the client for %s", head.target)
            # Every request ends with a frame that tells the I/O thread it is over.
            ch.discard()
            ch.end_frame(OUT_CLOSE, self._access_trailer(environ))
        except Exception:
            if resp is not None and resp.headers_on_wire():
                log.exception("Error handling request")
                ch.end_frame(OUT_CLOSE, self._access_trailer(environ))
            else:
                log.exception("Error handling request %s", head.target)
                send_error(ch, 500, "Internal Server Error", trailer=self._access_trailer(environ))
        finally:
            close = getattr(respiter, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("Error closing the response iterable of %s", head.target)
