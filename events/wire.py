"""Reading the server's protocol with the raw subscriptions' messages taken out in one pass.

nats-py's parser tries a regular expression per message, copies each message out of
a growing buffer and awaits the client's ``_process_msg`` for it, then the
subscription's handler: about 3 µs a message, which for the readers that take
JetStream messages by the thousand (the projections) is a tenth of what projecting
one costs. :class:`RawParser` takes its place on a client (``nc._ps``) once the client
has a raw subscription (:mod:`events.delivery`). It reads each chunk from the
socket as it comes: it finds each control line, splits ``MSG`` and ``HMSG`` lines on
their spaces, and calls the handler of a raw subscription directly with the
message's slices. Everything else goes the way nats-py would send it: a message for
any other subscription to the client's ``_process_msg``, any other control line
(``INFO``, ``PING``, ``PONG``, ``+OK``, ``-ERR``, and anything it does not know) to
nats-py's own parser, which this class extends.

A handler returns None, or an awaitable when it has something to send (a new pull
request): the parser awaits that before it reads on, so the order of what a handler
does is kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nats.errors import ProtocolError
from nats.protocol.parser import AWAITING_CONTROL_LINE, Parser

#: a raw subscription's handler: ``(subject, reply, header block or b"", payload)``
RawHandler = Callable[[bytes, bytes, bytes, bytes], Awaitable[None] | None]

_CRLF = b"\r\n"
_MSG = b"MSG "
_HMSG = b"HMSG "
#: ``MSG <subject> <sid> [reply] <size>``; ``HMSG <subject> <sid> [reply] <header size> <size>``
_MSG_ARGS = (3, 4)
_HMSG_ARGS = (4, 5)


class RawParser(Parser):
    """nats-py's parser with the messages of ``routes`` (by subscription id) read in one pass."""

    def __init__(self, nc: Any, routes: dict[int, RawHandler]) -> None:
        super().__init__(nc)
        self.routes = routes
        #: the start of a control line or message whose end has not arrived yet
        self._rest = b""

    @classmethod
    def taking_over(cls, old: Parser, routes: dict[int, RawHandler]) -> RawParser:
        """A parser that carries on where ``old`` stands (in the middle of a message, even)."""
        new = cls(old.nc, routes)
        new.buf = old.buf
        new.state = old.state
        new.needed = old.needed
        new.header_needed = old.header_needed
        new.msg_arg = old.msg_arg
        return new

    def reset(self) -> None:
        super().reset()
        self._rest = b""

    async def parse(self, data: bytes = b"") -> None:
        if self.state != AWAITING_CONTROL_LINE:
            # Only right after taking over: the old parser was in a message's payload.
            await super().parse(data)
            if self.state != AWAITING_CONTROL_LINE:
                return
            data = b""
        if self.buf:
            data = bytes(self.buf) + data
            self.buf.clear()
        buf = self._rest + data if self._rest else data
        pos = 0
        size = len(buf)
        find = buf.find
        routes = self.routes
        # The client's counts of what its raw subscriptions took in, added once per read.
        taken = taken_bytes = 0
        try:
            while pos < size:
                end = find(_CRLF, pos)
                if end < 0:
                    break  # the rest of the line comes with the next read
                line_end = end + 2
                headed = buf.startswith(_HMSG, pos)
                args = buf[pos + (5 if headed else 4) : end].split()
                if not (headed or buf.startswith(_MSG, pos)) or len(args) not in (
                    _HMSG_ARGS if headed else _MSG_ARGS
                ):
                    # Another line (or a malformed one, which nats-py refuses): nats-py's.
                    line, pos = buf[pos:line_end], line_end
                    await super().parse(line)
                    continue
                try:
                    sid, header_size, total = (
                        int(args[1]),
                        int(args[-2]) if headed else 0,
                        int(args[-1]),
                    )
                except ValueError:
                    raise ProtocolError("nats: malformed MSG") from None
                subject = args[0]
                reply = args[2] if len(args) == (5 if headed else 4) else b""
                stop = line_end + total
                if stop + 2 > size:
                    break  # the rest of the message comes with the next read
                pos = stop + 2
                payload = buf[line_end + header_size : stop]
                handler = routes.get(sid)
                if handler is None:
                    headers = buf[line_end : line_end + header_size] if headed else None
                    await self.nc._process_msg(sid, subject, reply, payload, headers)
                    continue
                taken += 1
                taken_bytes += len(payload)
                sent = handler(subject, reply, buf[line_end : line_end + header_size], payload)
                if sent is not None:
                    await sent
        finally:
            # Even when a handler or nats-py raised: what follows is read with the next read.
            self._rest = buf[pos:]
            if taken:
                stats = self.nc.stats
                stats["in_msgs"] += taken
                stats["in_bytes"] += taken_bytes
