"""The Python thread's side of a worker: boot the app, then serve one request at a time.

src/bridge/python-thread.ts calls boot() once and then serve(), which blocks
in this thread until the I/O thread sends Stop. With --preload, preload()
runs first, once, in the arbiter's snapshot maker (src/runtime/snapshot-maker.ts),
and every worker's boot() starts from the snapshot taken after it.
"""

import importlib
import json
import os
import signal
import sys
import traceback

from . import config as config_mod
from . import environ as environ_mod
from . import hooks
from . import logconfig
from . import host
from . import recursion
from .body import Body, ClientDisconnected, EmptyBody
from .channel import IN_HEAD, IN_STOP, OUT_CLOSE, Channel, ClientGone, WorkerAbort
from .loader import AppImportError, import_app, native_extension_hint
from .log import error_logger
from .reload import ModuleReport
from .response import FileWrapper, Response, host_file_span, send_error

# Exit codes the arbiter understands, as Gunicorn's Arbiter defines them.
WORKER_BOOT_ERROR = 3
APP_LOAD_ERROR = 4


class _Worker:
    channel = None
    app = None
    base = None
    log = None
    host_roots = ()
    server = None
    worker = None
    request_hooks = False
    current_uri = None
    # Lower-cased environ names the access log format asks for ({name}e atoms).
    access_env = ()
    # --reload: the list of loaded source files the arbiter watches (reload.py).
    modules = None
    # A wsgi.file_wrapper of a host file is streamed by the I/O thread (Gunicorn's sendfile()), not read by Python.
    sendfile = True


_w = _Worker()

# What preload() did, carried by the snapshot into every worker: the app spec,
# the app, and the config file's namespace (None without one).
_preloaded = None


def preload(opts):
    """What Gunicorn's arbiter does before it forks with preload_app: run the
    config file and import the app, here once for every worker. Returns JSON:
    {"traceback"} of the failure, or the environment variables the config
    file and the app read ({"environ": names, "environ_all": iterated})."""
    global _preloaded
    opts = opts.to_py() if hasattr(opts, "to_py") else opts
    error_logger(opts["loglevel"])
    config_mod.prepare_process(opts["pid"], opts["cwd"], opts["pythonpath"], opts["site_dirs"])
    config_mod.remember_host_env(opts["env_keys"])
    try:
        with config_mod.EnvironReads() as reads:
            source = opts.get("config")
            namespace = config_mod.execute(source.get("path"), source.get("module")) if source else None
            app = import_app(opts["app"])
    except BaseException:
        return json.dumps({"traceback": traceback.format_exc()})
    _preloaded = {"app_spec": opts["app"], "app": app, "namespace": namespace}
    return json.dumps({"environ": sorted(reads.names), "environ_all": reads.everything})


def base_image(opts):
    """What every worker's interpreter holds before it imports the app, done
    once for the base snapshot (src/runtime/base-image.ts) instead of in each
    worker: the host parts installed, and the standard-library modules of
    opts["imports"] imported, as a forked Gunicorn worker finds them imported
    by its master. Returns JSON: the environment variables read meanwhile
    ({"environ": names, "environ_all": iterated}), which the image depends on."""
    opts = opts.to_py() if hasattr(opts, "to_py") else opts
    config_mod.remember_host_env(opts["env_keys"])
    with config_mod.EnvironReads() as reads:
        host.install()
        for name in opts["imports"]:
            importlib.import_module(name)
    return json.dumps({"environ": sorted(reads.names), "environ_all": reads.everything})


def preloaded_for(app_spec):
    """Empty when this interpreter came from a snapshot of `app_spec`; else why not."""
    if _preloaded is None:
        return "the snapshot holds no preloaded app"
    if _preloaded["app_spec"] != app_spec:
        return "the snapshot holds app %r, not %r" % (_preloaded["app_spec"], app_spec)
    return ""


