"""--reload, the worker's part: the source files this interpreter has loaded.

Gunicorn's reloader watches the __file__ of every module in sys.modules
(.pyc read as .py). Here the arbiter watches (src/arbiter/code-reload.ts), so
the worker lists them in a file the arbiter reads: after the app is imported
(or failed to: then with the files of the traceback, so that fixing the
broken one is noticed), and after a request that imported more modules.
Only host files are listed: Pyodide's own standard library lives in memory.
"""

import json
import os
import re
import sys

_COMPILED = re.compile(r"py[co]$")


class ModuleReport:
    def __init__(self, directory, pid, host_roots):
        self.path = os.path.join(directory, "modules-%d.json" % pid)
        self.roots = tuple(host_roots)
        self.seen = -1
        # The app's import failed in this worker (it serves the traceback page):
        # every later list says so too, and keeps the files of the traceback, as a
        # request may rewrite the list before the arbiter has read the first one.
        self.failed = False
        self.error_files = set()

    def _host_file(self, name):
        return isinstance(name, str) and name.startswith(self.roots)

    def files(self):
        out = set()
        for module in tuple(sys.modules.values()):
            name = getattr(module, "__file__", None)
            if name and self._host_file(name):
                out.add(_COMPILED.sub("py", name))
        return out

    def write(self, error=None):
        """Writes the list; `error`: the exception that stopped the app's import."""
        self.seen = len(sys.modules)
        if error is not None:
            self.failed = True
            # The module that failed is no longer in sys.modules: its file is in the traceback.
            if isinstance(error, SyntaxError) and self._host_file(error.filename):
                self.error_files.add(error.filename)
            tb = error.__traceback__
            while tb is not None:
                if self._host_file(tb.tb_frame.f_code.co_filename):
                    self.error_files.add(tb.tb_frame.f_code.co_filename)
                tb = tb.tb_next
        files = self.files() | self.error_files
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"files": sorted(files), "failed": self.failed}, f)
        os.replace(tmp, self.path)
