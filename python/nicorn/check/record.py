"""One worker's record of violations: counted per rule, logged once per rule
and route, and written as JSON for the arbiter (src/arbiter/wsgi-check.ts),
which adds up every worker's file into the summary and the report.

The file is rewritten after each request that added to it, so what a worker
saw survives its crash or a SIGKILL at shutdown.
"""

import json
import os
import time

from .rules import RULES

# Routes kept per rule in the report: enough to find them, bounded for an app
# with unbounded paths (one route per object id, say).
MAX_ROUTES = 20


class Recorder:
    def __init__(self, path, log):
        self.path = path
        self._log = log
        self._rules = {}
        self._logged = set()
        self._dirty = False

    def hit(self, rule_id, route, request, where, detail):
        rule = RULES[rule_id]
        entry = self._rules.get(rule_id)
        if entry is None:
            entry = self._rules[rule_id] = {
                "rule": rule_id,
                "explanation": rule.explanation,
                "cites": rule.cites,
                "advice": rule.advice,
                "count": 0,
                "first": {"time": time.time(), "request": request, "location": where, "detail": detail},
                "routes": [],
            }
        entry["count"] += 1
        if route not in entry["routes"] and len(entry["routes"]) < MAX_ROUTES:
            entry["routes"].append(route)
        self._dirty = True
        if (rule_id, route) not in self._logged:
            self._logged.add((rule_id, route))
            self._log.warning("WSGI check [%s] %s at %s: %s -- %s (%s)",
                              rule_id, request, where, detail, rule.explanation, rule.cites)

    def flush(self):
        """Writes the file if anything was added since the last time."""
        if not self._dirty or not self.path:
            return
        self._dirty = False
        data = json.dumps({"rules": list(self._rules.values())})
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(data)
        os.replace(tmp, self.path)
