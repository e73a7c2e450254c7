"""The control plane's decisions, through the real handlers on an in-memory store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from events.agent import KernelAssigned, KernelTerminationRequested
from events.commands import DestroySession, MountRequest, RequestSession
from services.manager import session_handlers
from services.manager.domain.resource_group import group_id_for
from services.manager.domain.session import Session, SessionStatus
from services.manager.handlers import CommandRefused
from services.manager.scheduler.slots import ResourceSlots
from tests.unit.manager.control_plane import ControlPlane


@pytest.fixture
def cp(tmp_path: Path) -> ControlPlane:
    return ControlPlane(tmp_path)


def test_the_first_start_leaves_an_admin_and_a_default_group(cp: ControlPlane) -> None:
    assert cp.ctx.directory.resolve(cp.admin) is not None
    assert cp.group().name == "default"
    assert group_id_for("default") in cp.ctx.group_ids


def test_a_batch_session_goes_from_request_to_its_exit_code(cp: ControlPlane) -> None:
    agent = cp.register("a1", cpu=4)
    sid = cp.request(
        "job", session_type="batch", startup_command="exit 3", resources={"cpu": 2, "mem": "1g"}
    )
    assert cp.status(sid) is SessionStatus.PENDING
    assert cp.schedule().placed == 1
    assert cp.status(sid) is SessionStatus.SCHEDULED
    assert cp.group().pool.agent(agent).allocated == ResourceSlots.parse({"cpu": 2, "mem": "1g"})
    cp.start(sid)
    assert cp.status(sid) is SessionStatus.RUNNING
    cp.exit(sid, 3)
    session = cp.session(sid)
    assert (session.status, session.exit_code, session.result) == (
        SessionStatus.TERMINATED,
        3,
        "failure",
    )
    assert cp.group().pool.agent(agent).allocated.is_zero()
    assert cp.agent(agent).kernels == {}


def refused(cp: ControlPlane, code: str, **fields: Any) -> None:
    before = cp.store.max_notification_id()
    fields.setdefault("image", "python")
    fields.setdefault("resources", {"cpu": 1})
    fields.setdefault("actor", cp.admin)
    with pytest.raises(CommandRefused) as info:
        session_handlers.request_session(
            cp.ctx, RequestSession(request_id="r", name="s", **fields), cp.tick()
        )
    assert info.value.code == code, info.value.message
    assert cp.store.max_notification_id() == before


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"image": "nope"}, "unknown-image"),
        ({"resources": {"cpu": 64}}, "unschedulable"),
        ({"resources": {"cpu": 4}, "cluster_size": 3, "architecture": "aarch64"}, "unschedulable"),
        ({"resources": {"cpu": "-1"}}, "invalid-resources"),
        ({"resources": {"gpu": 1}}, "invalid-resources"),
        ({"resources": {"mem": "lots"}}, "invalid-resources"),
        ({"resources": {}}, "invalid-resources"),
        ({"session_type": "batch"}, "missing-startup-command"),
        ({"resource_group": "elsewhere"}, "unknown-resource-group"),
        ({"actor": "AKNOBODY"}, "unauthenticated"),
        ({"project": "secret"}, "project-not-found"),
        ({"designated_agent": "ghost"}, "unknown-agent"),
        ({"depends_on": ["not-a-uuid"]}, "invalid-dependencies"),
        ({"cluster_size": 0}, "invalid-cluster-size"),
        ({"priority": 1000}, "invalid-priority"),
        ({"environ": {"1BAD": "x"}}, "invalid-environ"),
        ({"mounts": [MountRequest(source="data", target="relative")]}, "invalid-mounts"),
    ],
)
def test_bad_requests_are_refused_precisely_and_write_nothing(
    cp: ControlPlane, fields: dict[str, Any], code: str
) -> None:
    cp.register("a1", cpu=8)
    refused(cp, code, **fields)


def test_quotas_the_owner_does_not_have_are_refused(cp: ControlPlane) -> None:
    cp.register("a1", cpu=8)
    ak = cp.user_with_policy("carol", total_resource_slots={"cpu": "2"}, max_pending_sessions=1)
    refused(cp, "quota-exceeded", actor=ak, resources={"cpu": 4})
    cp.request("first", actor=ak, resources={"cpu": 1})
    refused(cp, "quota-exceeded", actor=ak, resources={"cpu": 1})


def test_a_repeated_request_id_is_decided_once(cp: ControlPlane) -> None:
    cp.register("a1")
    command = RequestSession(
        request_id="same", actor=cp.admin, name="s", image="python", resources={"cpu": 1}
    )
    first = session_handlers.request_session(cp.ctx, command, cp.tick())
    again = session_handlers.request_session(cp.ctx, command, cp.tick())
    assert first.session_id == again.session_id and again.duplicate
    assert len(cp.group().queue) == 1


def test_a_cluster_session_is_placed_all_or_nothing(cp: ControlPlane) -> None:
    cp.register("a1", cpu=4)
    cp.register("a2", cpu=4)
    blocker = cp.request("blocker", resources={"cpu": 3})
    cp.schedule()
    cluster = cp.request("cluster", resources={"cpu": 2}, cluster_size=3)
    summary = cp.schedule()
    assert summary.placed == 0 and summary.blocked
    assert cp.status(cluster) is SessionStatus.PENDING
    assert all(
        a.allocated == ResourceSlots.parse({"cpu": 3}) or a.allocated.is_zero()
        for a in cp.group().pool
    )
    cp.start(blocker)
    cp.exit(blocker, 0)
    assert cp.schedule().placed == 1
    assert len(cp.session(cluster).kernels) == 3


def test_capacity_shortage_blocks_the_queue_but_quota_refusals_do_not(cp: ControlPlane) -> None:
    cp.register("a1", cpu=4)
    ak = cp.user_with_policy("dave", max_concurrent_sessions=1)
    running = cp.request("running", actor=ak, resources={"cpu": 1})
    cp.schedule()
    over_quota = cp.request("over-quota", actor=ak, resources={"cpu": 1})
    fits = cp.request("fits", resources={"cpu": 1})
    summary = cp.schedule()
    assert (summary.placed, summary.failed) == (1, 1)
    assert cp.status(fits) is SessionStatus.SCHEDULED
    assert cp.status(over_quota) is SessionStatus.PENDING
    big = cp.request("big", resources={"cpu": 3})
    behind = cp.request("behind", resources={"cpu": 1})
    summary = cp.schedule()
    assert summary.blocked and summary.placed == 0
    assert cp.status(behind) is SessionStatus.PENDING  # strict head-of-line
    cp.exit(running, 0)
    summary = cp.schedule()
    # the quota is free again; "big" still waits for capacity and still holds "behind" back
    assert cp.status(over_quota) is SessionStatus.SCHEDULED
    assert (cp.status(big), cp.status(behind)) == (SessionStatus.PENDING, SessionStatus.PENDING)
    assert summary.blocked


def test_repeated_quota_failures_deprioritise_a_session(cp: ControlPlane) -> None:
    cp.register("a1", cpu=8)
    ak = cp.user_with_policy("erin", max_concurrent_sessions=1)
    cp.request("holder", actor=ak)
    cp.schedule()
    waiting = cp.request("waiting", actor=ak)
    for _ in range(3):
        cp.schedule()
    pending = cp.group().queue[waiting]
    assert pending.attempts == 3 and pending.deprioritised
    cp.schedule()
    assert cp.group().queue[waiting].attempts == 3  # no event for every later round


def test_priority_bands_go_first_and_fifo_holds_within_a_band(cp: ControlPlane) -> None:
    cp.create_group("prio", queue_order="priority")
    cp.register("p1", cpu=1, resource_group="prio")
    low = cp.request("low", resource_group="prio", priority=0)
    high = cp.request("high", resource_group="prio", priority=10)
    high2 = cp.request("high2", resource_group="prio", priority=10)
    order = []
    for _ in range(3):
        cp.schedule()
        for sid in (low, high, high2):
            if cp.status(sid) is SessionStatus.SCHEDULED and sid not in order:
                order.append(sid)
                cp.start(sid)
                cp.exit(sid, 0)
    assert order == [high, high2, low]


def test_dependencies_wait_for_success_and_cancel_on_failure(cp: ControlPlane) -> None:
    cp.register("a1", cpu=8)
    first = cp.request("first", session_type="batch", startup_command="run")
    after = cp.request("after", depends_on=[str(first)])
    doomed = cp.request("doomed", session_type="batch", startup_command="run")
    after_doomed = cp.request("after-doomed", depends_on=[str(doomed)])
    cp.schedule()
    assert cp.status(after) is SessionStatus.PENDING
    cp.start(first)
    cp.exit(first, 0)
    cp.start(doomed)
    cp.exit(doomed, 1)
    cp.schedule()
    assert cp.status(after) is SessionStatus.SCHEDULED
    assert cp.status(after_doomed) is SessionStatus.CANCELLED


def test_a_start_time_in_the_future_waits_without_blocking(cp: ControlPlane) -> None:
    cp.register("a1", cpu=8)
    later = cp.request("later", starts_at=cp.now + timedelta(hours=1))
    now = cp.request("now")
    cp.schedule()
    assert cp.status(later) is SessionStatus.PENDING
    assert cp.status(now) is SessionStatus.SCHEDULED
    cp.tick(3600)
    cp.schedule()
    assert cp.status(later) is SessionStatus.SCHEDULED


def test_pending_timeout_cancels(cp: ControlPlane) -> None:
    cp.create_group("short", pending_timeout=60)
    cp.register("s1", cpu=1, resource_group="short")
    holder = cp.request("holder", resource_group="short")
    waiting = cp.request("waiting", resource_group="short")
    cp.schedule()
    cp.tick(120)
    cp.schedule()
    assert cp.status(holder) is SessionStatus.SCHEDULED
    assert (cp.status(waiting), cp.session(waiting).status_reason) == (
        SessionStatus.CANCELLED,
        "pending timeout",
    )


def test_destroying_a_running_session_asks_its_agent_and_ends_on_exit(cp: ControlPlane) -> None:
    agent = cp.register("a1")
    sid = cp.request("notebook")
    cp.schedule()
    cp.start(sid)
    cp.destroy(sid)
    assert cp.status(sid) is SessionStatus.TERMINATING
    assert any(k.terminating for k in cp.agent(agent).kernels.values())
    cp.exit(sid, 137, "terminated")
    assert cp.status(sid) is SessionStatus.TERMINATED
    assert cp.group().pool.agent(agent).allocated.is_zero()


def test_a_lost_agent_resolves_its_sessions_and_frees_capacity(cp: ControlPlane) -> None:
    lost = cp.register("a1", cpu=2)
    interactive = cp.request("notebook", resources={"cpu": 1})
    batch = cp.request(
        "job",
        session_type="batch",
        startup_command="run",
        requeue_on_agent_loss=True,
        resources={"cpu": 1},
    )
    cp.schedule()
    cp.start(interactive)
    cp.lose(lost)
    assert cp.status(interactive) is SessionStatus.ERROR
    assert cp.status(batch) is SessionStatus.PENDING
    assert cp.group().pool.agent(lost).allocated.is_zero()
    assert not cp.group().pool.agent(lost).schedulable
    assert cp.schedule().placed == 0
    other = cp.register("a2", cpu=2)
    cp.schedule()
    assert cp.status(batch) is SessionStatus.SCHEDULED
    assert {k.agent_id for k in cp.kernels(batch)} == {other}
    cp.recover(lost)
    assert cp.group().pool.agent(lost).schedulable


def test_decisions_are_replayable_from_the_store(cp: ControlPlane) -> None:
    cp.register("a1", cpu=4)
    sids = [cp.request(f"s{i}", resources={"cpu": 1}) for i in range(6)]
    cp.schedule()
    cp.start(sids[0])
    cp.exit(sids[0], 0)
    live = cp.group()
    fresh = ControlPlane.__new__(ControlPlane)
    fresh.store = cp.store
    from services.manager.context import ManagerContext

    fresh.ctx = ManagerContext.open(cp.store)
    replayed = fresh.group()
    assert replayed is not live
    assert list(replayed.queue) == list(live.queue)
    assert [a.allocated for a in replayed.pool] == [a.allocated for a in live.pool]
    assert replayed.usage == live.usage


def events_of(cp: ControlPlane, kind: type[Any]) -> list[Any]:
    topic = f"{kind.type_name()}@{kind.class_version}"
    from events import codec

    return [
        codec.decode(n.topic, n.state)
        for n in cp.store.app_recorder.select_notifications(1, 100_000, topics=[topic])
    ]


def test_assignments_and_terminations_are_recorded_on_the_agent(cp: ControlPlane) -> None:
    agent = cp.register("a1")
    sid = cp.request("s")
    cp.schedule()
    cp.start(sid)
    cp.destroy(sid)
    assigned = events_of(cp, KernelAssigned)
    stopping = events_of(cp, KernelTerminationRequested)
    assert [e.originator_id for e in assigned] == [agent]
    assert [e.session_id for e in stopping] == [sid]


def test_a_session_past_its_lifetime_is_stopped(cp: ControlPlane) -> None:
    agent = cp.register("a1")
    ak = cp.user_with_policy("frank", max_session_lifetime=60)
    short = cp.request("short", actor=ak)
    unbounded = cp.request("unbounded")
    cp.schedule()
    cp.start(short)
    cp.start(unbounded)
    cp.tick(30)
    assert cp.check_lifetimes() == 0
    assert cp.status(short) is SessionStatus.RUNNING
    cp.tick(60)
    assert cp.check_lifetimes() == 2  # the session and its agent
    assert cp.status(short) is SessionStatus.TERMINATING
    assert cp.session(short).status_reason == "max session lifetime of 60s reached"
    assert cp.status(unbounded) is SessionStatus.RUNNING
    assert any(k.terminating for k in cp.agent(agent).kernels.values())


def test_an_id_of_another_kind_is_not_found_not_a_crash(cp: ControlPlane) -> None:
    agent_id = cp.register("node-1")
    cp.agent(agent_id)  # in memory now, as the manager holds it
    for command in (
        DestroySession(request_id="r1", actor=cp.admin, session_id=str(agent_id)),
        RequestSession(
            request_id="r2",
            actor=cp.admin,
            name="after-an-agent",
            image="python",
            resources={"cpu": 1, "mem": "1g"},
            depends_on=[str(agent_id)],
        ),
    ):
        handler = (
            session_handlers.destroy_session
            if isinstance(command, DestroySession)
            else session_handlers.request_session
        )
        with pytest.raises(CommandRefused) as refused:
            handler(cp.ctx, command, cp.tick(0.001))  # type: ignore[arg-type]
        assert "not-found" in refused.value.code or "unknown" in refused.value.code, refused
    assert cp.ctx.aggregates.get(Session, agent_id) is None
