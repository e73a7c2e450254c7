"""Random histories of allocate, release and restore never over-allocate any device."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.agent.accelerators.allocator import AllocationError, DeviceAllocator
from services.agent.accelerators.plugin import Allocation, Device

KEYS = ("mock", "npu")
AMOUNTS = ["0.1", "0.25", "0.3", "0.5", "0.75", "1", "1.5", "2.5"]


@st.composite
def node(draw: st.DrawFn) -> list[Device]:
    found = []
    for key in KEYS:
        for index in range(draw(st.integers(0, 4))):
            shares = Decimal(draw(st.sampled_from(["1", "2", "0.5"])))
            found.append(Device(f"{key}:{index}", index, "m", 0, shares, draw(st.booleans())))
    return found


requests = st.dictionaries(
    st.sampled_from([f"{k}.{kind}" for k in KEYS for kind in ("device", "shares")]),
    st.one_of(st.integers(0, 3).map(str), st.sampled_from(AMOUNTS)),
    min_size=1,
    max_size=3,
).filter(lambda r: all(not n.endswith(".device") or "." not in v for n, v in r.items()))

kernels = st.integers(0, 4).map(lambda n: f"k{n}")
operations = st.lists(
    st.one_of(
        # Allocation is drawn most often, so histories fill the devices before freeing them.
        st.tuples(st.just("allocate"), kernels, requests),
        st.tuples(st.just("allocate"), kernels, requests),
        st.tuples(st.just("release"), kernels, st.just({})),
        st.tuples(st.just("bounce"), kernels, st.just({})),
        st.tuples(st.just("steal"), kernels, st.just({})),
    ),
    min_size=5,
    max_size=40,
)


def check_invariants(allocator: DeviceAllocator) -> None:
    devices = {d.id: d for d in allocator.devices}
    whole: dict[str, list[str]] = defaultdict(list)
    shared: dict[str, Decimal] = defaultdict(Decimal)
    for kernel, allocation in allocator.allocations().items():
        for grant in allocation.grants:
            device = devices[grant.device_id]
            if grant.whole:
                whole[device.id].append(kernel)
                assert grant.amount == device.shares
            else:
                assert device.shareable
                shared[device.id] += grant.amount
    for device in devices.values():
        assert len(whole[device.id]) <= 1, f"{device.id} given whole twice"
        assert not (whole[device.id] and shared[device.id]), f"{device.id} whole and shared"
        assert shared[device.id] <= device.shares, f"{device.id} over its shares"
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for device in devices.values():
        if not whole[device.id] and not shared[device.id]:
            expected[f"{device.key}.device"] += 1
        if device.shareable and not whole[device.id]:
            expected[f"{device.key}.shares"] += device.shares - shared[device.id]
    assert allocator.available() == {name: n for name, n in expected.items() if n}


def rooms(allocator: DeviceAllocator) -> dict[str, Decimal]:
    """Shares still free on each device (none on a device held whole)."""
    room = {d.id: d.shares for d in allocator.devices}
    for allocation in allocator.allocations().values():
        for grant in allocation.grants:
            room[grant.device_id] -= grant.amount
    return room


def check_grants_match(request: dict[str, str], allocation: Allocation) -> None:
    got: dict[str, Decimal] = defaultdict(Decimal)
    for grant in allocation.grants:
        got[f"{grant.key}.device" if grant.whole else f"{grant.key}.shares"] += (
            1 if grant.whole else grant.amount
        )
    assert dict(got) == {name: Decimal(v) for name, v in request.items() if Decimal(v)}


@settings(max_examples=200, deadline=None)
@given(node(), operations)
def test_random_histories_never_over_allocate(
    found: list[Device], history: list[tuple[str, str, dict[str, str]]]
) -> None:
    allocator = DeviceAllocator(found)
    for op, kernel, request in history:
        before = allocator.allocations()
        if op == "allocate":
            whole_only = all(name.endswith(".device") for name in request)
            free_before = allocator.available()
            try:
                allocation = allocator.allocate(kernel, request)
            except AllocationError:
                assert allocator.allocations() == before
                if whole_only and kernel not in before and found:
                    # Whole devices are refused only when there really are too few free.
                    assert any(
                        Decimal(v) > free_before.get(name, 0)
                        or not any(d.key == name.split(".")[0] for d in found)
                        for name, v in request.items()
                        if Decimal(v)
                    )
            else:
                assert kernel not in before
                check_grants_match(request, allocation)
        elif op == "release":
            assert allocator.release(kernel) == before.get(kernel)
        elif op == "bounce" and kernel in before:
            # What an agent restart does: forget, then take back from the label.
            allocator.release(kernel)
            label = before[kernel].to_label()
            assert allocator.restore(kernel, Allocation.from_label(label)) == before[kernel]
        elif op == "steal" and before.get(kernel):
            # Another kernel restoring a copy of a held allocation: a device held whole can
            # never be taken; shares can be taken only where the device still has the room.
            copy = Allocation.from_label(before[kernel].to_label())
            room = rooms(allocator)
            fits = all(not g.whole and room[g.device_id] >= g.amount for g in copy.grants)
            try:
                allocator.restore("thief", copy)
            except AllocationError:
                assert not fits
                assert allocator.allocations() == before
            else:
                assert fits
                check_invariants(allocator)
                allocator.release("thief")
        check_invariants(allocator)
