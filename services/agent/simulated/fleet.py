"""One process, N simulated agents: registration, heartbeats, decisions in, facts out.

Wiring only; what the agents report is decided in :mod:`.kernels`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

import msgspec
import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from events.subjects import heartbeat_subject
from services.agent.simulated.control import ControlReply, ControlRequest, control_subject
from services.agent.simulated.follow import DecisionFollower
from services.agent.simulated.kernels import FleetModel
from services.agent.simulated.reporter import FactReporter
from services.agent.simulated.settings import FleetSettings
from services.manager.client import ManagerClient, RegistrationFailed

log = logging.getLogger("berth.sim")

VERSION = "simulated"


class FleetError(Exception):
    """The fleet cannot run, for a reason the user can act on."""


class Fleet:
    def __init__(self, settings: FleetSettings, nc: NATS) -> None:
        self.settings = settings
        self.nc = nc
        self.model = FleetModel(timing=settings.timing)
        self.ids: dict[str, UUID] = {}
        self.reporter = FactReporter(nc.jetstream(), self.model)

    async def _register(self, client: ManagerClient, name: str, patience: float) -> None:
        s = self.settings
        try:
            agent_id = await client.register_agent(
                patience=patience,
                name=name,
                resource_group=s.resource_group,
                architecture=s.architecture,
                capacity=s.capacity(),
                images=list(s.images),
                version=VERSION,
                simulated=True,
            )
        except RegistrationFailed as exc:
            raise FleetError(str(exc)) from None
        self.ids[name] = agent_id
        self.model.add_agent(agent_id)
        # At once: the manager may have been listening for longer than its
        # loss timeout, and a new agent must not look silent.
        await self.nc.publish(heartbeat_subject(agent_id), b"")

    async def register_all(self) -> None:
        s = self.settings
        client = ManagerClient(self.nc)
        gate = asyncio.Semaphore(s.register_concurrency)

        async def one(name: str) -> None:
            async with gate:
                await self._register(client, name, s.register_patience)

        await asyncio.gather(*(one(name) for name in s.names()))
        log.info(
            "%d simulated agents registered in %r (%s-0 … %s-%d)",
            len(self.ids),
            s.resource_group,
            s.prefix,
            s.prefix,
            s.agents - 1,
        )

    async def heartbeats(self, stop: asyncio.Event) -> None:
        """All speaking agents' heartbeats in one burst per interval (core NATS)."""
        while not stop.is_set():
            for agent_id in self.model.speaking():
                await self.nc.publish(heartbeat_subject(agent_id), b"")
            with contextlib.suppress(Exception):
                await self.nc.flush(timeout=5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.heartbeat_interval)

    def steer(self, request: ControlRequest) -> ControlReply:
        unknown = [n for n in (*request.silence, *request.speak) if n not in self.ids]
        if unknown:
            return ControlReply(ok=False, error=f"not agents of this fleet: {', '.join(unknown)}")
        self.model.silence(self.ids[n] for n in request.silence)
        self.reporter.plan(self.model.speak(self.ids[n] for n in request.speak))
        if request.silence:
            log.warning("agents fall silent: %s", ", ".join(request.silence))
        if request.speak:
            log.info("agents speak again: %s", ", ".join(request.speak))
        silent = sorted(n for n, a in self.ids.items() if a in self.model.silent)
        return ControlReply(ok=True, silent=silent)

    async def _on_control(self, msg: Msg) -> None:
        try:
            request = msgspec.json.decode(msg.data, type=ControlRequest)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            reply = ControlReply(ok=False, error=str(exc))
        else:
            reply = self.steer(request)
        await msg.respond(msgspec.json.encode(reply))

    async def _silence_later(self, stop: asyncio.Event) -> None:
        s = self.settings
        if s.silent_after is None or s.silent_agents <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), s.silent_after)
            return
        self.steer(ControlRequest(silence=s.names()[-s.silent_agents :]))

    async def run(self, stop: asyncio.Event) -> None:
        control = await self.nc.subscribe(
            control_subject(self.settings.prefix), cb=self._on_control
        )
        try:
            await self.register_all()
            follower = DecisionFollower(self.nc, self.model, self.reporter, self.settings.prefix)
            tasks = [
                asyncio.create_task(self.heartbeats(stop)),
                asyncio.create_task(self.reporter.run(stop)),
                asyncio.create_task(follower.run(stop)),
            ]
            silencer = asyncio.create_task(self._silence_later(stop))
            stopped = asyncio.create_task(stop.wait())
            # Each task runs until stop; one that ends before has failed, and ends the fleet.
            await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            results = await asyncio.gather(*tasks, silencer, stopped, return_exceptions=True)
            log.info("stopped after reporting %d facts", self.reporter.reported)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        finally:
            await control.unsubscribe()


async def run_fleet(settings: FleetSettings, stop: asyncio.Event) -> None:
    nc = await nats.connect(settings.nats_url, max_reconnect_attempts=-1)
    try:
        await Fleet(settings, nc).run(stop)
    finally:
        await nc.close()
