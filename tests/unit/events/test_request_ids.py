"""Request ids are UUIDv7; a session requested with one gets an id that sorts by its time."""

from __future__ import annotations

import time
import uuid

import pytest
from berth_sdk.calls import new_request_id as sdk_request_id

from events.request_ids import new_request_id, request_time_ms, time_ordered
from services.manager.domain.resource_group import kernel_id_for
from services.manager.domain.session import session_id_for


def test_a_new_request_id_is_a_uuid7_of_this_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    request_id = new_request_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(request_id)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= request_time_ms(request_id) <= after  # type: ignore[operator]


def test_request_ids_are_unique_within_one_millisecond() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "request_id",
    ["r-1", "", str(uuid.uuid4()), uuid.uuid4().hex, str(uuid.uuid1()), "x" * 200],
)
def test_other_request_ids_have_no_time(request_id: str) -> None:
    assert request_time_ms(request_id) is None


def test_the_time_is_read_from_every_spelling_of_a_uuid7() -> None:
    request_id = uuid.UUID(new_request_id())
    ms = request_time_ms(request_id.hex)
    assert ms is not None
    for spelling in (str(request_id), f"{{{request_id}}}", request_id.urn, request_id.hex.upper()):
        assert request_time_ms(spelling) == ms


def test_time_ordered_keeps_the_time_and_sets_version_and_variant() -> None:
    made = time_ordered(0x0123_4567_89AB, (1 << 128) - 1, 8)
    assert made.version == 8
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 == 0x0123_4567_89AB
    with pytest.raises(ValueError, match="48 bits"):
        time_ordered(1 << 48, 0, 8)


def test_a_session_id_from_a_uuid7_request_starts_with_the_request_time() -> None:
    request_id = new_request_id()
    session_id = session_id_for("AK1", request_id)
    assert session_id.version == 8
    assert session_id.int >> 80 == request_time_ms(request_id)
    # deterministic: a retried request finds the same session
    assert session_id_for("AK1", request_id) == session_id
    # another caller with the same request id gets a session of its own
    assert session_id_for("AK2", request_id) != session_id


def test_session_ids_sort_by_request_time() -> None:
    requests = [time_ordered(ms, n * 7919, 7).hex for n, ms in enumerate(range(1_000, 1_100))]
    ids = [session_id_for("AK1", r) for r in requests]
    assert ids == sorted(ids)
    assert [i.bytes for i in ids] == sorted(i.bytes for i in ids)


def test_any_other_request_id_gives_the_name_based_uuid5_as_before() -> None:
    session_id = session_id_for("AK1", "r-1")
    assert session_id.version == 5
    assert session_id == session_id_for("AK1", "r-1")
    assert session_id_for("AK1", "r-2") != session_id


def test_the_sdk_makes_request_ids_the_server_reads_the_time_of() -> None:
    before = time.time_ns() // 1_000_000
    request_id = sdk_request_id()
    assert uuid.UUID(request_id).version == 7
    ms = request_time_ms(request_id)
    assert ms is not None
    assert before <= ms <= time.time_ns() // 1_000_000


def test_a_kernel_of_a_time_ordered_session_starts_with_the_sessions_time() -> None:
    session_id = session_id_for("AK1", new_request_id())
    kernels = [
        kernel_id_for(session_id, placement, index) for placement in (1, 2) for index in (0, 1)
    ]
    assert all(k.version == 8 and k.int >> 80 == session_id.int >> 80 for k in kernels)
    assert len(set(kernels)) == 4
    assert kernel_id_for(session_id, 1, 0) == kernels[0]  # replaying a round: the same kernels


def test_a_kernel_of_a_name_based_session_is_name_based() -> None:
    session_id = session_id_for("AK1", "r-1")
    assert kernel_id_for(session_id, 1, 0) == uuid.uuid5(session_id, "1.0")
