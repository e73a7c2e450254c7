"""The base of every contract: domain events (facts) and commands (requests).

Events are immutable, keyword-only msgspec Structs. Each concrete event class is
registered under a stable type name ``<kind>.<EventName>`` (its *topic*), which
is what the event store and the stream record, so classes can move between
modules without breaking stored history. ``class_version`` plus static
``upcast_vN_vN1(state)`` methods on the class turn old payloads into new ones.

A payload leaves out every field whose value is its default (``omit_defaults``), as
protobuf does: decoding fills them in again. That makes a typical session request a quarter
smaller, and every stage that stores, sends or reads it (the event store, the stream, the
read models) does less. An upcaster therefore finds in ``state`` only the fields that were
not at their defaults when the older event was encoded (payloads written before this was
so hold them all): it must read a field with a default through ``state.get``.

Events and the values inside them are immutable and never refer back to what
holds them, so they cannot be part of a reference cycle: they are declared
``gc=False``, and the cyclic garbage collector does not track them (the manager
keeps many in memory; reference counting frees them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

import msgspec

UpcastFn = Callable[[dict[str, Any]], None]


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """A decided fact about one aggregate, at one version, at one time."""

    originator_id: UUID
    originator_version: int
    timestamp: datetime

    #: the aggregate kind, the second token of the subject (``session``, ``agent``…)
    kind: ClassVar[str] = ""
    class_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_") or not cls.kind:
            return
        EVENT_TYPES.register(cls)

    @classmethod
    def type_name(cls) -> str:
        return f"{cls.kind}.{cls.__name__}"


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """A request to change state; carries the client's id for idempotency."""

    request_id: str


class EventTypeRegistry:
    """Maps stable type names to event classes (and back)."""

    def __init__(self) -> None:
        self._by_name: dict[str, type[DomainEvent]] = {}

    def register(self, cls: type[DomainEvent]) -> None:
        name = cls.type_name()
        existing = self._by_name.get(name)
        # A module reloaded (tests, REPL) re-registers the same class under the same name.
        if existing is not None and (existing.__module__, existing.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise TypeError(f"event type {name!r} is already registered by {existing!r}")
        self._by_name[name] = cls

    def resolve(self, name: str) -> type[DomainEvent] | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def of_kind(self, kind: str) -> list[type[DomainEvent]]:
        """Every registered type of one aggregate kind, by name."""
        return [cls for name, cls in sorted(self._by_name.items()) if cls.kind == kind]


EVENT_TYPES = EventTypeRegistry()
