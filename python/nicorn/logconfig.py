"""logconfig, logconfig_dict, logconfig_json: the end of Gunicorn's Logger.setup.

Gunicorn first gives "gunicorn.error" (and, with an access log, "gunicorn.access")
handlers of its own, then applies the user's configuration over them with
logging.config: dictConfig over CONFIG_DEFAULTS updated with the dict (or the
JSON file's object), or fileConfig for the ini file. The same happens here, in
every interpreter that logs: a worker's Python thread (the app's lines, the
tracebacks of failed requests) and the arbiter's config interpreter, which
also emits, as records of these loggers, the lines nicorn-py's Node side
writes (the arbiter's, each worker's I/O thread's, the access lines), with
the pid of the process that wrote them (emit, access).
"""

import copy
import json
import logging
import logging.config
import os
import sys

from .log import LEVELS

CONFIG_DEFAULTS = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {
            "level": "INFO",
            "handlers": ["error_console"],
            "propagate": True,
            "qualname": "gunicorn.error",
        },
        "gunicorn.access": {
            "level": "INFO",
            "handlers": ["console"],
            "propagate": True,
            "qualname": "gunicorn.access",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stderr",
        },
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            "class": "logging.Formatter",
        }
    },
}


def active(cfg):
    return bool(cfg.get("logconfig_dict") or cfg.get("logconfig_json") or cfg.get("logconfig"))


def _access_logger(cfg):
    """Gunicorn's _set_handler for gunicorn.access: its own handler when there is an access log."""
    log = logging.getLogger("gunicorn.access")
    log.propagate = False
    log.setLevel(logging.INFO)
    for h in [h for h in log.handlers if getattr(h, "_gunicorn", False)]:
        log.removeHandler(h)
    target = cfg.get("accesslog")
    if target is not None:
        h = logging.StreamHandler(sys.stdout) if target == "-" else logging.FileHandler(target)
        h.setFormatter(logging.Formatter("%(message)s"))
        h._gunicorn = True
        log.addHandler(h)
    return log


def setup(cfg):
    """Applies the configuration (after nicorn.log.error_logger set up gunicorn.error).
    Raises RuntimeError with Gunicorn's message when it cannot be applied."""
    _access_logger(cfg)
    if cfg.get("logconfig_dict"):
        config = copy.deepcopy(CONFIG_DEFAULTS)
        config.update(cfg["logconfig_dict"])
        try:
            logging.config.dictConfig(config)
        except (AttributeError, ImportError, ValueError, TypeError) as exc:
            raise RuntimeError(str(exc)) from exc
    elif cfg.get("logconfig_json"):
        config = copy.deepcopy(CONFIG_DEFAULTS)
        if os.path.exists(cfg["logconfig_json"]):
            try:
                with open(cfg["logconfig_json"]) as f:
                    config.update(json.load(f))
                logging.config.dictConfig(config)
            except (json.JSONDecodeError, AttributeError, ImportError, ValueError, TypeError) as exc:
                raise RuntimeError(str(exc)) from exc
    elif cfg.get("logconfig"):
        if os.path.exists(cfg["logconfig"]):
            defaults = dict(CONFIG_DEFAULTS)
            defaults["__file__"] = cfg["logconfig"]
            defaults["here"] = os.path.dirname(cfg["logconfig"])
            logging.config.fileConfig(cfg["logconfig"], defaults=defaults, disable_existing_loggers=False)
        else:
            raise RuntimeError("Error: log config '%s' not found" % cfg["logconfig"])


def _handle(name, level, msg, args, pid):
    log = logging.getLogger(name)
    if not log.isEnabledFor(level):
        return
    record = log.makeRecord(name, level, "(nicorn-py)", 0, msg, args, None)
    # The line is the arbiter's or a worker's, whichever process wrote it.
    record.process = pid
    log.handle(record)


def emit(level_name, message, pid):
    """A line of nicorn-py's Node side, as a record of gunicorn.error."""
    _handle("gunicorn.error", LEVELS.get(level_name, logging.INFO), message, None, pid)


class SafeAtoms(dict):
    """Gunicorn's SafeAtoms: '-' for a missing atom, {name}i/o/e atoms case-insensitive, quotes escaped."""

    def __init__(self, atoms):
        dict.__init__(self)
        for key, value in atoms.items():
            self[key] = value.replace('"', '\\"') if isinstance(value, str) else value

    def __getitem__(self, k):
        if k.startswith("{"):
            kl = k.lower()
            return super().__getitem__(kl) if kl in self else "-"
        return super().__getitem__(k) if k in self else "-"


def access(fmt, atoms_json, pid):
    """Gunicorn's Logger.access: gunicorn.access.info(access_log_format, SafeAtoms(atoms))."""
    atoms = json.loads(atoms_json)
    # Gunicorn's B, T, D and M are numbers (B: None when nothing was sent).
    for key in ("T", "D", "M"):
        if key in atoms:
            atoms[key] = int(atoms[key])
    atoms["B"] = int(atoms["B"]) if atoms.get("B") not in (None, "-") else None
    try:
        _handle("gunicorn.access", logging.INFO, fmt, (SafeAtoms(atoms),), pid)
    except Exception:
        import traceback

        logging.getLogger("gunicorn.error").error(traceback.format_exc())


def setup_json(settings_json):
    """For the arbiter (src/config/interpreter.ts): '' when applied, else JSON
    {"message", "traceback"} of the failure."""
    import traceback

    from .log import error_logger

    cfg = json.loads(settings_json)
    try:
        error_logger(cfg.get("loglevel", "info"))
        setup(cfg)
    except Exception as exc:
        return json.dumps({"message": str(exc), "traceback": traceback.format_exc()})
    return ""


def reopen_files():
    """USR1: every FileHandler of every logger opens its file again (logrotate), as Gunicorn's reopen_files."""
    for name in list(logging.root.manager.loggerDict):
        log = logging.getLogger(name)
        for handler in log.handlers:
            if isinstance(handler, logging.FileHandler):
                handler.acquire()
                try:
                    if handler.stream:
                        handler.close()
                        handler.stream = handler._open()
                finally:
                    handler.release()
