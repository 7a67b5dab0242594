"""Benchmark app (d): reads the whole request body and sends it back."""


def app(environ, start_response):
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        length = None
    if length is None:
        body = stream.read()
    else:
        body = stream.read(length)
    start_response(
        "200 OK",
        [
            ("Content-Type", environ.get("CONTENT_TYPE") or "application/octet-stream"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]
