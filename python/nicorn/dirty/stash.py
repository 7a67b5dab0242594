"""The stash (Gunicorn 26's gunicorn.dirty.stash): tables of key -> value in
the dirty arbiter's memory, shared by every worker, through STASH messages on
the dirty socket (src/dirty/stash.ts keeps them)."""

import os
import threading
import uuid

from . import wire
from .errors import DirtyError

# Gunicorn's STASH_OP_* codes.
PUT, GET, DELETE, KEYS, CLEAR, INFO, ENSURE, DELETE_TABLE, TABLES, EXISTS = range(1, 11)


class StashError(DirtyError):
    pass


class StashTableNotFoundError(StashError):
    def __init__(self, table_name):
        self.table_name = table_name
        super().__init__("Stash table not found: %s" % table_name)


class StashKeyNotFoundError(StashError):
    def __init__(self, table_name, key):
        self.table_name = table_name
        self.key = key
        super().__init__("Key not found in %s: %s" % (table_name, key))


class StashClient:
    def __init__(self, socket_path, timeout=30.0):
        self.socket_path = socket_path
        self.timeout = timeout
        self._sock = None
        self._lock = threading.Lock()

    def _connect(self):
        if self._sock is not None:
            return
        try:
            sock = wire.connect(self.socket_path, self.timeout)
        except OSError as e:
            raise StashError("Failed to connect to arbiter: %s" % e) from e
        self._sock = sock

    def _close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def _execute(self, op, table, key=None, value=None, pattern=None):
        payload = {"op": op, "table": table}
        # As Gunicorn's make_stash_message: None is left out.
        for name, v in (("key", key), ("value", value), ("pattern", pattern)):
            if v is not None:
                payload[name] = v
        with self._lock:
            self._connect()
            try:
                self._sock.sendall(wire.frame("stash", str(uuid.uuid4()), payload))
                message = wire.read_message(self._sock)
            except Exception as e:
                self._close()
                if isinstance(e, StashError):
                    raise
                raise StashError("Stash operation failed: %s" % e) from e
        kind = message.get("type")
        if kind == "response":
            return message.get("result")
        if kind == "error":
            info = message.get("error") or {}
            error_type = info.get("error_type", "StashError")
            if error_type == "StashTableNotFoundError":
                raise StashTableNotFoundError(table)
            if error_type == "StashKeyNotFoundError":
                raise StashKeyNotFoundError(table, key)
            raise StashError(info.get("message", "Unknown error"))
        raise StashError("Unexpected response type: %s" % kind)

    def put(self, table, key, value):
        self._execute(PUT, table, key=key, value=value)

    def get(self, table, key, default=None):
        try:
            return self._execute(GET, table, key=key)
        except StashKeyNotFoundError:
            return default

    def delete(self, table, key):
        return self._execute(DELETE, table, key=key)

    def keys(self, table, pattern=None):
        return self._execute(KEYS, table, pattern=pattern)

    def clear(self, table):
        self._execute(CLEAR, table)

    def info(self, table):
        return self._execute(INFO, table)

    def ensure(self, table):
        self._execute(ENSURE, table)

    def exists(self, table, key=None):
        return self._execute(EXISTS, table, key=key)

    def delete_table(self, table):
        self._execute(DELETE_TABLE, table)

    def tables(self):
        return self._execute(TABLES, "")

    def table(self, name):
        return StashTable(self, name)

    def close(self):
        with self._lock:
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class StashTable:
    """A table as a dict: table[key], table[key] = value, del, in, iteration, len."""

    def __init__(self, client, name):
        self._client = client
        self._name = name

    @property
    def name(self):
        return self._name

    def __getitem__(self, key):
        try:
            return self._client._execute(GET, self._name, key=key)
        except StashKeyNotFoundError:
            raise KeyError(key) from None

    def __setitem__(self, key, value):
        self._client.put(self._name, key, value)

    def __delitem__(self, key):
        if not self._client.delete(self._name, key):
            raise KeyError(key)

    def __contains__(self, key):
        return self._client.exists(self._name, key)

    def __iter__(self):
        return iter(self._client.keys(self._name))

    def __len__(self):
        try:
            return self._client.info(self._name).get("size", 0)
        except StashTableNotFoundError:
            return 0

    def get(self, key, default=None):
        return self._client.get(self._name, key, default)

    def keys(self, pattern=None):
        return self._client.keys(self._name, pattern=pattern)

    def clear(self):
        self._client.clear(self._name)

    def items(self):
        for key in self._client.keys(self._name):
            yield key, self._client.get(self._name, key)

    def values(self):
        for key in self._client.keys(self._name):
            yield self._client.get(self._name, key)


_local = threading.local()
_socket_path = None


def set_stash_socket_path(path):
    global _socket_path
    _socket_path = path


def get_stash_socket_path():
    path = _socket_path or os.environ.get("GUNICORN_DIRTY_SOCKET")
    if not path:
        raise StashError("Stash socket path not configured. Make sure dirty_workers > 0 and dirty_apps are configured.")
    return path


def _client():
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = StashClient(get_stash_socket_path())
    return client


def put(table, key, value):
    _client().put(table, key, value)


def get(table, key, default=None):
    return _client().get(table, key, default)


def delete(table, key):
    return _client().delete(table, key)


def keys(table, pattern=None):
    return _client().keys(table, pattern)


def clear(table):
    _client().clear(table)


def info(table):
    return _client().info(table)


def ensure(table):
    _client().ensure(table)


def exists(table, key=None):
    return _client().exists(table, key)


def delete_table(table):
    _client().delete_table(table)


def tables():
    return _client().tables()


def table(name):
    return StashTable(_client(), name)
