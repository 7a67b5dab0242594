"""Executes a Gunicorn config file (gunicorn.conf.py or python:module) as Python.

Both the arbiter's config interpreter and every worker's Python thread run
it: the arbiter to read settings and run its hooks, each worker for the
hooks Gunicorn runs in the worker process.
"""

import asyncio
import importlib
import importlib.util
import inspect
import json
import os
import random
import site
import sys
import time
import traceback

from . import host


class ConfigFileError(Exception):
    pass


def _arity(fn):
    params = inspect.signature(fn).parameters.values()
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def execute(path, module):
    """Runs the file or module and returns its namespace, as Gunicorn's
    load_config_from_module_name_or_filename does."""
    try:
        if module:
            return vars(importlib.import_module(module))
        spec = importlib.util.spec_from_file_location("__config__", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["__config__"] = mod
        spec.loader.exec_module(mod)
        return vars(mod)
    except Exception:
        raise ConfigFileError(
            "Failed to read config file: %s\n%s" % (module or path, traceback.format_exc().rstrip())
        )


def _jsonable(value):
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False


def read_settings(namespace, names, hook_arities):
    """(values, hooks) of the names that are settings; other names are ignored, as in Gunicorn."""
    values = {}
    hooks = []
    for name, value in namespace.items():
        if name not in names:
            continue
        if name in hook_arities:
            if not callable(value):
                raise ConfigFileError("Invalid value for %s: %r (Value is not callable)" % (name, value))
            arity = hook_arities[name]
            try:
                actual = _arity(value)
            except (TypeError, ValueError):
                actual = arity
            if actual != arity:
                raise ConfigFileError(
                    "Invalid value for %s: %s (Value must have an arity of: %d)" % (name, value.__name__, arity)
                )
            hooks.append(name)
        elif _jsonable(value):
            values[name] = list(value) if isinstance(value, tuple) else value
        else:
            raise ConfigFileError("Invalid value for %s: %r" % (name, value))
    return values, hooks


def load(path, module, names, hook_arities):
    """Config-interpreter entry: JSON {values, hooks} or {error}."""
    names = set(names.to_py() if hasattr(names, "to_py") else names)
    arities = hook_arities.to_py() if hasattr(hook_arities, "to_py") else hook_arities
    try:
        namespace = execute(path, module)
        values, hooks = read_settings(namespace, names, arities)
    except ConfigFileError as e:
        return json.dumps({"error": str(e)})
    from . import hooks as hooks_mod
    hooks_mod.install({name: namespace[name] for name in hooks})
    return json.dumps({"values": values, "hooks": hooks})


def _process_state(pid, cwd):
    """What belongs to one process, not to the interpreter it inherits."""
    # Pyodide reports a fixed pid; logs, hooks and apps need the real one.
    os.getpid = lambda: pid
    # Gunicorn reseeds after fork, so that workers do not share a sequence.
    random.seed(os.urandom(64))
    # Pyodide marks its browser-style event loop as running; Gunicorn's
    # processes have none, and libraries (Django's async_unsafe) decide on that.
    asyncio.events._set_running_loop(None)
    os.chdir(cwd)


def prepare_process(pid, cwd, pythonpath, site_dirs):
    """What a config file and the app expect of the process they run in."""
    _process_state(pid, cwd)
    # Once per interpreter: a worker restored from the base snapshot has them already.
    host.install()
    app_paths(cwd, pythonpath, site_dirs)


def app_paths(cwd, pythonpath, site_dirs):
    """Where the config file and the app are imported from: the working
    directory, --pythonpath, a virtualenv's site-packages (also for a worker
    restored from the base snapshot, which was made before any of them was known)."""
    # Pyodide turns bytecode caching off; CPython under Gunicorn writes
    # __pycache__ unless told not to, and a worker that finds it imports Flask
    # about a second sooner.
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    for path in pythonpath:
        path = os.path.abspath(path)
        if path not in sys.path:
            sys.path.insert(0, path)
    for d in site_dirs:
        site.addsitedir(d)
    # gunicorn.dirty for apps without Gunicorn installed (python/nicorn/compat/gunicorn): last, so an installed Gunicorn wins.
    if COMPAT_DIR in sys.path:
        sys.path.remove(COMPAT_DIR)
    sys.path.append(COMPAT_DIR)


# python/nicorn/compat: a directory of packages, not a package of nicorn's.
COMPAT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compat")


# The host's environment when a snapshot was made (preload, base), as os.environ started with it.
_host_env = {}


class EnvironReads:
    """Records which variables os.environ is asked for while it is active
    (os.environ[k], .get, os.getenv, `in`); `everything` when it is iterated
    over (copy(), items(), dict(os.environ)). A snapshot depends on them."""

    def __enter__(self):
        self.names = set()
        self.everything = False
        cls = type(os.environ)
        self._saved = cls.__getitem__, cls.__iter__
        getitem, iterate = self._saved
        reads = self

        def __getitem__(environ, key):
            reads.names.add(key)
            return getitem(environ, key)

        def __iter__(environ):
            reads.everything = True
            return iterate(environ)

        cls.__getitem__, cls.__iter__ = __getitem__, __iter__
        return self

    def __exit__(self, *exc):
        cls = type(os.environ)
        cls.__getitem__, cls.__iter__ = self._saved
        return False


def remember_host_env(env):
    global _host_env
    _host_env = dict(env)


def environ_json():
    """os.environ as JSON, read from its underlying mapping: a look that
    track_host_env's recorder does not count as the app's."""
    return json.dumps({os.fsdecode(k): os.fsdecode(v) for k, v in os.environ._data.items()})


def restore_process(pid, cwd, env):
    """A worker started from a snapshot: the interpreter (sys.path, imported
    modules, the app) is the snapshot maker's; the process is its own. The
    current directory lived outside the heap. os.environ is the snapshot's,
    as a forked worker's is its master's: what the app or the config file
    set or removed as they ran stays (Django's TZ among it); what the host
    changed since the snapshot was made (`env` against _host_env) is brought
    in."""
    _process_state(pid, cwd)
    for key in [k for k in os.environ if k in _host_env and k not in env]:
        del os.environ[key]
    for key, value in env.items():
        if _host_env.get(key) != value and os.environ.get(key) != value:
            os.environ[key] = value
    # The zone of that os.environ, read now, as a forked worker has its
    # master's: the worker's log lines show it from its first request on.
    # (time.tzset is the host layer's: an image made without it has none.)
    tzset = getattr(time, "tzset", None)
    if tzset is not None:
        tzset()
    # Pyodide puts "" in front of sys.path at every start, restored or not.
    while sys.path.count("") > 1:
        sys.path.remove("")
