"""DirtyApp, the base class of dirty applications (Gunicorn 26's
gunicorn.dirty.app): init() once in each dirty worker that loads it,
__call__(action, *args, **kwargs) per request (the method of that name),
close() when the worker stops. Instance state persists between requests."""

import importlib

from .errors import DirtyAppError, DirtyAppNotFoundError


class DirtyApp:
    # How many dirty workers load this app (None: all); "module:Class:N" in dirty_apps takes precedence.
    workers = None

    def init(self):
        pass

    def __call__(self, action, *args, **kwargs):
        method = getattr(self, action, None)
        if method is None or action.startswith("_"):
            raise ValueError("Unknown action: %s" % action)
        return method(*args, **kwargs)

    def close(self):
        pass


def parse_dirty_app_spec(spec):
    """("module:Class", N or None) of a dirty_apps entry."""
    expected = "Expected 'module.path:ClassName' or 'module.path:ClassName:N'"
    parts = spec.split(":")
    if len(parts) == 2:
        return spec, None
    if len(parts) != 3:
        raise DirtyAppError("Invalid import path format: %s. %s" % (spec, expected), app_path=spec)
    module, cls, count = parts
    try:
        n = int(count)
    except ValueError:
        raise DirtyAppError("Invalid worker count in spec: %s. Expected integer, got '%s'" % (spec, count), app_path=spec) from None
    if n < 1:
        raise DirtyAppError("Invalid worker count in spec: %s. Worker count must be >= 1, got %d" % (spec, n), app_path=spec)
    return "%s:%s" % (module, cls), n


def load_dirty_app(import_path):
    """An instance of the class `import_path` names, checked for init, __call__ and close."""
    if ":" not in import_path:
        raise DirtyAppError("Invalid import path format: %s. Expected 'module.path:ClassName'" % import_path, app_path=import_path)
    module_name, class_name = import_path.rsplit(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise DirtyAppNotFoundError(import_path) from e
    klass = getattr(module, class_name, None)
    if klass is None:
        raise DirtyAppNotFoundError(import_path)
    if not isinstance(klass, type):
        raise DirtyAppError("%s is not a class" % import_path, app_path=import_path)
    try:
        app = klass()
    except Exception as e:
        raise DirtyAppError("Failed to instantiate %s: %s" % (import_path, e), app_path=import_path) from e
    for name in ("init", "__call__", "close"):
        if not callable(getattr(app, name, None)):
            raise DirtyAppError("%s is missing required method: %s" % (import_path, name), app_path=import_path)
    return app


def load_dirty_apps(import_paths):
    return {path: load_dirty_app(path) for path in import_paths}
