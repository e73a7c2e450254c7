"""Group commit: a batch of requests decided in order and saved in one transaction."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import msgspec
import pytest
from eventsourcing.persistence import IntegrityError

from events.commands import CommandReply, RequestSession
from services.manager.batching import decide_batch
from services.manager.domain.aggregate import projector
from services.manager.domain.resource_group import ResourceGroup
from tests.unit.manager.control_plane import ControlPlane


@pytest.fixture
def cp(tmp_path: Path) -> ControlPlane:
    plane = ControlPlane(tmp_path)
    plane.register("a1", cpu=8)
    return plane


def body(cp: ControlPlane, request_id: str, **fields: object) -> bytes:
    fields.setdefault("resources", {"cpu": 1})
    fields.setdefault("image", "python")
    command = RequestSession(
        request_id=request_id,
        actor=cp.admin,
        name="s",
        **fields,  # type: ignore[arg-type]
    )
    return msgspec.json.encode(command)


def replies(raw: list[bytes]) -> list[CommandReply]:
    return [msgspec.json.decode(r, type=CommandReply) for r in raw]


def test_a_batch_is_decided_in_order_and_saved_at_once(cp: ControlPlane) -> None:
    before = cp.store.max_notification_id()
    batch = [
        body(cp, "a"),
        b"{not json",
        body(cp, "b", image="missing"),
        body(cp, "a"),  # the same request again, inside the batch
        body(cp, "c"),
    ]
    answers = replies(decide_batch(cp.ctx, batch, cp.tick()))
    assert [a.ok for a in answers] == [True, False, False, True, True]
    assert answers[1].error and answers[1].error.code == "malformed-command"
    assert answers[2].error and answers[2].error.code == "unknown-image"
    assert answers[3].duplicate and answers[3].session_id == answers[0].session_id
    stored = cp.store.max_notification_id()
    assert stored == before + 4  # two sessions, each requested and enqueued
    assert answers[0].notification_id == answers[4].notification_id == stored
    assert len(cp.group().queue) == 2


def test_a_batch_that_cannot_be_saved_is_decided_again_one_by_one(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = cp.store.save_aggregates
    calls = []

    def fail_once(aggregates: list[object], tracking: object = None) -> object:
        calls.append(len(aggregates))
        if len(calls) == 1:
            raise IntegrityError("simulated conflict")
        return real_save(aggregates, tracking)  # type: ignore[arg-type]

    monkeypatch.setattr(cp.store, "save_aggregates", fail_once)
    answers = replies(decide_batch(cp.ctx, [body(cp, "x"), body(cp, "y")], cp.tick()))
    assert [a.ok and not a.duplicate for a in answers] == [True, True]
    assert calls == [3, 2, 2]  # two sessions and the group at once, then each alone
    assert len(cp.group().queue) == 2
    assert (
        cp.group().version
        == cp.store.repository.get(cp.group().id, projector_func=projector(ResourceGroup)).version
    )


def test_a_repeat_no_longer_in_memory_is_still_answered_once(cp: ControlPlane) -> None:
    first = replies(decide_batch(cp.ctx, [body(cp, "x")], cp.tick()))[0]
    assert first.session_id is not None
    cp.ctx.aggregates.evict(cp.session(UUID(first.session_id)))
    again, other = replies(decide_batch(cp.ctx, [body(cp, "x"), body(cp, "z")], cp.tick()))
    assert again.duplicate and again.session_id == first.session_id
    assert other.ok and not other.duplicate
    requested = cp.store.app_recorder.select_notifications(
        1, 10_000, topics=["session.SessionRequested@1"]
    )
    assert len(requested) == 2
