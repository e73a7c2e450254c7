"""Reads the ``session_view`` read model, the way any client of the read models would."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg.errors import UndefinedTable

from projections.read_store import open_read_store
from projections.settings import ReadStoreSettings


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    name: str
    session_type: str
    status: str
    exit_code: int | None = None
    result: str = "undefined"


def read_sessions(session_ids: list[str] | None) -> list[SessionRow]:
    """The named sessions (or all of them); none while the runner has not made the table yet."""
    store = open_read_store(ReadStoreSettings.from_env())
    sql = "SELECT id, name, session_type, status, exit_code, result FROM session_view"
    params: list[str] = []
    if session_ids is not None:
        sql += f" WHERE id IN ({', '.join('?' for _ in session_ids)})"
        params = session_ids
    not_yet: tuple[type[Exception], ...] = (UndefinedTable, *store.transient_errors)
    try:
        with store.transaction(pipelined=False) as tx:
            rows = tx.fetchall(sql + " ORDER BY seq", params)
    except not_yet:
        # SQLite says "no such table" with an OperationalError; a busy database
        # is worth the same answer, since callers poll.
        return []
    finally:
        store.close()
    return [
        SessionRow(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            None if r[4] is None else int(r[4]),
            str(r[5]),
        )
        for r in rows
    ]
