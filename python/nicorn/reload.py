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
        files = self.files()
        if error is not None:
            # The module that failed is no longer in sys.modules: its file is in the traceback.
            if isinstance(error, SyntaxError) and self._host_file(error.filename):
                files.add(error.filename)
            tb = error.__traceback__
            while tb is not None:
                if self._host_file(tb.tb_frame.f_code.co_filename):
                    files.add(tb.tb_frame.f_code.co_filename)
                tb = tb.tb_next
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"files": sorted(files), "failed": error is not None}, f)
        os.replace(tmp, self.path)
