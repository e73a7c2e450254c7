"""Usage per owner and each session's event history, projected from kernel and session events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from events.agent import AgentLost, KernelAssigned, KernelReleased
from events.base import DomainEvent
from projections.base import Projection
from projections.batch import project_batch
from projections.envelope import Envelope
from projections.parking import install_parking
from projections.positions import Position, install_positions
from projections.read_store import ReadStore, Row, SqliteReadStore
from projections.session_events import SessionEvents
from projections.settings import ReadStoreSettings
from projections.usage import ResourceUsage, decimal_text
from tests.unit.projections.fakes import AT, cancelled, envelope, requested


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReadStore]:
    read_store = SqliteReadStore(ReadStoreSettings(sqlite_path=tmp_path / "rm.sqlite3"))
    yield read_store
    read_store.close()


def project(store: ReadStore, model: Projection, events: list[DomainEvent]) -> None:
    envelopes: list[Envelope] = [envelope(n, e) for n, e in enumerate(events, start=1)]
    with store.transaction() as tx:
        install_positions(tx)
        install_parking(tx)
        model.install(tx)
        project_batch(tx, [model], {model.name: Position()}, envelopes, now=lambda: "now")


def rows(store: ReadStore, sql: str) -> list[Row]:
    with store.transaction() as tx:
        return tx.fetchall(sql)


def assigned(
    agent: UUID, session: UUID, kernel: UUID, seconds: float, version: int
) -> KernelAssigned:
    return KernelAssigned(
        originator_id=agent,
        originator_version=version,
        timestamp=AT + timedelta(seconds=seconds),
        session_id=session,
        kernel_id=kernel,
        kernel_index=0,
        session_type="batch",
        image="busybox",
        slots={"cpu": "0.5", "mem": "1073741824"},
    )


def released(
    agent: UUID, session: UUID, kernel: UUID, seconds: float, version: int
) -> KernelReleased:
    return KernelReleased(
        originator_id=agent,
        originator_version=version,
        timestamp=AT + timedelta(seconds=seconds),
        session_id=session,
        kernel_id=kernel,
        reason="exited",
    )


def test_a_held_kernel_is_live_usage_and_a_released_one_adds_slot_seconds(
    store: ReadStore,
) -> None:
    agent, first, second = uuid4(), uuid4(), uuid4()
    k1, k2 = uuid4(), uuid4()
    project(
        store,
        ResourceUsage(),
        [
            requested(first, "a"),
            requested(second, "b"),
            assigned(agent, first, k1, 10, 2),
            assigned(agent, second, k2, 10, 3),
            released(agent, first, k1, 20.5, 4),
        ],
    )
    assert rows(store, "SELECT kernel_id, session_id FROM usage_allocation") == [
        (str(k2), str(second))
    ]
    [(owner, kernels, kernel_seconds, slot_seconds)] = rows(
        store, "SELECT access_key, kernels, kernel_seconds, slot_seconds FROM usage_total"
    )
    assert (owner, kernels, kernel_seconds) == ("alice", 1, "10.5")
    # 0.5 CPU and 1 GiB held for 10.5 s
    assert json.loads(slot_seconds) == {"cpu": "5.25", "mem": "11274289152"}


def test_releasing_adds_up_and_an_unknown_kernel_changes_nothing(store: ReadStore) -> None:
    agent, session = uuid4(), uuid4()
    k1, k2 = uuid4(), uuid4()
    project(
        store,
        ResourceUsage(),
        [
            requested(session),
            assigned(agent, session, k1, 0, 2),
            released(agent, session, k1, 2, 3),
            assigned(agent, session, k2, 4, 4),
            released(agent, session, k2, 5, 5),
            released(agent, session, uuid4(), 9, 6),
        ],
    )
    assert rows(store, "SELECT kernels, kernel_seconds FROM usage_total") == [(2, "3")]
    assert rows(store, "SELECT * FROM usage_allocation") == []


def test_decimals_print_without_exponents() -> None:
    assert decimal_text(Decimal("1E+3")) == "1000"
    assert decimal_text(Decimal("2.500")) == "2.5"
    assert decimal_text(Decimal("0")) == "0"


def test_a_sessions_history_holds_its_own_and_its_kernels_events_in_log_order(
    store: ReadStore,
) -> None:
    agent, session, other = uuid4(), uuid4(), uuid4()
    kernel = uuid4()
    project(
        store,
        SessionEvents(),
        [
            requested(session),
            requested(other, "other"),
            assigned(agent, session, kernel, 1, 2),
            AgentLost(originator_id=agent, originator_version=3, timestamp=AT, reason="silent"),
            released(agent, session, kernel, 2, 4),
            cancelled(session),
        ],
    )
    history = rows(
        store,
        "SELECT notification_id, kind, aggregate_id, event_type, version, fields"
        f" FROM session_event_log WHERE session_id = '{session}' ORDER BY notification_id",
    )
    assert [(r[0], r[1], r[3], r[4]) for r in history] == [
        (1, "session", "SessionRequested", 1),
        (3, "agent", "KernelAssigned", 2),
        (5, "agent", "KernelReleased", 4),
        (6, "session", "SessionCancelled", 2),
    ]
    assert history[1][2] == str(agent)
    assert json.loads(history[3][5]) == {"reason": "not needed"}
    assert "originator_id" not in json.loads(history[0][5])
