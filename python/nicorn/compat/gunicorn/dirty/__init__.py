"""gunicorn.dirty as apps use it under Gunicorn 26: the client of the dirty
arbiter, DirtyApp, the errors and the stash (python/nicorn/dirty)."""

from nicorn.dirty.app import DirtyApp
from nicorn.dirty.client import (
    DirtyClient,
    close_dirty_client,
    close_dirty_client_async,
    get_dirty_client,
    get_dirty_client_async,
    set_dirty_socket_path,
)
from . import stash
from nicorn.dirty.stash import StashClient, StashError, StashKeyNotFoundError, StashTable, StashTableNotFoundError
from . import errors
from .errors import *  # noqa: F403 - the names errors.__all__ lists

__all__ = errors.__all__ + [
    "DirtyApp",
    "DirtyClient",
    "get_dirty_client",
    "get_dirty_client_async",
    "close_dirty_client",
    "close_dirty_client_async",
    "set_dirty_socket_path",
    "stash",
    "StashClient",
    "StashTable",
    "StashError",
    "StashTableNotFoundError",
    "StashKeyNotFoundError",
]
