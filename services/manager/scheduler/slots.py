"""Resource slots: how much of each resource a kernel asks for or an agent offers.

A slot is a name and an exact decimal amount:

- ``cpu``: cores, fractional allowed (``2``, ``0.5``, ``500m`` = half a core);
- ``mem``: bytes, whole (``4g``, ``512m``, ``1.5GiB``, ``1024k``; multiples of 1024);
- ``<plugin>.device``: whole accelerator devices (``cuda.device``);
- ``<plugin>.shares``: fractional accelerator shares (``cuda.shares``).

A missing slot means zero, so zero amounts are never stored: ``{"cpu": 0}`` and ``{}`` are the
same value. Amounts are ``Decimal`` so that adding and releasing allocations never drifts; the
scheduler's inner loop leans on this type, which is why it keeps a plain dict inside and caches
its hash, sorted names and float view instead of recomputing them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

_ZERO = Decimal(0)

_NAME = re.compile(r"(?:cpu|mem|[a-z][a-z0-9_-]*\.(?:device|shares))\Z")
_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\Z")
_NOT_FINITE = {"nan", "inf", "+inf", "infinity", "+infinity", "-inf", "-infinity"}
# Binary multiples for memory: Backend.AI, Kubernetes (Ki/Mi/Gi) and Slurm all read "4g" as GiB.
_BYTE_MULTIPLES: dict[str, int] = {u: 1 << (10 * p) for p, u in enumerate(("", *"kmgtpe"))}
_BYTE_SUFFIXES = tuple(reversed(tuple(_BYTE_MULTIPLES.items())[1:]))
_MILLI = Decimal("0.001")

Amount = str | int | float | Decimal


class SlotError(ValueError):
    """A slot name or amount that cannot be accepted; says which slot and what is wrong."""

    def __init__(self, slot: str, problem: str) -> None:
        super().__init__(f"slot {slot!r}: {problem}")
        self.slot = slot
        self.problem = problem


def _is_integral_slot(name: str) -> bool:
    return name == "mem" or name.endswith(".device")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise SlotError(
            str(name), "unknown slot name (expected cpu, mem, <plugin>.device or <plugin>.shares)"
        )
    return name


def _check_amount(name: str, amount: Decimal) -> Decimal:
    if not amount.is_finite():
        raise SlotError(name, "must be a finite number")
    if amount < 0:
        raise SlotError(name, f"must not be negative (got {_canonical(amount)})")
    if _is_integral_slot(name) and amount != amount.to_integral_value():
        what = "a whole number of bytes" if name == "mem" else "a whole number of devices"
        raise SlotError(name, f"must be {what} (got {_canonical(amount)})")
    return amount


def _exact(name: str, value: object) -> Decimal:
    """An amount given programmatically: Decimal or int, no units."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise SlotError(name, f"amount must be a Decimal or an int, not {type(value).__name__}")
    return _check_amount(name, Decimal(value))


def _parse_text(name: str, text: str) -> Decimal:
    cleaned = text.strip()
    if cleaned.lower() in _NOT_FINITE:
        raise SlotError(name, "must be a finite number")
    if cleaned.startswith("-"):
        raise SlotError(name, f"must not be negative (got {text!r})")
    match = _NUMBER.match(cleaned)
    if match is None:
        raise SlotError(name, f"{text!r} is not an amount{_unit_hint(name)}")
    number, unit = Decimal(match.group(1)), match.group(2).lower()
    if name == "mem":
        # "4g", "4gb", "4gi", "4GiB" all mean the same; "b" alone means bytes.
        if unit.endswith("b"):
            unit = unit[:-1]
        if len(unit) == 2 and unit.endswith("i"):
            unit = unit[:-1]
        multiple = _BYTE_MULTIPLES.get(unit)
        if multiple is None:
            raise SlotError(name, f"unknown unit in {text!r}{_unit_hint(name)}")
        return number * multiple
    if name == "cpu" and unit == "m":
        return number * _MILLI
    if unit:
        raise SlotError(name, f"unknown unit in {text!r}{_unit_hint(name)}")
    return number


def _unit_hint(name: str) -> str:
    if name == "mem":
        return " (use bytes or a binary unit: k, m, g, t, p, e, e.g. 4g or 1.5GiB)"
    if name == "cpu":
        return " (use cores, e.g. 2 or 0.5, or millicores, e.g. 500m)"
    return " (use a plain number)"


