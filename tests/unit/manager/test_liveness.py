"""Liveness: silence past the limit loses an agent; a heartbeat brings it back."""

from __future__ import annotations

import time
from pathlib import Path

from services.manager.domain.session import SessionStatus
from services.manager.liveness import LivenessMonitor
from tests.unit.manager.control_plane import ControlPlane


def test_a_silent_agent_is_lost_and_a_heartbeat_recovers_it(tmp_path: Path) -> None:
    cp = ControlPlane(tmp_path)
    quiet = cp.register("quiet")
    chatty = cp.register("chatty")
    session = cp.request("notebook", designated_agent="quiet")
    cp.schedule()
    monitor = LivenessMonitor(cp.ctx, lost_after=0.05)
    time.sleep(0.1)
    monitor.heard(chatty)
    assert monitor.silent_agents() == [quiet]
    monitor.declare_lost(quiet)
    assert cp.agent(quiet).lost and not cp.agent(chatty).lost
    assert cp.status(session) is SessionStatus.ERROR
    assert monitor.silent_agents() == []  # a lost agent is not lost again
    assert monitor.heard(quiet) is True
    monitor.recover(quiet)
    assert not cp.agent(quiet).lost
    assert cp.group().pool.agent(quiet).schedulable
    assert monitor.heard(quiet) is False
