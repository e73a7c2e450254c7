"""Plugins are found by name through the berth.accelerators entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from services.agent.accelerators import loading
from services.agent.accelerators.cuda import CudaPlugin
from services.agent.accelerators.loading import (
    GROUP,
    PluginLoadError,
    known_plugins,
    load_plugins,
    parse_plugin_names,
)
from services.agent.accelerators.mock import MockPlugin


def test_berth_registers_its_two_plugins() -> None:
    assert {"cuda", "mock"} <= set(known_plugins())


def test_plugins_load_by_name_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_MOCK_ACCELERATORS", '{"devices": 2}')

    plugins = load_plugins(["mock", "cuda"])

    assert [type(p) for p in plugins] == [MockPlugin, CudaPlugin]
    assert [p.key for p in plugins] == ["mock", "cuda"]
    assert len(plugins[0].discover()) == 2
    assert load_plugins([]) == []


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(PluginLoadError, match=r"unknown accelerator plugin 'rocm' \(known: .*cuda"):
        load_plugins(["mock", "rocm"])


def test_bad_settings_name_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_MOCK_ACCELERATORS", '{"devices": "many"}')

    with pytest.raises(PluginLoadError, match=r"accelerator plugin 'mock' .*'devices'"):
        load_plugins(["mock"])


def test_two_plugins_may_not_claim_one_key() -> None:
    with pytest.raises(PluginLoadError, match="both use the key 'mock'"):
        load_plugins(["mock", "mock"])


def test_an_entry_point_that_is_no_plugin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = EntryPoint(name="bogus", value="builtins:dict", group=GROUP)
    monkeypatch.setattr(loading, "_entry_points", lambda: {"bogus": bogus})

    with pytest.raises(PluginLoadError, match="does not implement AcceleratorPlugin"):
        load_plugins(["bogus"])


def test_names_from_a_setting() -> None:
    assert parse_plugin_names(" mock, cuda ,,") == ["mock", "cuda"]
    assert parse_plugin_names("") == []
