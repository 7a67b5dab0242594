"""The error log, as Gunicorn writes it: logger "gunicorn.error" on stderr."""

import logging
import sys

FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
DATEFMT = "[%Y-%m-%d %H:%M:%S %z]"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def error_logger(level_name):
    # Apps commonly reach Gunicorn's handlers through this very name.
    log = logging.getLogger("gunicorn.error")
    log.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    log.addHandler(handler)
    log.setLevel(LEVELS.get(level_name, logging.INFO))
    log.propagate = False
    return log
