"""The Python thread's entry points: boot the worker class, then serve.

src/bridge/python-thread.ts calls boot() once and then serve(), which blocks
in this thread until the I/O thread sends Stop. The class (workers/) is the
one the I/O thread's class map named. With --preload, preload() runs first,
once, in the arbiter's snapshot maker (src/runtime/snapshot-maker.ts), and
every worker's boot() starts from the snapshot taken after it.
"""

import importlib
import json
import traceback

from . import config as config_mod
from . import host
from .loader import import_app
from .log import error_logger
from .workers import WORKER_CLASSES
from .workers.base import BootOptions

# The worker this interpreter runs (boot() makes it).
_worker = None

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
    if opts.get("restored") == "base":
        # From the base snapshot, as a worker starts: the host parts are in it.
        config_mod.restore_process(opts["pid"], opts["cwd"], opts["env"])
        config_mod.app_paths(opts["cwd"], opts["pythonpath"], opts["site_dirs"])
    else:
        config_mod.prepare_process(opts["pid"], opts["cwd"], opts["pythonpath"], opts["site_dirs"])
    config_mod.remember_host_env(opts["env"])
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
    config_mod.remember_host_env(opts["host_env"])
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


def boot(io, opts):
    """Makes the worker of opts["worker_class"] and loads the app; returns 0,
    or the exit code Gunicorn uses for the failure."""
    global _worker
    opts = BootOptions(**(opts.to_py() if hasattr(opts, "to_py") else opts))
    _worker = WORKER_CLASSES[opts.worker_class](opts, _preloaded)
    return _worker.boot(io)


def serve():
    """The worker's request loop (its class's); returns the worker's exit code."""
    return _worker.serve()
