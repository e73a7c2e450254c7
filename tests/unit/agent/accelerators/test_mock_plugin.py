"""The mock plugin: devices of any kind and size, predictable usage, no device files."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.agent.accelerators.allocator import DeviceAllocator
from services.agent.accelerators.mock import MockPlugin, parse_memory
from services.agent.accelerators.plugin import AcceleratorPlugin, Allocation, ContainerDevices


def test_defaults_are_four_whole_or_shareable_devices_of_16g(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BERTH_MOCK_ACCELERATORS", raising=False)
    plugin = MockPlugin()

    devices = plugin.discover()

    assert isinstance(plugin, AcceleratorPlugin)
    assert [d.id for d in devices] == ["mock:0", "mock:1", "mock:2", "mock:3"]
    assert {(d.memory, d.shares, d.shareable) for d in devices} == {(16 * 2**30, Decimal(1), True)}
    assert plugin.slots(devices) == {"mock.device": Decimal(4), "mock.shares": Decimal(4)}


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "BERTH_MOCK_ACCELERATORS", '{"key":"mock","devices":2,"memory":"80g","shares":"0.5"}'
    )
    plugin = MockPlugin()

    devices = plugin.discover()

    assert [(d.id, d.memory, d.shares) for d in devices] == [
        ("mock:0", 80 * 2**30, Decimal("0.5")),
        ("mock:1", 80 * 2**30, Decimal("0.5")),
    ]
    assert plugin.slots(devices) == {"mock.device": Decimal(2), "mock.shares": Decimal(1)}


def test_devices_of_another_kind_and_different_sizes() -> None:
    plugin = MockPlugin(
        {
            "key": "npu",
            "model": "Pretend NPU",
            "shareable": False,
            "devices": [{"memory": "32g", "shares": 4, "shareable": True}, {"model": "small"}],
        }
    )

    big, small = plugin.discover()

    assert (big.id, big.model, big.memory, big.shares, big.shareable) == (
        "npu:0", "Pretend NPU", 32 * 2**30, Decimal(4), True,
    )  # fmt: skip
    assert (small.id, small.model, small.memory, small.shareable) == (
        "npu:1", "small", 16 * 2**30, False,
    )  # fmt: skip
    assert plugin.slots([big, small]) == {"npu.device": Decimal(2), "npu.shares": Decimal(4)}


def test_no_devices_means_no_slots() -> None:
    plugin = MockPlugin('{"devices": 0}')

    assert plugin.discover() == []
    assert plugin.slots([]) == {}


def test_containers_learn_their_devices_from_the_environment() -> None:
    plugin = MockPlugin({"devices": 3})
    allocator = DeviceAllocator(plugin.discover())

    options = plugin.container_options(
        allocator.allocate("k", {"mock.device": "1", "mock.shares": "0.25"})
    )

    assert options.devices == () and options.mounts == ()
    assert dict(options.environment) == {
        "BERTH_MOCK_DEVICES": "mock:0,mock:1",
        "BERTH_MOCK_SHARES": "mock:0=1,mock:1=0.25",
    }
    assert plugin.container_options(Allocation()) == ContainerDevices()


def test_two_mock_kinds_combine_into_one_container() -> None:
    gpu, npu = MockPlugin({"devices": 1}), MockPlugin({"key": "npu", "devices": 1})
    allocator = DeviceAllocator(gpu.discover() + npu.discover())
    allocation = allocator.allocate("k", {"mock.device": "1", "npu.shares": "0.5"})

    options = ContainerDevices.combine(p.container_options(allocation) for p in (gpu, npu))

    assert dict(options.environment) == {
        "BERTH_MOCK_DEVICES": "mock:0",
        "BERTH_MOCK_SHARES": "mock:0=1",
        "BERTH_NPU_DEVICES": "npu:0",
        "BERTH_NPU_SHARES": "npu:0=0.5",
    }
    with pytest.raises(ValueError, match="BERTH_MOCK_DEVICES"):
        ContainerDevices.combine(
            [ContainerDevices(environment={"BERTH_MOCK_DEVICES": x}) for x in ("a", "b")]
        )


def test_utilisation_is_fixed_per_device_and_plausible() -> None:
    plugin = MockPlugin({"devices": 3, "memory": "1g"})
    devices = plugin.discover()

    usage = plugin.utilisation(devices)

    assert usage == plugin.utilisation(devices)
    assert [u.util_percent for u in usage.values()] == [11.0, 48.0, 85.0]
    assert usage["mock:1"].mem_used == 2**30 * 48 // 100
    assert plugin.utilisation(MockPlugin({"key": "other"}).discover()) == {}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("{", "not JSON"),
        ("[1]", "expected a JSON object"),
        ({"colour": "red"}, "unknown field"),
        ({"key": "Mock"}, "accelerator key 'Mock' is not valid"),
        ({"devices": -1}, "'devices' is a count or a list"),
        ({"devices": [{"size": 1}]}, "unknown field"),
        ({"memory": "lots"}, "is not bytes or a size"),
        ({"shares": 0}, "positive"),
        ({"shares": "x"}, "not a number"),
    ],
)
def test_bad_settings_say_what_is_wrong(settings: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MockPlugin(settings)  # type: ignore[arg-type]


def test_memory_sizes() -> None:
    assert parse_memory(1024) == 1024
    assert parse_memory("512m") == 512 * 2**20
    assert parse_memory("16GiB") == parse_memory("16g") == 16 * 2**30
    assert parse_memory("7") == 7
