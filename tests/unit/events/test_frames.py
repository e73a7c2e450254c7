"""HPUB frames built by hand say what nats-py's ``publish`` would queue: the same control
line (nats-py spells an empty reply as a second space) and the same bytes after it."""

from __future__ import annotations

import pytest
from nats.aio.client import Client as NATS
from nats.errors import ConnectionClosedError, MaxPayloadError

from events.frames import BadFrame, header_block, header_line, hpub, send_frames

#: nats-server's default limit
MAX = 1024 * 1024


async def queued_by_nats_py(subject: str, payload: bytes, headers: dict[str, str]) -> bytes:
    """The command nats-py's publish path queues for this message."""
    client = NATS()
    sent: list[bytes] = []

    async def capture(cmd: bytes, priority: bool = False) -> None:
        sent.append(cmd)

    client._send_command = capture  # type: ignore[method-assign]
    await client._send_publish(subject, "", payload, len(payload), headers)
    (command,) = sent
    return command


@pytest.mark.parametrize(
    ("subject", "headers", "payload"),
    [
        (
            "berth.ev.session.0193a1b2-c3d4-8e5f-9a0b-1c2d3e4f5a6b.SessionRequested",
            {
                "Nats-Msg-Id": "1234",
                "Berth-Topic": "session.SessionRequested@1",
                "Nats-Expected-Last-Sequence": "1233",
            },
            b'{"originator_id":"x","name":"s"}',
        ),
        ("a", {"X": ""}, b""),
        ("a.b", {"Name-With-Dashes": "value with spaces"}, b"\x00\xff binary"),
    ],
)
async def test_a_frame_is_what_publish_would_queue(
    subject: str, headers: dict[str, str], payload: bytes
) -> None:
    block = header_block(*(header_line(name, value) for name, value in headers.items()))
    assert parts(hpub(subject, block, payload, MAX)) == parts(
        await queued_by_nats_py(subject, payload, headers)
    )


def parts(frame: bytes) -> tuple[list[bytes], bytes]:
    """A frame's control line as its tokens, and everything after that line."""
    control, _, rest = frame.partition(b"\r\n")
    return control.split(), rest


@pytest.mark.parametrize("subject", ["", "a b", "a\tb", "a\r\nPUB x 0"])
def test_a_subject_with_whitespace_is_refused(subject: str) -> None:
    with pytest.raises(BadFrame, match="subject"):
        hpub(subject, header_block(), b"", MAX)


@pytest.mark.parametrize("name", ["", "A B", "A:B", "A\r\n"])
def test_a_bad_header_name_is_refused(name: str) -> None:
    with pytest.raises(BadFrame, match="header name"):
        header_line(name, "v")


@pytest.mark.parametrize("value", ["a\r\nInjected: yes", "a\nb", "a\rb"])
def test_a_line_break_in_a_value_is_refused(value: str) -> None:
    with pytest.raises(BadFrame, match="line break"):
        header_line("X", value)


async def test_frames_are_refused_while_the_client_is_not_connected() -> None:
    client = NATS()
    client._status = NATS.CLOSED
    with pytest.raises(ConnectionClosedError):
        await send_frames(client, [hpub("a", header_block(), b"", MAX)], 1)


def test_a_message_over_the_servers_limit_is_refused_as_publish_refuses_it() -> None:
    block = header_block(header_line("Nats-Msg-Id", "1"))
    assert hpub("a", block, b"x" * (100 - len(block)), 100)
    with pytest.raises(MaxPayloadError):
        hpub("a", block, b"x" * (101 - len(block)), 100)
