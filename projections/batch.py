"""Projecting one batch of messages into several read models inside one transaction.

Each read model has its own position. A message at or below a model's position
is passed over for that model (its tables already hold it), so delivering a
message twice never changes a model, and models that stand at different places
(one just rebuilt, one new) can share a batch. A message is decoded once for all
the models that still need it. In the usual case, every model of the group at one
position, the models move as one, and an event costs only the handlers of the models
that take its type. Messages that cannot become events are parked,
for each model that needed them, and those models' positions move past them.

Batches first run in the fast mode, where any model's error rolls back the whole
batch. The runner then retries the batch ``isolated``: each event, for each
model, in a savepoint of its own, so only that model parks only the event that
fails, and everything else is applied.

Given a list for ``changes``, the batch also lists what it took in for readers
(:mod:`projections.changes`): one :class:`~projections.changes.Change` for every message
beyond the models' positions, made from the event it decoded anyway (a parked message
from its subject).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from events.base import DomainEvent
from events.codec import DecodeError, decode
from projections.base import EventMeta, Handler, Projection
from projections.changes import Change, change_of, change_of_message
from projections.envelope import Envelope
from projections.parking import ParkedEvent, park
from projections.positions import Position
from projections.read_store import Tx


@dataclass
class BatchOutcome:
    """What one batch did to one read model."""

    position: Position
    applied: int = 0
    skipped: int = 0
    parked: list[ParkedEvent] = field(default_factory=list)


def project_batch(
    tx: Tx,
    projections: Sequence[Projection],
    positions: Mapping[str, Position],
    envelopes: Sequence[Envelope],
    *,
    now: Callable[[], str],
    isolate: bool = False,
    transient_errors: tuple[type[Exception], ...] = (),
    changes: list[Change] | None = None,
) -> dict[str, BatchOutcome]:
    """Apply ``envelopes`` to each model from its position; the outcome of each, by name.

    Each message that a model had not taken in yet is appended to ``changes``, if given."""
    outcomes = {p.name: BatchOutcome(positions[p.name]) for p in projections}

    def set_aside(env: Envelope, models: Sequence[Projection], reason: str, detail: str) -> None:
        for model in models:
            parked = ParkedEvent(
                projection=model.name,
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
            outcomes[model.name].parked.append(parked)

    together = len({positions[p.name] for p in projections}) == 1
    if together and not isolate:
        _in_step(tx, projections, envelopes, outcomes, set_aside, changes)
    else:
        _each_model(
            tx, projections, envelopes, outcomes, set_aside, isolate, transient_errors, changes
        )
    return outcomes


SetAside = Callable[[Envelope, Sequence[Projection], str, str], None]


def _ordered(
    envelopes: Sequence[Envelope], models: Sequence[Projection], set_aside: SetAside
) -> Iterator[tuple[Envelope, int]]:
    """Each envelope with its notification id; one without is parked for every model, and the
    positions stay where they were (there is nothing to order it by)."""
    for env in envelopes:
        if env.notification_id is None:
            set_aside(env, models, "no-notification-id", "the message has no numeric Nats-Msg-Id")
            continue
        yield env, env.notification_id


def _decoded(
    env: Envelope, models: Sequence[Projection], set_aside: SetAside
) -> tuple[DomainEvent, str] | None:
    """The envelope's event with its topic, or None once it is parked for ``models`` (no
    topic, or one that cannot be decoded)."""
    topic = env.topic
    if topic is None:
        set_aside(env, models, "no-topic", "the message has no Berth-Topic header")
        return None
    try:
        return decode(topic, env.payload), topic
    except DecodeError as exc:
        set_aside(env, models, exc.reason, str(exc))
        return None


def _in_step(
    tx: Tx,
    projections: Sequence[Projection],
    envelopes: Sequence[Envelope],
    outcomes: dict[str, BatchOutcome],
    set_aside: SetAside,
    changes: list[Change] | None,
) -> None:
    """The usual case: every model stands at one position, so they move as one; each event
    goes to the handlers of the models that take its type, and to nothing else."""
    start = outcomes[projections[0].name].position
    nid_at, seq_at = start.notification_id, start.stream_seq
    applied = skipped = 0
    handlers_of: dict[type[DomainEvent], list[tuple[Projection, Handler]]] = {}
    for env, nid in _ordered(envelopes, projections, set_aside):
        if nid <= nid_at:
            skipped += 1
            if nid == nid_at:
                # The stream was rebuilt: remember where this notification sits now.
                seq_at = env.stream_seq
            continue
        nid_at, seq_at = nid, env.stream_seq
        decoded = _decoded(env, projections, set_aside)
        if decoded is None:
            if changes is not None:
                changes.append(change_of_message(env))
            continue
        event, topic = decoded
        applied += 1  # a model that does not take the event moves past it all the same
        event_type = type(event)
        handlers = handlers_of.get(event_type)
        if handlers is None:
            handlers = handlers_of[event_type] = [
                (model, handler)
                for model in projections
                if (handler := model.handlers.get(event_type)) is not None
            ]
        if handlers:
            meta = EventMeta.of(event, nid, env.stream_seq, env.subject, topic, env.payload)
            for model, handler in handlers:
                handler(model, tx, event, meta)
            if changes is not None:
                changes.append(change_of(nid, env.stream_seq, event, meta.aggregate_id))
        elif changes is not None:
            changes.append(change_of(nid, env.stream_seq, event, str(event.originator_id)))
    position = Position(nid_at, seq_at)
    for outcome in outcomes.values():
        outcome.position = position
        outcome.applied = applied
        outcome.skipped = skipped


def _each_model(
    tx: Tx,
    projections: Sequence[Projection],
    envelopes: Sequence[Envelope],
    outcomes: dict[str, BatchOutcome],
    set_aside: SetAside,
    isolate: bool,
    transient_errors: tuple[type[Exception], ...],
    changes: list[Change] | None,
) -> None:
    """Models at different positions (one just rebuilt, one new), or a batch run isolated:
    each model is taken on its own for each event."""
    count = len(projections)
    # Each model's position as plain numbers while the batch runs.
    nids = [outcomes[p.name].position.notification_id for p in projections]
    seqs = [outcomes[p.name].position.stream_seq for p in projections]
    skipped = [0] * count
    applied = [0] * count
    everyone = range(count)
    for env, nid in _ordered(envelopes, projections, set_aside):
        behind: Sequence[int]
        if nid > max(nids):
            # The usual case: every model is behind this message.
            behind = everyone
            nids = [nid] * count
            seqs = [env.stream_seq] * count
        else:
            behind = []
            for i in everyone:
                if nid > nids[i]:
                    nids[i], seqs[i] = nid, env.stream_seq
                    behind.append(i)
                    continue
                skipped[i] += 1
                if nid == nids[i]:
                    # The stream was rebuilt: remember where this notification sits now.
                    seqs[i] = env.stream_seq
            if not behind:
                continue
        decoded = _decoded(env, [projections[i] for i in behind], set_aside)
        if decoded is None:
            if changes is not None:
                changes.append(change_of_message(env))
            continue
        event, topic = decoded
        meta: EventMeta | None = None
        event_type = type(event)
        for i in behind:
            model = projections[i]
            if event_type not in model.handlers:
                applied[i] += 1  # nothing to change: the position alone moves
                continue
            if meta is None:
                meta = EventMeta.of(event, nid, env.stream_seq, env.subject, topic, env.payload)
            if not isolate:
                model.apply(tx, event, meta)
                applied[i] += 1
                continue
            try:
                with tx.savepoint():
                    model.apply(tx, event, meta)
            except transient_errors:
                raise
            except Exception as exc:
                set_aside(env, [model], "apply-failed", f"{type(exc).__name__}: {exc}")
            else:
                applied[i] += 1
        if changes is not None:
            aggregate_id = meta.aggregate_id if meta is not None else str(event.originator_id)
            changes.append(change_of(nid, env.stream_seq, event, aggregate_id))
    for i, model in enumerate(projections):
        outcome = outcomes[model.name]
        outcome.position = Position(nids[i], seqs[i])
        outcome.applied = applied[i]
        outcome.skipped = skipped[i]
