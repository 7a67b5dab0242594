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
import sys

_NAME = "urllib3.contrib.emscripten"


class _KeepOwnConnections:
    """Finder and loader of urllib3.contrib.emscripten, before urllib3's own."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == _NAME:
            return importlib.machinery.ModuleSpec(name, cls)
        return None

    @classmethod
    def create_module(cls, spec):
        return None

    @classmethod
    def exec_module(cls, module):
        module.__doc__ = "urllib3's fetch-based connections, off under nicorn-py (nicorn/host/urllib3_sockets.py)."
        module.inject_into_urllib3 = lambda: None

    @classmethod
    def invalidate_caches(cls):
        pass


def install():
    if _KeepOwnConnections not in sys.meta_path:
        sys.meta_path.insert(0, _KeepOwnConnections)
