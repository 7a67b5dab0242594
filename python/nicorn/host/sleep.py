"""time.sleep() that sleeps.

CPython's time.sleep calls clock_nanosleep, which Emscripten's libc (built
without threads, as Pyodide's is) implements as a loop around
performance.now(): time.sleep(1) in a worker took 1.0 s of CPU for 1.0 s
of wall time, a core an app's sleeping requests or retry loops keep busy
(measured: process.cpuUsage around runPython('time.sleep(1)'), Node 20).
The function is inside the wasm module, so no import can replace it.

select.select() with no descriptors reaches the host layer's poll
(src/runtime/host/sockets.ts), which sleeps in poll(2) on the host in
slices that give way to a pending signal: --timeout's ABRT and INT/QUIT
interrupt the sleep as they interrupt CPython's, and select's PEP 475 retry
resumes it when the handler returns. What is not a plain non-negative
number goes to the original function, whose errors are CPython's own.
"""

import math
import select
import time

_clock_nanosleep_sleep = time.sleep
# Past this many seconds CPython raises OverflowError (its time is int64 ns).
_LIMIT = 2**63 / 1e9


def sleep(secs, /):
    if not isinstance(secs, (int, float)) or not 0 < secs < _LIMIT:
        # 0, negative, NaN, past CPython's limit, or a type CPython
        # refuses: the original answers (at once, or with CPython's exception).
        return _clock_nanosleep_sleep(secs)
    deadline = time.monotonic() + secs
    while (left := deadline - time.monotonic()) > 0:
        # select's timeout becomes poll's whole milliseconds, rounded down by
        # Emscripten's select(): round up here so no sleep is cut short. One
        # poll(2) is at most 2**31 - 1 ms.
        select.select([], [], [], min(math.ceil(left * 1000), 2**31 - 1) / 1000)


sleep.__doc__ = _clock_nanosleep_sleep.__doc__
sleep.__module__ = "time"
sleep.__qualname__ = sleep.__name__ = "sleep"


def install():
    time.sleep = sleep
