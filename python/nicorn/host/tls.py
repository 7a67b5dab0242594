"""`import ssl` gives the app a real ssl module (ssl_module.py), on the host's OpenSSL.

Pyodide's stdlib ssl.py is a stub that cannot make a connection. Its
asyncio imports it at start-up, so by now `ssl` is in sys.modules and
asyncio's modules hold it: install() takes it out, has ssl_module.py loaded
as `ssl` on the first import (_on_import.instead_of), and gives asyncio a
stand-in that imports it on first use. Nothing is imported before the app
asks: a worker that never uses TLS pays nothing at boot.
"""

import importlib.util
import os
import sys
import types

from ._on_import import instead_of

_IMPL = os.path.join(os.path.dirname(__file__), "ssl_module.py")


class _LazySSL(types.ModuleType):
    """What asyncio's modules hold as `ssl` until they use it: the real module, imported then."""

    def __getattr__(self, name):
        import ssl

        return getattr(ssl, name)


def install():
    instead_of("ssl", lambda: importlib.util.spec_from_file_location("ssl", _IMPL))
    stub = sys.modules.get("ssl")
    if stub is not None and getattr(stub, "__file__", None) != _IMPL:
        del sys.modules["ssl"]
        lazy = _LazySSL("ssl")
        for mod in list(sys.modules.values()):
            if getattr(mod, "ssl", None) is stub:
                mod.ssl = lazy
