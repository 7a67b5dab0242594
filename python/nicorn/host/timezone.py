"""Time zones as CPython on Debian has them.

Local time itself is computed below Python: src/runtime/host/timezone.ts
replaces Emscripten's localtime/mktime with glibc's reading of TZ and the
host's zoneinfo database, so time.localtime, time.mktime, time.strftime('%Z')
and datetime's astimezone() follow TZ. What is left is done here:

- time.tzset(), which Pyodide's CPython lacks (built without
  HAVE_WORKING_TZSET) and Django calls after setting os.environ['TZ'] from
  TIME_ZONE: TZ is read again and time.timezone, altzone, daylight and
  tzname are recomputed as CPython's init_timezone does on Linux (from
  localtime() of January and July: glibc's struct tm has tm_zone, so
  HAVE_DECL_TZNAME is undefined there).
- zoneinfo reads the host's database through TZPATH (/usr/share/zoneinfo,
  ..., as sysconfig's TZPATH on Debian); a key it cannot find raises
  CPython's ZoneInfoNotFoundError, not Pyodide's advice to call
  pyodide.loadPackage('tzdata'), and says what to install when the host has
  no database at all.
"""

import time

import _nicorn_host

from ._on_import import when_imported

# CPython's init_timezone: a year of 365.25 days.
_YEAR = (365 * 24 + 6) * 3600


def _init_timezone():
    t = (int(time.time()) // _YEAR) * _YEAR
    jan = time.localtime(t)
    july = time.localtime(t + _YEAR // 2)
    janzone, julyzone = -jan.tm_gmtoff, -july.tm_gmtoff
    janname, julyname = (jan.tm_zone or "")[:9], (july.tm_zone or "")[:9]
    if janzone < julyzone:
        # DST is reversed in the southern hemisphere.
        time.timezone, time.altzone, time.tzname = julyzone, janzone, (julyname, janname)
    else:
        time.timezone, time.altzone, time.tzname = janzone, julyzone, (janname, julyname)
    time.daylight = int(janzone != julyzone)


def tzset():
    """tzset()

    Initialize, or reinitialize, the local timezone to the value of the
    environment variable TZ.
    """
    _nicorn_host.tz_reload()
    _init_timezone()


def _load_tzdata(key):
    """zoneinfo._common.load_tzdata as CPython has it: the `tzdata` package,
    the last place zoneinfo looks after TZPATH."""
    from importlib import resources

    from zoneinfo import ZoneInfoNotFoundError

    components = key.split("/")
    package_name = ".".join(["tzdata.zoneinfo"] + components[:-1])
    resource_name = components[-1]
    try:
        path = resources.files(package_name).joinpath(resource_name)
        if path.is_dir():
            raise IsADirectoryError
        return path.open("rb")
    except (ImportError, FileNotFoundError, UnicodeEncodeError, IsADirectoryError):
        message = f"No time zone found with key {key}"
        missing = _nicorn_host.tz_missing_database()
        if missing is not None:
            message += ". " + missing
        raise ZoneInfoNotFoundError(message) from None


def _mend_zoneinfo_common(module):
    module.load_tzdata = _load_tzdata


def install():
    time.tzset = tzset
    when_imported("zoneinfo._common", _mend_zoneinfo_common)