def _load_hooks(opts):
    """Runs the config file here too: worker-side hooks live in this interpreter
    (or ran once already, before the snapshot this worker started from)."""
    source = opts.get("config")
    if source:
        if opts.get("restored") == "preload":
            namespace = _preloaded["namespace"] or {}
        else:
            namespace = config_mod.execute(source.get("path"), source.get("module"))
        names = set(opts["hook_arities"])
        hooks.install({k: v for k, v in namespace.items() if k in names and callable(v)})
    cfg = hooks.Config(json.loads(opts["settings"]))
    _w.worker = hooks.Worker(opts["age"], opts["ppid"], cfg, _w.log, pid=opts["pid"])
    _w.server = hooks.Server(opts["ppid"], cfg, _w.log, opts["workers"])
    _w.request_hooks = hooks.defined("pre_request") or hooks.defined("post_request")


def boot(io, opts):
    """Loads the app; returns 0, or the exit code Gunicorn uses for the failure."""
    opts = opts.to_py() if hasattr(opts, "to_py") else opts
    _w.log = log = error_logger(opts["loglevel"])
    # "preload": from the arbiter's snapshot, app imported; "base": from the
    # base snapshot, host parts installed; "": booted here.
    restored = opts.get("restored")
    if restored:
        config_mod.restore_process(opts["pid"], opts["cwd"], opts["env"])
        if restored == "base":
            config_mod.app_paths(opts["cwd"], opts["pythonpath"], opts["site_dirs"])
    else:
        config_mod.prepare_process(opts["pid"], opts["cwd"], opts["pythonpath"], opts["site_dirs"])
    _w.host_roots = tuple(r.rstrip("/") + "/" for r in opts["host_roots"])
    recursion.install(opts["max_recursion_limit"])
    if opts.get("reload_dir"):
        _w.modules = ModuleReport(opts["reload_dir"], opts["pid"], _w.host_roots)
    load_error = None
    try:
        # The user's logging configuration (logconfig*), before the app is imported, as Gunicorn's master applies it before the fork.
        settings = json.loads(opts["settings"])
        if logconfig.active(settings):
            logconfig.setup(settings)
        _w.sendfile = _sendfile(settings)
        _load_hooks(opts)
        if settings.get("spew"):
            from . import spew

            spew.install()
        hooks.call("post_fork", _w.server, _w.worker)
        # With preload_app the app was imported before the fork, as in Gunicorn.
        try:
            _w.app = _preloaded["app"] if restored == "preload" else import_app(opts["app"])
        except SyntaxError as e:
            # --reload, as Gunicorn's load_wsgi: the worker serves the traceback (500) until the file is fixed.
            if _w.modules is None:
                raise
            log.exception(e)
            _w.app = _fail_app(traceback.format_exc())
            load_error = e
        _w.worker.wsgi = _w.app
        hooks.call("post_worker_init", _w.worker)
        _w.worker.booted = True
    except AppImportError as e:
        log.debug("Exception while loading the application", exc_info=True)
        print("%s" % e, file=sys.stderr, flush=True)
        _report_modules(e)
        return APP_LOAD_ERROR
    except BaseException as e:
        log.exception("Exception in worker process")
        hint = native_extension_hint(e)
        if hint:
            log.error(hint)
        _report_modules(e)
        return WORKER_BOOT_ERROR
    _report_modules(load_error)
    _w.channel = Channel(io, opts["inbox_size"])
    check_dir = opts.get("check_wsgi_dir")
    if check_dir:
        # --check-wsgi: imported only in this mode, so the normal path pays nothing.
        from .check import Recorder, checked_app
        record = os.path.join(check_dir, "worker-%d.json" % opts["pid"])
        _w.app = checked_app(_w.app, Recorder(record, log))
    _w.access_env = tuple(opts.get("access_env") or ())
    _w.base = environ_mod.base_environ(opts["workers"] > 1, FileWrapper)
    return 0


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


