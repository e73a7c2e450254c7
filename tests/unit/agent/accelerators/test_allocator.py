"""The device allocator: exclusive whole devices, packed shares, restore after a restart."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from services.agent.accelerators.allocator import AllocationError, DeviceAllocator
from services.agent.accelerators.plugin import Allocation, Device, DeviceGrant, LabelError


def devices(
    key: str = "mock", count: int = 4, shares: str = "1", shareable: bool = True
) -> list[Device]:
    return [
        Device(f"{key}:{i}", i, "model", 2**34, Decimal(shares), shareable) for i in range(count)
    ]


def held(allocation: Allocation) -> list[tuple[str, str, bool]]:
    return [(g.device_id, str(g.amount), g.whole) for g in allocation.grants]


def test_whole_devices_are_given_lowest_index_first_and_never_twice() -> None:
    allocator = DeviceAllocator(devices(count=3))

    first = allocator.allocate("a", {"mock.device": "2"})
    second = allocator.allocate("b", {"mock.device": 1})

    assert held(first) == [("mock:0", "1", True), ("mock:1", "1", True)]
    assert held(second) == [("mock:2", "1", True)]
    with pytest.raises(AllocationError, match=r"mock.device: asked for 1, 0 of 3 free"):
        allocator.allocate("c", {"mock.device": "1"})


def test_a_refused_request_changes_nothing() -> None:
    allocator = DeviceAllocator(devices(count=2) + devices("npu", count=1))
    before = allocator.available()

    with pytest.raises(AllocationError, match=r"npu\.device"):
        allocator.allocate("a", {"mock.device": "2", "npu.device": "2"})

    assert allocator.available() == before
    assert allocator.allocation_of("a") is None


def test_shares_pack_onto_the_fullest_device_that_still_fits() -> None:
    allocator = DeviceAllocator(devices(count=2))

    a = allocator.allocate("a", {"mock.shares": "0.5"})
    b = allocator.allocate("b", {"mock.shares": "0.25"})
    c = allocator.allocate("c", {"mock.shares": "0.5"})

    assert held(a) == [("mock:0", "0.5", False)]
    assert held(b) == [("mock:0", "0.25", False)]  # best fit: mock:0 has less room left
    assert held(c) == [("mock:1", "0.5", False)]
    assert allocator.available() == {"mock.shares": Decimal("0.75")}


def test_a_shared_device_is_never_given_whole_and_a_whole_device_never_shared() -> None:
    allocator = DeviceAllocator(devices(count=2))
    allocator.allocate("shared", {"mock.shares": "0.1"})
    allocator.allocate("whole", {"mock.device": "1"})

    assert held(allocator.allocations()["whole"]) == [("mock:1", "1", True)]
    with pytest.raises(AllocationError, match=r"mock.device: asked for 1, 0 of 2 free"):
        allocator.allocate("x", {"mock.device": "1"})
    with pytest.raises(AllocationError, match=r"mock.shares: asked for 1, 0.9 free"):
        allocator.allocate("y", {"mock.shares": "1"})


def test_devices_and_shares_in_one_request_use_different_devices() -> None:
    allocator = DeviceAllocator(devices(count=2))

    both = allocator.allocate("a", {"mock.device": "1", "mock.shares": "0.5", "cpu": "2"})

    assert held(both) == [("mock:0", "1", True), ("mock:1", "0.5", False)]


def test_shares_larger_than_a_device_spread_over_the_emptiest_devices() -> None:
    allocator = DeviceAllocator(devices(count=3))
    allocator.allocate("small", {"mock.shares": "0.25"})

    big = allocator.allocate("big", {"mock.shares": "1.5"})

    assert held(big) == [("mock:1", "1", False), ("mock:2", "0.5", False)]


def test_a_fraction_is_not_split_across_devices() -> None:
    allocator = DeviceAllocator(devices(count=2))
    allocator.allocate("a", {"mock.shares": "0.6"})
    allocator.allocate("b", {"mock.shares": "0.6"})

    with pytest.raises(AllocationError, match="no single device has that much room"):
        allocator.allocate("c", {"mock.shares": "0.5"})


def test_shares_add_up_exactly() -> None:
    allocator = DeviceAllocator(devices(count=1))
    for i in range(10):
        allocator.allocate(f"k{i}", {"mock.shares": "0.1"})

    assert allocator.available() == {}
    for i in range(10):
        allocator.release(f"k{i}")
    assert allocator.available() == {"mock.device": 1, "mock.shares": 1}


def test_devices_that_may_not_be_shared_refuse_shares() -> None:
    allocator = DeviceAllocator(devices("cuda", count=2, shareable=False))

    with pytest.raises(AllocationError, match="no cuda device here may be shared"):
        allocator.allocate("a", {"cuda.shares": "0.5"})
    assert allocator.available() == {"cuda.device": 2}


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        ({"rocm.device": "1"}, "this node has no rocm devices"),
        ({"mock.device": "1.5"}, "whole number of devices"),
        ({"mock.shares": "-1"}, "non-negative"),
        ({"mock.shares": "NaN"}, "finite"),
        ({"mock.shares": "lots"}, "not a number"),
        ({"mock.shares": True}, "must be a number"),
        ({"mock.memory": "1"}, "unknown accelerator slot"),
        ({"mock.shares": "0." + "0" * 70 + "1"}, "too precise or too large"),
        ({"mock.shares": "1e40"}, "too precise or too large"),
        ({"mock.shares": "0.1" + "0" * 30 + "1"}, "too precise or too large"),
    ],
)
def test_malformed_requests_are_refused_clearly(slots: dict[str, object], message: str) -> None:
    allocator = DeviceAllocator(devices())

    with pytest.raises(AllocationError, match=message):
        allocator.allocate("a", slots)  # type: ignore[arg-type]


def test_a_kernel_without_accelerator_slots_holds_nothing() -> None:
    allocator = DeviceAllocator(devices())

    assert allocator.allocate("a", {"cpu": "1", "mem": "1g", "mock.device": "0"}) == Allocation()
    assert allocator.allocations() == {}


def test_a_kernel_allocates_once_and_releases_idempotently() -> None:
    allocator = DeviceAllocator(devices(count=2))
    allocation = allocator.allocate("a", {"mock.device": "1"})

    with pytest.raises(AllocationError, match="already holds"):
        allocator.allocate("a", {"mock.device": "1"})
    assert allocator.release("a") == allocation
    assert allocator.release("a") is None
    assert allocator.available() == {"mock.device": 2, "mock.shares": 2}


def test_the_same_device_id_twice_is_a_discovery_error() -> None:
    with pytest.raises(ValueError, match="discovered twice"):
        DeviceAllocator(devices(count=1) + devices(count=1))


def test_label_round_trip_and_restore_after_a_restart() -> None:
    before = DeviceAllocator(devices(count=3))
    labels = {
        "a": before.allocate("a", {"mock.device": "1"}).to_label(),
        "b": before.allocate("b", {"mock.shares": "0.25"}).to_label(),
    }

    after = DeviceAllocator(devices(count=3))
    for kernel, label in labels.items():
        after.restore(kernel, Allocation.from_label(label))

    assert after.allocations() == before.allocations()
    assert after.available() == before.available()
    assert (
        labels["b"] == '{"version":1,"grants":[{"device":"mock:1","amount":"0.25","whole":false}]}'
    )
    assert after.restore("a", Allocation.from_label(labels["a"])) == before.allocations()["a"]


def test_restore_refuses_what_no_longer_fits_and_changes_nothing() -> None:
    allocator = DeviceAllocator(devices(count=2, shares="1"))
    allocator.allocate("a", {"mock.shares": "0.75"})

    def restore(grants: list[DeviceGrant]) -> None:
        allocator.restore("b", Allocation(tuple(grants)))

    with pytest.raises(AllocationError, match="mock:0: already in use"):
        restore([DeviceGrant("mock:1", Decimal(1), True), DeviceGrant("mock:0", Decimal(1), True)])
    with pytest.raises(AllocationError, match=r"0\.5 shares do not fit in the 0\.25 left"):
        restore([DeviceGrant("mock:0", Decimal("0.5"), False)])
    with pytest.raises(AllocationError, match="mock:9: no such device"):
        restore([DeviceGrant("mock:9", Decimal(1), True)])
    with pytest.raises(AllocationError, match="appears twice"):
        restore([DeviceGrant("mock:1", Decimal("0.1"), False)] * 2)
    with pytest.raises(AllocationError, match="already holds other"):
        allocator.restore("a", Allocation((DeviceGrant("mock:1", Decimal("0.1"), False),)))
    assert allocator.available() == {"mock.device": 1, "mock.shares": Decimal("1.25")}


def test_restoring_shares_onto_a_device_no_longer_shareable_is_refused() -> None:
    label = Allocation((DeviceGrant("cuda:0", Decimal("0.5"), False),)).to_label()
    allocator = DeviceAllocator(devices("cuda", count=1, shareable=False))

    with pytest.raises(AllocationError, match="may not be shared now"):
        allocator.restore("a", Allocation.from_label(label))


@pytest.mark.parametrize(
    "label",
    [
        "not json",
        "[]",
        '{"version":2,"grants":[]}',
        '{"version":1}',
        '{"version":1,"grants":[1]}',
        '{"version":1,"grants":[{"device":"mock:0","amount":1,"whole":true}]}',
        '{"version":1,"grants":[{"device":"mock0","amount":"1","whole":true}]}',
        '{"version":1,"grants":[{"device":"mock:0","amount":"-1","whole":true}]}',
        '{"version":1,"grants":[{"device":"mock:0","amount":"x","whole":true}]}',
        '{"version":1,"grants":[{"device":"mock:0","amount":"1","whole":true},'
        '{"device":"mock:0","amount":"1","whole":true}]}',
    ],
)
def test_unreadable_labels_raise_label_error(label: str) -> None:
    with pytest.raises(LabelError):
        Allocation.from_label(label)


def test_concurrent_requests_never_share_a_device_beyond_its_capacity() -> None:
    allocator = DeviceAllocator(devices(count=2))
    start = threading.Barrier(16)
    results: dict[str, bool] = {}

    def ask(kernel: str) -> None:
        start.wait()
        try:
            allocator.allocate(kernel, {"mock.shares": "0.25"})
            results[kernel] = True
        except AllocationError:
            results[kernel] = False

    threads = [threading.Thread(target=ask, args=(f"k{i}",)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(results.values()) == 8
    assert allocator.available() == {}
