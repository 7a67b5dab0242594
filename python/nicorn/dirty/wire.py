"""Gunicorn 26's dirty wire format: frames of a 16-byte header (b"GD",
version 1, message type, payload length, uint64 request id) and a TLV
payload (a type byte, then the value). Written for nicorn-py; the same bytes
as Gunicorn's protocol.py and tlv.py, so either side may be Gunicorn's."""

import socket
import struct

from .errors import DirtyProtocolError

MAGIC = b"GD"
VERSION = 1
HEADER = struct.Struct(">2sBBIQ")
HEADER_SIZE = HEADER.size
MAX_MESSAGE_SIZE = 64 * 1024 * 1024
MAX_VALUE_SIZE = 64 * 1024 * 1024
MAX_ITEMS = 1024 * 1024

TYPES = {"request": 0x01, "response": 0x02, "error": 0x03, "chunk": 0x04, "end": 0x05, "stash": 0x10, "status": 0x11, "manage": 0x12}
NAMES = {v: k for k, v in TYPES.items()}

T_NONE, T_BOOL, T_INT, T_FLOAT, T_BYTES, T_STR, T_LIST, T_DICT = 0x00, 0x01, 0x05, 0x06, 0x10, 0x11, 0x20, 0x21
_INT = struct.Struct(">q")
_FLOAT = struct.Struct(">d")
_LEN = struct.Struct(">I")


