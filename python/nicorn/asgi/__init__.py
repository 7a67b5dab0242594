"""The asgi worker class's parts: the event loop over the channel (loop.py),
one HTTP exchange (http.py), the lifespan protocol (lifespan.py). The worker
that runs them is workers/asgi.py."""
