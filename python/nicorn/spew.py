"""--spew: Gunicorn's debug.spew, a trace function that prints every line the
server's Python executes, as "module:lineno: source line", on stdout.

nicorn-py's server is Node; the Python it runs is each worker's: the app and
nicorn's Python half (environ, start_response, wsgi.input), from the app's
import on. That is what is traced, in the thread that runs it.
"""

import linecache
import sys


def _trace(frame, event, arg):
    if event == "line":
        module = frame.f_globals.get("__name__", "[unknown]")
        filename = frame.f_code.co_filename
        line = linecache.getline(filename, frame.f_lineno)
        if not line:
            line = "Unknown code named [%s].  VM instruction #%d" % (frame.f_code.co_name, frame.f_lasti)
        print("%s:%s: %s" % (module, frame.f_lineno, line.rstrip()))
    return _trace


def install():
    sys.settrace(_trace)
