"""What every worker class does in its interpreter, as Gunicorn's workers/base.py:
boot (the process's paths, hooks, the app), the end of its loop (serve(): the
signals, worker_int, worker_abort, worker_exit) and the handling of one
request (environ, the app call, the response, pre_request/post_request).
Each class overrides only its loop, run()."""

import dataclasses
import json
import os
import signal
import sys
import traceback

from .. import config as config_mod
from .. import environ as environ_mod
from .. import hooks
from .. import logconfig
from .. import recursion
from ..body import Body, ClientDisconnected, EmptyBody
from ..channel import OUT_CLOSE, Channel, ClientGone, WorkerAbort
from ..loader import AppImportError, import_app, native_extension_hint
from ..log import error_logger
from ..reload import ModuleReport
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
    # --reload: where this worker reports the source files it imported, or None.
    reload_dir: str
    # A worker of a --reload round: an app that does not import fails the boot.
    reload_trial: bool


class Worker:
    """One interpreter's worker: booted once, then serve() (the class's) until stopped."""

    # The channel the class reads frames with (asgi: its loop's).
    channel_class = Channel

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
        # --reload: the list of loaded source files the arbiter watches (reload.py).
        self.modules = None
        # A wsgi.file_wrapper of a host file is streamed by the I/O thread (Gunicorn's sendfile()), not read by Python.
        self.sendfile = True

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
        if opts.reload_dir:
            self.modules = ModuleReport(opts.reload_dir, opts.pid, self.host_roots)
        load_error = None
        try:
            # The user's logging configuration (logconfig*), before the app is imported, as Gunicorn's master applies it before the fork.
            settings = json.loads(opts.settings)
            if logconfig.active(settings):
                logconfig.setup(settings)
            self.sendfile = _sendfile(settings)
            self._load_hooks()
            if settings.get("spew"):
                from .. import spew

                spew.install()
            hooks.call("post_fork", self.server, self.worker)
            # With preload_app the app was imported before the fork, as in Gunicorn.
            try:
                self.app = self.preloaded["app"] if opts.restored == "preload" else import_app(opts.app)
            except SyntaxError as e:
                # --reload, as Gunicorn's load_wsgi: the worker serves the traceback (500) until the file is
                # fixed; but not one of a reload round, which would serve it before the arbiter could keep the old ones.
                if self.modules is None or opts.reload_trial:
                    raise
                log.exception(e)
                self.app = _fail_app(traceback.format_exc())
                load_error = e
            self.worker.wsgi = self.app
            hooks.call("post_worker_init", self.worker)
            self.worker.booted = True
        except AppImportError as e:
            log.debug("Exception while loading the application", exc_info=True)
            # One write of the whole line: print() writes the text and the newline
            # apart, and the interpreters of a gthread worker failing at once
            # interleaved them ("...'hello'.Failed to find ...\n\n").
            sys.stderr.write("%s\n" % e)
            sys.stderr.flush()
            self._report_modules(e)
            return APP_LOAD_ERROR
        except BaseException as e:
            log.exception("Exception in worker process")
            hint = native_extension_hint(e)
            if hint:
                log.error(hint)
            self._report_modules(e)
            return WORKER_BOOT_ERROR
        self._report_modules(load_error)
        self.channel = self.channel_class(io, opts.inbox_size)
        if opts.check_wsgi_dir:
            # --check-wsgi: imported only in this mode, so the normal path pays nothing.
            from ..check import Recorder, checked_app
            record = os.path.join(opts.check_wsgi_dir, "worker-%d.json" % opts.pid)
            self.app = checked_app(self.app, Recorder(record, log))
        self.access_env = tuple(opts.access_env or ())
        self.base = environ_mod.base_environ(opts.workers > 1, FileWrapper, multithread=opts.threads > 1)
        return 0

    # What SIGABRT (--timeout) raises in this class's loop; a wait the flag
    # interrupts raises WorkerAbort (channel.interrupted).
    abort_exception = WorkerAbort

    def serve(self):
        """Every class's end, as Gunicorn's base worker: runs the class's loop
        (run()); INT/QUIT end it with worker_int, ABRT with worker_abort (exit
        code 1); worker_exit last. Returns the worker's exit code."""
        signal.signal(signal.SIGABRT, self._on_abort)
        code = 0
        try:
            # Only now does the I/O thread's interrupt flag reach Python: a signal
            # that came since the app was loaded is raised in here, not lost.
            self.channel.arm_interrupts()
            code = self.run()
        except (WorkerAbort, self.abort_exception):
            self.worker.alive = False
            self.log_abort()
            self.run_hook("worker_abort", self.worker)
            code = 1
        except KeyboardInterrupt:
            self.worker.alive = False
            self.run_hook("worker_int", self.worker)
        finally:
            self.worker.alive = False
            self.run_hook("worker_exit", self.server, self.worker)
        return code

    def _on_abort(self, signum, frame):
        raise self.abort_exception()

    def run(self):
        """The class's serving loop; returns when told to stop (its exit code)."""
        raise NotImplementedError

    def log_abort(self):
        """The critical line of an abort, with the frames it interrupted."""
        raise NotImplementedError

    def _report_modules(self, error=None):
        if self.modules is None:
            return
        try:
            self.modules.write(error)
        except OSError:
            self.log.exception("Cannot write the list of loaded modules for --reload")

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
        if self.modules is not None and len(sys.modules) != self.modules.seen:
            self._report_modules()

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
            resp = Response(ch, head.method, head.version)
            environ["wsgi.early_hints"] = resp.early_hints
            if req is not None:
                state["environ"], state["resp"] = environ, resp
                hooks.call("pre_request", self.worker, req)
            respiter = self.app(environ, resp.start_response)
            span = host_file_span(respiter, self.host_roots) if self.sendfile and isinstance(respiter, FileWrapper) else None
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
                log.exception("Error handling request %s %s", head.method, head.target)
                send_error(ch, 500, "Internal Server Error", trailer=self._access_trailer(environ))
        finally:
            close = getattr(respiter, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("Error closing the response iterable of %s", head.target)


def _fail_app(text):
    """Gunicorn's util.make_fail_app: every request gets a 500 with the traceback as text."""
    body = text.encode("utf-8", "replace")

    def app(environ, start_response):
        start_response("500 Internal Server Error", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def _sendfile(settings):
    """Gunicorn's cfg.sendfile: off with --no-sendfile, else as the SENDFILE environment variable says, else on."""
    if settings.get("sendfile") is not None:
        return False
    if "SENDFILE" in os.environ:
        return os.environ["SENDFILE"].lower() in ("y", "1", "yes", "true")
    return True
