"""Builds the WSGI environ (PEP 3333 plus Gunicorn's keys) from a head record.

The head record is one latin-1 string whose NUL-separated fields are, in
order: method, request target, HTTP version, has-body flag, scheme, peer
address, peer port, server name, server port, PROXY protocol info, then header names and values
alternating (see encodeHead in src/bridge/protocol.ts).
"""

import os
from urllib.parse import unquote_to_bytes, urlsplit

from . import SERVER_SOFTWARE
from .client_socket import ClientSocket
from .log import wsgi_errors

HEAD_FIELDS = 10


class ErrorStream:
    """wsgi.errors: text written here lands in the error log, as Gunicorn's
    WSGIErrorsWrapper writes it (the error log file, or sys.stderr for '-')."""

    def write(self, data):
        stream = wsgi_errors()
        stream.write(data)
        stream.flush()

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        wsgi_errors().flush()


def base_environ(multiprocess, file_wrapper):
    """The keys that are the same for every request of this worker."""
    return {
        "wsgi.version": (1, 0),
        "wsgi.errors": ErrorStream(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": file_wrapper,
        "wsgi.input_terminated": True,
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
    }


def split_target(target):
    """(path, query) of a request target, as Gunicorn's split_request_uri."""
    if target.startswith("/") and not target.startswith("//"):
        path, _, query = target.partition("#")[0].partition("?")
        return path, query
    if target.startswith("//"):
        # urlsplit would take "//x" as a network location; RFC 9112 says path.
        parts = urlsplit("." + target)
        return parts.path[1:], parts.query
    parts = urlsplit(target)
    return parts.path, parts.query


def unquote_to_wsgi_str(path):
    if "%" not in path:
        return path
    return unquote_to_bytes(path).decode("latin-1")


def server_address(name, port, host_header, scheme):
    """SERVER_NAME / SERVER_PORT; on a unix socket they come from Host, as in Gunicorn."""
    if name:
        return name, port
    if host_header:
        host, sep, hport = host_header.rpartition(":")
        if not sep or "]" in hport:
            host, hport = host_header, ""
        if not hport:
            hport = {"http": "80", "https": "443"}.get(scheme, "")
        return host, hport
    return "", ""


# A header name as sent -> (its environ key, what else it is); clients send the same few names.
_KEYS = {}
_KEYS_MAX = 512
_PLAIN, _CONTENT, _SCRIPT_NAME, _HOST = range(4)


def _environ_key(raw):
    name = raw.upper()
    # Names with "_" arrive only when allowed (header_map, forwarder_headers):
    # the I/O thread has applied those rules already.
    if name in ("CONTENT-TYPE", "CONTENT-LENGTH"):
        entry = (name.replace("-", "_"), _CONTENT)
    else:
        key = "HTTP_" + name.replace("-", "_")
        kind = _SCRIPT_NAME if name == "SCRIPT_NAME" else _HOST if key == "HTTP_HOST" else _PLAIN
        entry = (key, kind)
    if len(_KEYS) >= _KEYS_MAX:
        _KEYS.clear()
    _KEYS[raw] = entry
    return entry


def build(fields, base, body):
    method, target, version, _, scheme, raddr, rport, sname, sport, proxy = fields[:HEAD_FIELDS]
    environ = base.copy()
    path, query = split_target(target)
    script_name = os.environ.get("SCRIPT_NAME", "")
    headers = fields
    host = None
    keys = _KEYS
    for i in range(HEAD_FIELDS, len(headers) - 1, 2):
        raw = headers[i]
        key, kind = keys.get(raw) or _environ_key(raw)
        value = headers[i + 1]
        if kind == _CONTENT:
            environ[key] = value
            continue
        if kind == _SCRIPT_NAME:
            script_name = value
        elif kind == _HOST:
            host = value
        prev = environ.get(key)
        environ[key] = value if prev is None else prev + "," + value
    if script_name:
        if path.startswith(script_name):
            path = path[len(script_name):]
        else:
            raise ValueError("Request path %r does not start with SCRIPT_NAME %r" % (path, script_name))
    environ["REQUEST_METHOD"] = method
    environ["SCRIPT_NAME"] = script_name
    environ["PATH_INFO"] = unquote_to_wsgi_str(path)
    environ["QUERY_STRING"] = query
    environ["RAW_URI"] = target
    environ["SERVER_PROTOCOL"] = "HTTP/" + version
    environ["SERVER_NAME"], environ["SERVER_PORT"] = server_address(sname, sport, host, scheme)
    environ["REMOTE_ADDR"] = raddr
    environ["REMOTE_PORT"] = rport
    if proxy:
        # Gunicorn's proxy_environ: what the PROXY protocol header said.
        environ["PROXY_PROTOCOL"], environ["PROXY_ADDR"], environ["PROXY_PORT"] = proxy.split(" ")
    environ["wsgi.url_scheme"] = scheme
    environ["wsgi.input"] = body
    environ["gunicorn.socket"] = ClientSocket(raddr, rport, sname, sport)
    return environ
