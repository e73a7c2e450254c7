"""Publishing a batch of messages as one write: HPUB frames built here, queued in one command.

For each message with headers, nats-py's ``publish`` checks the subject, builds the header
block name by name (a regular expression for each name, a translation for each value),
formats the ``HPUB`` command and queues it: a few microseconds, three times what a message
without headers costs. The relay sends thousands of messages whose subjects and headers it
makes itself, so it builds each frame with :func:`hpub` and queues a batch of them with
:func:`send_frames`, through the private methods ``publish`` itself ends in
(``_send_command``, then ``_flush_pending`` when its flush queue is empty, in the nats-py
version ``pyproject.toml`` pins). The server reads exactly what ``publish`` would have sent.

Names and values are checked here, once per call, for what would break the protocol: a
subject with whitespace, a header name with whitespace or a colon, a line break anywhere.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from functools import lru_cache

from nats.aio.client import Client as NATS
from nats.errors import (
    ConnectionClosedError,
    ConnectionDrainingError,
    ConnectionReconnectingError,
    MaxPayloadError,
)

_CRLF = b"\r\n"
_VERSION_LINE = b"NATS/1.0\r\n"
_SUBJECT = re.compile(r"[^\s]+")
_HEADER_NAME = re.compile(r"[^\s:]+")
_LINE_BREAK = re.compile(r"[\r\n]")


class BadFrame(ValueError):
    """A subject or header that cannot go on the wire as it is."""


@lru_cache(maxsize=64)
def _checked_name(name: str) -> bytes:
    if not _HEADER_NAME.fullmatch(name):
        raise BadFrame(f"header name {name!r} is empty or holds whitespace or a colon")
    return name.encode() + b": "


def header_line(name: str, value: str) -> bytes:
    """``name: value`` and its line end, as a header block holds it."""
    if _LINE_BREAK.search(value):
        raise BadFrame(f"header {name!r} has a line break in its value")
    return _checked_name(name) + value.encode() + _CRLF


def header_block(*lines: bytes) -> bytes:
    """The header block of :func:`header_line` lines, in order, as the server reads it."""
    return b"".join((_VERSION_LINE, *lines, _CRLF))


def checked_subject(subject: str) -> bytes:
    """``subject`` as the wire carries it, once it is known to hold no whitespace."""
    if not _SUBJECT.fullmatch(subject):
        raise BadFrame(f"subject {subject!r} is empty or holds whitespace")
    return subject.encode()


def hpub(subject: str, headers: bytes, payload: bytes, max_payload: int) -> bytes:
    """One ``HPUB`` frame: ``subject`` (no reply), a :func:`header_block`, and ``payload``.

    ``max_payload`` is the server's limit (the client's ``max_payload``): a message whose
    headers and payload exceed it is refused here with nats-py's ``MaxPayloadError``, as
    ``publish`` refuses it, instead of making the server close the connection.
    """
    return b"".join(hpub_parts(checked_subject(subject), headers, payload, max_payload))


def hpub_parts(
    subject: bytes, headers: bytes, payload: bytes, max_payload: int
) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes]:
    """:func:`hpub`'s frame in the pieces it is joined from, for a subject and a header block
    made only of checked parts (by :func:`checked_subject` and :func:`header_line`, once for
    many messages, say): only the size is checked here. A batch's pieces are joined once, by
    :func:`send_frames`, rather than each frame first and then the batch."""
    header_size = len(headers)
    total = header_size + len(payload)
    if total > max_payload:
        raise MaxPayloadError
    return b"HPUB ", subject, b" %d %d\r\n" % (header_size, total), headers, payload, _CRLF


async def send_frames(nc: NATS, chunks: Sequence[bytes], messages: int) -> None:
    """Queue ``messages`` frames, given as ``chunks`` (whole frames, or :func:`hpub_parts`, in
    order), as one command and flush, as ``publish`` does with one.

    Refused, with nats-py's own errors, while the client is closed, draining or
    reconnecting: the caller tries again once connected, as after a failed publish.
    """
    if not chunks:
        return
    send = getattr(nc, "_send_command", None)
    flush = getattr(nc, "_flush_pending", None)
    if not (inspect.iscoroutinefunction(send) and inspect.iscoroutinefunction(flush)):
        raise RuntimeError(
            "this nats-py client has no coroutine _send_command and _flush_pending; "
            "events/frames.py was written for the nats-py version pyproject.toml pins"
        )
    if nc.is_closed:
        raise ConnectionClosedError
    if nc.is_draining_pubs:
        raise ConnectionDrainingError
    if not nc.is_connected:
        raise ConnectionReconnectingError
    command = b"".join(chunks)
    nc.stats["out_msgs"] += messages
    nc.stats["out_bytes"] += len(command)
    await send(command)
    queue = getattr(nc, "_flush_queue", None)
    if queue is not None and queue.empty():
        await flush()
