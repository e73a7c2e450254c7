"""Parked events: messages a projection could not use, kept with the reason.

A message that cannot be decoded (unknown type, a version newer than this
process knows, a corrupt payload, missing headers) or that the projection fails
to apply is written here in the batch's transaction, and the position moves on:
one bad event must not stop every read model. ``berth events parked`` lists them;
after a fix, rebuilding the model takes them in again.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.read_store import BINARY_TYPE, ReadStore, Tx


def parked_ddl(dialect: str) -> str:
    return (
        "CREATE TABLE IF NOT EXISTS parked_events ("
        " projection TEXT NOT NULL,"
        " stream_seq BIGINT NOT NULL,"
        " notification_id BIGINT,"
        " subject TEXT NOT NULL,"
        " topic TEXT,"
        " reason TEXT NOT NULL,"
        " detail TEXT NOT NULL,"
        f" payload {BINARY_TYPE[dialect]} NOT NULL,"
        " parked_at TEXT NOT NULL,"
        " PRIMARY KEY (projection, stream_seq))"
    )


@dataclass(frozen=True)
class ParkedEvent:
    projection: str
    stream_seq: int
    notification_id: int | None
    subject: str
    topic: str | None
    #: ``unknown-type``, ``newer-version``, ``corrupt-payload``, ``no-notification-id``,
    #: ``no-topic`` or ``apply-failed``
    reason: str
    detail: str
    payload: bytes
    parked_at: str


def install_parking(tx: Tx) -> None:
    tx.execute(parked_ddl(tx.dialect))


def park(tx: Tx, event: ParkedEvent) -> None:
    # Keyed by stream position: a message parked again after a restart stays one row.
    tx.execute(
        "INSERT INTO parked_events (projection, stream_seq, notification_id, subject, topic,"
        " reason, detail, payload, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (projection, stream_seq) DO NOTHING",
        (
            event.projection,
            event.stream_seq,
            event.notification_id,
            event.subject,
            event.topic,
            event.reason,
            event.detail,
            event.payload,
            event.parked_at,
        ),
    )


def forget_parked(tx: Tx, projection: str) -> None:
    tx.execute("DELETE FROM parked_events WHERE projection = ?", (projection,))


def list_parked(
    store: ReadStore, projection: str | None = None, limit: int = 1000
) -> list[ParkedEvent]:
    """Parked events in stream order, of one projection or all."""
    with store.transaction(pipelined=False) as tx:
        install_parking(tx)
        where, params = ("WHERE projection = ?", (projection,)) if projection else ("", ())
        rows = tx.fetchall(
            "SELECT projection, stream_seq, notification_id, subject, topic, reason, detail,"
            f" payload, parked_at FROM parked_events {where}"
            " ORDER BY stream_seq, projection LIMIT ?",
            (*params, limit),
        )
    return [
        ParkedEvent(
            projection=r[0],
            stream_seq=int(r[1]),
            notification_id=None if r[2] is None else int(r[2]),
            subject=r[3],
            topic=r[4],
            reason=r[5],
            detail=r[6],
            payload=bytes(r[7]),
            parked_at=r[8],
        )
        for r in rows
    ]
