"""Projecting one batch of messages inside one transaction.

Messages at or below the position are passed over (they are already in the
tables), so delivering a message twice never changes a model. Messages that
cannot become events are parked and the position moves past them.

Batches first run in the fast mode, where the projection's error rolls back the
whole batch. The runner then retries the batch ``isolated``: each event in a
savepoint of its own, so only the event that fails is parked and the rest are
applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from events.codec import DecodeError, decode
from projections.base import EventMeta, Projection
from projections.envelope import Envelope
from projections.parking import ParkedEvent, park
from projections.positions import Position
from projections.read_store import Tx


@dataclass
class BatchOutcome:
    position: Position
    applied: int = 0
    skipped: int = 0
    parked: list[ParkedEvent] = field(default_factory=list)


def project_batch(
    tx: Tx,
    projection: Projection,
    position: Position,
    envelopes: Sequence[Envelope],
    *,
    now: Callable[[], str],
    isolate: bool = False,
    transient_errors: tuple[type[Exception], ...] = (),
) -> BatchOutcome:
    outcome = BatchOutcome(position)

    def set_aside(env: Envelope, reason: str, detail: str) -> None:
        parked = ParkedEvent(
            projection=projection.name,
            stream_seq=env.stream_seq,
            notification_id=env.notification_id,
            subject=env.subject,
            topic=env.topic,
            reason=reason,
            detail=detail,
            payload=env.payload,
            parked_at=now(),
        )
        park(tx, parked)
        outcome.parked.append(parked)

    for env in envelopes:
        nid = env.notification_id
        if nid is None:
            # Nothing to order it by: park it and leave the position where it was.
            set_aside(env, "no-notification-id", "the message has no numeric Nats-Msg-Id")
            continue
        if nid <= outcome.position.notification_id:
            outcome.skipped += 1
            if nid == outcome.position.notification_id:
                # The stream was rebuilt: remember where this notification sits now.
                outcome.position = Position(nid, env.stream_seq)
            continue
        outcome.position = Position(nid, env.stream_seq)
        if env.topic is None:
            set_aside(env, "no-topic", "the message has no Berth-Topic header")
            continue
        try:
            event = decode(env.topic, env.payload)
        except DecodeError as exc:
            set_aside(env, exc.reason, str(exc))
            continue
        meta = EventMeta(nid, env.stream_seq, env.subject, env.topic)
        if not isolate:
            projection.apply(tx, event, meta)
            outcome.applied += 1
            continue
        try:
            with tx.savepoint():
                projection.apply(tx, event, meta)
        except transient_errors:
            raise
        except Exception as exc:
            set_aside(env, "apply-failed", f"{type(exc).__name__}: {exc}")
        else:
            outcome.applied += 1
    return outcome
