"""A ceiling on sys.setrecursionlimit(), the deepest Python stack whose
RecursionError the worker's WebAssembly stack survives (src/runtime/stack.ts
has the measurements). An app that asks for more gets the ceiling and one
warning in the error log: its deep recursion then ends in RecursionError,
fast, instead of crashing the interpreter."""

import logging
import sys

_original = sys.setrecursionlimit
_ceiling = None
_warned = False


def _capped(limit):
    global _warned
    if isinstance(limit, int) and _ceiling is not None and limit > _ceiling:
        if not _warned:
            _warned = True
            logging.getLogger("gunicorn.error").warning(
                "sys.setrecursionlimit(%d) capped at %d: a deeper Python stack would overflow "
                "the worker's WebAssembly stack", limit, _ceiling)
        limit = _ceiling
    _original(limit)


def install(ceiling):
    """Caps sys.setrecursionlimit() from now on (and the current limit)."""
    global _ceiling
    _ceiling = ceiling
    sys.setrecursionlimit = _capped
    if sys.getrecursionlimit() > ceiling:
        _original(ceiling)
