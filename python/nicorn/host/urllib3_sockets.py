"""urllib3 (and so requests) on the host's sockets, as under CPython.

urllib3 2.x, seeing sys.platform == "emscripten", swaps its connection
classes at import for ones that send requests through JavaScript's fetch
(urllib3.contrib.emscripten). Under Node those need JSPI and
runPythonAsync, so in a worker every request fails: "urllib3 only works in
Node.js with pyodide.runPythonAsync and requires the flag
--experimental-wasm-stack-switching". Under nicorn-py `socket` and `ssl` are
the host's, so urllib3 keeps its own classes: its emscripten module is
found here first, with an inject_into_urllib3() that leaves them in place.
"""

import importlib.machinery

from ._on_import import instead_of

_NAME = "urllib3.contrib.emscripten"


class _KeepOwnConnections:
    """Loader of urllib3.contrib.emscripten in place of urllib3's own."""

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        module.__doc__ = "urllib3's fetch-based connections, off under nicorn-py (nicorn/host/urllib3_sockets.py)."
        module.inject_into_urllib3 = lambda: None


def install():
    instead_of(_NAME, lambda: importlib.machinery.ModuleSpec(_NAME, _KeepOwnConnections))
