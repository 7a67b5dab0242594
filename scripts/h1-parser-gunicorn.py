"""Writes test/unit/corpus/h1-parser-gunicorn.json: requests built from the
pieces below (methods, targets, versions, header lines, bodies: what RFC 9112
and Gunicorn's parser rules turn on), each read by Gunicorn's own parser
(gunicorn/http/parser.py, the pure-Python one) under three groups of
settings, with what it made of them: the requests (method, target, version,
header pairs, body) or the exception it raised. The unit suite
(test/unit/h1-parser.test.ts) reads each through h1-parser.ts and the front
door's rules and expects the same. Gunicorn is needed only to regenerate:

    node fixtures/fetch-packages.mjs --into /tmp/gu forky:python3-gunicorn
    PYTHONPATH=/tmp/gu/site-packages python3 scripts/h1-parser-gunicorn.py
"""

import json

import gunicorn
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

METHODS = ["GET", "-BLARGH", "get", "GE", "G#T", "ABCDEFGHIJKLMNOPQRSTU", "M-SEARCH", "GET(", "P\xe9T", "GET "]
TARGETS = ["/", "/a b", "*", "example.com:80", "http://x/y?z#f", "/\xc3\xa0", "//x", "", "http://[::1]/", "http://[zz]/"]
VERSIONS = ["HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "HTTP/1.10", "http/1.1", "HTTP/1.1 ", "HTTP/3.1"]
HEADERS = [
    "Host: x", "Host : x", "Host:x", "X: a\x01b", "X: a\tb", "X:  a  ", "X_Y: 1", " X: 1", "X: 1\r\n 2", "X: 1\r\n\t2",
    "X", ": v", "X\xdf: 1", "Content-Length: 3", "Content-Length: +3", "Content-Length: 3\r\nContent-Length: 3",
    "Transfer-Encoding: identity\r\nContent-Length: 3", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked",
    "Transfer-Encoding: chunked, gzip", "Transfer-Encoding: br", "Transfer-Encoding: identity", "Host: a\r\nHost: b",
    "Connection: close", "Expect: 100-continue",
]
BODIES = [
    "", "abc", "3\r\nabc\r\n0\r\n\r\n", "3 ; x\r\nabc\r\n0\r\n\r\n", "3 \r\nabc\r\n0\r\n\r\n", "3;a\rb\r\nabc\r\n0\r\n\r\n",
    "3\r\nabcXX0\r\n\r\n", "3\r\nabc\r\n0\r\nX: y\r\n\r\n", "3\r\nabc\r\n0\r\nHost: y\r\n\r\n", "0x3\r\nabc\r\n0\r\n\r\n",
    "A\r\n0123456789\r\n0\r\n\r\n",
]
SETTINGS = [
    {},
    {"permit_obsolete_folding": True, "strip_header_spaces": True, "permit_unconventional_http_method": True,
     "permit_unconventional_http_version": True},
    {"permit_unconventional_http_method": True, "casefold_http_method": True},
]


def cases():
    out = [f"{m} / HTTP/1.1\r\nHost: x\r\n\r\n" for m in METHODS]
    out += [f"GET {t} HTTP/1.1\r\nHost: x\r\n\r\n" for t in TARGETS]
    out += [f"GET / {v}\r\nHost: x\r\n\r\n" for v in VERSIONS]
    out += [f"POST /p HTTP/1.1\r\n{h}\r\n\r\n{b}" for h in HEADERS for b in BODIES]
    out += ["GET  / HTTP/1.1\r\n\r\n", "\r\nGET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\n\n", "GET / HTTP/1.1\r\nX: 1\n\r\n"]
    return out


def read(data, settings):
    cfg = Config()
    cfg.set("forwarded_allow_ips", "127.0.0.1")
    for k, v in settings.items():
        cfg.set(k, v)
    requests = []
    try:
        for req in RequestParser(cfg, iter([data.encode("latin-1")]), ("127.0.0.1", 1)):
            body = b""
            while chunk := req.body.read(8192):
                body += chunk
            requests.append([req.method, req.uri, "%d.%d" % req.version, [list(h) for h in req.headers], body.decode("latin-1")])
    except StopIteration:
        pass
    except Exception as e:  # the parser's exception is the expectation
        return {"requests": requests, "error": type(e).__name__}
    return {"requests": requests, "error": None}


def main():
    all_cases = cases()
    groups = [{"settings": s, "results": [read(c, s) for c in all_cases]} for s in SETTINGS]
    doc = {"gunicorn": gunicorn.__version__, "cases": all_cases, "groups": groups}
    with open("test/unit/corpus/h1-parser-gunicorn.json", "w") as f:
        json.dump(doc, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
