"""The app's world: what CPython's standard library finds on the host.

Most of it is below Python: src/runtime/host/ replaces Emscripten's system
calls (locks, sockets, DNS, stat times) with the host's, so CPython's own C
code reaches the host. What cannot be done there is done here, once per
interpreter, before the config file or the app runs (config.prepare_process):
each module of this package has an install() that mends one part of the
standard library, calling the host through `_nicorn_host`
(src/runtime/host/python-api.ts).
"""

import importlib

# The modules of this package whose install() runs, in this order.
_PARTS = ("extensions", "locks", "net", "tls", "urllib3_sockets", "hashing", "timezone", "sleep", "threads", "users", "unix_streams")


def install():
    for name in _PARTS:
        importlib.import_module(__name__ + "." + name).install()