def _parse_amount(name: str, value: object) -> Decimal:
    if isinstance(value, bool):
        raise SlotError(name, "amount must be a number, not a boolean")
    if isinstance(value, str):
        amount = _parse_text(name, value)
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise SlotError(name, "must be a finite number")
        # repr is the shortest decimal that reads back as this float: 0.1, not 0.1000…0055…
        amount = Decimal(repr(value))
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise SlotError(name, f"amount must be a number or a string, not {type(value).__name__}")
    return _check_amount(name, amount)


def _canonical(amount: Decimal) -> str:
    """Plain decimal notation, no exponent, no trailing zeros: 2, 0.5, 4294967296."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    return format(amount.normalize(), "f")


def _format_bytes(amount: Decimal) -> str:
    if amount != amount.to_integral_value():
        return _canonical(amount)
    count = int(amount)
    for suffix, unit in _BYTE_SUFFIXES:
        if count and count % unit == 0:
            return f"{count // unit}{suffix}"
    return str(count)


def _slot_order(name: str) -> tuple[int, str]:
    return (0 if name == "cpu" else 1 if name == "mem" else 2, name)


class ResourceSlots(Mapping[str, Decimal]):
    """An immutable, hashable mapping of slot name to exact amount; missing slots read as zero.

    ``ResourceSlots(mapping)`` takes exact amounts (``Decimal`` or ``int``, no units) and checks
    them; ``parse`` reads what people type. Only subtraction can make an amount negative, so that
    "how much is left" can be computed and then tested with ``fits_in``.
    """

    __slots__ = ("_d", "_floats", "_hash", "_kinds", "_names")

    _d: dict[str, Decimal]
    _hash: int | None
    _names: tuple[str, ...] | None
    _kinds: frozenset[str] | None
    _floats: dict[str, float] | None

    def __init__(self, mapping: Mapping[str, Decimal | int] | None = None) -> None:
        amounts: dict[str, Decimal] = {}
        if mapping:
            for name, value in mapping.items():
                amount = _exact(_check_name(name), value)
                if amount:
                    amounts[name] = amount
        self._d = amounts
        self._hash = self._names = self._kinds = self._floats = None

    @classmethod
    def _of(cls, amounts: dict[str, Decimal]) -> ResourceSlots:
        # Trusted constructor for results of arithmetic: no checks, caller drops zeros.
        slots = cls.__new__(cls)
        slots._d = amounts
        slots._hash = slots._names = slots._kinds = slots._floats = None
        return slots

    @classmethod
    def parse(cls, mapping: Mapping[str, Amount]) -> ResourceSlots:
        """Read a request as people write it: units on input, everything checked."""
        amounts: dict[str, Decimal] = {}
        for name, value in mapping.items():
            amount = _parse_amount(_check_name(name), value)
            if amount:
                amounts[name] = amount
        return cls._of(amounts)

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> ResourceSlots:
        """The inverse of ``to_json``: canonical decimal strings, no units."""
        amounts: dict[str, Decimal] = {}
        for name, text in data.items():
            _check_name(name)
            try:
                exact = isinstance(text, str | int) and not isinstance(text, bool)
                amount = Decimal(text) if exact else None
            except InvalidOperation:
                amount = None
            if amount is None:
                raise SlotError(name, f"{text!r} is not a decimal amount")
            amount = _check_amount(name, amount)
            if amount:
                amounts[name] = amount
        return cls._of(amounts)

    @staticmethod
    def sum(items: Iterable[ResourceSlots]) -> ResourceSlots:
        if isinstance(items, tuple) and len(items) == 1:
            # The common single-kernel session: its total is its kernel (immutable, so shared).
            return items[0]
        total: dict[str, Decimal] = {}
        for slots in items:
            for name, amount in slots._d.items():
                total[name] = total.get(name, _ZERO) + amount
        return ResourceSlots._of({name: amount for name, amount in total.items() if amount})

    def to_json(self) -> dict[str, str]:
        return {name: _canonical(self._d[name]) for name in self._ordered_names()}

    # -- arithmetic -------------------------------------------------------------------------

    def __add__(self, other: object) -> ResourceSlots:
        if not isinstance(other, ResourceSlots):
            return NotImplemented
        if not other._d:
            return self
        if not self._d:
            return other
        amounts = self._d.copy()
        for name, amount in other._d.items():
            total = amounts.get(name, _ZERO) + amount
            if total:
                amounts[name] = total
            else:
                del amounts[name]
        return ResourceSlots._of(amounts)

    def __sub__(self, other: object) -> ResourceSlots:
        if not isinstance(other, ResourceSlots):
            return NotImplemented
        if not other._d:
            return self
        amounts = self._d.copy()
        for name, amount in other._d.items():
            rest = amounts.get(name, _ZERO) - amount
            if rest:
                amounts[name] = rest
            else:
                del amounts[name]
        return ResourceSlots._of(amounts)

    def scaled(self, factor: int | Decimal) -> ResourceSlots:
        """Every amount times ``factor`` (e.g. one kernel's slots times a cluster's size)."""
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            raise TypeError(f"factor must be an int or a Decimal, not {type(factor).__name__}")
        if not Decimal(factor).is_finite() or factor < 0:
            raise ValueError(f"factor must be finite and not negative (got {factor})")
        amounts = {name: amount * factor for name, amount in self._d.items() if factor}
        for name, amount in amounts.items():
            if _is_integral_slot(name) and amount != amount.to_integral_value():
                raise SlotError(name, f"scaling by {factor} gives a fraction ({amount})")
        return ResourceSlots._of(amounts)

    def fits_in(self, other: ResourceSlots) -> bool:
        """Whether every slot of ``self`` is at most the same slot of ``other`` (missing = 0)."""
        available = other._d
        # A plain loop: this runs in the scheduler's inner loop, and all() over a generator is
        # noticeably slower for the two or three slots a request has.
        for name, amount in self._d.items():  # noqa: SIM110
            if amount > available.get(name, _ZERO):
                return False
        return True

    def has_negative(self) -> bool:
        return any(amount < 0 for amount in self._d.values())

    def is_zero(self) -> bool:
        return not self._d

    def dominant_share(self, total: ResourceSlots) -> Decimal:
        """The largest fraction of ``total`` that any one slot of ``self`` takes (for DRF).

        Slots that ``total`` does not have are ignored: nobody can hold a share of nothing.
        """
        best = _ZERO
        totals = total._d
        for name, amount in self._d.items():
            whole = totals.get(name)
            if whole is not None and whole > 0:
                share = amount / whole
                if share > best:
                    best = share
        return best

    # -- views ------------------------------------------------------------------------------

    @property
    def kinds(self) -> frozenset[str]:
        """The names of the slots that are not zero."""
        if self._kinds is None:
            self._kinds = frozenset(self._d)
        return self._kinds

    def approx(self) -> Mapping[str, float]:
        """Float approximations of the amounts.

        For ordering and as a cheap first filter only: conversion to float is monotonic, so
        ``approx()[k] < other.approx()[k]`` proves ``self[k] < other[k]``; the converse needs
        the exact amounts. Never use these for accounting.
        """
        if self._floats is None:
            self._floats = {name: float(amount) for name, amount in self._d.items()}
        return self._floats

    def _ordered_names(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(sorted(self._d, key=_slot_order))
        return self._names

    # -- mapping protocol -------------------------------------------------------------------

    def __getitem__(self, name: str) -> Decimal:
        return self._d.get(name, _ZERO)

    def __contains__(self, name: object) -> bool:
        return name in self._d

    def get(self, name: str, default: Any = None) -> Any:
        return self._d.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ordered_names())

    def __len__(self) -> int:
        return len(self._d)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceSlots):
            return NotImplemented
        return self._d == other._d

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._d.items()))
        return self._hash

    def __repr__(self) -> str:
        parts = []
        for name in self._ordered_names():
            amount = self._d[name]
            text = _format_bytes(amount) if name == "mem" else _canonical(amount)
            parts.append(f"{name}={text}")
        return f"ResourceSlots({', '.join(parts)})"

    # Immutable: copies are the object itself; pickling rebuilds it (str hashes differ between
    # processes, so the cached hash must not travel).
    def __copy__(self) -> ResourceSlots:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ResourceSlots:
        return self

    def __reduce__(self) -> tuple[Any, tuple[tuple[tuple[str, Decimal], ...]]]:
        return (_restore, (tuple(self._d.items()),))


def _restore(items: tuple[tuple[str, Decimal], ...]) -> ResourceSlots:
    return ResourceSlots._of(dict(items))
