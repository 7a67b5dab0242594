"""asyncio.open_unix_connection and asyncio.start_unix_server, which asyncio
defines only if `socket.AF_UNIX` exists when asyncio.streams is imported:
Pyodide's socket module has no AF_UNIX (net.py adds it, on host sockets, after
asyncio is imported). The loop's create_unix_connection and
create_unix_server (asyncio's Unix selector loop) work on them; these are the
stream helpers over them, as asyncio's own on Linux."""

import asyncio
import asyncio.streams as streams

from ._on_import import when_imported


async def open_unix_connection(path=None, *, limit=streams._DEFAULT_LIMIT, **kwds):
    """(StreamReader, StreamWriter) of a connection to the Unix socket at `path`."""
    loop = asyncio.get_running_loop()
    reader = streams.StreamReader(limit=limit, loop=loop)
    protocol = streams.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.create_unix_connection(lambda: protocol, path, **kwds)
    return reader, streams.StreamWriter(transport, protocol, reader, loop)


async def start_unix_server(client_connected_cb, path=None, *, limit=streams._DEFAULT_LIMIT, **kwds):
    """A server on the Unix socket at `path` calling client_connected_cb(reader, writer) per connection."""
    loop = asyncio.get_running_loop()

    def factory():
        reader = streams.StreamReader(limit=limit, loop=loop)
        return streams.StreamReaderProtocol(reader, client_connected_cb, loop=loop)

    return await loop.create_unix_server(factory, path, **kwds)


def _mend(module):
    for fn in (open_unix_connection, start_unix_server):
        if not hasattr(module, fn.__name__):
            setattr(module, fn.__name__, fn)
            module.__all__ += (fn.__name__,)
            # asyncio re-exports streams' names at its import; it has been imported already.
            if not hasattr(asyncio, fn.__name__):
                setattr(asyncio, fn.__name__, fn)
                asyncio.__all__ += (fn.__name__,)


def install():
    when_imported("asyncio.streams", _mend)
