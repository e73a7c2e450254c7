from __future__ import annotations

import copy
import pickle
from decimal import Decimal

import pytest

from services.manager.scheduler.slots import ResourceSlots, SlotError

GiB = 1024**3
MiB = 1024**2


def slots(**amounts: str | int) -> ResourceSlots:
    return ResourceSlots.parse({name.replace("_", "."): value for name, value in amounts.items()})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4g", 4 * GiB),
        ("4G", 4 * GiB),
        ("4gb", 4 * GiB),
        ("4GiB", 4 * GiB),
        ("1.5GiB", 3 * GiB // 2),
        ("512m", 512 * MiB),
        ("1024k", 1024 * 1024),
        ("1t", 1024 * GiB),
        ("123", 123),
        ("64b", 64),
        (" 2 g ", 2 * GiB),
        (2048, 2048),
    ],
)
def test_memory_reads_units_as_binary_multiples(text: str | int, expected: int) -> None:
    assert ResourceSlots.parse({"mem": text})["mem"] == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", "2"), ("0.5", "0.5"), ("500m", "0.5"), ("1500m", "1.5"), (3, "3"), (0.25, "0.25")],
)
def test_cpu_reads_cores_and_millicores(value: str | int | float, expected: str) -> None:
    assert ResourceSlots.parse({"cpu": value})["cpu"] == Decimal(expected)


def test_accelerator_slots_take_devices_and_shares() -> None:
    parsed = slots(cuda_device=2, cuda_shares="0.25")
    assert parsed["cuda.device"] == 2
    assert parsed["cuda.shares"] == Decimal("0.25")


@pytest.mark.parametrize(
    ("mapping", "slot", "problem"),
    [
        ({"cpu": "-1"}, "cpu", "must not be negative"),
        ({"cpu": -1}, "cpu", "must not be negative"),
        ({"mem": "-4g"}, "mem", "must not be negative"),
        ({"cpu": float("nan")}, "cpu", "finite"),
        ({"cpu": float("inf")}, "cpu", "finite"),
        ({"cpu": "NaN"}, "cpu", "finite"),
        ({"cpu": Decimal("Infinity")}, "cpu", "finite"),
        ({"mem": "4x"}, "mem", "unknown unit"),
        ({"mem": "four"}, "mem", "is not an amount"),
        ({"cpu": "1e3"}, "cpu", "is not an amount"),
        ({"cpu": "2g"}, "cpu", "unknown unit"),
        ({"cpu": ""}, "cpu", "is not an amount"),
        ({"mem": "1.0001k"}, "mem", "whole number of bytes"),
        ({"mem": "0.5"}, "mem", "whole number of bytes"),
        ({"cuda.device": "0.5"}, "cuda.device", "whole number of devices"),
        ({"cuda.device": "1m"}, "cuda.device", "unknown unit"),
        ({"gpu": 1}, "gpu", "unknown slot name"),
        ({"CPU": 1}, "CPU", "unknown slot name"),
        ({"cuda.memory": 1}, "cuda.memory", "unknown slot name"),
        ({".device": 1}, ".device", "unknown slot name"),
        ({"cpu": True}, "cpu", "boolean"),
        ({"cpu": None}, "cpu", "not NoneType"),
    ],
)
def test_bad_input_is_refused_naming_the_slot_and_the_problem(
    mapping: dict[str, object], slot: str, problem: str
) -> None:
    with pytest.raises(SlotError) as refused:
        ResourceSlots.parse(mapping)  # type: ignore[arg-type]
    assert refused.value.slot == slot
    assert problem in refused.value.problem
    assert slot in str(refused.value) and problem in str(refused.value)


def test_constructor_takes_exact_amounts_and_checks_them() -> None:
    assert ResourceSlots({"cpu": Decimal("0.5"), "mem": 1024})["mem"] == 1024
    with pytest.raises(SlotError, match="must not be negative"):
        ResourceSlots({"cpu": -1})
    with pytest.raises(SlotError, match="Decimal or an int"):
        ResourceSlots({"cpu": 0.5})  # type: ignore[dict-item]


