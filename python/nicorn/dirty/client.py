"""The client HTTP workers' apps use (Gunicorn 26's gunicorn.dirty.client):
execute() and stream() over the dirty arbiter's Unix socket, whose path the
arbiter puts in GUNICORN_DIRTY_SOCKET. The socket is a host socket
(python/nicorn/host/net.py); a blocking read waits in the host's poll."""

import asyncio
import contextvars
import os
import socket
import threading
import time
import uuid

from . import wire
from .errors import DirtyConnectionError, DirtyError, DirtyTimeoutError


class DirtyClient:
    def __init__(self, socket_path, timeout=30.0):
        self.socket_path = socket_path
        self.timeout = timeout
        self._sock = None
        self._reader = None
        self._writer = None
        self._lock = threading.Lock()

    # ---- sync

    def connect(self):
        if self._sock is not None:
            return
        try:
            sock = wire.connect(self.socket_path, self.timeout)
        except OSError as e:
            raise DirtyConnectionError("Failed to connect to dirty arbiter: %s" % e, socket_path=self.socket_path) from e
        self._sock = sock

    def execute(self, app_path, action, *args, **kwargs):
        with self._lock:
            self.connect()
            try:
                self._sock.sendall(wire.request_frame(str(uuid.uuid4()), app_path, action, args, kwargs))
                return _result(wire.read_message(self._sock))
            except socket.timeout:
                self._close_socket()
                raise DirtyTimeoutError("Timeout waiting for dirty app response", timeout=self.timeout) from None
            except DirtyError:
                self._close_socket()
                raise
            except Exception as e:
                self._close_socket()
                raise DirtyConnectionError("Communication error: %s" % e) from e

    def stream(self, app_path, action, *args, **kwargs):
        return _StreamIterator(self, app_path, action, args, kwargs)

    def _close_socket(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def close(self):
        with self._lock:
            self._close_socket()

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- async

    async def connect_async(self):
        if self._writer is not None:
            return
        try:
            self._reader, self._writer = await asyncio.wait_for(asyncio.open_unix_connection(self.socket_path), timeout=self.timeout)
        except asyncio.TimeoutError:
            raise DirtyTimeoutError("Timeout connecting to dirty arbiter", timeout=self.timeout) from None
        except OSError as e:
            raise DirtyConnectionError("Failed to connect to dirty arbiter: %s" % e, socket_path=self.socket_path) from e

    async def execute_async(self, app_path, action, *args, **kwargs):
        await self.connect_async()
        try:
            self._writer.write(wire.request_frame(str(uuid.uuid4()), app_path, action, args, kwargs))
            await self._writer.drain()
            return _result(await asyncio.wait_for(wire.read_message_async(self._reader), timeout=self.timeout))
        except asyncio.TimeoutError:
            await self._close_async()
            raise DirtyTimeoutError("Timeout waiting for dirty app response", timeout=self.timeout) from None
        except DirtyError:
            await self._close_async()
            raise
        except Exception as e:
            await self._close_async()
            raise DirtyConnectionError("Communication error: %s" % e) from e

    def stream_async(self, app_path, action, *args, **kwargs):
        return _AsyncStreamIterator(self, app_path, action, args, kwargs)

    async def _close_async(self):
        if self._writer is not None:
            try:
                self._writer.close()
                await self._writer.wait_closed()
            except Exception:
                pass
            self._reader = self._writer = None

    async def close_async(self):
        await self._close_async()

    async def __aenter__(self):
        await self.connect_async()
        return self

    async def __aexit__(self, *exc):
        await self.close_async()


def _result(message):
    kind = message.get("type")
    if kind == "response":
        return message.get("result")
    if kind == "error":
        raise DirtyError.from_dict(message.get("error") or {})
    raise DirtyError("Unknown response type: %s" % kind)


def _chunk(message):
    """(done, data) of a stream's message: a chunk's data, or done at its end; an error raises."""
    kind = message.get("type")
    if kind == "chunk":
        return False, message.get("data")
    if kind in ("end", "response"):
        return True, None
    if kind == "error":
        raise DirtyError.from_dict(message.get("error") or {})
    raise DirtyError("Unknown message type: %s" % kind)


class _StreamIterator:
    """stream(): the chunks of a generator action, as they come. The whole
    stream is bounded by the client's timeout, each gap between chunks too."""

    def __init__(self, client, app_path, action, args, kwargs):
        self.client = client
        self.request = (app_path, action, args, kwargs)
        self.deadline = None
        self.done = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.done:
            raise StopIteration
        client = self.client
        with client._lock:
            if self.deadline is None:
                client.connect()
                self.deadline = time.monotonic() + client.timeout
                client._sock.sendall(wire.request_frame(str(uuid.uuid4()), *self.request))
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.done = True
                raise DirtyTimeoutError("Stream exceeded total timeout", timeout=client.timeout)
            try:
                client._sock.settimeout(remaining)
                message = wire.read_message(client._sock)
            except socket.timeout:
                self.done = True
                client._close_socket()
                raise DirtyTimeoutError("Stream exceeded total timeout", timeout=client.timeout) from None
            except DirtyError:
                self.done = True
                client._close_socket()
                raise
            except Exception as e:
                self.done = True
                client._close_socket()
                raise DirtyConnectionError("Communication error: %s" % e) from e
            finally:
                if client._sock is not None:
                    client._sock.settimeout(client.timeout)
        try:
            done, data = _chunk(message)
        except DirtyError:
            self.done = True
            raise
        if done:
            self.done = True
            raise StopIteration
        return data


class _AsyncStreamIterator:
    def __init__(self, client, app_path, action, args, kwargs):
        self.client = client
        self.request = (app_path, action, args, kwargs)
        self.deadline = None
        self.done = False

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.done:
            raise StopAsyncIteration
        client = self.client
        if self.deadline is None:
            await client.connect_async()
            self.deadline = time.monotonic() + client.timeout
            client._writer.write(wire.request_frame(str(uuid.uuid4()), *self.request))
            await client._writer.drain()
        remaining = self.deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            message = await asyncio.wait_for(wire.read_message_async(client._reader), timeout=remaining)
        except asyncio.TimeoutError:
            self.done = True
            await client._close_async()
            raise DirtyTimeoutError("Stream exceeded total timeout", timeout=client.timeout) from None
        except DirtyError:
            self.done = True
            await client._close_async()
            raise
        except Exception as e:
            self.done = True
            await client._close_async()
            raise DirtyConnectionError("Communication error: %s" % e) from e
        try:
            done, data = _chunk(message)
        except DirtyError:
            self.done = True
            raise
        if done:
            self.done = True
            raise StopAsyncIteration
        return data


_local = threading.local()
_async_client = contextvars.ContextVar("dirty_client")
_socket_path = None


def set_dirty_socket_path(path):
    global _socket_path
    _socket_path = path
    from .stash import set_stash_socket_path

    set_stash_socket_path(path)


def get_dirty_socket_path():
    path = _socket_path or os.environ.get("GUNICORN_DIRTY_SOCKET")
    if not path:
        raise DirtyError("Dirty socket path not configured. Make sure dirty_workers > 0 and dirty_apps are configured.")
    return path


def get_dirty_client(timeout=30.0):
    """This thread's client, made on first use."""
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = DirtyClient(get_dirty_socket_path(), timeout=timeout)
    return client


async def get_dirty_client_async(timeout=30.0):
    """This context's client, made on first use."""
    try:
        return _async_client.get()
    except LookupError:
        client = DirtyClient(get_dirty_socket_path(), timeout=timeout)
        _async_client.set(client)
        return client


def close_dirty_client():
    client = getattr(_local, "client", None)
    if client is not None:
        client.close()
        _local.client = None


async def close_dirty_client_async():
    try:
        await _async_client.get().close_async()
    except LookupError:
        pass
