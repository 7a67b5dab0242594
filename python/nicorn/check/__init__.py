"""--check-wsgi: every request checked against PEP 3333 and the HTTP rules a
WSGI app answers for (rules.py), violations recorded per worker (record.py).

worker.boot() wraps the app with checked_app() only when the mode is on, so
the normal serving path does not even import this package.
"""

from .checker import checked_app
from .record import Recorder

__all__ = ["checked_app", "Recorder"]
