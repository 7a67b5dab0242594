"""Server hooks and the objects Gunicorn hands them: server, worker, req, resp.

Arbiter-side hooks (on_starting, when_ready, pre_fork, child_exit, ...) run
in the arbiter's config interpreter; worker-side hooks (post_fork,
post_worker_init, pre_request, post_request, worker_int, worker_abort,
worker_exit) run in the worker's Python thread. The attributes are the ones
Gunicorn documents for its Arbiter, Worker, Request and Response objects.
"""

import json
import traceback

_hooks = {}


def install(functions):
    _hooks.clear()
    _hooks.update(functions)


def defined(name):
    return name in _hooks


class Config:
    """server.cfg / worker.cfg: every setting as an attribute, hooks as the functions."""

    def __init__(self, settings):
        self.__dict__.update(settings)
        for name, fn in _hooks.items():
            setattr(self, name, fn)

    def __repr__(self):
        return "<nicorn-py Config>"


class Worker:
    def __init__(self, age, ppid, cfg, log, pid=None, booted=False):
        self.age = age
        self.pid = pid
        self.ppid = ppid
        self.cfg = cfg
        self.log = log
        self.alive = True
        self.booted = booted
        self.nr = 0
        self.max_requests = getattr(cfg, "max_requests", 0) or 0
        self.timeout = getattr(cfg, "timeout", 30)
        self.wsgi = None

    def __repr__(self):
        return "<Worker %s>" % self.pid


class Server:
    """The arbiter as hooks see it."""

    master_name = "Master"

    def __init__(self, pid, cfg, log, num_workers, workers=(), listeners=()):
        self.pid = pid
        self.cfg = cfg
        self.log = log
        self.num_workers = num_workers
        self.WORKERS = {w.pid: w for w in workers}
        self.LISTENERS = list(listeners)
        self.address = list(listeners)
        self.proc_name = getattr(cfg, "proc_name", None) or "nicorn-py"

    def __repr__(self):
        return "<Arbiter %s>" % self.pid


class Request:
    """req for pre_request / post_request, built from the request head (channel.RequestHead)."""

    def __init__(self, head):
        from .environ import split_target

        self.method = head.method
        self.uri = head.target
        self.path, self.query = split_target(head.target)
        self.fragment = head.target.partition("#")[2]
        major, _, minor = head.version.partition(".")
        self.version = (int(major), int(minor or 0))
        self.scheme = head.scheme
        self.remote_addr = (head.remote_addr, int(head.remote_port or 0))
        self.peer_addr = self.remote_addr
        pairs = head.headers
        self.headers = [(pairs[i].upper(), pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)]
        self.trailers = []

    def __repr__(self):
        return "<Request %s %s>" % (self.method, self.uri)


def call(name, *args):
    """Runs a hook if the config file defines it. Exceptions propagate."""
    fn = _hooks.get(name)
    if fn is not None:
        fn(*args)


# ---- the arbiter's side: called from src/config/interpreter.ts

_arbiter = {}


def arbiter_init(settings_json, level):
    from .log import error_logger

    _arbiter["log"] = error_logger(level)
    _arbiter["cfg"] = Config(json.loads(settings_json))
    _arbiter["workers"] = {}


def arbiter_call(name, state_json):
    """Runs an arbiter-side hook; returns '' or the traceback to log."""
    if name not in _hooks:
        return ""
    state = json.loads(state_json)
    cfg, log = _arbiter["cfg"], _arbiter["log"]
    known = _arbiter["workers"]
    workers = []
    for w in state.get("workers", []):
        obj = known.get(w["pid"]) or Worker(w["age"], state["pid"], cfg, log, pid=w["pid"], booted=True)
        known[w["pid"]] = obj
        workers.append(obj)
    for pid in list(known):
        if pid not in {w.pid for w in workers}:
            known.pop(pid)
    server = Server(state["pid"], cfg, log, state["num_workers"], workers, state.get("listeners", []))
    args = [server]
    if "worker" in state:
        w = state["worker"]
        worker = known.get(w.get("pid")) or Worker(w["age"], state["pid"], cfg, log, pid=w.get("pid"))
        worker.alive = w.get("alive", True)
        args.append(worker)
    args.extend(state.get("args", []))
    try:
        call(name, *args)
    except Exception:
        return traceback.format_exc()
    return ""




# ---- the dirty arbiter's hooks (Gunicorn 26's DirtyArbiter and DirtyWorker as they see them)


class DirtyWorker:
    """A dirty worker: in its own process for dirty_worker_init, as the
    dirty arbiter knows it for dirty_post_fork and dirty_worker_exit."""

    def __init__(self, age, ppid, app_paths, cfg, log, pid=None, booted=False, aborted=False):
        self.age = age
        self.pid = pid
        self.ppid = ppid
        self.app_paths = list(app_paths)
        self.cfg = cfg
        self.log = log
        self.booted = booted
        self.aborted = aborted
        self.alive = True
        # In the worker's own process: "module:Class" -> the app instance.
        self.apps = {}

    def __str__(self):
        return "<DirtyWorker %s>" % self.pid

    __repr__ = __str__


class DirtyArbiter:
    """The dirty arbiter (src/dirty/arbiter.ts): a Node process; its hooks run here, in the arbiter's config interpreter."""

    def __init__(self, view, cfg, log):
        self.pid = view["pid"]
        self.ppid = view["ppid"]
        self.socket_path = view["socket_path"]
        self.num_workers = view["num_workers"]
        self.cfg = cfg
        self.log = log
        self.alive = True
        self.workers = {w["pid"]: _dirty_worker(w, self.pid, cfg, log) for w in view["workers"]}

    def __repr__(self):
        return "<DirtyArbiter %s>" % self.pid


def _dirty_worker(view, ppid, cfg, log):
    return DirtyWorker(view["age"], ppid, view["app_paths"], cfg, log, pid=view["pid"], booted=view["booted"], aborted=view["aborted"])


def dirty_call(name, message_json):
    """Runs on_dirty_starting(arbiter), dirty_post_fork(arbiter, worker) or
    dirty_worker_exit(arbiter, worker) from a dirty arbiter's hook message
    (src/dirty/messages.ts); returns '' or the traceback to log."""
    if name not in _hooks:
        return ""
    message = json.loads(message_json)
    cfg, log = _arbiter["cfg"], _arbiter["log"]
    arbiter = DirtyArbiter(message["arbiter"], cfg, log)
    args = [arbiter]
    if message.get("worker") is not None:
        w = message["worker"]
        args.append(arbiter.workers.get(w["pid"]) or _dirty_worker(w, arbiter.pid, cfg, log))
    try:
        call(name, *args)
    except Exception:
        return traceback.format_exc()
    return ""
