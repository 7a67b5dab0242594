"""Mending or replacing a module when the app first imports it.

Importing hashlib or zoneinfo at boot only to patch them would cost every
worker's start (~45 ms and ~110 ms in a loaded Pyodide) for apps that never
use them; a finder at the front of sys.meta_path runs the patch right after
the module's own code instead (when_imported), or gives another module in
its place (instead_of: ssl, urllib3's fetch-based connections).
"""

import sys


class _MendingLoader:
    def __init__(self, loader, mend):
        self._loader = loader
        self._mend = mend

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._mend(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Finder:
    def __init__(self):
        self.mends = {}
        self.replacements = {}

    def find_spec(self, name, path=None, target=None):
        replacement = self.replacements.get(name)
        if replacement is not None:
            return replacement()
        mend = self.mends.get(name)
        if mend is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                spec.loader = _MendingLoader(spec.loader, mend)
                return spec
        return None

    def invalidate_caches(self):
        pass


_finder = _Finder()


def _ensure_first():
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def when_imported(name, mend):
    """Calls mend(module) now if `name` is imported, else right after it is."""
    module = sys.modules.get(name)
    if module is not None:
        mend(module)
        return
    _finder.mends[name] = mend
    _ensure_first()


def instead_of(name, make_spec):
    """From now on `import name` loads the module make_spec() describes (a ModuleSpec)."""
    _finder.replacements[name] = make_spec
    _ensure_first()
