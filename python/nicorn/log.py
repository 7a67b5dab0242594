"""The error log, as Gunicorn's glogging.Logger sets up logger "gunicorn.error".

Its handler writes Gunicorn's line format to the error log the I/O thread
owns (stderr, or the --error-logfile file, reopened on USR1) through the JS
module `_nicorn_log` (src/runtime/boot.ts, src/log/error-log.ts). With
--log-syslog a second handler hands each record to the I/O thread, which
sends it to syslog; with --statsd-host the logger's calls are counted
(gunicorn.log.*) as Gunicorn's Statsd logger counts them.

Apps reach these handlers by name (the usual Flask recipe copies
logging.getLogger("gunicorn.error").handlers); Python logging the app
configures itself keeps working as configured.
"""

import logging
import sys

try:
    import _nicorn_log as _host
except ImportError:  # an interpreter nicorn-py did not boot
    _host = None

FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
DATEFMT = "[%Y-%m-%d %H:%M:%S %z]"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class ErrorLogStream:
    """The error log (file or stderr) as a text stream: the stream of the
    gunicorn.error handler, and wsgi.errors when the error log is a file."""

    encoding = "utf-8"
    errors = "strict"
    closed = False

    def write(self, data):
        if isinstance(data, (bytes, bytearray)):
            data = bytes(data).decode("utf-8", "replace")
        if data:
            _host.write(data)
        return len(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def writable(self):
        return True

    def isatty(self):
        return False

    def __repr__(self):
        return "<nicorn-py error log>"


ERROR_STREAM = ErrorLogStream() if _host is not None else None


class SyslogForwardHandler(logging.Handler):
    """Gunicorn's SysLogHandler on gunicorn.error: the I/O thread sends the
    datagram ("<PRI>gunicorn.<prefix>.error: [pid] message")."""

    def emit(self, record):
        try:
            _host.record(record.levelname, self.format(record))
        except Exception:
            self.handleError(record)


class StatsdFilter(logging.Filter):
    """Gunicorn's Statsd logger: critical, error, warning and exception calls
    are counted (gunicorn.log.<kind>); extra={"metric", "value", "mtype"}
    emits a metric, and a message-less info/debug call logs nothing."""

    def filter(self, record):
        metric = getattr(record, "metric", None)
        value = getattr(record, "value", None)
        mtype = getattr(record, "mtype", None)
        try:
            if metric and value is not None and mtype:
                _host.metric(str(mtype), str(metric), str(value))
            if record.levelno == logging.CRITICAL:
                _host.count("critical")
            elif record.levelno == logging.ERROR:
                _host.count("exception" if record.exc_info else "error")
            elif record.levelno == logging.WARNING:
                _host.count("warning")
        except Exception:
            pass
        return bool(record.msg) or record.levelno >= logging.WARNING


def error_logger(level_name):
    # Apps commonly reach Gunicorn's handlers through this very name.
    log = logging.getLogger("gunicorn.error")
    log.propagate = False
    log.setLevel(LEVELS.get(level_name, logging.INFO))
    # Logger.setup replaces its own handlers only, as _set_handler does.
    for h in [h for h in log.handlers if getattr(h, "_gunicorn", False)]:
        log.removeHandler(h)
    for f in [f for f in log.filters if isinstance(f, StatsdFilter)]:
        log.removeFilter(f)
    if _host is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.StreamHandler(ERROR_STREAM)
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    handler._gunicorn = True
    log.addHandler(handler)
    if _host is not None and _host.forward_records():
        syslog = SyslogForwardHandler()
        syslog.setFormatter(logging.Formatter("%(message)s"))
        syslog._gunicorn = True
        log.addHandler(syslog)
    if _host is not None and _host.forward_counts():
        log.addFilter(StatsdFilter())
    return log


def wsgi_errors():
    """Where wsgi.errors writes, as Gunicorn's WSGIErrorsWrapper: sys.stderr
    when the error log is '-', else the error log file."""
    if _host is None or _host.to_stderr():
        return sys.stderr
    return ERROR_STREAM
