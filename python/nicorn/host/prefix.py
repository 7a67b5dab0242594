"""sys.prefix and friends as CPython on the host has them.

Pyodide's interpreter has its prefix at its own root, "/": every path on the
host is "below sys.prefix", so libraries that ask whether a package is
installed or lives in a project folder take every app for an installed one
(Flask then puts the instance folder in /var/<app>-instance). CPython run
from a virtualenv has the venv as prefix and the base interpreter's prefix as
base_prefix; a system CPython (Debian's python3) has /usr for both. The host
layer computes them (src/runtime/layout.ts pythonPrefix) and boot.ts calls
install() before the config file and the app, once per interpreter; a
snapshot carries the result.

The standard library is where it really is, in Pyodide's /lib: sysconfig's
"stdlib" and "include" paths keep naming it (installed_base: the root), so that tools
which tell the standard library's frames or files from the app's (debuggers,
reloaders, coverage) still recognise it; the paths computed from the prefix
("purelib", "platlib", "scripts", "data") are the venv's or /usr's.
"""

import os
import site
import sys

# Where Pyodide's standard library lives: "{installed_base}/lib/python3.14" is /lib/python3.14.
_INTERPRETER_BASE = ""


def install(prefix, base_prefix):
    prefix = os.path.normpath(prefix)
    base_prefix = os.path.normpath(base_prefix)
    sys.prefix = sys.exec_prefix = prefix
    sys.base_prefix = sys.base_exec_prefix = base_prefix
    # site computed these when the interpreter started.
    site.PREFIXES[:] = [sys.prefix, sys.exec_prefix]
    sysconfig = sys.modules.get("sysconfig")
    if sysconfig is not None:
        _reset_sysconfig(sysconfig)
    else:
        _on_import("sysconfig", _reset_sysconfig)


def _reset_sysconfig(sysconfig):
    """sysconfig read sys.prefix when it was imported and caches its variables."""
    sysconfig._PREFIX = sysconfig._EXEC_PREFIX = sys.prefix
    sysconfig._BASE_PREFIX = sysconfig._BASE_EXEC_PREFIX = sys.base_prefix
    sysconfig._CONFIG_VARS = None
    if hasattr(sysconfig, "_CONFIG_VARS_INITIALIZED"):
        sysconfig._CONFIG_VARS_INITIALIZED = False
    init = sysconfig._init_config_vars

    def _init_config_vars():
        init()
        sysconfig._CONFIG_VARS["installed_base"] = _INTERPRETER_BASE
        sysconfig._CONFIG_VARS["installed_platbase"] = _INTERPRETER_BASE

    sysconfig._init_config_vars = _init_config_vars


def _on_import(name, fix):
    """Runs fix(module) once `name` is first imported (sysconfig is not, at boot:
    importing it then would cost every worker's start the time of a module
    most apps never use)."""

    class _Fixer:
        @staticmethod
        def find_spec(fullname, path=None, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(_Fixer)
            import importlib.util

            spec = importlib.util.find_spec(fullname)
            loader = spec.loader
            exec_module = loader.exec_module

            class _Loader:
                """The module's own loader (get_source for tracebacks, ...), with fix() after exec_module."""

                def __getattr__(self, attr):
                    return getattr(loader, attr)

                def create_module(self, spec):
                    return loader.create_module(spec)

                def exec_module(self, module):
                    exec_module(module)
                    fix(module)

            spec.loader = _Loader()
            return spec

    sys.meta_path.insert(0, _Fixer)
