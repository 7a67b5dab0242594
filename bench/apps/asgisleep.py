"""A bare ASGI app whose every request awaits asyncio.sleep(1): bench row (h),
200 at once on one worker."""

import asyncio

BODY = b'{"slept": 1}'


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await asyncio.sleep(1)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]})
    await send({"type": "http.response.body", "body": BODY})
