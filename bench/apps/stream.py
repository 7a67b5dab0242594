"""Benchmark app (e): a 1 MiB response streamed as 16 chunks of 64 KiB."""

CHUNK = b"x" * (64 * 1024)
COUNT = 16


def chunks():
    for _ in range(COUNT):
        yield CHUNK


def app(environ, start_response):
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(len(CHUNK) * COUNT)),
        ],
    )
    return chunks()
