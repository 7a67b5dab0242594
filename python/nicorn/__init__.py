"""The Python half of nicorn-py's WSGI bridge (runs inside Pyodide)."""

__version__ = "0.1.0"
SERVER_SOFTWARE = "nicorn-py/" + __version__
