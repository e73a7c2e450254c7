"""Where the embedded stack runs the backbone's processes."""

from __future__ import annotations

import pytest

from deploy.affinity import (
    PIN_CORES_VARIABLE,
    CorePlan,
    core_plan,
    pin_cores_setting,
    plan_from_env,
)


def test_on_two_cores_the_projections_have_the_second_to_themselves() -> None:
    plan = core_plan([0, 1])
    assert plan == CorePlan(manager=frozenset([0]), projections=frozenset([1]), nats=frozenset([0]))
    assert plan.describe() == ("projections on core 1, manager on core 0, nats-server on core 0")


def test_nats_server_runs_on_every_core_but_the_projections() -> None:
    assert core_plan([2, 5, 7, 9]) == CorePlan(
        manager=frozenset([2]), projections=frozenset([5]), nats=frozenset([2, 7, 9])
    )


def test_one_core_pins_nothing() -> None:
    assert core_plan([3]) == CorePlan()
    assert CorePlan().describe() == "no process pinned"


def test_off_pins_nothing() -> None:
    assert core_plan([0, 1, 2, 3], "off") == CorePlan()


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown core pinning setting 'always'"):
        core_plan([0, 1], "always")


@pytest.mark.parametrize(("value", "setting"), [("", "auto"), (" OFF ", "off"), ("auto", "auto")])
def test_the_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, setting: str
) -> None:
    monkeypatch.setenv(PIN_CORES_VARIABLE, value)
    assert pin_cores_setting() == setting


def test_a_misspelt_setting_says_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PIN_CORES_VARIABLE, "yes")
    with pytest.raises(ValueError, match="BERTH_PIN_CORES must be one of auto, off, not 'yes'"):
        plan_from_env()
