"""Writes test/e2e/corpus/gunicorn-26.json from Gunicorn's request corpus.

Gunicorn's tests/requests/{valid,invalid}/NAME.http hold raw requests and
NAME.py what its parser must make of them (the request(s), or the exception).
This reads both with Gunicorn's own test loader (tests/treq.py) and its
defaults, and writes, per case: the bytes as sent, whether the case runs with
Gunicorn's default settings, and the expectation in WSGI terms (what the app
sees in environ, or that the request is refused). Gunicorn itself is not
needed to run the e2e suite, only to regenerate the file:

    git clone https://github.com/benoitc/gunicorn /tmp/gunicorn   # at 26.2.x
    PYTHONPATH=/tmp/gunicorn:/tmp/gunicorn/tests python3 scripts/gunicorn-corpus.py /tmp/gunicorn

Gunicorn's corpus is MIT-licensed (Copyright 2009-2026 Benoit Chesneau and contributors).
"""

import base64
import glob
import json
import os
import sys

import treq
from gunicorn import __version__
from gunicorn.config import Config
from gunicorn.util import unquote_to_wsgi_str


def settings(cfg):
    out = {}
    for name, s in cfg.settings.items():
        if name == "http_parser":
            continue
        v = s.get()
        out[name] = v if isinstance(v, (str, int, bool, float, type(None))) else repr(v)
    return out


def expect_request(r):
    environ = {}
    for name, value in r["headers"]:
        key = name.replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = value if key not in environ else environ[key] + "," + value
    uri = r["uri"]
    return {
        "method": r["method"],
        "raw_uri": uri["raw"],
        "path_info": unquote_to_wsgi_str(uri["path"]),
        "query": uri["query"],
        "protocol": "HTTP/%d.%d" % r["version"],
        "headers": environ,
        "body": base64.b64encode(r["body"] if isinstance(r["body"], bytes) else r["body"].encode("latin-1")).decode(),
    }


def main(root):
    defaults = settings(Config())
    cases = []
    for kind in ("valid", "invalid"):
        for http in sorted(glob.glob(os.path.join(root, "tests", "requests", kind, "*.http"))):
            name = os.path.splitext(os.path.basename(http))[0]
            env = treq.load_py(os.path.splitext(http)[0] + ".py")
            expect, cfg = env["request"], env["cfg"]
            changed = sorted(k for k, v in settings(cfg).items() if defaults.get(k) != v)
            data = treq.request(http, expect if kind == "valid" else None).data
            case = {"name": "%s/%s" % (kind, name), "bytes": base64.b64encode(data).decode(), "settings": changed}
            if kind == "valid":
                reqs = expect if isinstance(expect, list) else [expect]
                case["requests"] = [expect_request(r) for r in reqs]
            else:
                case["error"] = expect.__name__
            cases.append(case)
    out = {
        "gunicorn": __version__,
        "source": "benoitc/gunicorn tests/requests (MIT License)",
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "e2e", "corpus", "gunicorn-26.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("%d cases, %d with default settings" % (len(cases), sum(1 for c in cases if not c["settings"])))


main(sys.argv[1])
