"""What the runner tells readers after a batch: each event it took in, its place and version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from uuid import uuid4

import msgspec

from events.session import SessionRequested
from projections.base import EventMeta, Projection, handles
from projections.batch import project_batch
from projections.changes import (
    CHUNK,
    Change,
    ChangeAnnouncer,
    changes_subject,
    decode_changed,
)
from projections.envelope import Envelope
from projections.positions import Position
from tests.unit.projections.fakes import cancelled, envelope, raw, requested


class _Tx:
    """Takes every write, holds nothing."""

    dialect = "sqlite"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        pass


class _Nothing(Projection):
    """A model that takes no event in."""

    name: ClassVar[str] = "nothing"
    tables: ClassVar[dict[str, str]] = {}

    def ddl(self, dialect: str) -> list[str]:
        return []


class _Requests(_Nothing):
    """A model that takes session requests in (and nothing else)."""

    name: ClassVar[str] = "requests"

    @handles(SessionRequested)
    def _requested(self, tx: Any, event: SessionRequested, meta: EventMeta) -> None:
        pass


def changes_of(
    envelopes: list[Envelope], after: int = 0, *, behind: Position | None = None
) -> list[Change]:
    """The changes a batch of ``envelopes`` lists, with the models at ``after`` (and, given
    ``behind``, a second model there)."""
    models: list[Projection] = [_Requests()]
    positions = {"requests": Position(after, after)}
    if behind is not None:
        models.append(_Nothing())
        positions["nothing"] = behind
    changes: list[Change] = []
    tx: Any = _Tx()
    project_batch(tx, models, positions, envelopes, now=lambda: "now", changes=changes)
    return changes


def test_changes_name_the_aggregate_event_version_and_place() -> None:
    session = uuid4()
    # One event a model takes in, one no model takes: both are changes.
    envs = [envelope(7, requested(session)), envelope(8, cancelled(session))]
    assert changes_of(envs) == [
        Change(7, 7, "session", str(session), "SessionRequested", 1),
        Change(8, 8, "session", str(session), "SessionCancelled", 2),
    ]


def test_events_already_in_the_tables_or_without_a_place_are_left_out() -> None:
    session = uuid4()
    envs = [
        envelope(7, requested(session)),
        envelope(8, cancelled(session)),
        raw(9, "session.SessionRequested@1", b"{}", nid=None),
    ]
    assert [c.notification_id for c in changes_of(envs, after=7)] == [8]


def test_models_at_different_places_list_what_the_one_behind_takes_in() -> None:
    session = uuid4()
    envs = [envelope(7, requested(session)), envelope(8, cancelled(session))]
    assert [c.notification_id for c in changes_of(envs, after=8, behind=Position(6, 6))] == [7, 8]
    assert changes_of(envs, after=8, behind=Position(6, 6)) == changes_of(envs)


def test_a_message_that_cannot_be_decoded_still_counts_as_a_change() -> None:
    [change] = changes_of([raw(3, "session.Nope@1", b"not json", nid=3)])
    assert change == Change(3, 3, "session", "x", "Something", None)


class RecordingNats:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.fail = fail

    async def publish(self, subject: str, payload: bytes) -> None:
        if self.fail:
            raise ConnectionError("connection closed")
        self.sent.append((subject, payload))


def _announcer(nc: RecordingNats) -> ChangeAnnouncer:
    fake: Any = nc
    return ChangeAnnouncer(fake, "read-models")


async def test_a_large_batch_is_announced_in_chunks_that_all_carry_the_positions() -> None:
    nc = RecordingNats()
    changes = [Change(n, n, "session", "s", "SessionRunning", n) for n in range(1, 2 * CHUNK + 2)]
    positions = {"sessions": 2 * CHUNK + 1, "agents": 2 * CHUNK + 1}
    await _announcer(nc).announce(positions, changes)
    assert {subject for subject, _ in nc.sent} == {changes_subject("read-models")}
    messages = [decode_changed(payload) for _, payload in nc.sent]
    assert [len(m.changes) for m in messages] == [CHUNK, CHUNK, 1]
    assert all(m.positions == positions for m in messages)
    assert [c for m in messages for c in m.changes] == changes


async def test_a_failed_announcement_never_reaches_the_runner() -> None:
    nc = RecordingNats(fail=True)
    change = Change(1, 1, "session", "s", "SessionRunning", 2)
    await _announcer(nc).announce({"sessions": 1}, [change])
    await _announcer(nc).announce({"sessions": 1}, [])
    assert nc.sent == []


def test_the_message_is_small_json() -> None:
    message = msgspec.json.encode(Change(1, 2, "session", "s", "SessionRunning", 3))
    assert message == b'[1,2,"session","s","SessionRunning",3]'


def test_the_version_of_a_parked_message_is_read_however_the_payload_is_spelled() -> None:
    session = uuid4()
    spelled_otherwise = (
        b'{"timestamp": "2026-11-27T21:00:00+00:00", "originator_version": 4,'
        b' "originator_id": "' + str(session).encode() + b'"}'
    )
    envs = [envelope(7, requested(session)), raw(8, "session.X@1", spelled_otherwise, nid=8)]
    assert [c.version for c in changes_of(envs)] == [1, 4]


def test_a_subject_not_shaped_as_an_events_names_no_aggregate() -> None:
    env = raw(5, "session.SessionRequested@1", b"{}")._replace(subject="berth.ev.session.x")
    [change] = changes_of([env])
    assert (change.kind, change.aggregate_id, change.event) == ("", "", "")
