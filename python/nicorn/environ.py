"""Builds the WSGI environ (PEP 3333 plus Gunicorn's keys) from a request
head (channel.RequestHead: the head record the I/O thread sent, parsed)."""

import os
from urllib.parse import unquote_to_bytes, urlsplit

from . import SERVER_SOFTWARE
from .client_socket import ClientSocket
from .log import wsgi_errors

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


def base_environ(multiprocess, file_wrapper, multithread=False):
    """The keys that are the same for every request of this worker."""
    return {
        "wsgi.version": (1, 0),
        "wsgi.errors": ErrorStream(),
        "wsgi.multithread": multithread,
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


def build(head, base, body):
    environ = base.copy()
    target = head.target
    scheme = head.scheme
    path, query = split_target(target)
    script_name = os.environ.get("SCRIPT_NAME", "")
    headers = head.headers
    host = None
    keys = _KEYS
    for i in range(0, len(headers) - 1, 2):
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
    environ["REQUEST_METHOD"] = head.method
    environ["SCRIPT_NAME"] = script_name
    environ["PATH_INFO"] = unquote_to_wsgi_str(path)
    environ["QUERY_STRING"] = query
    environ["RAW_URI"] = target
    environ["SERVER_PROTOCOL"] = "HTTP/" + head.version
    if head.version == "2.0":
        # Gunicorn 26's HTTP/2 requests (workers/gthread.py handle_http2_request) say so here too.
        environ["HTTP_VERSION"] = "2"
    environ["SERVER_NAME"], environ["SERVER_PORT"] = server_address(head.server_name, head.server_port, host, scheme)
    environ["REMOTE_ADDR"] = head.remote_addr
    environ["REMOTE_PORT"] = head.remote_port
    proxy = head.proxy
    if proxy:
        # Gunicorn's proxy_environ: what the PROXY protocol header said.
        environ["PROXY_PROTOCOL"], environ["PROXY_ADDR"], environ["PROXY_PORT"] = proxy.split(" ")
    environ["wsgi.url_scheme"] = scheme
    environ["wsgi.input"] = body
    environ["gunicorn.socket"] = ClientSocket(head.remote_addr, head.remote_port, head.server_name, head.server_port)
    return environ
