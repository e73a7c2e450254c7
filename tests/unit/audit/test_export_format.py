"""The export format keeps every payload byte for byte, readable ones verbatim."""

from __future__ import annotations

import io
import json
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from services.manager.audit.export import encode_record, export_log
from services.manager.audit.replay import read_export
from tests.unit.audit.fakes import FakeRecorder, Note, session_log


def note_with(state: bytes) -> Note:
    return Note(1, uuid4(), 1, "session.SessionRequested@1", state)


def test_a_json_payload_is_embedded_verbatim_as_an_object() -> None:
    state = b'{"name":"s\\u00e9ance \xe2\x9c\x93","cpu":1.50}'
    line = encode_record(note_with(state))
    assert state in line
    assert json.loads(line)["state"] == {"name": "séance ✓", "cpu": 1.5}
    assert line.endswith(b"}\n") and line.count(b"\n") == 1


def test_a_payload_that_is_not_one_line_of_json_goes_as_base64() -> None:
    for state in (b"\x00\xffnot json", b' {"padded":1}', b'{"a":\n1}', b""):
        record = json.loads(encode_record(note_with(state)))
        assert "state" not in record and "state_base64" in record


@given(st.binary(max_size=200) | st.from_regex(rb"\A\{.*\}\Z"))
def test_any_payload_survives_export_and_import_unchanged(state: bytes) -> None:
    exported = read_export([encode_record(note_with(state))])
    assert exported.events[0].state == state


def test_export_writes_the_requested_range_in_pages() -> None:
    recorder = FakeRecorder(session_log(25))
    sink = io.BytesIO()
    assert export_log(recorder, sink, start=3, stop=20, page_size=4) == 18
    ids = [json.loads(line)["id"] for line in sink.getvalue().splitlines()]
    assert ids == list(range(3, 21))