def test_missing_slots_read_as_zero_and_zero_slots_are_not_stored() -> None:
    parsed = slots(cpu=2, mem=0)
    assert parsed["cuda.device"] == 0
    assert parsed == slots(cpu=2)
    assert hash(parsed) == hash(slots(cpu=2))
    assert list(parsed) == ["cpu"]
    assert "mem" not in parsed
    assert ResourceSlots().is_zero() and not parsed.is_zero()


def test_arithmetic_is_exact() -> None:
    tenth = slots(cpu="0.1")
    total = ResourceSlots.sum([tenth] * 10)
    assert total == slots(cpu=1)
    assert total - tenth.scaled(10) == ResourceSlots()
    assert (slots(cpu=1, mem="1g") + slots(mem="1g", cuda_device=1)) == slots(
        cpu=1, mem="2g", cuda_device=1
    )
    assert slots(cpu=2, mem="4g").scaled(3) == slots(cpu=6, mem="12g")


def test_subtraction_may_go_negative_and_fits_in_tells() -> None:
    left = slots(cpu=1) - slots(cpu=2, mem="1g")
    assert left["cpu"] == -1 and left["mem"] == -GiB
    assert left.has_negative()
    assert slots(cpu=1, mem="1g").fits_in(slots(cpu=1, mem="2g"))
    assert not slots(cpu=1, mem="3g").fits_in(slots(cpu=1, mem="2g"))
    assert not slots(cuda_device=1).fits_in(slots(cpu=8, mem="64g"))
    assert ResourceSlots().fits_in(ResourceSlots())


def test_scaling_refuses_fractions_of_whole_slots() -> None:
    assert slots(cpu=1).scaled(Decimal("0.5")) == slots(cpu="0.5")
    with pytest.raises(SlotError, match="fraction"):
        slots(cuda_device=1).scaled(Decimal("0.5"))
    with pytest.raises(ValueError):
        slots(cpu=1).scaled(-1)


def test_json_round_trip_uses_canonical_decimal_strings() -> None:
    parsed = slots(cpu="1.50", mem="4g", cuda_shares="0.250", rocm_device=0)
    data = parsed.to_json()
    assert data == {"cpu": "1.5", "mem": str(4 * GiB), "cuda.shares": "0.25"}
    assert list(data) == ["cpu", "mem", "cuda.shares"]
    assert ResourceSlots.from_json(data) == parsed
    assert slots(mem="1e").to_json() == {"mem": str(1024**6)}


@pytest.mark.parametrize(
    "data",
    [{"cpu": "-1"}, {"cpu": "x"}, {"mem": "1.5"}, {"cpu": "NaN"}, {"bogus": "1"}],
)
def test_from_json_refuses_what_to_json_never_writes(data: dict[str, str]) -> None:
    with pytest.raises(SlotError):
        ResourceSlots.from_json(data)


def test_repr_reads_like_the_input() -> None:
    assert repr(slots(cpu="500m", mem="4g", cuda_device=1)) == (
        "ResourceSlots(cpu=0.5, mem=4g, cuda.device=1)"
    )
    assert repr(slots(mem=1000)) == "ResourceSlots(mem=1000)"
    assert repr(slots(mem="1536m")) == "ResourceSlots(mem=1536m)"


def test_dominant_share_is_the_largest_fraction_of_the_total() -> None:
    total = slots(cpu=100, mem="100g", cuda_device=0)
    assert slots(cpu=10, mem="50g").dominant_share(total) == Decimal("0.5")
    assert slots(cpu=10).dominant_share(total) == Decimal("0.1")
    # no cuda in the total: a share of nothing is ignored
    assert slots(cuda_device=2).dominant_share(total) == 0


def test_immutable_values_copy_and_pickle_as_equal_values() -> None:
    value = slots(cpu=2, mem="4g")
    assert copy.deepcopy(value) is value
    restored = pickle.loads(pickle.dumps(value))
    assert restored == value and hash(restored) == hash(value)
    assert {value: 1}[slots(mem="4g", cpu=2)] == 1
