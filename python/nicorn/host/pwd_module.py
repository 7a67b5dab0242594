"""The password database (CPython's pwd), from the host's C library (src/runtime/host/users.ts)."""

import json
from collections import namedtuple

import _nicorn_host

_Passwd = namedtuple("struct_passwd", "pw_name pw_passwd pw_uid pw_gid pw_gecos pw_dir pw_shell")


class struct_passwd(_Passwd):
    """pwd.struct_passwd: a tuple with the fields named as C's struct passwd."""

    __slots__ = ()
    n_fields = n_sequence_fields = 7
    n_unnamed_fields = 0


def _entry(answer):
    record = json.loads(answer)
    return None if record is None else struct_passwd(**record)


def getpwuid(uid):
    if not isinstance(uid, int):
        raise TypeError("'%s' object cannot be interpreted as an integer" % type(uid).__name__)
    entry = _entry(_nicorn_host.pwd_getpwuid(uid)) if 0 <= uid < 2**32 else None
    if entry is None:
        raise KeyError("getpwuid(): uid not found: %d" % uid)
    return entry


def getpwnam(name):
    if not isinstance(name, str):
        raise TypeError("getpwnam() argument must be str, not %s" % type(name).__name__)
    entry = None if "\0" in name else _entry(_nicorn_host.pwd_getpwnam(name))
    if entry is None:
        raise KeyError("getpwnam(): name not found: %r" % name)
    return entry


def getpwall():
    return [struct_passwd(**r) for r in json.loads(_nicorn_host.pwd_getpwall())]
