"""The usage and session-event models, and the gateway's reads of them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from events.agent import KernelReleased
from events.base import DomainEvent
from events.codec import encode
from events.subjects import subject_for
from projections.base import Projection
from projections.batch import project_batch
from projections.envelope import Envelope
from projections.parking import install_parking
from projections.positions import Position, install_positions, write_positions
from projections.read_store import open_read_store
from projections.session_events import SessionEvents
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from projections.usage import ResourceUsage
from services.gateway.graphql import reads
from services.gateway.read_models import ReadModels
from tests.unit.gateway.graphql.fakes import (
    ALICE,
    BOB,
    CAROL,
    T0,
    assigned,
    lifecycle,
    new_id,
    requested,
)


def project(settings: ReadStoreSettings, events: list[DomainEvent]) -> None:
    models: list[Projection] = [SessionView(), SessionEvents(), ResourceUsage()]
    envelopes = []
    for nid, event in enumerate(events, start=1):
        topic, payload = encode(event)
        envelopes.append(Envelope(nid, subject_for(event), nid, topic, payload))
    store = open_read_store(settings)
    try:
        with store.transaction() as tx:
            install_positions(tx)
            install_parking(tx)
            for model in models:
                model.install(tx)
                outcome = project_batch(
                    tx, [model], {model.name: Position()}, envelopes, now=lambda: "now"
                )[model.name]
                write_positions(tx, {model.name: outcome.position})
    finally:
        store.close()


async def test_usage_history_and_status_changes_read_alike_on_both_backends(
    read_settings: ReadStoreSettings,
) -> None:
    agent, k1, k2 = new_id(), new_id(), new_id()
    mine, theirs = requested(ALICE, "a", project="ml"), requested(CAROL, "c")
    events: list[DomainEvent] = [
        mine,
        theirs,
        assigned(mine.originator_id, agent, k1, 2),
        assigned(theirs.originator_id, agent, k2, 3),
        *lifecycle(mine.originator_id, agent, k1),
        KernelReleased(
            originator_id=agent,
            originator_version=4,
            timestamp=T0 + timedelta(seconds=3.5),
            session_id=mine.originator_id,
            kernel_id=k1,
            reason="exited",
        ),
    ]
    project(read_settings, events)

    read_models = ReadModels(read_settings)
    read_models.open()
    try:
        with read_models.connection() as reader:
            assert reads.projection_position(reader, "usage") == len(events)
            # bob reads the ml project: alice's ended kernel; carol's live one is hers
            rows = reads.usage_rows(reader, BOB.visibility, {})
            assert [(r.user_id, r.kernels, r.kernel_seconds) for r in rows] == [
                ("u-alice", 1, "2.5")
            ]
            everyone = reads.usage_rows(reader, CAROL.visibility, {"resource_group": ["default"]})
            assert [(r.user_id, r.session_id) for r in everyone] == [
                ("u-carol", str(theirs.originator_id))
            ]

            history = reads.session_events(reader, str(mine.originator_id), 3, None)
            assert [e.event_type for e in history.items] == [
                "SessionRequested",
                "KernelAssigned",
                "SessionScheduled",
            ]
            rest = reads.session_events(reader, str(mine.originator_id), 10, history.next_cursor)
            assert [e.event_type for e in rest.items][-1] == "KernelReleased"
            assert rest.next_cursor is None

            changes = reads.status_changes_of(reader, {str(mine.originator_id): 3})
            assert [(row.version, row.status) for _, row in changes] == [
                (3, "PREPARING"),
                (4, "RUNNING"),
                (5, "TERMINATED"),
            ]
            assert changes[0][0].name == "a"
    finally:
        read_models.close()
