"""Where a projection resumes reading, and when its durable consumer is reused or recreated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from events.subjects import EVENTS_WILDCARD, MSG_ID_HEADER
from projections.consumer import consumer_name, open_consumer, resume_seq
from projections.positions import Position


@dataclass
class _State:
    first_seq: int
    last_seq: int


@dataclass
class _Seq:
    stream_seq: int


@dataclass
class _ConsumerInfo:
    config: ConsumerConfig
    delivered: _Seq
    ack_floor: _Seq


@dataclass
class FakeJetStream:
    """A stream of notification ids by sequence, and consumers by name."""

    nids: dict[int, int] = field(default_factory=dict)
    consumers: dict[str, _ConsumerInfo] = field(default_factory=dict)
    created: list[ConsumerConfig] = field(default_factory=list)

    async def stream_info(self, stream: str) -> Any:
        seqs = sorted(self.nids)
        state = _State(seqs[0], seqs[-1]) if seqs else _State(0, 0)
        return type("Info", (), {"state": state})()

    async def get_msg(self, stream: str, seq: int) -> Any:
        if seq not in self.nids:
            raise NotFoundError()
        return type("Raw", (), {"headers": {MSG_ID_HEADER: str(self.nids[seq])}})()

    async def consumer_info(self, stream: str, name: str) -> _ConsumerInfo:
        if name not in self.consumers:
            raise NotFoundError()
        return self.consumers[name]

    async def delete_consumer(self, stream: str, name: str) -> bool:
        del self.consumers[name]
        return True

    async def add_consumer(self, stream: str, config: ConsumerConfig) -> None:
        assert config.durable_name is not None and config.opt_start_seq is not None
        self.created.append(config)
        start = _Seq(config.opt_start_seq - 1)
        self.consumers[config.durable_name] = _ConsumerInfo(config, start, start)


def stream_of(first: int, last: int, nid_offset: int = 0) -> FakeJetStream:
    return FakeJetStream(nids={seq: seq + nid_offset for seq in range(first, last + 1)})


async def test_fresh_tables_read_from_the_first_message() -> None:
    assert await resume_seq(stream_of(1, 50), "S", "m", Position()) == 1  # type: ignore[arg-type]


async def test_tables_resume_after_their_stored_sequence_when_the_stream_agrees() -> None:
    js = stream_of(1, 50, nid_offset=100)
    assert await resume_seq(js, "S", "m", Position(130, 30)) == 31  # type: ignore[arg-type]


async def test_a_rebuilt_stream_is_read_again_from_its_start() -> None:
    # The stream was rebuilt with different sequences: seq 30 is no longer notification 130.
    js = stream_of(1, 50, nid_offset=7)
    assert await resume_seq(js, "S", "m", Position(130, 30)) == 1  # type: ignore[arg-type]
    # ... or is shorter than the stored sequence.
    assert await resume_seq(stream_of(1, 10), "S", "m", Position(30, 30)) == 1  # type: ignore[arg-type]


async def test_a_consumer_in_step_with_the_tables_is_reused() -> None:
    js = stream_of(1, 50)
    await open_consumer(js, "S", "proj-sessions", 31)  # type: ignore[arg-type]
    js.consumers[consumer_name("sessions")].delivered = _Seq(30)

    await open_consumer(js, "S", "proj-sessions", 31)  # type: ignore[arg-type]

    assert len(js.created) == 1


async def test_a_consumer_that_delivered_more_than_the_tables_hold_is_recreated() -> None:
    js = stream_of(1, 50)
    await open_consumer(js, "S", "proj-sessions", 1)  # type: ignore[arg-type]
    # Delivered up to 40 (a consumer without acknowledgements forgets each message as it
    # delivers it), but the tables committed up to 30: 31 to 40 were lost on the way.
    info = js.consumers[consumer_name("sessions")]
    info.delivered, info.ack_floor = _Seq(40), _Seq(40)

    await open_consumer(js, "S", "proj-sessions", 31)  # type: ignore[arg-type]

    config = js.created[-1]
    assert len(js.created) == 2
    assert config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
    assert config.opt_start_seq == 31
    assert config.filter_subject == EVENTS_WILDCARD
    assert config.ack_policy == AckPolicy.NONE


async def test_a_consumer_that_takes_acknowledgements_is_recreated_without() -> None:
    # As an earlier version made it: in step with the tables, but acknowledged message by message.
    js = stream_of(1, 50)
    await open_consumer(js, "S", "proj-sessions", 31)  # type: ignore[arg-type]
    info = js.consumers[consumer_name("sessions")]
    info.config = ConsumerConfig(
        durable_name="proj-sessions",
        filter_subject=EVENTS_WILDCARD,
        ack_policy=AckPolicy.ALL,
    )

    await open_consumer(js, "S", "proj-sessions", 31)  # type: ignore[arg-type]

    assert len(js.created) == 2
    assert js.created[-1].ack_policy == AckPolicy.NONE
    assert js.created[-1].opt_start_seq == 31
