"""One stored or published event, decoded for people to read.

An audit tool must show every event, including those this process cannot
decode (an unknown type, a newer version, a corrupt payload): those come back
with the decoder's reason instead of their fields, never as an exception.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import msgspec

import events
from events import codec

log = logging.getLogger("berth.audit")

#: fields every event carries; a summary shows only what is particular to it
_ENVELOPE_FIELDS = ("originator_id", "originator_version", "timestamp")


@cache
def load_event_types() -> dict[str, str]:
    """Import every module of :mod:`events`, so that every event class is registered.

    Event classes register themselves when their module is imported; a reader
    that meets any kind of event must therefore have imported all of them. A
    module that fails to import costs only its own events, which then show as
    ``unknown-type``; the failures are returned (module name to reason) and logged.
    """
    failed: dict[str, str] = {}
    for module in pkgutil.iter_modules(events.__path__, prefix=f"{events.__name__}."):
        try:
            importlib.import_module(module.name)
        except ImportError as exc:
            failed[module.name] = str(exc)
            log.warning("cannot load event module %s: %s", module.name, exc)
    return failed


@dataclass(frozen=True)
class EventView:
    topic: str
    #: the decoded event's own fields (envelope excluded), or None when undecodable
    fields: dict[str, Any] | None = None
    timestamp: datetime | None = None
    #: why it could not be decoded (``unknown-type``, ``newer-version``, ``corrupt-payload``)
    error: str | None = None
    error_detail: str = ""

    @property
    def type_name(self) -> str:
        return self.topic.rpartition("@")[0] or self.topic

    def summary(self, width: int = 80) -> str:
        """``key=value`` pairs on one line, cut to ``width`` characters."""
        if self.fields is None:
            text = f"<{self.error}> {self.error_detail}"
        else:
            text = " ".join(f"{key}={_compact(value)}" for key, value in self.fields.items())
        return text if len(text) <= width else text[: max(width - 1, 0)] + "…"

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready form used by ``--json`` output."""
        out: dict[str, Any] = {"topic": self.topic, "type": self.type_name}
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp.isoformat()
        if self.fields is None:
            out["error"] = self.error
            out["error_detail"] = self.error_detail
        else:
            out["event"] = self.fields
        return out


def describe(topic: str | None, payload: bytes) -> EventView:
    """Decode ``payload`` as the event named by ``topic``; report why not if it cannot be."""
    if topic is None:
        return EventView(topic="?", error="no-topic", error_detail="the message names no topic")
    load_event_types()
    try:
        event = codec.decode(topic, payload)
    except codec.DecodeError as exc:
        return EventView(topic=topic, error=exc.reason, error_detail=str(exc))
    everything = msgspec.to_builtins(event)
    fields = {k: v for k, v in everything.items() if k not in _ENVELOPE_FIELDS}
    return EventView(topic=topic, fields=fields, timestamp=event.timestamp)


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else repr(value)
    return msgspec.json.encode(value).decode()
