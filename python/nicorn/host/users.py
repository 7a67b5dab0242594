"""`import pwd` and `import grp` give the host's user and group databases.

Pyodide's CPython is built without either module; CPython on Linux has them,
and libraries import them unconditionally (Gunicorn's util.py, which its
gunicorn.dirty client imports). pwd_module.py and grp_module.py answer from
the host's C library (src/runtime/host/users.ts), loaded as `pwd` and `grp`
on first import (_on_import.instead_of): nothing is loaded before.
"""

import importlib.util
import os

from ._on_import import instead_of

_HERE = os.path.dirname(__file__)


def install():
    for name in ("pwd", "grp"):
        path = os.path.join(_HERE, name + "_module.py")
        instead_of(name, lambda name=name, path=path: importlib.util.spec_from_file_location(name, path))
