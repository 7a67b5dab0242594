"""One WebSocket of the asgi worker, as the ASGI WebSocket spec (2.4) defines
it. The I/O thread does RFC 6455 (src/worker/front-door/websocket.ts): here
are whole messages, the app's accept/close, and the scope."""

from collections import deque

from ..channel import IN_SENT, IN_WS_CLOSED, IN_WS_DATA, OUT_READ, OUT_WS_ACCEPT, OUT_WS_CLOSE, OUT_WS_DATA
from ..response import AppError
from .http import ASGI_VERSION, FrameWaiter, addresses, header_pairs, split_target
from .loop import BODY_WINDOW, RESPONSE_WINDOW

from urllib.parse import unquote


class WebSocketClosed(OSError):
    """send() on a WebSocket that is closed (the spec asks for a server-specific OSError subclass)."""


def websocket_scope(head, root_path, state):
    raw_path, query = split_target(head.target)
    client, server = addresses(head)
    headers = header_pairs(head)
    subprotocols = []
    for name, value in headers:
        if name == b"sec-websocket-protocol":
            subprotocols += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
    scope = {
        "type": "websocket",
        "asgi": ASGI_VERSION,
        "http_version": head.version,
        "scheme": "wss" if head.scheme == "https" else "ws",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": root_path,
        "headers": headers,
        "client": client,
        "server": server,
        "subprotocols": subprotocols,
    }
    if state is not None:
        scope["state"] = dict(state)
    return scope


class WebSocketExchange(FrameWaiter):
    def __init__(self, worker, ex_id, head):
        self.worker = worker
        self.id = ex_id
        self.head = head
        self.messages = deque()
        self.parts = []
        self.got = 0
        self.unacked = 0
        self.connect_given = False
        self.accepted = False
        self.close_sent = False
        # (code, reason) once the connection is over.
        self.closed = None
        self.disconnected = False
        self.waiter = None
        self.task = None

    # ------------------------------------------------------------ frames in
    def on_frame(self, kind, payload):
        if kind == IN_WS_DATA:
            flags = payload[0]
            self.parts.append(payload[1:])
            self.got += len(payload) - 1
            if flags & 2:
                data = self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
                self.parts = []
                # The I/O thread checked the UTF-8 of text messages (1007 otherwise).
                self.messages.append(data if flags & 1 else data.decode("utf-8"))
        elif kind == IN_WS_CLOSED:
            self.closed = (int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8", "replace"))
            if not self.disconnected:
                self.disconnected = True
                self.worker.disconnected(self)
        elif kind == IN_SENT:
            self.unacked -= int.from_bytes(payload[:4], "little")
        self._wake()

    # ------------------------------------------------------------ receive
    async def receive(self):
        if not self.connect_given:
            self.connect_given = True
            return {"type": "websocket.connect"}
        while True:
            if self.messages:
                data = self.messages.popleft()
                if not self.messages and self.got >= BODY_WINDOW:
                    # The I/O thread stopped reading at the window: the app took it all.
                    self.got = 0
                    self.worker.channel.send_frame(self.id, OUT_READ)
                if isinstance(data, str):
                    return {"type": "websocket.receive", "text": data}
                return {"type": "websocket.receive", "bytes": data}
            if self.closed is not None:
                code, reason = self.closed
                return {"type": "websocket.disconnect", "code": code, "reason": reason}
            await self._wait()

    # ------------------------------------------------------------ send
    async def send(self, message):
        kind = message["type"]
        ch = self.worker.channel
        if kind == "websocket.accept":
            if self.accepted or self.close_sent:
                raise AppError("websocket.accept sent twice, or after websocket.close")
            fields = [message.get("subprotocol") or ""]
            for name, value in message.get("headers", ()):
                fields += [bytes(name).decode("latin-1"), bytes(value).decode("latin-1")]
            ch.send_frame(self.id, OUT_WS_ACCEPT, "\0".join(fields).encode("latin-1"))
            self.accepted = True
            return
        if kind == "websocket.send":
            if not self.accepted:
                raise AppError("websocket.send before websocket.accept")
            if self.closed is not None or self.close_sent:
                raise WebSocketClosed("the WebSocket is closed")
            data = message.get("bytes")
            if data is not None:
                payload = b"\x01" + bytes(data)
            elif message.get("text") is not None:
                payload = b"\x00" + message["text"].encode("utf-8")
            else:
                raise AppError("websocket.send needs bytes or text")
            ch.send_frame(self.id, OUT_WS_DATA, payload)
            self.unacked += len(payload) - 1
            while self.unacked > RESPONSE_WINDOW and self.closed is None:
                ch.flush()
                await self._wait()
            return
        if kind == "websocket.close":
            if self.close_sent:
                return
            code = message.get("code") or 1000
            reason = (message.get("reason") or "").encode("utf-8")
            ch.send_frame(self.id, OUT_WS_CLOSE, int(code).to_bytes(2, "big") + reason)
            self.close_sent = True
            return
        raise AppError("unexpected ASGI message type %r for a websocket scope" % (kind,))