def _report_modules(error=None):
    if _w.modules is None:
        return
    try:
        _w.modules.write(error)
    except OSError:
        _w.log.exception("Cannot write the list of loaded modules for --reload")


def _access_trailer(environ):
    """The environ values the access log wants, NUL-separated name/value pairs."""
    if not _w.access_env or not environ:
        return b""
    out = []
    for key, value in environ.items():
        if key.lower() in _w.access_env:
            out.append(key)
            out.append(value if isinstance(value, str) else str(value))
    return "\0".join(out).encode("latin-1", "replace")


def _on_abort(signum, frame):
    raise WorkerAbort()


def serve():
    """The request loop; returns the worker's exit code when told to stop or
    interrupted: INT/QUIT run worker_int, ABRT runs worker_abort (exit 1)."""
    ch, recv = _w.channel, _w.channel.recv
    # Pyodide delivers the I/O thread's interrupt flag as this signal number.
    signal.signal(signal.SIGABRT, _on_abort)
    code = 0
    try:
        while True:
            kind, n = recv()
            if kind == IN_HEAD:
                fields = ch.payload(n).decode("latin-1").split("\0")
                _w.current_uri = fields[1]
                if _w.request_hooks:
                    handle_with_hooks(ch, fields)
                else:
                    handle(ch, fields)
                _w.current_uri = None
                _w.worker.nr += 1
                if _w.modules is not None and len(sys.modules) != _w.modules.seen:
                    _report_modules()
            elif kind == IN_STOP:
                break
            # Anything else is the unread rest of an earlier request's body.
    except KeyboardInterrupt:
        _w.worker.alive = False
        _run_hook("worker_int", _w.worker)
    except WorkerAbort:
        _w.worker.alive = False
        if _w.current_uri is not None:
            # Where the app was stuck: the frames the abort interrupted.
            _w.log.critical("Worker aborted while handling %s", _w.current_uri, exc_info=True)
        _run_hook("worker_abort", _w.worker)
        code = 1
    finally:
        _w.worker.alive = False
        _run_hook("worker_exit", _w.server, _w.worker)
    return code


def _run_hook(name, *args):
    try:
        hooks.call(name, *args)
    except Exception:
        _w.log.exception("Exception in %s hook", name)


def handle_with_hooks(ch, fields):
    req = hooks.Request(fields)
    state = {}
    handle(ch, fields, req, state)
    # Gunicorn's response is on the wire before post_request runs.
    ch.send_end()
    try:
        hooks.call("post_request", _w.worker, req, state.get("environ"), state.get("resp"))
    except Exception:
        _w.log.exception("Exception in post_request hook")


def handle(ch, fields, req=None, state=None):
    log = _w.log
    resp = respiter = None
    body = Body(ch) if fields[3] == "1" else EmptyBody()
    environ = None
    try:
        environ = environ_mod.build(fields, _w.base, body)
        resp = Response(ch, fields[0])
        if req is not None:
            state["environ"], state["resp"] = environ, resp
            hooks.call("pre_request", _w.worker, req)
        respiter = _w.app(environ, resp.start_response)
        span = host_file_span(respiter, _w.host_roots) if _w.sendfile and isinstance(respiter, FileWrapper) else None
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
        resp.finish(_access_trailer(environ))
    except (ClientGone, ClientDisconnected):
        log.debug("Ignoring connection reset by the client for %s", fields[1])
        # Every request ends with a frame that tells the I/O thread it is over.
        ch.discard()
        ch.end_frame(OUT_CLOSE, _access_trailer(environ))
    except Exception:
        if resp is not None and resp.headers_on_wire():
            log.exception("Error handling request")
            ch.end_frame(OUT_CLOSE, _access_trailer(environ))
        else:
            log.exception("Error handling request %s", fields[1])
            send_error(ch, 500, "Internal Server Error", trailer=_access_trailer(environ))
    finally:
        close = getattr(respiter, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("Error closing the response iterable of %s", fields[1])

