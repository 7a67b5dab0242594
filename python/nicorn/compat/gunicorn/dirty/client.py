"""gunicorn.dirty.client (python/nicorn/dirty/client.py)."""

from nicorn.dirty.client import (
    DirtyClient,
    close_dirty_client,
    close_dirty_client_async,
    get_dirty_client,
    get_dirty_client_async,
    get_dirty_socket_path,
    set_dirty_socket_path,
)

__all__ = [
    "DirtyClient",
    "get_dirty_client",
    "get_dirty_client_async",
    "close_dirty_client",
    "close_dirty_client_async",
    "get_dirty_socket_path",
    "set_dirty_socket_path",
]
