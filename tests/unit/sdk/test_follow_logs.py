"""Following a session's output: chunks as they come, reconnects, and nothing lost at the end."""

from __future__ import annotations

import httpx
import pytest
from berth_sdk import NotFound

from tests.unit.sdk.fake_gateway import Chunks, FakeGateway, error, session

SID = "11111111-1111-1111-1111-111111111111"
LOGS = f"/v1/sessions/{SID}/logs"


class LogServer:
    """Answers log reads from ``output``: streams for ``follow``, slices otherwise."""

    def __init__(self, output: bytes, chunk: int = 3) -> None:
        self.output = output
        self.chunk = chunk
        #: follow streams cut short after this many bytes (the first one only)
        self.cut_after: int | None = None
        self.pending_reads = 0
        self.offsets: list[tuple[int, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        follow = request.url.params["follow"]
        self.offsets.append((offset, follow))
        if self.pending_reads:
            self.pending_reads -= 1
            return error(409, "conflict", "no kernel placed yet")
        if offset < 0:
            offset = max(len(self.output) + offset, 0)
        rest = self.output[offset:]
        if follow == "false":
            return httpx.Response(
                200, content=rest, headers={"X-Berth-Next-Offset": str(len(self.output))}
            )
        cut = False
        if self.cut_after is not None:
            rest, cut = rest[: self.cut_after], True
            self.cut_after = None
        pieces = [rest[i : i + self.chunk] for i in range(0, len(rest), self.chunk)]
        return httpx.Response(200, stream=Chunks(pieces, cut=cut))


def _gateway(server: LogServer, statuses: list[str]) -> FakeGateway:
    gateway = FakeGateway()
    gateway.route("GET", LOGS, server)
    gateway.replies("GET", f"/v1/sessions/{SID}", [session(status=s) for s in statuses])
    return gateway


def test_follow_decodes_characters_split_across_chunks() -> None:
    output = "héllo wörld ✓\n".encode()
    server = LogServer(output, chunk=2)  # cuts inside every multi-byte character
    gateway = _gateway(server, ["TERMINATED"])
    with gateway.client() as berth:
        text = "".join(berth.follow_logs(SID))
    assert text == "héllo wörld ✓\n"
    # One stream, then the session had ended; the final read from the end finds nothing more.
    assert server.offsets == [(0, "true"), (len(output), "false")]


def test_a_cut_stream_resumes_from_the_byte_it_reached() -> None:
    server = LogServer(b"0123456789abcdef", chunk=4)
    server.cut_after = 6
    gateway = _gateway(server, ["RUNNING", "TERMINATED"])
    with gateway.client() as berth:
        text = "".join(berth.follow_logs(SID))
    assert text == "0123456789abcdef"
    assert [o for o, follow in server.offsets if follow == "true"] == [0, 6]


async def test_async_follow_waits_while_the_session_has_no_kernel() -> None:
    server = LogServer(b"ready\n")
    server.pending_reads = 2  # 409 while the session is still being placed
    gateway = _gateway(server, ["PENDING", "SCHEDULED", "TERMINATED"])
    async with gateway.async_client() as berth:
        text = "".join([t async for t in berth.follow_logs(SID)])
    assert text == "ready\n"


def test_a_negative_offset_reads_the_tail_then_follows_from_where_it_ends() -> None:
    server = LogServer(b"line1\nline2\n")
    gateway = _gateway(server, ["TERMINATED"])
    with gateway.client() as berth:
        text = "".join(berth.follow_logs(SID, offset=-6))
    assert text == "line2\n"
    assert server.offsets[0] == (-6, "false")
    assert server.offsets[1] == (12, "true")


def test_following_a_session_that_is_not_there_raises_not_found() -> None:
    gateway = FakeGateway()
    gateway.route("GET", LOGS, error(404, "not-found", "no session"))
    gateway.route("GET", f"/v1/sessions/{SID}", error(404, "not-found", "no session"))
    with gateway.client() as berth, pytest.raises(NotFound):
        list(berth.follow_logs(SID))
