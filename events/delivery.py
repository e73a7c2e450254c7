"""Messages of one subscription handed over as they are parsed, without nats-py's ``Msg`` path.

For every message it delivers, nats-py parses all of its headers into a dict (checking
each character of each header name), builds a ``Msg``, puts it on the subscription's
queue, and has a task take it off and await the subscription's callback with it. For the
readers that take JetStream messages by the batch (the projections, fact ingestion, the
agents' decisions) that is a quarter of what projecting a message costs.

:func:`subscribe_wire` subscribes a handler that the client's protocol parser calls
directly with the message's parts as the wire carries them (subject, reply, header block,
payload), so a reader makes of them only what it keeps (:mod:`events.pull`);
:func:`subscribe_raw` hands each over as a :class:`Delivered`: subject and reply decoded,
payload as received, and headers parsed only when read. For that a client's protocol
parser (nats-py's private ``_ps``, in the pinned nats-py version) is replaced by a
:class:`~events.wire.RawParser`, which reads the raw subscriptions' messages itself and
passes every other message and line on to nats-py unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription
from nats.protocol.parser import Parser

from events.wire import RawHandler, RawParser

#: ``NATS/1.0`` then, for a status message, `` <code> <description>``
_VERSION_LINE = b"NATS/1.0"
_STATUS_LINE = _VERSION_LINE + b" "
_CRLF = b"\r\n"

#: tokens of a JetStream reply subject: v1 ``$JS.ACK.<stream>.<consumer>.<delivered>.<stream
#: seq>.<consumer seq>.<time>.<pending>``; v2 adds ``<domain>.<account hash>`` after ``ACK``
#: (and may end with a random token)
_V1_TOKENS = 9
_V1_STREAM_SEQ = 5
_V2_MIN_TOKENS = 11
_V2_STREAM_SEQ = 7


class Received(Protocol):
    """What readers of JetStream messages use, from a :class:`Delivered` or a nats-py ``Msg``."""

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    @property
    def headers(self) -> dict[str, str] | None: ...


class NotJetStream(ValueError):
    """The message's reply subject is not a JetStream acknowledgement subject."""


def stream_seq_of(reply: str) -> int:
    """The stream sequence a JetStream message's reply subject carries."""
    tokens = reply.split(".")
    if len(tokens) < _V1_TOKENS or tokens[0] != "$JS" or tokens[1] != "ACK":
        raise NotJetStream(f"not a JetStream reply subject: {reply!r}")
    index = _V1_STREAM_SEQ if len(tokens) == _V1_TOKENS else _V2_STREAM_SEQ
    if len(tokens) != _V1_TOKENS and len(tokens) < _V2_MIN_TOKENS:
        raise NotJetStream(f"not a JetStream reply subject: {reply!r}")
    return int(tokens[index])


def parse_headers(raw: bytes) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The headers of a raw header block, and its inline status (code, description) if any.

    As nats-py reads them: a name is what precedes the first ``:``, names with
    whitespace in them are left out, values are stripped, and a later header of
    the same name replaces an earlier one.
    """
    lines = raw.split(_CRLF)
    first = lines[0]
    status: tuple[str, str] | None = None
    if first.startswith(_VERSION_LINE + b" "):
        code, _, description = first[len(_VERSION_LINE) + 1 :].strip().partition(b" ")
        status = (code.decode("ascii", "replace"), description.strip().decode("utf-8", "replace"))
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = name.strip().decode("ascii", "replace")
        if len(key.split()) != 1:
            continue  # empty, or with whitespace inside
        headers[key] = value.strip().decode("utf-8", "replace")
    return headers, status


class Delivered:
    """One message as the server delivered it."""

    __slots__ = ("_client", "_parsed", "_raw_headers", "data", "reply", "subject")

    def __init__(self, client: NATS, subject: str, reply: str, data: bytes, headers: bytes) -> None:
        self._client = client
        self.subject = subject
        self.reply = reply
        self.data = data
        self._raw_headers = headers
        self._parsed: tuple[dict[str, str], tuple[str, str] | None] | None = None

    def _parse(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        if self._parsed is None:
            self._parsed = parse_headers(self._raw_headers) if self._raw_headers else ({}, None)
        return self._parsed

    @property
    def raw_headers(self) -> bytes:
        """Its header block as received (``b""`` when it has none)."""
        return self._raw_headers

    @property
    def headers(self) -> dict[str, str] | None:
        """Its headers by name; None when it has none."""
        return self._parse()[0] or None

    @property
    def status(self) -> tuple[str, str] | None:
        """The server's inline status (code, description), e.g. ``("408", "Request Timeout")``."""
        if not self._raw_headers.startswith(_STATUS_LINE):
            return None
        return self._parse()[1]

    @property
    def stream_seq(self) -> int:
        """Its stream sequence, for a message a JetStream consumer delivered."""
        return stream_seq_of(self.reply)

    async def ack(self) -> None:
        """Acknowledge it (with ``AckPolicy.ALL``, everything delivered before it too)."""
        if not self.reply:
            raise NotJetStream("the message has no reply subject to acknowledge")
        await self._client.publish(self.reply)


#: a raw subscription's handler: it returns None, or an awaitable when it has something to
#: send (awaited before the next message is read)
Handler = Callable[[Delivered], Awaitable[None] | None]


def _routes(nc: NATS) -> dict[int, RawHandler]:
    """The client's raw subscriptions by sid, putting its parser in place the first time."""
    parser = getattr(nc, "_ps", None)
    if isinstance(parser, RawParser):
        return parser.routes
    if not isinstance(parser, Parser):
        raise RuntimeError(
            "this nats-py client has no protocol parser at _ps to take over; "
            "events/wire.py was written for the nats-py version pyproject.toml pins"
        )
    raw = RawParser.taking_over(parser, {})
    nc._ps = raw
    return raw.routes


def delivered_of(nc: NATS) -> Callable[[bytes, bytes, bytes, bytes], Delivered]:
    """Makes a :class:`Delivered` of what :func:`subscribe_wire` hands over, for ``nc``."""

    def make(subject: bytes, reply: bytes, headers: bytes, data: bytes) -> Delivered:
        return Delivered(nc, subject.decode(), reply.decode(), data, headers)

    return make


async def subscribe_wire(nc: NATS, subject: str, handler: RawHandler) -> Subscription:
    """Subscribe ``handler`` to ``subject``; it is called for each message, in order, with
    the message's parts as the wire carries them: ``(subject, reply, header block or b"",
    payload)``.

    The handler is in place once this returns: send the requests whose replies come
    here after that. It runs inside the client's reading of its socket, so while what
    it returns is awaited nothing else the client subscribes to is read: it may
    publish, but must not wait for anything that needs a message from the server (a
    reply, an acknowledgement); and it must not raise. Unsubscribe with
    :func:`unsubscribe_raw`.
    """
    routes = _routes(nc)
    sub = await nc.subscribe(subject)
    routes[sub._id] = handler
    return sub


async def subscribe_raw(nc: NATS, subject: str, handler: Handler) -> Subscription:
    """:func:`subscribe_wire` with each message handed over as a :class:`Delivered`."""
    make = delivered_of(nc)

    def deliver(
        subject: bytes, reply: bytes, headers: bytes, data: bytes
    ) -> Awaitable[None] | None:
        return handler(make(subject, reply, headers, data))

    return await subscribe_wire(nc, subject, deliver)


async def unsubscribe_raw(nc: NATS, sub: Subscription) -> None:
    _routes(nc).pop(sub._id, None)
    await sub.unsubscribe()
