"""``verify``'s merge of the store's log and the stream names each kind of mismatch."""

from __future__ import annotations

from dataclasses import replace

from services.manager.audit.stream_reader import StreamMessage
from services.manager.audit.verify import VerifyReport, compare
from tests.unit.audit.fakes import FakeRecorder, Note, as_relayed, session_log, stream_of


async def check(notes: list[Note], messages: list[StreamMessage]) -> VerifyReport:
    return await compare(FakeRecorder(notes), len(notes), stream_of(messages), page_size=4)


def relayed(notes: list[Note], order: list[int] | None = None) -> list[StreamMessage]:
    by_id = {n.id: n for n in notes}
    ids = order if order is not None else [n.id for n in notes]
    return [as_relayed(by_id[nid], seq) for seq, nid in enumerate(ids, start=1)]


async def test_identical_logs_pass() -> None:
    notes = session_log(11)
    report = await check(notes, relayed(notes))
    assert report.identical and report.matched == report.stream_count == report.store_count == 11


async def test_a_stream_behind_the_store_is_lag_not_a_mismatch() -> None:
    notes = session_log(11)
    report = await check(notes, relayed(notes)[:8])
    assert (report.lag, report.problems) == (3, 0)
    assert not report.passed() and report.passed(allow_lag=True)


async def test_missing_extra_and_late_events_are_told_apart() -> None:
    notes = session_log(8)
    messages = relayed(notes, [1, 2, 4, 5, 3, 6, 8])
    stray = StreamMessage(
        seq=8, subject="berth.ev.x.y.z", notification_id=None, topic=None, payload=b""
    )
    report = await check(notes, [*messages, stray])
    assert (report.out_of_order, report.missing, report.extra, report.matched) == (1, 1, 1, 6)
    assert [m.kind for m in report.mismatches] == ["out-of-order", "missing", "extra"]
    assert report.mismatches[1].detail == (
        "notification 7 is not on the stream (stream seq 7 holds notification 8)"
    )


async def test_an_event_only_the_stream_has_is_extra() -> None:
    notes = session_log(4)
    ghost = replace(as_relayed(notes[-1], 5), notification_id=9)
    report = await check(notes, [*relayed(notes), ghost])
    assert report.extra == 1
    assert "notification 9, which the store does not have" in report.mismatches[0].detail


async def test_altered_subject_topic_and_payload_are_each_named() -> None:
    notes = session_log(3)
    messages = relayed(notes)
    messages[1] = replace(
        messages[1], subject="berth.ev.session.x.Other", topic="session.Other@1", payload=b"{}"
    )
    report = await check(notes, messages)
    assert report.different == 1
    detail = report.mismatches[0].detail
    assert "subject berth.ev.session.x.Other where" in detail
    assert "topic 'session.Other@1' where" in detail
    assert "payload of 2 bytes differs" in detail
