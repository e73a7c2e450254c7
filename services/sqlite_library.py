"""The SQLite library's process-wide settings for Berth's long-running services.

CPython's ``sqlite3`` module runs SQLite as the library was built. Debian's is built
*serialized*, where every call on a connection (each bound value, each step) takes that
connection's mutex, and with memory statistics on, where every allocation SQLite makes
(several for each row: each text value bound is copied) takes one global mutex to count it.
A read model's row costs about 80 of those lock and unlock pairs.

Berth's services use each connection from one thread at a time: the event store's pool
hands a connection to one thread until it is given back, the read store's connection is
used by one worker thread at a time, the checkpointer has a connection of its own, and the
gateway's readers come from a pool. Nothing reads the statistics. So :func:`configure`
switches SQLite to *multi-thread* mode (no mutex per connection; the library's own shared
structures keep theirs) and turns the statistics off. That is only possible before any
connection is opened, so each service calls it first thing; where a connection is already
open, or the ``sqlite3`` module carries SQLite inside itself instead of using the shared
library, it changes nothing and says so.

Measured with callgrind, replaying 6,000 session requests (``docs/benchmarks.md``): the
projection's work from decoding to commit 113,561 → 105,144 instructions per event, the
manager's saves 60,280 → 57,976.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sqlite3

log = logging.getLogger("berth.sqlite")

_SQLITE_OK = 0
_CONFIG_MULTITHREAD = 2
_CONFIG_MEMSTATUS = 9

_configured = False


def _loaded_library() -> ctypes.CDLL | None:
    """The shared SQLite library the ``sqlite3`` module runs on, if it is one (and loaded)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {
                fields[5]
                for line in maps
                if "libsqlite3" in line and len(fields := line.split(maxsplit=5)) == 6
            }
    except OSError:
        return None
    for path in sorted(paths):
        try:
            # Only a library already in the process: never a second copy of SQLite.
            library = ctypes.CDLL(path.strip(), mode=os.RTLD_NOLOAD)
        except OSError:
            continue
        library.sqlite3_libversion.restype = ctypes.c_char_p
        if library.sqlite3_libversion().decode() == sqlite3.sqlite_version:
            return library
    return None


def configure() -> bool:
    """Multi-thread mode, no memory statistics; True once SQLite runs so in this process.

    Call it before the process opens any SQLite connection."""
    global _configured
    if _configured:
        return True
    library = _loaded_library()
    if library is None:
        log.info("SQLite left as built: the sqlite3 module does not use a shared libsqlite3")
        return False
    library.sqlite3_memory_used.restype = ctypes.c_int64
    if library.sqlite3_memory_used() != 0:
        log.warning("SQLite left as built: a connection was opened before it could be set up")
        return False
    # Settings change only while the library is shut down; nothing of it is in use yet.
    if library.sqlite3_shutdown() != _SQLITE_OK:
        return False
    try:
        _configured = bool(
            library.sqlite3_config(_CONFIG_MULTITHREAD) == _SQLITE_OK
            and library.sqlite3_config(_CONFIG_MEMSTATUS, ctypes.c_int(0)) == _SQLITE_OK
        )
    finally:
        if library.sqlite3_initialize() != _SQLITE_OK:
            raise RuntimeError("SQLite could not be initialised again")
    return _configured
