"""Finds the WSGI callable the way Gunicorn's util.import_app does.

`module` means `module:application`; `module:name` an attribute;
`module:factory(...)` a call with literal arguments. The messages are
Gunicorn's, so people searching for them find the same answers.
"""

import ast
import importlib
import logging
import os
import sys
import traceback


class AppImportError(Exception):
    pass


def _called_with_wrong_args(f):
    """True when the TypeError came from calling `f` itself, not from inside it."""
    tb = sys.exc_info()[2]
    try:
        while tb is not None:
            if tb.tb_frame.f_code is getattr(f, "__code__", None):
                return False
            tb = tb.tb_next
        return True
    finally:
        del tb


def import_app(spec):
    module, sep, obj = spec.partition(":")
    if not sep:
        obj = "application"
    try:
        mod = importlib.import_module(module)
    except ImportError:
        if module.endswith(".py") and os.path.exists(module):
            msg = "Failed to find application, did you mean '%s:%s'?"
            raise ImportError(msg % (module.rsplit(".", 1)[0], obj))
        raise

    try:
        expression = ast.parse(obj, mode="eval").body
    except SyntaxError:
        raise AppImportError("Failed to parse %r as an attribute name or function call." % obj)

    if isinstance(expression, ast.Name):
        name = expression.id
        args = kwargs = None
    elif isinstance(expression, ast.Call):
        if not isinstance(expression.func, ast.Name):
            raise AppImportError("Function reference must be a simple name: %r" % obj)
        name = expression.func.id
        try:
            args = [ast.literal_eval(arg) for arg in expression.args]
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in expression.keywords}
        except ValueError:
            raise AppImportError("Failed to parse arguments as literal values: %r" % obj)
    else:
        raise AppImportError("Failed to parse %r as an attribute name or function call." % obj)

    try:
        app = getattr(mod, name)
    except AttributeError:
        if logging.getLogger("gunicorn.error").isEnabledFor(logging.DEBUG):
            traceback.print_exception(*sys.exc_info())
        raise AppImportError("Failed to find attribute %r in %r." % (name, module))

    if args is not None:
        try:
            app = app(*args, **kwargs)
        except TypeError as e:
            if _called_with_wrong_args(app):
                raise AppImportError("".join(traceback.format_exception_only(TypeError, e)).strip())
            raise

    if app is None:
        raise AppImportError("Failed to find application object: %r" % obj)
    if not callable(app):
        raise AppImportError("Application object must be callable.")
    return app


def native_extension_hint(exc):
    """Names the CPython-only extension behind an ImportError, if there is one.

    Pyodide imports only WebAssembly extensions (*.cpython-3xx-wasm32-emscripten.so),
    so a package that ships a native x86/arm build fails to import one of its
    modules (nicorn.host.extensions keeps the finder from trying the file); the
    file is still there, and that is what the user needs to see, with what to
    do about it under nicorn-py.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        name = getattr(exc, "name", None)
        if isinstance(exc, ImportError) and name:
            found = _find_native(name)
            if found:
                pkg = name.split(".")[0]
                return (
                    "package %r cannot be imported: its extension module %s is built for the host's "
                    "CPython (%s), and nicorn-py's workers run CPython %d.%d as WebAssembly (Pyodide), "
                    "which loads only extension modules built for it (*.cpython-%d%d-wasm32-emscripten.so). "
                    "Install a pure-Python version of %r (or a build for Pyodide) where the app imports "
                    "from: its virtualenv or a --pythonpath folder"
                    % (pkg, found, _machine(found), sys.version_info[0], sys.version_info[1],
                       sys.version_info[0], sys.version_info[1], pkg)
                )
        exc = exc.__cause__ or exc.__context__
    return None


# ELF e_machine values of the builds people have in a virtualenv.
_ELF_MACHINES = {3: "x86", 62: "x86-64", 40: "ARM", 183: "AArch64", 243: "RISC-V", 21: "PowerPC64", 22: "s390x"}


def _machine(path):
    """What a shared object was built for, from its header."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return "native code"
    if head[:4] == b"\x7fELF" and len(head) >= 20:
        machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
        return "Linux, " + _ELF_MACHINES.get(machine, "machine %d" % machine)
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return "macOS"
    return "native code"


def _package_dirs(dotted):
    """Directories of a package, also when its failed import removed it from sys.modules."""
    mod = sys.modules.get(dotted)
    if mod is not None:
        return list(getattr(mod, "__path__", []) or [])
    parent, _, leaf = dotted.rpartition(".")
    dirs = []
    for base in (_package_dirs(parent) if parent else sys.path):
        candidate = os.path.join(base or ".", leaf)
        if os.path.isfile(os.path.join(candidate, "__init__.py")):
            dirs.append(candidate)
    return dirs


def _find_native(dotted):
    parent, _, leaf = dotted.rpartition(".")
    dirs = _package_dirs(parent) if parent else list(sys.path)
    for d in dirs:
        try:
            names = os.listdir(d or ".")
        except OSError:
            continue
        for f in names:
            if f.startswith(leaf + ".") and (f.endswith(".so") or f.endswith(".pyd")) and "wasm32" not in f:
                return os.path.join(d, f)
    return None