def connect(path, timeout):
    """A blocking stream to the dirty arbiter's Unix socket (OSError when it
    does not answer; each client raises its own error, as Gunicorn's do)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def encode(value):
    out = []
    _put(value, out)
    return b"".join(out)


def _put(value, out):
    if value is None:
        out.append(b"\x00")
    elif isinstance(value, bool):
        out.append(b"\x01\x01" if value else b"\x01\x00")
    elif isinstance(value, int):
        try:
            out.append(b"\x05" + _INT.pack(value))
        except struct.error:
            raise DirtyProtocolError("Integer out of int64 range: %d" % value) from None
    elif isinstance(value, float):
        out.append(b"\x06" + _FLOAT.pack(value))
    elif isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
        if len(value) > MAX_VALUE_SIZE:
            raise DirtyProtocolError("Bytes too large: %d bytes (max: %d)" % (len(value), MAX_VALUE_SIZE))
        out.append(b"\x10" + _LEN.pack(len(value)) + value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        if len(data) > MAX_VALUE_SIZE:
            raise DirtyProtocolError("String too large: %d bytes (max: %d)" % (len(data), MAX_VALUE_SIZE))
        out.append(b"\x11" + _LEN.pack(len(data)) + data)
    elif isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            raise DirtyProtocolError("List too large: %d items (max: %d)" % (len(value), MAX_ITEMS))
        out.append(b"\x20" + _LEN.pack(len(value)))
        for item in value:
            _put(item, out)
    elif isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise DirtyProtocolError("Dict too large: %d items (max: %d)" % (len(value), MAX_ITEMS))
        out.append(b"\x21" + _LEN.pack(len(value)))
        for k, v in value.items():
            # Keys become strings, as JSON's would.
            _put(k if isinstance(k, str) else str(k), out)
            _put(v, out)
    else:
        raise DirtyProtocolError("Unsupported type for TLV encoding: %s" % type(value).__name__)


def decode(data):
    value, end = _take(data, 0)
    if end != len(data):
        raise DirtyProtocolError("Trailing data after TLV: %d bytes" % (len(data) - end), raw_data=data[end:end + 20])
    return value


def _need(data, offset, n, what):
    if offset + n > len(data):
        raise DirtyProtocolError("Truncated TLV data: %s" % what, raw_data=data[offset:offset + 20])


def _take(data, offset):
    _need(data, offset, 1, "no type byte")
    t = data[offset]
    offset += 1
    if t == T_NONE:
        return None, offset
    if t == T_BOOL:
        _need(data, offset, 1, "missing bool value")
        return data[offset] != 0, offset + 1
    if t == T_INT:
        _need(data, offset, 8, "incomplete int64")
        return _INT.unpack_from(data, offset)[0], offset + 8
    if t == T_FLOAT:
        _need(data, offset, 8, "incomplete float64")
        return _FLOAT.unpack_from(data, offset)[0], offset + 8
    if t in (T_BYTES, T_STR):
        _need(data, offset, 4, "incomplete length")
        n = _LEN.unpack_from(data, offset)[0]
        offset += 4
        if n > MAX_VALUE_SIZE:
            raise DirtyProtocolError("Value too large: %d bytes (max: %d)" % (n, MAX_VALUE_SIZE))
        _need(data, offset, n, "expected %d bytes, got %d" % (n, len(data) - offset))
        raw = bytes(data[offset:offset + n])
        if t == T_BYTES:
            return raw, offset + n
        try:
            return raw.decode("utf-8"), offset + n
        except UnicodeDecodeError as e:
            raise DirtyProtocolError("Invalid UTF-8 in string: %s" % e) from None
    if t in (T_LIST, T_DICT):
        _need(data, offset, 4, "incomplete count")
        n = _LEN.unpack_from(data, offset)[0]
        offset += 4
        if n > MAX_ITEMS:
            raise DirtyProtocolError("Too many items: %d (max: %d)" % (n, MAX_ITEMS))
        if t == T_LIST:
            items = []
            for _ in range(n):
                item, offset = _take(data, offset)
                items.append(item)
            return items, offset
        result = {}
        for _ in range(n):
            key, offset = _take(data, offset)
            if not isinstance(key, str):
                raise DirtyProtocolError("Dict key must be string, got %s" % type(key).__name__)
            result[key], offset = _take(data, offset)
        return result, offset
    raise DirtyProtocolError("Unknown TLV type code: 0x%02x" % t, raw_data=data[offset - 1:offset + 20])


def frame(kind, request_id, payload=None):
    """A whole frame: `payload` (a dict, or None for none) TLV-encoded after the header."""
    body = b"" if payload is None else encode(payload)
    if isinstance(request_id, str):
        # As Gunicorn's client: a uuid string id goes on the wire as its hash.
        request_id = hash(request_id) & 0xFFFFFFFFFFFFFFFF
    return HEADER.pack(MAGIC, VERSION, TYPES[kind], len(body), request_id) + body


def parse_header(data):
    """(kind, request_id, payload length) of a header; DirtyProtocolError if it is not one."""
    if len(data) < HEADER_SIZE:
        raise DirtyProtocolError("Header too short: %d bytes, expected %d" % (len(data), HEADER_SIZE), raw_data=data)
    magic, version, mtype, length, request_id = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise DirtyProtocolError("Invalid magic: %r, expected %r" % (magic, MAGIC), raw_data=data[:20])
    if version != VERSION:
        raise DirtyProtocolError("Unsupported protocol version: %d, expected %d" % (version, VERSION), raw_data=data[:20])
    if mtype not in NAMES:
        raise DirtyProtocolError("Unknown message type: 0x%02x" % mtype, raw_data=data[:20])
    if length > MAX_MESSAGE_SIZE:
        raise DirtyProtocolError("Message too large: %d bytes (max: %d)" % (length, MAX_MESSAGE_SIZE))
    return NAMES[mtype], request_id, length


def parse(data):
    """A whole frame as a message dict: {"type", "id", **payload}."""
    kind, request_id, length = parse_header(data)
    if len(data) < HEADER_SIZE + length:
        raise DirtyProtocolError("Incomplete message: expected %d bytes, got %d" % (HEADER_SIZE + length, len(data)))
    message = {"type": kind, "id": request_id}
    if length:
        payload = decode(data[HEADER_SIZE:HEADER_SIZE + length])
        if not isinstance(payload, dict):
            raise DirtyProtocolError("Payload is not a dict")
        message.update(payload)
    return message


def _recv_exactly(sock, n):
    chunks = []
    got = 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            if got == 0:
                raise DirtyProtocolError("Connection closed")
            raise DirtyProtocolError("Connection closed after %d bytes, expected %d" % (got, n))
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(sock):
    """The next message on a blocking socket."""
    header = _recv_exactly(sock, HEADER_SIZE)
    _, _, length = parse_header(header)
    return parse(header + (_recv_exactly(sock, length) if length else b""))


async def read_message_async(reader):
    header = await reader.readexactly(HEADER_SIZE)
    _, _, length = parse_header(header)
    return parse(header + (await reader.readexactly(length) if length else b""))


def request_frame(request_id, app_path, action, args, kwargs):
    return frame("request", request_id, {"app_path": app_path, "action": action, "args": list(args or ()), "kwargs": dict(kwargs or {})})


def error_frame(request_id, error):
    """`error`: a DirtyError, or any exception (its class name and str())."""
    info = error.to_dict() if hasattr(error, "to_dict") else {"error_type": type(error).__name__, "message": str(error), "details": {}}
    return frame("error", request_id, {"error": info})
