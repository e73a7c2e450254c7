"""The fleet's edges with fakes: facts go out with de-duplicating ids, and silencing by name."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from nats.errors import TimeoutError as NatsTimeout

from events.facts import decode_fact
from events.subjects import MSG_ID_HEADER
from services.agent.simulated.control import ControlRequest
from services.agent.simulated.fleet import Fleet
from services.agent.simulated.kernels import FleetModel, Timing
from services.agent.simulated.reporter import FactReporter
from services.agent.simulated.settings import FleetSettings
from tests.unit.agent.test_simulated_kernels import AGENT, assigned


class FakeJetStream:
    """Records publishes; the first ``fail`` of them are never acknowledged."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish_async(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail > 0:
            self.fail -= 1
            future.set_exception(NatsTimeout())
        else:
            self.published.append((subject, payload, headers))
            future.set_result(None)
        return future


async def _report_all(js: FakeJetStream, model: FleetModel, reporter: FactReporter) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(reporter.run(stop))
    try:
        async with asyncio.timeout(10):
            while reporter.reported < 3:
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task


async def test_facts_are_published_in_order_with_ids_from_kernel_and_kind() -> None:
    model = FleetModel(timing=Timing(start_delay=0.0, run_seconds=0.0))
    model.add_agent(AGENT)
    js = FakeJetStream()
    reporter = FactReporter(js, model)  # type: ignore[arg-type]
    event = assigned(command="exit 4")
    reporter.plan(model.on_event(event))
    await _report_all(js, model, reporter)

    kinds = ["KernelCreated", "KernelStarted", "KernelExited"]
    assert [s for s, _, _ in js.published] == [f"berth.fact.{AGENT}.{k}" for k in kinds]
    assert [h[MSG_ID_HEADER] for _, _, h in js.published] == [
        f"{event.kernel_id}.{k}" for k in kinds
    ]
    exited = decode_fact(js.published[-1][1])
    assert exited.kernel_id == event.kernel_id
    assert getattr(exited, "exit_code", None) == 4


async def test_unacknowledged_facts_are_sent_again_with_the_same_ids() -> None:
    model = FleetModel(timing=Timing(start_delay=0.0, run_seconds=0.0))
    model.add_agent(AGENT)
    js = FakeJetStream(fail=1)
    reporter = FactReporter(js, model, ack_timeout=1.0)  # type: ignore[arg-type]
    event = assigned()
    reporter.plan(model.on_event(event))
    await _report_all(js, model, reporter)
    ids = [h[MSG_ID_HEADER] for _, _, h in js.published]
    assert ids[-3:] == [
        f"{event.kernel_id}.{k}" for k in ("KernelCreated", "KernelStarted", "KernelExited")
    ]


class FakeNats:
    def jetstream(self) -> Any:
        return FakeJetStream()


@pytest.fixture
def fleet() -> Fleet:
    fleet = Fleet(FleetSettings(agents=2, prefix="t"), FakeNats())  # type: ignore[arg-type]
    for i, name in enumerate(fleet.settings.names()):
        fleet.ids[name] = UUID(int=100 + i)
        fleet.model.add_agent(UUID(int=100 + i))
    return fleet


def test_agents_are_silenced_and_brought_back_by_name(fleet: Fleet) -> None:
    reply = fleet.steer(ControlRequest(silence=["t-1"]))
    assert reply.ok
    assert reply.silent == ["t-1"]
    assert fleet.model.speaking() == [UUID(int=100)]

    reply = fleet.steer(ControlRequest(speak=["t-1"]))
    assert reply.ok
    assert reply.silent == []
    assert sorted(fleet.model.speaking()) == [UUID(int=100), UUID(int=101)]


def test_steering_an_agent_of_another_fleet_is_refused(fleet: Fleet) -> None:
    reply = fleet.steer(ControlRequest(silence=["t-1", "other-0"]))
    assert not reply.ok
    assert "other-0" in reply.error
    assert fleet.model.silent == set()
