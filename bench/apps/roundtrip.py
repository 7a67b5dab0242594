"""Benchmark app for issue 14's socket figure: GET /?port=P&n=N makes one TCP
connection to the echo server on 127.0.0.1:P, then N round trips of a small
send + recv, one at a time, and answers the mean time of one round trip in
microseconds (time.perf_counter), after 200 unrecorded ones. The same file
runs under both servers: the difference is the cost of the socket layer."""

import json
import socket
import time
from urllib.parse import parse_qs

MESSAGE = b"0123456789abcdef"


def round_trips(sock, n):
    for _ in range(n):
        sock.sendall(MESSAGE)
        got = 0
        while got < len(MESSAGE):
            chunk = sock.recv(len(MESSAGE) - got)
            if not chunk:
                raise ConnectionError("the echo server closed the connection")
            got += len(chunk)


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    port = int(query["port"][0])
    n = int(query.get("n", ["2000"])[0])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        round_trips(sock, 200)
        t0 = time.perf_counter()
        round_trips(sock, n)
        us = (time.perf_counter() - t0) / n * 1e6
    body = json.dumps({"us": us, "n": n}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
