"""The SQLite library's settings: each case in a fresh interpreter, since they are process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from services.sqlite_library import _loaded_library

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    _loaded_library() is None,
    reason="this Python's sqlite3 module does not use a shared libsqlite3",
)

_MEMORY_USED = """
import ctypes
from services.sqlite_library import _loaded_library
library = _loaded_library()
library.sqlite3_memory_used.restype = ctypes.c_int64
def memory_used():
    return library.sqlite3_memory_used()
"""


def _run(code: str, tmp_path: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_USED + textwrap.dedent(code)],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "DB": str(tmp_path / "t.sqlite3")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_fresh_process_runs_sqlite_without_statistics_and_still_works(tmp_path: Path) -> None:
    out = _run(
        """
        import os, sqlite3, threading
        from services.sqlite_library import configure
        print(configure(), configure())
        conn = sqlite3.connect(os.environ["DB"], check_same_thread=False)
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [(str(n),) for n in range(1000)])
        conn.commit()
        # used from another thread, one thread at a time, as the services do
        worker = threading.Thread(target=lambda: conn.execute("INSERT INTO t VALUES ('x')"))
        worker.start()
        worker.join()
        conn.commit()
        print(conn.execute("SELECT count(*) FROM t").fetchone()[0], memory_used())
        """,
        tmp_path,
    )
    # Configured (and again, at no cost); the rows are there; with the statistics off the
    # library reports no memory in use while a connection holds its cache.
    assert out == ["True", "True", "1001", "0"]


def test_a_process_with_a_connection_open_is_left_as_built(tmp_path: Path) -> None:
    out = _run(
        """
        import os, sqlite3
        from services.sqlite_library import configure
        conn = sqlite3.connect(os.environ["DB"])
        conn.execute("CREATE TABLE t (x)")
        print(configure(), memory_used() > 0)
        conn.execute("INSERT INTO t VALUES (1)")
        print(conn.execute("SELECT count(*) FROM t").fetchone()[0])
        """,
        tmp_path,
    )
    assert out == ["False", "True", "1"]
