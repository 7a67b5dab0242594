"""Extension modules built for the host's CPython are not candidates for import.

A virtualenv made by the host's python3 holds C extensions built for it
(x86-64 ELF: "_speedups.cpython-313-x86_64-linux-gnu.so", or "_rust.abi3.so").
Workers run CPython as WebAssembly and load only WebAssembly extensions; many
packages ship a pure-Python fallback for their extension (MarkupSafe, PyYAML,
charset-normalizer, msgpack, SQLAlchemy) and use it when the extension's
import raises ImportError. An extension with a CPython tag of another platform
is never considered by the import system, but an ".abi3.so" or a plain ".so"
matches Pyodide's suffixes too: the finder would pick it over the module of
the same name beside it (mypyc builds ship "md.abi3.so" next to "md.py") and
fail to load it.

install() makes the path finder leave out every ".so" that is not WebAssembly,
so the import goes on as if the file were absent: to the source beside it, to
the next sys.path entry, or to a ModuleNotFoundError that the package's
fallback catches. A package with no fallback fails to import, and
nicorn.loader.native_extension_hint names the file behind it.
"""

import sys
from importlib import machinery

_WASM_MAGIC = b"\0asm"


def is_foreign_extension(path):
    """True for a shared object that is not WebAssembly (an ELF or Mach-O build for the host's CPython)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) != _WASM_MAGIC
    except OSError:
        return False


class HostFileFinder(machinery.FileFinder):
    """FileFinder whose directory listing leaves out foreign extension modules."""

    def _fill_cache(self):
        super()._fill_cache()
        foreign = {
            name
            for name in self._path_cache
            if name.endswith(".so") and is_foreign_extension((self.path or ".") + "/" + name)
        }
        if foreign:
            self._path_cache = self._path_cache - foreign
            relaxed = getattr(self, "_relaxed_path_cache", None)
            if relaxed:
                self._relaxed_path_cache = relaxed - {n.lower() for n in foreign}


def install():
    hook = HostFileFinder.path_hook(*_loader_details())
    for i, existing in enumerate(sys.path_hooks):
        # The stdlib's FileFinder hook is a closure named path_hook_for_FileFinder.
        if getattr(existing, "__name__", "") == "path_hook_for_FileFinder":
            sys.path_hooks[i] = hook
            break
    else:
        sys.path_hooks.append(hook)
    # Finders made before (for the standard library, nicorn) are made again on their next use.
    sys.path_importer_cache.clear()


def _loader_details():
    from importlib._bootstrap_external import _get_supported_file_loaders

    return _get_supported_file_loaders()
