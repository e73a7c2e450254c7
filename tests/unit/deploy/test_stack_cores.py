"""The embedded stack starts the manager and the projections on the cores planned for them."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from deploy.affinity import CorePlan
from deploy.logs import StackLog
from deploy.stack import Stack, StackSettings


def _cores_by_child(tmp_path: Path, plan: CorePlan) -> dict[str, frozenset[int]]:
    settings = replace(StackSettings.from_env(), cores=plan)
    stack = Stack(settings, StackLog(tmp_path / "logs", io.StringIO()))
    return {spec.name: spec.cores for spec in [stack._nats(), *stack._services()]}


def test_each_planned_process_gets_its_core_and_the_rest_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BERTH_DATA_DIR", str(tmp_path))
    plan = CorePlan(manager=frozenset([0]), projections=frozenset([1]), nats=frozenset([0, 2]))
    assert _cores_by_child(tmp_path, plan) == {
        "nats": frozenset([0, 2]),
        "manager": frozenset([0]),
        "project": frozenset([1]),
        "gateway": frozenset(),
        "agent": frozenset(),
    }


def test_without_a_plan_nothing_is_pinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_DATA_DIR", str(tmp_path))
    assert set(_cores_by_child(tmp_path, CorePlan()).values()) == {frozenset()}


def test_the_plan_follows_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BERTH_PIN_CORES", "off")
    assert StackSettings.from_env().cores == CorePlan()
