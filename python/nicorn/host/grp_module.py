"""The group database (CPython's grp), from the host's C library (src/runtime/host/users.ts)."""

import json
from collections import namedtuple

import _nicorn_host

_Group = namedtuple("struct_group", "gr_name gr_passwd gr_gid gr_mem")


class struct_group(_Group):
    """grp.struct_group: a tuple with the fields named as C's struct group."""

    __slots__ = ()
    n_fields = n_sequence_fields = 4
    n_unnamed_fields = 0


def _entry(answer):
    record = json.loads(answer)
    return None if record is None else struct_group(**record)


def getgrgid(id):
    if not isinstance(id, int):
        raise TypeError("'%s' object cannot be interpreted as an integer" % type(id).__name__)
    entry = _entry(_nicorn_host.grp_getgrgid(id)) if 0 <= id < 2**32 else None
    if entry is None:
        raise KeyError("getgrgid(): gid not found: %d" % id)
    return entry


def getgrnam(name):
    if not isinstance(name, str):
        raise TypeError("getgrnam() argument must be str, not %s" % type(name).__name__)
    entry = None if "\0" in name else _entry(_nicorn_host.grp_getgrnam(name))
    if entry is None:
        raise KeyError("getgrnam(): name not found: %r" % name)
    return entry


def getgrall():
    return [struct_group(**r) for r in json.loads(_nicorn_host.grp_getgrall())]
